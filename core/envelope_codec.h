// msgpack encoding of envelopes, shared by the wire protocol and storage.
//
// An envelope is a 7-element array (arrays decode about twice as fast as maps):
//   [id:str, topic:str, key:str|nil, headers:map<str, str|int|float|bool>,
//    ts:int, payload:bin, offset:uint|nil]
// A batch is an array of envelopes. docs/PROTOCOL.md describes the same layout.
#pragma once

#include <cstring>
#include <msgpack.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_view.h"
#include "core/result.h"

namespace eda {

inline constexpr uint32_t kEnvelopeFields = 7;

// A msgpack output stream that appends to a std::string.
struct StringStream {
  std::string& out;
  void write(const char* data, size_t n) { out.append(data, n); }
};

// One encoder serves both: an Envelope is packed through its view.
template <class Stream>
void pack_envelope(msgpack::packer<Stream>& pk, const EnvelopeView& v);
template <class Stream>
void pack_envelope(msgpack::packer<Stream>& pk, const Envelope& e) {
  thread_local std::vector<HeaderField> headers;  // reused: no allocation per envelope
  pack_envelope(pk, view_envelope(e, headers));
}

template <class Stream>
void pack_batch(msgpack::packer<Stream>& pk, std::span<const Envelope> batch) {
  pk.pack_array(static_cast<uint32_t>(batch.size()));
  for (const Envelope& e : batch) pack_envelope(pk, e);
}

// Unpacks one msgpack value at `offset` (advanced past it) with limits on
// declared sizes, so a few hostile bytes cannot make it allocate gigabytes.
// Throws msgpack's exceptions (insufficient_bytes when the value is incomplete).
msgpack::object_handle unpack_bounded(const char* data, size_t size, size_t& offset);
// The limits unpack_bounded applies, for other ways of unpacking.
const msgpack::unpack_limit& unpack_limits();
// As unpack_bounded, into `zone`, with strings and bins pointing into `data`
// instead of copied: the object lives as long as both.
msgpack::object unpack_in_place(msgpack::zone& zone, std::string_view data, size_t& offset);

// Decoding never throws: malformed input gives an Error saying what was wrong.
Result<Envelope> unpack_envelope(const msgpack::object& o);
Result<std::vector<Envelope>> unpack_batch(const msgpack::object& o);
// A batch read in place: `out` gets one view per envelope, borrowing from `o`
// and from `headers`, which holds every envelope's headers (both cleared first).
Status view_batch(const msgpack::object& o, std::vector<EnvelopeView>& out,
                  std::vector<HeaderField>& headers);

// The id of an encoded envelope, read without decoding the rest; empty when
// `body` does not start like an envelope.
std::string_view envelope_id(std::string_view body);

// Convenience for whole buffers (tests, files).
std::string encode_envelope(const Envelope& e);
Result<Envelope> decode_envelope(std::string_view bytes);

// --- template definition ---

// msgpack-c packs a double with an integral value as an integer; a header
// typed as a float must stay one, so this writes float64 (0xcb) itself.
template <class Stream>
void pack_float64(msgpack::packer<Stream>& pk, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  pk.pack_bin_body(buf, sizeof buf);  // appends raw bytes
}

template <class Stream>
void pack_text(msgpack::packer<Stream>& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

template <class Stream>
void pack_envelope(msgpack::packer<Stream>& pk, const EnvelopeView& v) {
  pk.pack_array(kEnvelopeFields);
  pack_text(pk, v.id);
  pack_text(pk, v.topic);
  if (v.key)
    pack_text(pk, *v.key);
  else
    pk.pack_nil();
  pk.pack_map(static_cast<uint32_t>(v.headers.size()));
  for (const HeaderField& h : v.headers) {
    pack_text(pk, h.name);
    switch (h.value.type) {
      case FieldValue::Type::kString:
        pack_text(pk, h.value.s);
        break;
      case FieldValue::Type::kInt:
        pk.pack(h.value.i);
        break;
      case FieldValue::Type::kBool:
        pk.pack(h.value.b);
        break;
      default:  // kDouble: views of envelopes hold no other kind
        pack_float64(pk, h.value.d);
    }
  }
  pk.pack(v.ts);
  pk.pack_bin(static_cast<uint32_t>(v.payload.size()));
  pk.pack_bin_body(v.payload.data(), static_cast<uint32_t>(v.payload.size()));
  if (v.offset == kNoOffset)
    pk.pack_nil();
  else
    pk.pack(v.offset);
}

}  // namespace eda
