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
  std::vector<EnvelopeView> views;
  std::vector<HeaderField> headers;
  if (Status s = view_batch(o, views, headers); !s) return s.error();
  std::vector<Envelope> batch;
  batch.reserve(views.size());
  for (const EnvelopeView& v : views) batch.push_back(copy_envelope(v));
  return batch;
}

Status view_batch(const msgpack::object& o, std::vector<EnvelopeView>& out,
                  std::vector<HeaderField>& headers) {
  if (o.type != msgpack::type::ARRAY) return malformed_envelope("batch is not an array");
  auto items = std::span(o.via.array.ptr, o.via.array.size);
  // Room for every header first, so that the spans into `headers` stay valid.
  size_t header_count = 0;
  for (const msgpack::object& item : items)
    if (item.type == msgpack::type::ARRAY && item.via.array.size == kEnvelopeFields &&
        item.via.array.ptr[3].type == msgpack::type::MAP)
      header_count += item.via.array.ptr[3].via.map.size;
  out.clear();
  headers.clear();
  out.reserve(items.size());
  headers.reserve(header_count);
  thread_local std::vector<HeaderField> one;
  for (const msgpack::object& item : items) {
    auto v = view_envelope(item, one);
    if (!v) return v.error();
    size_t start = headers.size();
    headers.insert(headers.end(), one.begin(), one.end());
    v->headers = std::span(headers).subspan(start, one.size());
    out.push_back(*v);
  }
  return ok_status();
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

namespace {
bool reference_everything(msgpack::type::object_type, std::size_t, void*) {
  return true;
}
}  // namespace

msgpack::object unpack_in_place(msgpack::zone& zone, std::string_view data, size_t& offset) {
  return msgpack::unpack(zone, data.data(), data.size(), offset, reference_everything, nullptr,
                         unpack_limits());
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
