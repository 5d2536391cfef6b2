#include "core/message_input.h"

#include <fmt/format.h>

#include "core/envelope_codec.h"
#include "core/envelope_json.h"

namespace eda {

MessageInput::MessageInput(InputFraming framing, char delimiter, size_t max_message_bytes)
    : framing_(framing), delimiter_(delimiter), max_bytes_(max_message_bytes) {
  if (framing_ == InputFraming::kMsgpack) unpacker_ = std::make_unique<msgpack::unpacker>();
}

void MessageInput::feed(std::string_view bytes) {
  if (unpacker_) {
    unpacker_->reserve_buffer(bytes.size());
    std::memcpy(unpacker_->buffer(), bytes.data(), bytes.size());
    unpacker_->buffer_consumed(bytes.size());
  } else {
    buffer_.append(bytes);
  }
}

Status MessageInput::take_record(std::string_view record, std::vector<Envelope>& out) {
  ++records_;
  if (record.size() > max_bytes_)
    return runtime_error(
        fmt::format("message {} is {} bytes, over the limit of {} bytes (see --max-message-bytes)",
                    records_, record.size(), max_bytes_));
  if (framing_ != InputFraming::kJsonLines) {
    out.emplace_back().payload.assign(record);
    return ok_status();
  }
  auto e = envelope_from_json(record);
  if (!e) return runtime_error(fmt::format("line {}: {}", records_, e.error().message));
  out.push_back(std::move(*e));
  return ok_status();
}

Status MessageInput::drain(bool at_end, std::vector<Envelope>& out) {
  if (framing_ == InputFraming::kMsgpack) return drain_msgpack(at_end, out);
  if (framing_ == InputFraming::kWhole) {
    if (buffer_.size() > max_bytes_) return take_record(buffer_, out);
    if (!at_end) return ok_status();
    Status s = take_record(buffer_, out);
    buffer_.clear();
    return s;
  }
  char delim = framing_ == InputFraming::kJsonLines ? '\n' : delimiter_;
  size_t start = 0;
  Status status = ok_status();
  for (;;) {
    size_t end = buffer_.find(delim, std::max(start, scanned_));
    if (end == std::string::npos) break;
    status = take_record(std::string_view(buffer_).substr(start, end - start), out);
    start = end + 1;
    if (!status) break;
  }
  if (status && at_end && start < buffer_.size()) {
    status = take_record(std::string_view(buffer_).substr(start), out);
    start = buffer_.size();
  }
  buffer_.erase(0, start);
  scanned_ = buffer_.size();
  if (status && buffer_.size() > max_bytes_) return take_record(buffer_, out);
  return status;
}

Status MessageInput::drain_msgpack(bool at_end, std::vector<Envelope>& out) {
  try {
    msgpack::object_handle handle;
    while (unpacker_->next(handle)) {
      ++records_;
      auto e = unpack_envelope(handle.get());
      if (!e)
        return runtime_error(fmt::format("msgpack record {}: {}", records_, e.error().message));
      out.push_back(std::move(*e));
    }
  } catch (const std::exception& ex) {
    return runtime_error(fmt::format("msgpack record {}: {}", records_ + 1, ex.what()));
  }
  if (at_end && unpacker_->nonparsed_size() > 0)
    return runtime_error(fmt::format("msgpack input ends inside record {} ({} bytes left over)",
                                     records_ + 1, unpacker_->nonparsed_size()));
  if (unpacker_->nonparsed_size() > max_bytes_ + 4096)
    return runtime_error(
        fmt::format("msgpack record {} is over the limit of {} bytes", records_ + 1, max_bytes_));
  return ok_status();
}

}  // namespace eda
