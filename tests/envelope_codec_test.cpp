#include "core/envelope_codec.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace eda::envelope_codec_test {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

std::string all_byte_values() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

Envelope full_envelope() {
  Envelope e;
  e.id = "01HXZ5M8Q3J6W7Y8Z9A0B1C2D3";
  e.topic = "orders.eu.created";
  e.key = "customer-42";
  e.headers = {{"trace", std::string("abc")},
               {"count", int64_t{42}},
               {"neg", int64_t{-7}},
               {"min", int64_t{INT64_MIN}},
               {"max", int64_t{INT64_MAX}},
               {"ratio", 0.25},
               {"ok", true},
               {"off", false},
               {"trace", std::string("repeated name keeps its place")}};
  e.ts = 1'714'564'800'123;
  e.payload = std::string("a\0b\xff\xfe\x80", 6);
  e.offset = 17;
  return e;
}

Envelope round_trip(const Envelope& e) {
  auto decoded = decode_envelope(encode_envelope(e));
  if (!decoded.ok()) FAIL("unexpected error: " << decoded.error().message);
  return *decoded;
}

// Writes a msgpack float64 as it is: msgpack-c's pack(double) writes doubles
// with an integral value as integers.
void pack_raw_float64(Packer& pk, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char raw[9] = {static_cast<char>(0xcb)};
  for (int i = 0; i < 8; ++i) raw[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  pk.pack_bin_body(raw, sizeof raw);  // appends the bytes unchanged
}

// Packs a 7-field envelope array, letting `field` replace one of the fields.
std::string pack_fields(int replaced, const std::function<void(Packer&)>& field) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_array(kEnvelopeFields);
  auto put = [&](int index, const std::function<void(Packer&)>& normal) {
    if (index == replaced)
      field(pk);
    else
      normal(pk);
  };
  put(0, [](Packer& p) { p.pack(std::string("id")); });
  put(1, [](Packer& p) { p.pack(std::string("topic")); });
  put(2, [](Packer& p) { p.pack_nil(); });
  put(3, [](Packer& p) { p.pack_map(0); });
  put(4, [](Packer& p) { p.pack(int64_t{1}); });
  put(5, [](Packer& p) {
    p.pack_bin(1);
    p.pack_bin_body("x", 1);
  });
  put(6, [](Packer& p) { p.pack_nil(); });
  return std::string(buf.data(), buf.size());
}

// Decodes bytes that must be rejected: an error of kind kInvalidArgument, no exception.
Error expect_malformed(const std::string& bytes) {
  Result<Envelope> r = Envelope{};
  REQUIRE_NOTHROW(r = decode_envelope(bytes));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(r.error().message, Catch::Contains("malformed envelope"));
  return r.error();
}

TEST_CASE("envelope codec: round trip with every field set", "[envelope_codec]") {
  Envelope e = full_envelope();
  CHECK(round_trip(e) == e);
}

TEST_CASE("envelope codec: round trip without a key keeps it absent", "[envelope_codec]") {
  Envelope e = full_envelope();
  e.key.reset();
  Envelope back = round_trip(e);
  CHECK_FALSE(back.key.has_value());
  CHECK(back == e);
}

TEST_CASE("envelope codec: an empty key differs from no key", "[envelope_codec]") {
  Envelope e = full_envelope();
  e.key = "";
  Envelope back = round_trip(e);
  REQUIRE(back.key.has_value());
  CHECK(back.key->empty());
}

TEST_CASE("envelope codec: header types and order survive", "[envelope_codec]") {
  Envelope e = full_envelope();
  Envelope back = round_trip(e);
  REQUIRE(back.headers.size() == e.headers.size());
  for (size_t i = 0; i < e.headers.size(); ++i) {
    INFO("header " << i << " " << e.headers[i].first);
    CHECK(back.headers[i].first == e.headers[i].first);
    CHECK(back.headers[i].second.index() == e.headers[i].second.index());
    CHECK(back.headers[i].second == e.headers[i].second);
  }
  CHECK(std::get<double>(back.headers[5].second) == 0.25);
  CHECK(std::get<int64_t>(back.headers[3].second) == INT64_MIN);
}

TEST_CASE("envelope codec: float headers with integral values stay floats", "[envelope_codec]") {
  // `-H price:=2.0` is a float; it must not come back as the integer 2, and
  // 1e19 (beyond int64) must not make the envelope undecodable.
  for (double d : {2.0, 0.0, -0.0, -3.0, 1e15, 1e19, -1e19, 1e300}) {
    INFO(d);
    Envelope e = full_envelope();
    e.headers = {{"f", d}};
    auto back = decode_envelope(encode_envelope(e));
    REQUIRE(back.ok());
    REQUIRE(back->headers.size() == 1);
    CHECK(std::holds_alternative<double>(back->headers[0].second));
    CHECK(back->headers[0].second == HeaderValue{d});
  }
}

TEST_CASE("envelope codec: a raw float64 header decodes as a float", "[envelope_codec]") {
  auto e = decode_envelope(pack_fields(3, [](Packer& p) {
    p.pack_map(1);
    p.pack(std::string("f"));
    pack_raw_float64(p, 2.0);
  }));
  REQUIRE(e.ok());
  REQUIRE(e->headers.size() == 1);
  CHECK(e->headers[0].second == HeaderValue{2.0});
}

TEST_CASE("envelope codec: binary payload with NUL and 0xFF bytes", "[envelope_codec]") {
  Envelope e;
  e.id = "i";
  e.topic = "t";
  e.payload = all_byte_values() + std::string("\0\0\xff\xff", 4);
  Envelope back = round_trip(e);
  CHECK(back.payload.size() == 260);
  CHECK(back.payload == e.payload);
}

TEST_CASE("envelope codec: empty payload and empty headers", "[envelope_codec]") {
  Envelope e;
  e.id = "i";
  e.topic = "t";
  Envelope back = round_trip(e);
  CHECK(back.payload.empty());
  CHECK(back.headers.empty());
  CHECK(back == e);
}

TEST_CASE("envelope codec: offset set and unset", "[envelope_codec]") {
  Envelope e = full_envelope();
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 40, kNoOffset - 1}) {
    INFO(offset);
    e.offset = offset;
    CHECK(round_trip(e).offset == offset);
  }
  e.offset = kNoOffset;
  CHECK(round_trip(e).offset == kNoOffset);
}

TEST_CASE("envelope codec: negative and zero timestamps", "[envelope_codec]") {
  Envelope e = full_envelope();
  for (int64_t ts : {int64_t{0}, int64_t{-1}, INT64_MIN, INT64_MAX}) {
    INFO(ts);
    e.ts = ts;
    CHECK(round_trip(e).ts == ts);
  }
}

TEST_CASE("envelope codec: batches of 0, 1 and several envelopes", "[envelope_codec]") {
  for (size_t n : {0u, 1u, 5u}) {
    INFO(n);
    std::vector<Envelope> batch;
    for (size_t i = 0; i < n; ++i) {
      Envelope e = full_envelope();
      e.offset = i;
      e.payload += std::to_string(i);
      if (i % 2) e.key.reset();
      batch.push_back(e);
    }
    msgpack::sbuffer buf;
    Packer pk(buf);
    pack_batch(pk, std::span<const Envelope>(batch));
    auto handle = msgpack::unpack(buf.data(), buf.size());
    auto back = unpack_batch(handle.get());
    REQUIRE(back.ok());
    CHECK(*back == batch);
  }
}

TEST_CASE("envelope codec: a batch with one bad envelope is rejected", "[envelope_codec]") {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_array(2);
  pack_envelope(pk, full_envelope());
  pk.pack(int64_t{5});
  auto handle = msgpack::unpack(buf.data(), buf.size());
  auto back = unpack_batch(handle.get());
  REQUIRE_FALSE(back.ok());
  CHECK(back.error().kind == ErrorKind::kInvalidArgument);
}

TEST_CASE("envelope codec: a batch that is not an array is rejected", "[envelope_codec]") {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_map(0);
  auto handle = msgpack::unpack(buf.data(), buf.size());
  auto back = unpack_batch(handle.get());
  REQUIRE_FALSE(back.ok());
  CHECK_THAT(back.error().message, Catch::Contains("not an array"));
}

TEST_CASE("envelope codec: input that is not an array is rejected", "[envelope_codec]") {
  std::vector<std::function<void(Packer&)>> values = {
      [](Packer& p) { p.pack_nil(); },
      [](Packer& p) { p.pack(int64_t{7}); },
      [](Packer& p) { p.pack(std::string("envelope")); },
      [](Packer& p) { p.pack_map(0); },
      [](Packer& p) {
        p.pack_map(1);
        p.pack(std::string("id"));
        p.pack(std::string("x"));
      },
      [](Packer& p) { p.pack(true); },
  };
  for (size_t i = 0; i < values.size(); ++i) {
    INFO("value " << i);
    msgpack::sbuffer buf;
    Packer pk(buf);
    values[i](pk);
    CHECK_THAT(expect_malformed(std::string(buf.data(), buf.size())).message,
               Catch::Contains("array of 7 fields"));
  }
}

TEST_CASE("envelope codec: wrong field count is rejected", "[envelope_codec]") {
  for (uint32_t count : {0u, 1u, 6u, 8u, 20u}) {
    INFO(count);
    msgpack::sbuffer buf;
    Packer pk(buf);
    pk.pack_array(count);
    for (uint32_t i = 0; i < count; ++i) pk.pack(std::string("x"));
    CHECK_THAT(expect_malformed(std::string(buf.data(), buf.size())).message,
               Catch::Contains("array of 7 fields"));
  }
  // Seven fields are right, but only when the 7th is there: an envelope with
  // an extra trailing field is not silently accepted.
  std::string good = encode_envelope(full_envelope());
  std::string extended = good;
  extended[0] = static_cast<char>(0x98);  // fixarray of 8
  extended += static_cast<char>(0xc0);    // nil
  expect_malformed(extended);
}

TEST_CASE("envelope codec: wrong field types are rejected", "[envelope_codec]") {
  struct Case {
    int field;
    const char* problem;
    std::function<void(Packer&)> value;
  };
  const std::vector<Case> cases = {
      {0, "id", [](Packer& p) { p.pack(int64_t{1}); }},
      {0, "id", [](Packer& p) { p.pack_nil(); }},
      {1, "topic", [](Packer& p) { p.pack(true); }},
      {1, "topic", [](Packer& p) { p.pack_array(0); }},
      {2, "key", [](Packer& p) { p.pack(int64_t{3}); }},
      {2, "key", [](Packer& p) { p.pack_map(0); }},
      {3, "headers", [](Packer& p) { p.pack_array(0); }},
      {3, "headers", [](Packer& p) { p.pack_nil(); }},
      {3, "header name",
       [](Packer& p) {
         p.pack_map(1);
         p.pack(int64_t{1});
         p.pack(std::string("v"));
       }},
      {3, "header 'h'",
       [](Packer& p) {
         p.pack_map(1);
         p.pack(std::string("h"));
         p.pack_nil();
       }},
      {3, "header 'h'",
       [](Packer& p) {
         p.pack_map(1);
         p.pack(std::string("h"));
         p.pack_array(1);
         p.pack(int64_t{1});
       }},
      {3, "header 'big'",
       [](Packer& p) {
         p.pack_map(1);
         p.pack(std::string("big"));
         p.pack(uint64_t{INT64_MAX} + 1);  // does not fit an int64 header
       }},
      {4, "ts", [](Packer& p) { p.pack(std::string("1714564800000")); }},
      {4, "ts", [](Packer& p) { p.pack(1.5); }},
      {4, "ts", [](Packer& p) { p.pack_nil(); }},
      {5, "payload", [](Packer& p) { p.pack(int64_t{0}); }},
      {5, "payload", [](Packer& p) { p.pack_nil(); }},
      {6, "offset", [](Packer& p) { p.pack(int64_t{-1}); }},
      {6, "offset", [](Packer& p) { p.pack(std::string("5")); }},
      {6, "offset", [](Packer& p) { pack_raw_float64(p, 2.0); }},
      {4, "ts", [](Packer& p) { pack_raw_float64(p, 1000.0); }},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": field " << cases[i].field);
    Error e = expect_malformed(pack_fields(cases[i].field, cases[i].value));
    CHECK_THAT(e.message, Catch::Contains(cases[i].problem));
  }
}

TEST_CASE("envelope codec: the field-replacing helper builds a valid envelope",
          "[envelope_codec]") {
  // Guards the test above: with no field replaced the bytes must decode.
  auto e = decode_envelope(pack_fields(-1, [](Packer&) {}));
  REQUIRE(e.ok());
  CHECK(e->id == "id");
  CHECK(e->topic == "topic");
  CHECK(e->payload == "x");
}

TEST_CASE("envelope codec: ts beyond the int64 range is rejected", "[envelope_codec]") {
  // A ts of 2^63 would wrap to a negative time if taken as it is.
  Error e = expect_malformed(pack_fields(4, [](Packer& p) { p.pack(uint64_t{INT64_MAX} + 1); }));
  CHECK_THAT(e.message, Catch::Contains("ts"));
}

TEST_CASE("envelope codec: every truncation of a valid envelope is rejected", "[envelope_codec]") {
  std::string bytes = encode_envelope(full_envelope());
  REQUIRE(decode_envelope(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("first " << n << " of " << bytes.size() << " bytes");
    expect_malformed(bytes.substr(0, n));
  }
}

TEST_CASE("envelope codec: reserved and invalid msgpack bytes are rejected", "[envelope_codec]") {
  expect_malformed(std::string("\xc1", 1));  // never used in msgpack
  expect_malformed(std::string("\x97\xc1\xc1\xc1\xc1\xc1\xc1\xc1", 8));
  expect_malformed(std::string());
}

TEST_CASE("envelope codec: huge declared sizes in a tiny input are rejected", "[envelope_codec]") {
  // A few bytes claiming billions of elements must fail on validation, not by
  // trying to allocate the space for them.
  const std::string inputs[] = {
      std::string("\xdd\xff\xff\xff\xff", 5),                     // array32 of 2^32-1
      std::string("\xdf\xff\xff\xff\xff", 5),                     // map32 of 2^32-1
      std::string("\x97\xa1x\xa1t\xc0\xdf\xff\xff\xff\xf0", 11),  // headers map32
      std::string("\xc6\xff\xff\xff\xff", 5),                     // bin32 of 2^32-1
  };
  for (const std::string& in : inputs) {
    INFO("input of " << in.size() << " bytes");
    Error e = expect_malformed(in);
    CHECK_THAT(e.message, !Catch::Contains("bad_alloc"));
  }
}

TEST_CASE("envelope codec: random garbage never throws", "[envelope_codec]") {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 64);
  size_t decoded = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(length(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    // Start some inputs as a 7-element array so the field checks are reached.
    if (i % 2 && !bytes.empty()) bytes[0] = static_cast<char>(0x97);
    INFO("iteration " << i);
    Result<Envelope> r = Envelope{};
    REQUIRE_NOTHROW(r = decode_envelope(bytes));
    if (r.ok()) ++decoded;
  }
  // Random bytes essentially never form a valid envelope.
  CHECK(decoded < 10);
}

TEST_CASE("envelope codec: mutated valid envelopes never throw", "[envelope_codec]") {
  std::string good = encode_envelope(full_envelope());
  std::mt19937 rng(777);
  std::uniform_int_distribution<size_t> pos(0, good.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = good;
    for (int k = 0; k < 3; ++k) bytes[pos(rng)] = static_cast<char>(byte(rng));
    INFO("iteration " << i);
    REQUIRE_NOTHROW((void)decode_envelope(bytes));
  }
}

}  // namespace
}  // namespace eda::envelope_codec_test
