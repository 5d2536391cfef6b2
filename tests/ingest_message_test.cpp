#include "core/ingest_message.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>
#include <string>
#include <vector>

namespace eda::ingest_message_test {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

Result<Envelope> parse(std::vector<std::string_view> frames, size_t max_bytes = 1024) {
  return parse_ingest_message(frames, max_bytes);
}

std::string bytes_of(const msgpack::sbuffer& b) {
  return std::string(b.data(), b.size());
}

// What pyzmq + msgpack send for {"trace": "abc", "n": 42, "neg": -7, "ratio": 0.5, "ok": True}.
std::string typed_headers() {
  msgpack::sbuffer b;
  Packer pk(b);
  pk.pack_map(5);
  pk.pack(std::string("trace"));
  pk.pack(std::string("abc"));
  pk.pack(std::string("n"));
  pk.pack(42);
  pk.pack(std::string("neg"));
  pk.pack(-7);
  pk.pack(std::string("ratio"));
  pk.pack(0.5);
  pk.pack(std::string("ok"));
  pk.pack(true);
  return bytes_of(b);
}

void check_rejected(const Result<Envelope>& r, const std::string& needle) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(r.error().message, Catch::Contains(needle));
}

TEST_CASE("ingest message: topic and payload make an envelope for the engine to fill in",
          "[ingest_message]") {
  std::string payload("a\0b\xff", 4);
  auto e = parse({"orders.eu", payload});
  REQUIRE(e.ok());
  CHECK(e->topic == "orders.eu");
  CHECK(e->payload == payload);
  CHECK(e->headers.empty());
  CHECK_FALSE(e->key);
  CHECK(e->id.empty());
  CHECK(e->ts == 0);
  CHECK(e->offset == kNoOffset);
}

TEST_CASE("ingest message: a third frame's msgpack map becomes typed headers, in order",
          "[ingest_message]") {
  std::string headers = typed_headers();
  auto e = parse({"orders", "x", headers});
  REQUIRE(e.ok());
  Headers want = {{"trace", std::string("abc")},
                  {"n", int64_t{42}},
                  {"neg", int64_t{-7}},
                  {"ratio", 0.5},
                  {"ok", true}};
  CHECK(e->headers == want);
}

TEST_CASE("ingest message: an empty map is no headers", "[ingest_message]") {
  std::string empty_map("\x80", 1);
  auto e = parse({"t", "x", empty_map});
  REQUIRE(e.ok());
  CHECK(e->headers.empty());
}

TEST_CASE("ingest message: the frame count must be 2 or 3", "[ingest_message]") {
  check_rejected(parse({"orders"}), "got 1");
  check_rejected(parse({}), "got 0");
  check_rejected(parse({"orders", "x", "\x80", "extra"}), "got 4");
}

TEST_CASE("ingest message: the topic must be one a user may publish to", "[ingest_message]") {
  check_rejected(parse({"a..b", "x"}), "invalid topic 'a..b'");
  check_rejected(parse({"", "x"}), "empty");
  check_rejected(parse({"orders.*", "x"}), "wildcard");
  check_rejected(parse({"$sys.stats", "x"}), "reserved");
  check_rejected(parse({std::string(256, 'a'), "x"}), "256 bytes");
}

TEST_CASE("ingest message: a bad headers frame is refused with what is wrong", "[ingest_message]") {
  check_rejected(parse({"t", "x", "\xc1"}), "headers frame is not msgpack");
  check_rejected(parse({"t", "x", ""}), "headers frame is not msgpack");
  check_rejected(parse({"t", "x", "\x91\x01"}), "headers frame: headers are not a map");
  // {"a": nil}
  check_rejected(parse({"t", "x",
                        std::string("\x81\xa1"
                                    "a\xc0",
                                    4)}),
                 "header 'a' is not a string, number or bool");
  // {1: "a"}
  check_rejected(parse({"t", "x",
                        "\x81\x01\xa1"
                        "a"}),
                 "a header name is not a string");
  // {"a": 1} and then a stray byte
  check_rejected(parse({"t", "x",
                        "\x81\xa1"
                        "a\x01\x01"}),
                 "1 bytes after its msgpack map");
  // A map that claims more entries than it has.
  check_rejected(parse({"t", "x",
                        "\x82\xa1"
                        "a\x01"}),
                 "not msgpack");
}

TEST_CASE("ingest message: payload and headers count against the size limit", "[ingest_message]") {
  CHECK(parse({"t", std::string(100, 'x')}, 100).ok());
  check_rejected(parse({"t", std::string(101, 'x')}, 100),
                 "101 bytes, over the broker's limit of 100 bytes");
  // "trace" + "abc" = 8 bytes of headers.
  msgpack::sbuffer b;
  Packer pk(b);
  pk.pack_map(1);
  pk.pack(std::string("trace"));
  pk.pack(std::string("abc"));
  CHECK(parse({"t", std::string(92, 'x'), bytes_of(b)}, 100).ok());
  check_rejected(parse({"t", std::string(93, 'x'), bytes_of(b)}, 100), "101 bytes");
}

}  // namespace

// The engine refuses a whole batch for one message over these limits, and
// ingest stores a topic's messages as one batch: each message is held to
// them on its own, so one bad message never takes good ones with it.
TEST_CASE("ingest message: header count and header name length are checked per message",
          "[ingest_message]") {
  auto headers = [](size_t count, size_t name_bytes) {
    msgpack::sbuffer b;
    Packer pk(b);
    pk.pack_map(static_cast<uint32_t>(count));
    for (size_t i = 0; i < count; ++i) {
      pk.pack(std::string(name_bytes, 'n') + std::to_string(i));
      pk.pack(int64_t{1});
    }
    return bytes_of(b);
  };
  CHECK(parse({"t", "x", headers(kMaxHeaders, 4)}, 1u << 20).ok());
  check_rejected(parse({"t", "x", headers(kMaxHeaders + 1, 4)}, 1u << 20),
                 "message for t has 257 headers, over the limit of 256");
  check_rejected(parse({"t", "x", headers(1, kMaxHeaderNameBytes)}, 1u << 20),
                 "has a header name of 256 bytes, over the limit of 255");
}

}  // namespace eda::ingest_message_test
