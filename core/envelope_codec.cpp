#include "core/envelope_codec.h"

#include <fmt/format.h>

namespace eda {
namespace {

Error malformed(std::string_view what) {
  return {ErrorKind::kInvalidArgument, fmt::format("malformed envelope: {}", what)};
}

bool read_string(const msgpack::object& o, std::string& out) {
  if (o.type == msgpack::type::STR) {
    out.assign(o.via.str.ptr, o.via.str.size);
    return true;
  }
  if (o.type == msgpack::type::BIN) {
    out.assign(o.via.bin.ptr, o.via.bin.size);
    return true;
  }
  return false;
}

std::optional<HeaderValue> read_header_value(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::STR:
      return HeaderValue{std::string(o.via.str.ptr, o.via.str.size)};
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return HeaderValue{static_cast<int64_t>(o.via.u64)};
    case msgpack::type::NEGATIVE_INTEGER:
      return HeaderValue{o.via.i64};
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return HeaderValue{o.via.f64};
    case msgpack::type::BOOLEAN:
      return HeaderValue{o.via.boolean};
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<Envelope> unpack_envelope(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != kEnvelopeFields)
    return malformed(fmt::format("expected an array of {} fields", kEnvelopeFields));
  const msgpack::object* f = o.via.array.ptr;
  Envelope e;
  if (!read_string(f[0], e.id)) return malformed("id is not a string");
  if (!read_string(f[1], e.topic)) return malformed("topic is not a string");
  if (!f[2].is_nil()) {
    e.key.emplace();
    if (!read_string(f[2], *e.key)) return malformed("key is neither a string nor nil");
  }
  if (f[3].type != msgpack::type::MAP) return malformed("headers are not a map");
  e.headers.reserve(f[3].via.map.size);
  for (const auto& kv : std::span(f[3].via.map.ptr, f[3].via.map.size)) {
    std::string name;
    if (!read_string(kv.key, name)) return malformed("a header name is not a string");
    auto value = read_header_value(kv.val);
    if (!value) return malformed(fmt::format("header '{}' is not a string, number or bool", name));
    e.headers.emplace_back(std::move(name), std::move(*value));
  }
  if (f[4].type == msgpack::type::POSITIVE_INTEGER && f[4].via.u64 <= INT64_MAX)
    e.ts = static_cast<int64_t>(f[4].via.u64);
  else if (f[4].type == msgpack::type::NEGATIVE_INTEGER)
    e.ts = f[4].via.i64;
  else
    return malformed("ts is not an integer");
  if (!read_string(f[5], e.payload)) return malformed("payload is not bytes");
  if (f[6].type == msgpack::type::POSITIVE_INTEGER)
    e.offset = f[6].via.u64;
  else if (!f[6].is_nil())
    return malformed("offset is neither an unsigned integer nor nil");
  return e;
}

Result<std::vector<Envelope>> unpack_batch(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY) return malformed("batch is not an array");
  std::vector<Envelope> batch;
  batch.reserve(o.via.array.size);
  for (const auto& item : std::span(o.via.array.ptr, o.via.array.size)) {
    auto e = unpack_envelope(item);
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

msgpack::object_handle unpack_bounded(const char* data, size_t size, size_t& offset) {
  // Batches and maps stay far below these; strings and bins stay below the
  // storage format's largest record.
  static const msgpack::unpack_limit kLimits(/*array=*/1u << 20, /*map=*/1u << 16,
                                             /*str=*/64u << 20, /*bin=*/64u << 20,
                                             /*ext=*/1u << 10, /*depth=*/32);
  return msgpack::unpack(data, size, offset, nullptr, nullptr, kLimits);
}

Result<Envelope> decode_envelope(std::string_view bytes) {
  try {
    size_t offset = 0;
    auto handle = unpack_bounded(bytes.data(), bytes.size(), offset);
    return unpack_envelope(handle.get());
  } catch (const std::exception& ex) {
    return malformed(ex.what());
  }
}

}  // namespace eda
