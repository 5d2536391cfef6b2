#include "core/record_batch.h"

#include "core/envelope_codec.h"
#include "core/log_format.h"
#include "core/record_frame.h"

namespace eda {
void RecordBatch::add(const EnvelopeView& v) {
  size_t position = data_.size();
  data_.append(log_format::kRecordHeaderSize, '\0');
  StringStream stream{data_};
  msgpack::packer<StringStream> pk(stream);
  pack_envelope(pk, v);
  if (reader_ == Reader::kDiskLog) frame_in_place(data_, position, v.ts);
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
