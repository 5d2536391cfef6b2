// A message from the broker's --ingest bridge (docs/PROTOCOL.md "Bridges"):
// the frames a plain ZeroMQ PUSH sent, checked and turned into an Envelope.
#pragma once

#include <span>
#include <string_view>

#include "core/envelope.h"
#include "core/result.h"

namespace eda {

// [topic][payload] or [topic][payload][headers], where headers is one msgpack
// map of string -> string, integer, float or bool. The envelope has no id, ts
// or offset (the engine fills them in). An error says why the message must be
// dropped: frame count, topic name, headers frame, or size over
// `max_message_bytes` (payload + headers, as Envelope::size() counts).
Result<Envelope> parse_ingest_message(std::span<const std::string_view> frames,
                                      size_t max_message_bytes);

}  // namespace eda
