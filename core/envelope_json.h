// The JSON form of an envelope: what `sub --format json` writes and `pub --json` reads.
//
// One object per line: {"topic","offset","id","key","ts","headers":{...},"payload"};
// from a Kafka broker also "partition" after "topic" (the offset counts in it).
// A payload that is not valid UTF-8 is written as "payload_base64" instead, so
// the form is lossless for binary data. Headers keep their types (string,
// integer, float, boolean); a repeated header name keeps its last value.
#pragma once

#include <string>
#include <string_view>

#include "core/envelope.h"
#include "core/envelope_view.h"
#include "core/result.h"

namespace eda {

// Appends the JSON line (without the newline) to `out`.
void append_envelope_json(const EnvelopeView& v, std::string& out);
// The same for an owned envelope, through its view.
void append_envelope_json(const Envelope& e, std::string& out);

// Reads one JSON object. Every field is optional; topic, offset and ts are
// read when present (pub replaces topic and ts with its own).
Result<Envelope> envelope_from_json(std::string_view line);

}  // namespace eda
