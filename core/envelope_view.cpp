#include "core/envelope_view.h"

#include <fmt/format.h>

#include "core/envelope_codec.h"

namespace eda {
namespace {

std::optional<std::string_view> text_of(const msgpack::object& o) {
  if (o.type == msgpack::type::STR) return std::string_view(o.via.str.ptr, o.via.str.size);
  if (o.type == msgpack::type::BIN) return std::string_view(o.via.bin.ptr, o.via.bin.size);
  return std::nullopt;
}

std::optional<FieldValue> header_value_of(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::STR:
      return FieldValue::string(std::string_view(o.via.str.ptr, o.via.str.size));
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return FieldValue::integer(static_cast<int64_t>(o.via.u64));
    case msgpack::type::NEGATIVE_INTEGER:
      return FieldValue::integer(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return FieldValue::real(o.via.f64);
    case msgpack::type::BOOLEAN:
      return FieldValue::boolean(o.via.boolean);
    default:
      return std::nullopt;
  }
}

FieldValue header_value_of(const HeaderValue& v) {
  struct {
    FieldValue operator()(const std::string& s) { return FieldValue::string(s); }
    FieldValue operator()(int64_t i) { return FieldValue::integer(i); }
    FieldValue operator()(double d) { return FieldValue::real(d); }
    FieldValue operator()(bool b) { return FieldValue::boolean(b); }
  } convert;
  return std::visit(convert, v);
}

}  // namespace

Error malformed_envelope(std::string_view what) {
  return {ErrorKind::kInvalidArgument, fmt::format("malformed envelope: {}", what)};
}

Status view_headers(const msgpack::object& o, std::vector<HeaderField>& headers) {
  if (o.type != msgpack::type::MAP) return invalid_argument("headers are not a map");
  headers.clear();
  for (const auto& kv : std::span(o.via.map.ptr, o.via.map.size)) {
    auto name = text_of(kv.key);
    if (!name) return invalid_argument("a header name is not a string");
    auto value = header_value_of(kv.val);
    if (!value)
      return invalid_argument(fmt::format("header '{}' is not a string, number or bool", *name));
    headers.push_back({*name, *value});
  }
  return ok_status();
}

Result<EnvelopeView> view_envelope(const msgpack::object& o, std::vector<HeaderField>& headers) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != kEnvelopeFields)
    return malformed_envelope(fmt::format("expected an array of {} fields", kEnvelopeFields));
  const msgpack::object* f = o.via.array.ptr;
  EnvelopeView v;
  auto id = text_of(f[0]);
  if (!id) return malformed_envelope("id is not a string");
  v.id = *id;
  auto topic = text_of(f[1]);
  if (!topic) return malformed_envelope("topic is not a string");
  v.topic = *topic;
  if (!f[2].is_nil()) {
    v.key = text_of(f[2]);
    if (!v.key) return malformed_envelope("key is neither a string nor nil");
  }
  if (Status s = view_headers(f[3], headers); !s) return malformed_envelope(s.error().message);
  v.headers = headers;
  if (f[4].type == msgpack::type::POSITIVE_INTEGER && f[4].via.u64 <= INT64_MAX)
    v.ts = static_cast<int64_t>(f[4].via.u64);
  else if (f[4].type == msgpack::type::NEGATIVE_INTEGER)
    v.ts = f[4].via.i64;
  else
    return malformed_envelope("ts is not an integer");
  auto payload = text_of(f[5]);
  if (!payload) return malformed_envelope("payload is not bytes");
  v.payload = *payload;
  if (f[6].type == msgpack::type::POSITIVE_INTEGER)
    v.offset = f[6].via.u64;
  else if (!f[6].is_nil())
    return malformed_envelope("offset is neither an unsigned integer nor nil");
  return v;
}

void view_headers(const Headers& owned, std::vector<HeaderField>& headers) {
  headers.clear();
  for (const auto& [name, value] : owned) headers.push_back({name, header_value_of(value)});
}

EnvelopeView view_envelope(const Envelope& e, std::vector<HeaderField>& headers) {
  view_headers(e.headers, headers);
  EnvelopeView v{e.id, e.topic, std::nullopt, headers, e.ts, e.payload, e.offset, e.partition};
  if (e.key) v.key = *e.key;
  return v;
}

size_t message_size(const EnvelopeView& v) {
  size_t n = v.payload.size() + (v.key ? v.key->size() : 0);
  for (const HeaderField& h : v.headers)
    n += h.name.size() + (h.value.type == FieldValue::Type::kString ? h.value.s.size() : 8);
  return n;
}

std::vector<EnvelopeView> view_envelopes(std::span<const Envelope> batch,
                                         std::vector<HeaderField>& headers) {
  size_t header_count = 0;
  for (const Envelope& e : batch) header_count += e.headers.size();
  headers.clear();
  headers.reserve(header_count);  // spans into it stay valid
  std::vector<EnvelopeView> views;
  views.reserve(batch.size());
  std::vector<HeaderField> one;
  for (const Envelope& e : batch) {
    EnvelopeView v = view_envelope(e, one);
    size_t start = headers.size();
    headers.insert(headers.end(), one.begin(), one.end());
    v.headers = std::span(headers).subspan(start, one.size());
    views.push_back(v);
  }
  return views;
}

Status check_message_limits(const EnvelopeView& v, size_t max_message_bytes) {
  if (v.headers.size() > kMaxHeaders)
    return invalid_argument(
        fmt::format("has {} headers, over the limit of {}", v.headers.size(), kMaxHeaders));
  for (const HeaderField& h : v.headers)
    if (h.name.size() > kMaxHeaderNameBytes)
      return invalid_argument(fmt::format("has a header name of {} bytes, over the limit of {}",
                                          h.name.size(), kMaxHeaderNameBytes));
  if (size_t n = message_size(v); n > max_message_bytes)
    return invalid_argument(
        fmt::format("is {} bytes, over the broker's limit of {} bytes (--max-message-bytes)", n,
                    max_message_bytes));
  return ok_status();
}

bool is_tombstone(const EnvelopeView& v) {
  if (!v.key || !v.payload.empty()) return false;
  for (const HeaderField& h : v.headers)
    if (equals_ignoring_case(h.name, "tombstone"))
      return h.value.type == FieldValue::Type::kBool && h.value.b;
  return false;
}

Envelope copy_envelope(const EnvelopeView& v) {
  Envelope e{
      std::string(v.id), std::string(v.topic), std::nullopt, {}, v.ts, std::string(v.payload),
      v.offset};
  if (v.key) e.key.emplace(*v.key);
  e.partition = v.partition;
  e.headers.reserve(v.headers.size());
  for (const HeaderField& h : v.headers) {
    const FieldValue& f = h.value;
    HeaderValue value = f.type == FieldValue::Type::kString ? HeaderValue{std::string(f.s)}
                        : f.type == FieldValue::Type::kInt  ? HeaderValue{f.i}
                        : f.type == FieldValue::Type::kBool ? HeaderValue{f.b}
                                                            : HeaderValue{f.d};
    e.headers.emplace_back(std::string(h.name), std::move(value));
  }
  return e;
}

void append_header_text(const FieldValue& value, std::string& out) {
  switch (value.type) {
    case FieldValue::Type::kString:
      out += value.s;
      break;
    case FieldValue::Type::kInt:
      fmt::format_to(std::back_inserter(out), "{}", value.i);
      break;
    case FieldValue::Type::kDouble:
      fmt::format_to(std::back_inserter(out), "{}", value.d);
      break;
    case FieldValue::Type::kBool:
      out += value.b ? "true" : "false";
      break;
    default:  // views of envelopes hold no other kind
      break;
  }
}

// Declared in envelope.h: the text of an owned value goes through its view.
std::string header_value_text(const HeaderValue& value) {
  std::string out;
  append_header_text(header_value_of(value), out);
  return out;
}

Result<EnvelopeView> EnvelopeViewer::view(std::string_view encoded,
                                          std::vector<HeaderField>& headers) {
  zone_.clear();
  try {
    size_t offset = 0;
    msgpack::object o = unpack_in_place(zone_, encoded, offset);
    return view_envelope(o, headers);
  } catch (const std::exception& ex) {
    return malformed_envelope(ex.what());
  }
}

}  // namespace eda
