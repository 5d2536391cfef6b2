// EnvelopeView: an envelope read in place — from a decoded msgpack object
// (a stored record, a wire batch) or from an Envelope — without copying its
// strings. Filters evaluate views; unpack_envelope copies one into an Envelope.
#pragma once

#include <msgpack.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/field_value.h"
#include "core/result.h"

namespace eda {

struct HeaderField {
  std::string_view name;
  FieldValue value;  // kString, kInt, kDouble or kBool
};

struct EnvelopeView {
  std::string_view id;
  std::string_view topic;
  std::optional<std::string_view> key;
  std::span<const HeaderField> headers;
  int64_t ts = 0;
  std::string_view payload;
  uint64_t offset = kNoOffset;
  int32_t partition = -1;  // Kafka only, as Envelope::partition; not in the msgpack form
};

// Reads the 7-field envelope array (envelope_codec.h) of `o`. Header fields
// go into `headers` (cleared first, reused to avoid allocating); the view
// borrows from `o` and `headers`. Malformed input gives an Error saying what.
Result<EnvelopeView> view_envelope(const msgpack::object& o, std::vector<HeaderField>& headers);

// Reads a msgpack map of header name -> string, integer, float or bool into
// `headers` (cleared first; borrows from `o`). Errors say what is wrong, e.g.
// "header 'n' is not a string, number or bool".
Status view_headers(const msgpack::object& o, std::vector<HeaderField>& headers);

// Views of owned headers into `headers` (cleared first); they borrow from `owned`.
void view_headers(const Headers& owned, std::vector<HeaderField>& headers);

// The same view of a decoded envelope; borrows from `e` and `headers`.
EnvelopeView view_envelope(const Envelope& e, std::vector<HeaderField>& headers);
// Views of every envelope of `batch`; `headers` holds all their headers.
std::vector<EnvelopeView> view_envelopes(std::span<const Envelope> batch,
                                         std::vector<HeaderField>& headers);

// The message size --max-message-bytes limits, as Envelope::size() counts it.
size_t message_size(const EnvelopeView& v);

// The limits every stored message is held to (docs/PROTOCOL.md §14): at most
// kMaxHeaders headers, names of at most kMaxHeaderNameBytes, and a message
// size within `max_message_bytes`. The error completes a sentence about the
// message: "has 257 headers, over the limit of 256".
Status check_message_limits(const EnvelopeView& v, size_t max_message_bytes);

// A tombstone says "key K is deleted" to compacted topics and views: a
// message with a key, an empty payload and the header `tombstone:=true`
// (a bool; the name compares as filter header names do, ignoring case).
bool is_tombstone(const EnvelopeView& v);

// An Envelope holding copies of what `v` borrows.
Envelope copy_envelope(const EnvelopeView& v);

// Appends a header value as `%h`, `%{name}` and the environment show it
// (header_value_text is the same for an owned value).
void append_header_text(const FieldValue& value, std::string& out);

// "malformed envelope: <what>", an invalid-argument error.
Error malformed_envelope(std::string_view what);

// Views encoded envelopes one after another, reusing its memory (the msgpack
// zone, the header list): after the first few, a view costs two small
// allocations (msgpack's parser stack), whatever the headers and payload.
// A view lives until the next call.
class EnvelopeViewer {
 public:
  Result<EnvelopeView> view(std::string_view encoded) { return view(encoded, headers_); }
  // The same, with the header list in `headers`: the view borrows only from
  // `encoded` and `headers`, so it outlives the next call when they do.
  Result<EnvelopeView> view(std::string_view encoded, std::vector<HeaderField>& headers);

 private:
  msgpack::zone zone_;
  std::vector<HeaderField> headers_;
};

}  // namespace eda
