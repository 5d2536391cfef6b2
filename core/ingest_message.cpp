#include "core/ingest_message.h"

#include <fmt/format.h>

#include <msgpack.hpp>

#include "core/envelope_codec.h"
#include "core/envelope_view.h"
#include "core/topic.h"

namespace eda {

Result<Envelope> parse_ingest_message(std::span<const std::string_view> frames,
                                      size_t max_message_bytes) {
  if (frames.size() != 2 && frames.size() != 3)
    return invalid_argument(
        fmt::format("expected 2 frames [topic][payload] or 3 [topic][payload][headers], got {}",
                    frames.size()));
  if (Status s = validate_topic(frames[0]); !s) return s.error();
  std::vector<HeaderField> headers;
  msgpack::object_handle decoded;
  if (frames.size() == 3) {
    std::string_view bytes = frames[2];
    try {
      size_t offset = 0;
      decoded = unpack_bounded(bytes.data(), bytes.size(), offset);
      if (offset != bytes.size())
        return invalid_argument(
            fmt::format("headers frame has {} bytes after its msgpack map", bytes.size() - offset));
    } catch (const std::exception& e) {
      return invalid_argument(fmt::format("headers frame is not msgpack: {}", e.what()));
    }
    if (Status s = view_headers(decoded.get(), headers); !s)
      return invalid_argument(fmt::format("headers frame: {}", s.error().message));
  }
  EnvelopeView view;
  view.topic = frames[0];
  view.payload = frames[1];
  view.headers = headers;
  // Checked here, one message at a time, as the engine would refuse the
  // whole batch of its topic for it.
  if (Status s = check_message_limits(view, max_message_bytes); !s)
    return invalid_argument(fmt::format("message for {} {}", view.topic, s.error().message));
  return copy_envelope(view);
}

}  // namespace eda
