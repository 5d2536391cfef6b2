#include "core/message_input.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/envelope_codec.h"
#include "core/envelope_json.h"

namespace eda {

MessageInput::MessageInput(InputFraming framing, char delimiter, size_t max_message_bytes)
    : framing_(framing), delimiter_(delimiter), max_bytes_(max_message_bytes) {}

void MessageInput::release() {
  buffer_.erase(0, taken_);
  scanned_ -= std::min(scanned_, taken_);
  taken_ = 0;
  decoded_.clear();
}

void MessageInput::feed(std::string_view bytes) {
  release();
  buffer_.append(bytes);
}

Status MessageInput::take_record(std::string_view record, std::vector<EnvelopeView>& out) {
  ++records_;
  if (record.size() > max_bytes_)
    return runtime_error(
        fmt::format("message {} is {} bytes, over the limit of {} bytes (see --max-message-bytes)",
                    records_, record.size(), max_bytes_));
  if (framing_ != InputFraming::kJsonLines) {
    out.emplace_back().payload = record;
    return ok_status();
  }
  auto e = envelope_from_json(record);
  if (!e) return runtime_error(fmt::format("line {}: {}", records_, e.error().message));
  decoded_.push_back(std::move(*e));
  return ok_status();
}

Status MessageInput::drain(bool at_end, std::vector<EnvelopeView>& out) {
  release();
  Status status = ok_status();
  if (framing_ == InputFraming::kMsgpack) {
    status = drain_msgpack(at_end);
  } else if (framing_ == InputFraming::kWhole) {
    if (buffer_.size() > max_bytes_) return take_record(buffer_, out);
    if (!at_end) return ok_status();
    status = take_record(buffer_, out);
    taken_ = buffer_.size();
  } else {
    char delim = framing_ == InputFraming::kJsonLines ? '\n' : delimiter_;
    size_t start = 0;
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
    taken_ = start;
    scanned_ = buffer_.size();
    if (status && buffer_.size() - taken_ > max_bytes_)
      status = take_record(std::string_view(buffer_).substr(taken_), out);
  }
  // Viewed only now: decoded_ no longer moves.
  std::vector<EnvelopeView> views = view_envelopes(decoded_, decoded_headers_);
  out.insert(out.end(), views.begin(), views.end());
  return status;
}

Status MessageInput::drain_msgpack(bool at_end) {
  // An envelope's encoding adds its id, topic and framing to the message size.
  const size_t max_record = max_bytes_ + 4096;
  size_t start = 0;
  Status status = ok_status();
  while (start < buffer_.size()) {
    size_t offset = start;
    try {
      auto handle = unpack_bounded(buffer_.data(), buffer_.size(), offset);
      ++records_;
      auto e = unpack_envelope(handle.get());
      if (!e) {
        status = runtime_error(fmt::format("msgpack record {}: {}", records_, e.error().message));
        break;
      }
      if (e->size() > max_bytes_) {
        status = runtime_error(fmt::format(
            "msgpack record {}: the message is {} bytes, over the limit of {} bytes (see "
            "--max-message-bytes)",
            records_, e->size(), max_bytes_));
        break;
      }
      decoded_.push_back(std::move(*e));
      start = offset;
    } catch (const msgpack::insufficient_bytes&) {
      if (buffer_.size() - start > max_record)
        status = runtime_error(fmt::format("msgpack record {} is over the limit of {} bytes",
                                           records_ + 1, max_bytes_));
      else if (at_end)
        status =
            runtime_error(fmt::format("msgpack input ends inside record {} ({} bytes left over)",
                                      records_ + 1, buffer_.size() - start));
      break;
    } catch (const std::exception& ex) {
      status = runtime_error(fmt::format("msgpack record {}: {}", records_ + 1, ex.what()));
      break;
    }
  }
  taken_ = start;
  return status;
}

}  // namespace eda
