#include "core/record_batch.h"

#include "core/envelope_codec.h"
#include "core/log_format.h"
#include "core/record_frame.h"

namespace eda {
void RecordBatch::add(const EnvelopeView& v) {
  scratch_.clear();
  StringStream stream{scratch_};
  msgpack::packer<StringStream> pk(stream);
  pack_envelope(pk, v);
  size_t position = data_.size();
  append_frame(data_, v.ts, scratch_);
  entries_.push_back({v.offset, v.ts, position, data_.size() - position});
}

void RecordBatch::clear() {
  data_.clear();
  entries_.clear();
}

std::string_view RecordBatch::body(size_t i) const {
  const Entry& e = entries_[i];
  return std::string_view(data_).substr(e.position + log_format::kRecordHeaderSize,
                                        e.size - log_format::kRecordHeaderSize);
}

}  // namespace eda
