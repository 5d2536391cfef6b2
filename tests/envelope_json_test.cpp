#include "core/envelope_json.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/base64.h"

namespace eda::envelope_json_test {
namespace {

using Json = nlohmann::ordered_json;

Envelope sample() {
  Envelope e;
  e.id = "01HXZ5M8Q3J6W7Y8Z9A0B1C2D3";
  e.topic = "orders.eu";
  e.key = "k1";
  e.headers = {{"s", std::string("text")}, {"i", int64_t{-42}}, {"f", 1.5}, {"b", true}};
  e.ts = 1'714'564'800'000;
  e.payload = "hello \"world\"\n\t\\";
  e.offset = 9;
  return e;
}

std::string to_json(const Envelope& e) {
  std::string out;
  append_envelope_json(e, out);
  return out;
}

Envelope from_json_ok(std::string_view line) {
  INFO(line);
  auto e = envelope_from_json(line);
  if (!e.ok()) FAIL("unexpected error: " << e.error().message);
  return *e;
}

Error from_json_error(std::string_view line) {
  INFO(line);
  Result<Envelope> r = Envelope{};
  REQUIRE_NOTHROW(r = envelope_from_json(line));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(r.error().message, Catch::Contains("JSON envelope"));
  return r.error();
}

TEST_CASE("envelope json: writes one object with the documented fields in order",
          "[envelope_json]") {
  std::string line = to_json(sample());
  CHECK(line.find('\n') == std::string::npos);
  Json j = Json::parse(line);
  REQUIRE(j.is_object());
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  CHECK(keys ==
        std::vector<std::string>{"topic", "offset", "id", "key", "ts", "headers", "payload"});
  CHECK(j["topic"] == "orders.eu");
  CHECK(j["offset"] == 9);
  CHECK(j["id"] == "01HXZ5M8Q3J6W7Y8Z9A0B1C2D3");
  CHECK(j["key"] == "k1");
  CHECK(j["ts"] == 1'714'564'800'000);
  CHECK(j["payload"] == "hello \"world\"\n\t\\");
}

TEST_CASE("envelope json: a Kafka message has its partition after the topic", "[envelope_json]") {
  Envelope e = sample();
  e.partition = 3;
  Json j = Json::parse(to_json(e));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"topic", "partition", "offset", "id", "key", "ts",
                                         "headers", "payload"});
  CHECK(j["partition"] == 3);
}

TEST_CASE("envelope json: appends to what is already in the string", "[envelope_json]") {
  std::string out = "prefix:";
  append_envelope_json(sample(), out);
  CHECK(out.rfind("prefix:{", 0) == 0);
}

TEST_CASE("envelope json: no offset and no key", "[envelope_json]") {
  Envelope e = sample();
  e.offset = kNoOffset;
  e.key.reset();
  Json j = Json::parse(to_json(e));
  CHECK_FALSE(j.contains("offset"));
  REQUIRE(j.contains("key"));
  CHECK(j["key"].is_null());
  Envelope back = from_json_ok(to_json(e));
  CHECK(back.offset == kNoOffset);
  CHECK_FALSE(back.key.has_value());
}

TEST_CASE("envelope json: headers keep their types", "[envelope_json]") {
  Json j = Json::parse(to_json(sample()));
  const Json& h = j["headers"];
  REQUIRE(h.is_object());
  CHECK(h["s"].is_string());
  CHECK(h["i"].is_number_integer());
  CHECK(h["i"].get<int64_t>() == -42);
  CHECK(h["f"].is_number_float());
  CHECK(h["f"].get<double>() == 1.5);
  CHECK(h["b"].is_boolean());
  // A float with an integral value is still a float on the way back.
  Envelope e = sample();
  e.headers = {{"whole", 2.0}};
  Envelope back = from_json_ok(to_json(e));
  REQUIRE(back.headers.size() == 1);
  CHECK(std::holds_alternative<double>(back.headers[0].second));
}

TEST_CASE("envelope json: reads typed headers", "[envelope_json]") {
  Envelope e =
      from_json_ok(R"({"headers":{"s":"x","i":5,"n":-3,"f":0.5,"t":true,"u":false,"e":""}})");
  Headers expected = {{"s", std::string("x")},
                      {"i", int64_t{5}},
                      {"n", int64_t{-3}},
                      {"f", 0.5},
                      {"t", true},
                      {"u", false},
                      {"e", std::string()}};
  CHECK(e.headers == expected);
}

TEST_CASE("envelope json: round trip of a text payload", "[envelope_json]") {
  Envelope e = sample();
  CHECK(from_json_ok(to_json(e)) == e);
  e.payload = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // valid UTF-8 stays text
  Json j = Json::parse(to_json(e));
  CHECK(j.contains("payload"));
  CHECK_FALSE(j.contains("payload_base64"));
  CHECK(from_json_ok(to_json(e)) == e);
}

TEST_CASE("envelope json: text payload with NUL and control characters", "[envelope_json]") {
  Envelope e = sample();
  e.payload = std::string("a\0b\x01\x1f", 5);
  Json j = Json::parse(to_json(e));
  CHECK(j.contains("payload"));
  CHECK(from_json_ok(to_json(e)).payload == e.payload);
}

TEST_CASE("envelope json: binary payload goes as payload_base64 and round trips",
          "[envelope_json]") {
  Envelope e = sample();
  std::string bytes;
  for (int i = 255; i >= 0; --i) bytes += static_cast<char>(i);
  e.payload = bytes;
  std::string line = to_json(e);
  Json j = Json::parse(line);
  CHECK_FALSE(j.contains("payload"));
  REQUIRE(j.contains("payload_base64"));
  CHECK(j["payload_base64"] == base64_encode(bytes));
  CHECK(from_json_ok(line) == e);
}

TEST_CASE("envelope json: empty payload and empty headers", "[envelope_json]") {
  Envelope e;
  e.topic = "t";
  e.id = "i";
  Json j = Json::parse(to_json(e));
  CHECK(j["payload"] == "");
  CHECK(j["headers"].is_object());
  CHECK(j["headers"].empty());
  CHECK(from_json_ok(to_json(e)) == e);
}

TEST_CASE("envelope json: a repeated header name keeps its last value", "[envelope_json]") {
  Envelope e = sample();
  e.headers = {{"a", std::string("first")}, {"b", int64_t{1}}, {"a", std::string("last")}};
  Envelope back = from_json_ok(to_json(e));
  REQUIRE(back.headers.size() == 2);
  const HeaderValue* a = find_header(back.headers, "a");
  REQUIRE(a != nullptr);
  CHECK(*a == HeaderValue{std::string("last")});
}

TEST_CASE("envelope json: invalid UTF-8 in key or header does not throw", "[envelope_json]") {
  Envelope e = sample();
  e.key = "bad\xff";
  e.headers = {{"n\xc0", std::string("v\xfe")}};
  std::string line;
  REQUIRE_NOTHROW(append_envelope_json(e, line));
  CHECK_NOTHROW(Json::parse(line));
  CHECK(from_json_ok(line).payload == e.payload);
}

TEST_CASE("envelope json: every field is optional", "[envelope_json]") {
  Envelope e = from_json_ok("{}");
  CHECK(e.topic.empty());
  CHECK(e.id.empty());
  CHECK_FALSE(e.key.has_value());
  CHECK(e.headers.empty());
  CHECK(e.ts == 0);
  CHECK(e.offset == kNoOffset);
  CHECK(e.payload.empty());

  Envelope k = from_json_ok(R"({"key":null,"payload":"p"})");
  CHECK_FALSE(k.key.has_value());
  CHECK(k.payload == "p");
  // Surrounding whitespace (a CRLF line) is fine.
  CHECK(from_json_ok("  {\"payload\":\"x\"}\r").payload == "x");
}

TEST_CASE("envelope json: payload wins over payload_base64", "[envelope_json]") {
  Envelope e = from_json_ok(R"({"payload":"text","payload_base64":"Ynl0ZXM="})");
  CHECK(e.payload == "text");
  CHECK(from_json_ok(R"({"payload_base64":"Ynl0ZXM="})").payload == "bytes");
}

TEST_CASE("envelope json: text that is not JSON is an error", "[envelope_json]") {
  for (const char* line : {"", "   ", "{", "{\"a\":}", "not json", "{\"payload\":\"x\"} trailing",
                           "{'payload':'x'}"}) {
    CHECK_THAT(from_json_error(line).message, Catch::Contains("not valid JSON"));
  }
}

TEST_CASE("envelope json: JSON that is not an object is an error", "[envelope_json]") {
  for (const char* line : {"[]", "[{}]", "\"payload\"", "42", "null", "true"}) {
    CHECK_THAT(from_json_error(line).message, Catch::Contains("expected an object"));
  }
}

TEST_CASE("envelope json: fields of the wrong type are errors", "[envelope_json]") {
  for (const char* line : {
           R"({"topic":5})",
           R"({"topic":null})",
           R"({"id":[]})",
           R"({"key":7})",
           R"({"key":{}})",
           R"({"ts":"1714564800000"})",
           R"({"ts":true})",
           R"({"offset":"3"})",
           R"({"payload":5})",
           R"({"payload":null})",
           R"({"payload":["a"]})",
           R"({"payload_base64":5})",
       }) {
    from_json_error(line);
  }
}

TEST_CASE("envelope json: offset must be a non-negative integer", "[envelope_json]") {
  // -1 must not turn into 2^64-1 (which is also "no offset").
  from_json_error(R"({"offset":-1})");
  from_json_error(R"({"offset":1.5})");
  CHECK(from_json_ok(R"({"offset":0})").offset == 0);
  CHECK(from_json_ok(R"({"offset":18446744073709551614})").offset == 18446744073709551614u);
}

TEST_CASE("envelope json: invalid payload_base64 is an error", "[envelope_json]") {
  for (const char* line : {R"({"payload_base64":"abc"})", R"({"payload_base64":"@@@@"})",
                           R"({"payload_base64":"Zg=a"})"}) {
    CHECK_THAT(from_json_error(line).message, Catch::Contains("payload_base64"));
  }
}

TEST_CASE("envelope json: headers that are not an object or hold other types are errors",
          "[envelope_json]") {
  CHECK_THAT(from_json_error(R"({"headers":[]})").message, Catch::Contains("must be an object"));
  CHECK_THAT(from_json_error(R"({"headers":"a=b"})").message, Catch::Contains("must be an object"));
  for (const char* line :
       {R"({"headers":{"h":null}})", R"({"headers":{"h":[1]}})", R"({"headers":{"h":{"x":1}}})"}) {
    CHECK_THAT(from_json_error(line).message, Catch::Contains("header \"h\""));
  }
}

TEST_CASE("envelope json: an integer header beyond int64 does not wrap around", "[envelope_json]") {
  auto r = envelope_from_json(R"({"headers":{"h":18446744073709551615}})");
  if (r.ok()) {
    REQUIRE(r->headers.size() == 1);
    const HeaderValue& v = r->headers[0].second;
    INFO("decoded as " << header_value_text(v));
    // Either refused, or kept as a (large, positive) number, never as -1.
    CHECK_FALSE(std::holds_alternative<int64_t>(v));
  }
}

}  // namespace
}  // namespace eda::envelope_json_test
