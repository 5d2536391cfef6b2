#include "core/envelope_codec.h"

#include "core/envelope_view.h"

namespace eda {
namespace {

Result<Envelope> unpack_envelope(const msgpack::object& o, std::vector<HeaderField>& scratch) {
  auto view = view_envelope(o, scratch);
  if (!view) return view.error();
  return copy_envelope(*view);
}

}  // namespace

Result<Envelope> unpack_envelope(const msgpack::object& o) {
  std::vector<HeaderField> scratch;
  return unpack_envelope(o, scratch);
}

Result<std::vector<Envelope>> unpack_batch(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY) return malformed_envelope("batch is not an array");
  std::vector<Envelope> batch;
  batch.reserve(o.via.array.size);
  std::vector<HeaderField> scratch;
  for (const auto& item : std::span(o.via.array.ptr, o.via.array.size)) {
    auto e = unpack_envelope(item, scratch);
    if (!e) return e.error();
    batch.push_back(std::move(*e));
  }
  return batch;
}

std::string_view envelope_id(std::string_view body) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(body[i]); };
  if (body.size() < 2 || byte(0) != (0x90 | kEnvelopeFields)) return {};
  size_t length = 0, start = 0;
  uint8_t tag = byte(1);
  if ((tag & 0xe0) == 0xa0) {
    length = tag & 0x1f, start = 2;
  } else if (tag == 0xd9 && body.size() >= 3) {
    length = byte(2), start = 3;
  } else if (tag == 0xda && body.size() >= 4) {
    length = size_t(byte(2)) << 8 | byte(3), start = 4;
  } else {
    return {};
  }
  if (start + length > body.size()) return {};
  return body.substr(start, length);
}

std::string encode_envelope(const Envelope& e) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_envelope(pk, e);
  return std::string(buf.data(), buf.size());
}

const msgpack::unpack_limit& unpack_limits() {
  // Batches and maps stay far below these; strings and bins stay below the
  // storage format's largest record.
  static const msgpack::unpack_limit kLimits(/*array=*/1u << 20, /*map=*/1u << 16,
                                             /*str=*/64u << 20, /*bin=*/64u << 20,
                                             /*ext=*/1u << 10, /*depth=*/32);
  return kLimits;
}

msgpack::object_handle unpack_bounded(const char* data, size_t size, size_t& offset) {
  return msgpack::unpack(data, size, offset, nullptr, nullptr, unpack_limits());
}

Result<Envelope> decode_envelope(std::string_view bytes) {
  try {
    size_t offset = 0;
    auto handle = unpack_bounded(bytes.data(), bytes.size(), offset);
    return unpack_envelope(handle.get());
  } catch (const std::exception& ex) {
    return malformed_envelope(ex.what());
  }
}

}  // namespace eda
