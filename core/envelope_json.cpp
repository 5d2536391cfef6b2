#include "core/envelope_json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace eda {

using Json = nlohmann::ordered_json;

void append_envelope_json(const EnvelopeView& v, std::string& out) {
  Json j;
  j["topic"] = v.topic;
  if (v.partition >= 0) j["partition"] = v.partition;  // Kafka only
  if (v.offset != kNoOffset) j["offset"] = v.offset;
  j["id"] = v.id;
  j["key"] = v.key ? Json(*v.key) : Json(nullptr);
  j["ts"] = v.ts;
  Json headers = Json::object();
  for (const HeaderField& h : v.headers) {
    Json& value = headers[std::string(h.name)];  // a repeated name keeps its last value
    switch (h.value.type) {
      case FieldValue::Type::kString:
        value = h.value.s;
        break;
      case FieldValue::Type::kInt:
        value = h.value.i;
        break;
      case FieldValue::Type::kBool:
        value = h.value.b;
        break;
      default:  // kDouble: views of envelopes hold no other kind
        value = h.value.d;
    }
  }
  j["headers"] = std::move(headers);
  if (is_valid_utf8(v.payload))
    j["payload"] = v.payload;
  else
    j["payload_base64"] = base64_encode(v.payload);
  // Header names and keys may hold invalid UTF-8 too; replace rather than throw.
  out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void append_envelope_json(const Envelope& e, std::string& out) {
  std::vector<HeaderField> headers;
  append_envelope_json(view_envelope(e, headers), out);
}

namespace {

Error bad_json(std::string_view what) {
  return invalid_argument(fmt::format("JSON envelope: {}", what));
}

Result<Headers> headers_from_json(const Json& j) {
  if (!j.is_object()) return bad_json("\"headers\" must be an object");
  Headers headers;
  for (const auto& [name, value] : j.items()) {
    if (value.is_string())
      headers.emplace_back(name, value.get<std::string>());
    else if (value.is_boolean())
      headers.emplace_back(name, value.get<bool>());
    else if (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX)
      return bad_json(fmt::format("header \"{}\" is an integer beyond 64-bit range", name));
    else if (value.is_number_integer())
      headers.emplace_back(name, value.get<int64_t>());
    else if (value.is_number_float())
      headers.emplace_back(name, value.get<double>());
    else
      return bad_json(fmt::format("header \"{}\" must be a string, number or boolean", name));
  }
  return headers;
}

}  // namespace

Result<Envelope> envelope_from_json(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad_json("not valid JSON");
  if (!j.is_object()) return bad_json("expected an object");
  Envelope e;
  auto text = [&](const char* field, std::string& out) -> Status {
    if (!j.contains(field)) return ok_status();
    if (!j[field].is_string()) return bad_json(fmt::format("\"{}\" must be a string", field));
    out = j[field].get<std::string>();
    return ok_status();
  };
  if (Status s = text("topic", e.topic); !s) return s.error();
  if (Status s = text("id", e.id); !s) return s.error();
  if (Status s = text("payload", e.payload); !s) return s.error();
  if (j.contains("key") && !j["key"].is_null()) {
    e.key.emplace();
    if (Status s = text("key", *e.key); !s) return s.error();
  }
  if (j.contains("ts")) {
    if (!j["ts"].is_number_integer() ||
        (j["ts"].is_number_unsigned() && j["ts"].get<uint64_t>() > INT64_MAX))
      return bad_json("\"ts\" must be an integer (ms since the epoch)");
    e.ts = j["ts"].get<int64_t>();
  }
  if (j.contains("offset")) {
    if (!j["offset"].is_number_unsigned())
      return bad_json("\"offset\" must be a non-negative integer");
    e.offset = j["offset"].get<uint64_t>();
  }
  if (!j.contains("payload") && j.contains("payload_base64")) {
    std::string encoded;
    if (Status s = text("payload_base64", encoded); !s) return s.error();
    auto bytes = base64_decode(encoded);
    if (!bytes) return bad_json("\"payload_base64\" is not valid base64");
    e.payload = std::move(*bytes);
  }
  if (j.contains("headers")) {
    auto headers = headers_from_json(j["headers"]);
    if (!headers) return headers.error();
    e.headers = std::move(*headers);
  }
  return e;
}

}  // namespace eda
