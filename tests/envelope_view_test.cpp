#include "core/envelope_view.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/envelope_codec.h"

namespace eda::envelope_view_test {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;
using Type = FieldValue::Type;

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
               {"whole", 2.0},
               {"ok", true},
               {"off", false},
               {"empty", std::string()},
               {"trace", std::string("repeated name keeps its place")}};
  e.ts = 1'714'564'800'123;
  e.payload = std::string("a\0b\xff\xfe\x80", 6);
  e.offset = 17;
  return e;
}

// The envelope variants the round trips cover.
std::vector<Envelope> variants() {
  std::vector<Envelope> all;
  all.push_back(full_envelope());
  Envelope no_key = full_envelope();
  no_key.key.reset();
  all.push_back(no_key);
  Envelope empty_key = full_envelope();
  empty_key.key = "";
  all.push_back(empty_key);
  Envelope no_offset = full_envelope();
  no_offset.offset = kNoOffset;
  all.push_back(no_offset);
  Envelope zero_offset = full_envelope();
  zero_offset.offset = 0;
  zero_offset.ts = -1;
  all.push_back(zero_offset);
  Envelope bare;
  bare.id = "i";
  bare.topic = "t";
  all.push_back(bare);
  Envelope binary = bare;
  for (int i = 0; i < 256; ++i) binary.payload += static_cast<char>(i);
  binary.headers = {{"bin\xff", std::string("\0\x80", 2)}};
  all.push_back(binary);
  Envelope json = full_envelope();
  json.payload = R"({"a":{"b":[1,2,3]}})";
  all.push_back(json);
  Envelope big = full_envelope();
  big.payload.assign(100'000, 'x');
  for (int i = 0; i < 200; ++i) big.headers.emplace_back("h" + std::to_string(i), int64_t{i});
  all.push_back(big);
  return all;
}

HeaderValue as_header_value(const FieldValue& f) {
  switch (f.type) {
    case Type::kString:
      return std::string(f.s);
    case Type::kInt:
      return f.i;
    case Type::kDouble:
      return f.d;
    case Type::kBool:
      return f.b;
    default:
      FAIL("header with a non-scalar type " << static_cast<int>(f.type));
      return false;
  }
}

// The view shows exactly the envelope's fields.
void check_view_of(const EnvelopeView& v, const Envelope& e) {
  CHECK(v.id == e.id);
  CHECK(v.topic == e.topic);
  CHECK(v.key.has_value() == e.key.has_value());
  if (v.key && e.key) CHECK(*v.key == *e.key);
  CHECK(v.ts == e.ts);
  CHECK(v.payload == e.payload);
  CHECK(v.offset == e.offset);
  REQUIRE(v.headers.size() == e.headers.size());
  for (size_t i = 0; i < e.headers.size(); ++i) {
    INFO("header " << i << " " << e.headers[i].first);
    CHECK(v.headers[i].name == e.headers[i].first);
    HeaderValue value = as_header_value(v.headers[i].value);
    CHECK(value.index() == e.headers[i].second.index());
    CHECK(value == e.headers[i].second);
  }
}

bool points_into(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

TEST_CASE("envelope view: of an Envelope shows its fields", "[envelope_view]") {
  std::vector<HeaderField> scratch;
  for (const Envelope& e : variants()) {
    INFO("id " << e.id << " payload bytes " << e.payload.size());
    check_view_of(view_envelope(e, scratch), e);
  }
}

TEST_CASE("envelope view: header types", "[envelope_view]") {
  Envelope e = full_envelope();
  std::vector<HeaderField> scratch;
  EnvelopeView v = view_envelope(e, scratch);
  REQUIRE(v.headers.size() == e.headers.size());
  CHECK(v.headers[0].value.type == Type::kString);
  CHECK(v.headers[0].value.s == "abc");
  CHECK(v.headers[1].value.type == Type::kInt);
  CHECK(v.headers[1].value.i == 42);
  CHECK(v.headers[3].value.i == INT64_MIN);
  CHECK(v.headers[5].value.type == Type::kDouble);
  CHECK(v.headers[5].value.d == 0.25);
  CHECK(v.headers[6].value.type == Type::kDouble);  // 2.0 stays a float
  CHECK(v.headers[7].value.type == Type::kBool);
  CHECK(v.headers[7].value.b);
  CHECK_FALSE(v.headers[8].value.b);
  CHECK(v.headers[9].value.type == Type::kString);
  CHECK(v.headers[9].value.s.empty());
}

TEST_CASE("envelope view: a tombstone is a key, no payload and tombstone:=true",
          "[envelope_view]") {
  Envelope e;
  e.key = "k";
  e.headers = {{"Tombstone", true}};
  std::vector<HeaderField> scratch;
  CHECK(is_tombstone(view_envelope(e, scratch)));
  Envelope with_payload = e;
  with_payload.payload = "x";
  CHECK_FALSE(is_tombstone(view_envelope(with_payload, scratch)));
  Envelope without_key = e;
  without_key.key.reset();
  CHECK_FALSE(is_tombstone(view_envelope(without_key, scratch)));
  Envelope text_true = e;
  text_true.headers = {{"tombstone", std::string("true")}};
  CHECK_FALSE(is_tombstone(view_envelope(text_true, scratch)));
  Envelope false_flag = e;
  false_flag.headers = {{"tombstone", false}};
  CHECK_FALSE(is_tombstone(view_envelope(false_flag, scratch)));
  Envelope no_header = e;
  no_header.headers.clear();
  CHECK_FALSE(is_tombstone(view_envelope(no_header, scratch)));
}

TEST_CASE("envelope view: of an Envelope borrows its strings", "[envelope_view]") {
  Envelope e = full_envelope();
  std::vector<HeaderField> scratch;
  EnvelopeView v = view_envelope(e, scratch);
  CHECK(v.id.data() == e.id.data());
  CHECK(v.topic.data() == e.topic.data());
  CHECK(v.key->data() == e.key->data());
  CHECK(v.payload.data() == e.payload.data());
  CHECK(v.headers[0].name.data() == e.headers[0].first.data());
  CHECK(v.headers[0].value.s.data() == std::get<std::string>(e.headers[0].second).data());
  CHECK(v.headers.data() == scratch.data());
}

TEST_CASE("envelope view: from msgpack agrees with the view of the Envelope", "[envelope_view]") {
  EnvelopeViewer viewer;
  std::vector<HeaderField> scratch;
  for (const Envelope& e : variants()) {
    INFO("id " << e.id << " payload bytes " << e.payload.size());
    std::string bytes = encode_envelope(e);
    auto v = viewer.view(bytes);
    if (!v.ok()) FAIL("unexpected error: " << v.error().message);
    check_view_of(*v, e);
    EnvelopeView direct = view_envelope(e, scratch);
    CHECK(copy_envelope(*v) == copy_envelope(direct));
    // borrowed from the encoded bytes
    CHECK(points_into(v->id, bytes));
    CHECK(points_into(v->topic, bytes));
    CHECK(points_into(v->payload, bytes));
    if (v->key) CHECK(points_into(*v->key, bytes));
  }
}

TEST_CASE("envelope view: from a decoded msgpack object", "[envelope_view]") {
  Envelope e = full_envelope();
  std::string bytes = encode_envelope(e);
  size_t offset = 0;
  auto handle = unpack_bounded(bytes.data(), bytes.size(), offset);
  std::vector<HeaderField> scratch;
  auto v = view_envelope(handle.get(), scratch);
  REQUIRE(v.ok());
  check_view_of(*v, e);
  CHECK(copy_envelope(*v) == e);
}

TEST_CASE("envelope view: copy_envelope round-trips", "[envelope_view]") {
  std::vector<HeaderField> scratch;
  EnvelopeViewer viewer;
  for (const Envelope& e : variants()) {
    INFO("id " << e.id << " payload bytes " << e.payload.size());
    Envelope from_envelope = copy_envelope(view_envelope(e, scratch));
    CHECK(from_envelope == e);
    CHECK(from_envelope.key.has_value() == e.key.has_value());
    for (size_t i = 0; i < e.headers.size() && i < from_envelope.headers.size(); ++i)
      CHECK(from_envelope.headers[i].second.index() == e.headers[i].second.index());
    std::string bytes = encode_envelope(e);
    auto v = viewer.view(bytes);
    REQUIRE(v.ok());
    Envelope from_bytes = copy_envelope(*v);
    CHECK(from_bytes == e);
    bytes.assign(bytes.size(), '\0');  // the copy owns its strings
    CHECK(from_bytes == e);
  }
}

TEST_CASE("envelope view: the scratch vector is cleared and reused", "[envelope_view]") {
  std::vector<HeaderField> scratch;
  Envelope many = full_envelope();
  Envelope one = full_envelope();
  one.headers = {{"only", int64_t{1}}};
  Envelope none = full_envelope();
  none.headers.clear();
  CHECK(view_envelope(many, scratch).headers.size() == many.headers.size());
  EnvelopeView v = view_envelope(one, scratch);
  REQUIRE(v.headers.size() == 1);
  CHECK(v.headers[0].name == "only");
  CHECK(view_envelope(none, scratch).headers.empty());

  std::string bytes = encode_envelope(many);
  size_t offset = 0;
  auto handle = unpack_bounded(bytes.data(), bytes.size(), offset);
  auto w = view_envelope(handle.get(), scratch);
  REQUIRE(w.ok());
  CHECK(w->headers.size() == many.headers.size());
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
  put(3, [](Packer& p) {
    p.pack_map(1);
    p.pack(std::string("h"));
    p.pack(std::string("v"));
  });
  put(4, [](Packer& p) { p.pack(int64_t{1}); });
  put(5, [](Packer& p) {
    p.pack_bin(1);
    p.pack_bin_body("x", 1);
  });
  put(6, [](Packer& p) { p.pack_nil(); });
  return std::string(buf.data(), buf.size());
}

std::string pack_array_of(uint32_t n) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_array(n);
  for (uint32_t i = 0; i < n; ++i) pk.pack(std::string("x"));
  return std::string(buf.data(), buf.size());
}

void expect_malformed(EnvelopeViewer& viewer, const std::string& bytes) {
  Result<EnvelopeView> r = EnvelopeView{};
  REQUIRE_NOTHROW(r = viewer.view(bytes));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(r.error().message, Catch::Contains("malformed envelope"));
}

void expect_viewer_works(EnvelopeViewer& viewer) {
  Envelope e = full_envelope();
  std::string bytes = encode_envelope(e);  // the view borrows from it
  auto v = viewer.view(bytes);
  REQUIRE(v.ok());
  CHECK(copy_envelope(*v) == e);
}

TEST_CASE("envelope view: the pack_fields baseline is valid", "[envelope_view]") {
  EnvelopeViewer viewer;
  std::string bytes = pack_fields(-1, nullptr);
  auto v = viewer.view(bytes);
  REQUIRE(v.ok());
  CHECK(v->id == "id");
  REQUIRE(v->headers.size() == 1);
  CHECK(v->headers[0].value.s == "v");
}

TEST_CASE("envelope view: the viewer rejects truncated bytes", "[envelope_view]") {
  EnvelopeViewer viewer;
  std::string bytes = encode_envelope(full_envelope());
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("first " << n << " of " << bytes.size() << " bytes");
    expect_malformed(viewer, bytes.substr(0, n));
  }
  expect_viewer_works(viewer);
}

TEST_CASE("envelope view: the viewer rejects malformed envelopes", "[envelope_view]") {
  EnvelopeViewer viewer;
  struct {
    const char* what;
    std::string bytes;
  } cases[] = {
      {"6 fields", pack_array_of(6)},
      {"8 fields", pack_array_of(8)},
      {"0 fields", pack_array_of(0)},
      {"not an array", pack_fields(-1, nullptr).substr(1)},
      {"id is an integer", pack_fields(0, [](Packer& p) { p.pack(1); })},
      {"topic is nil", pack_fields(1, [](Packer& p) { p.pack_nil(); })},
      {"key is an integer", pack_fields(2, [](Packer& p) { p.pack(7); })},
      {"headers are an array", pack_fields(3, [](Packer& p) { p.pack_array(0); })},
      {"header value nil", pack_fields(3,
                                       [](Packer& p) {
                                         p.pack_map(1);
                                         p.pack(std::string("h"));
                                         p.pack_nil();
                                       })},
      {"header value array", pack_fields(3,
                                         [](Packer& p) {
                                           p.pack_map(1);
                                           p.pack(std::string("h"));
                                           p.pack_array(1);
                                           p.pack(1);
                                         })},
      {"header value map", pack_fields(3,
                                       [](Packer& p) {
                                         p.pack_map(1);
                                         p.pack(std::string("h"));
                                         p.pack_map(0);
                                       })},
      {"header value beyond int64", pack_fields(3,
                                                [](Packer& p) {
                                                  p.pack_map(1);
                                                  p.pack(std::string("h"));
                                                  p.pack(uint64_t{1} << 63);
                                                })},
      {"header name integer", pack_fields(3,
                                          [](Packer& p) {
                                            p.pack_map(1);
                                            p.pack(1);
                                            p.pack(std::string("v"));
                                          })},
      {"ts is a string", pack_fields(4, [](Packer& p) { p.pack(std::string("1")); })},
      {"ts beyond int64", pack_fields(4, [](Packer& p) { p.pack(uint64_t{1} << 63); })},
      {"payload is an integer", pack_fields(5, [](Packer& p) { p.pack(1); })},
      {"offset is negative", pack_fields(6, [](Packer& p) { p.pack(-1); })},
      {"offset is a string", pack_fields(6, [](Packer& p) { p.pack(std::string("1")); })},
      {"a lone nil", std::string("\xc0", 1)},
      {"reserved byte 0xc1", std::string("\xc1", 1)},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    expect_malformed(viewer, c.bytes);
    expect_viewer_works(viewer);  // and the viewer keeps working
  }
}

// Five bytes declaring a 4-billion element array must not make msgpack
// allocate 64 GB up front: the viewer unpacks with unpack_bounded's limits.
TEST_CASE("envelope view: hostile declared sizes are refused", "[envelope_view][hostile]") {
  EnvelopeViewer viewer;
  const std::string cases[] = {
      std::string("\xdd\xff\xff\xff\xff", 5),  // an array of 4 billion elements
      std::string("\xdd\x04\x00\x00\x00", 5),  // 64 million: 1 GB
      pack_fields(3, [](Packer& p) { p.pack_map(0xffffffffu); }).substr(0, 20),
  };
  for (const std::string& bytes : cases) {
    expect_malformed(viewer, bytes);
    expect_viewer_works(viewer);
  }
}

TEST_CASE("envelope view: the malformed error", "[envelope_view]") {
  Error e = malformed_envelope("what went wrong");
  CHECK(e.kind == ErrorKind::kInvalidArgument);
  CHECK(e.message == "malformed envelope: what went wrong");
}

TEST_CASE("envelope view: one viewer over many envelopes", "[envelope_view]") {
  EnvelopeViewer viewer;
  std::vector<Envelope> all;
  std::vector<std::string> encoded;
  for (int i = 0; i < 1000; ++i) {
    Envelope e;
    e.id = "id-" + std::to_string(i);
    e.topic = i % 2 ? "odd" : "even";
    if (i % 3) e.key = "k" + std::to_string(i);
    for (int h = 0; h < i % 7; ++h)
      e.headers.emplace_back("h" + std::to_string(h),
                             h % 2 ? HeaderValue{int64_t{i * h}} : HeaderValue{std::to_string(h)});
    e.ts = i;
    e.payload.assign(static_cast<size_t>(i % 50) * 37, static_cast<char>('a' + i % 26));
    if (i % 5) e.offset = static_cast<uint64_t>(i);
    all.push_back(e);
    encoded.push_back(encode_envelope(e));
  }
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < all.size(); ++i) {
      INFO("round " << round << " envelope " << i);
      auto v = viewer.view(encoded[i]);
      REQUIRE(v.ok());
      Envelope back = copy_envelope(*v);
      if (!(back == all[i])) {
        check_view_of(*v, all[i]);
        FAIL("envelope differs");
      }
      if (i % 100 == 99) expect_malformed(viewer, encoded[i].substr(0, encoded[i].size() / 2));
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace eda::envelope_view_test
