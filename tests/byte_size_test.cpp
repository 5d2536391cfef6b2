#include "core/byte_size.h"

#include <catch2/catch.hpp>
#include <string>

namespace eda::byte_size_test {
namespace {

uint64_t parse_ok(const std::string& text) {
  INFO(text);
  auto n = parse_byte_size(text);
  if (!n.ok()) FAIL("unexpected error: " << n.error().message);
  return *n;
}

void expect_error(const std::string& text) {
  INFO(text);
  auto n = parse_byte_size(text);
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(n.error().message, Catch::Contains("'" + text + "'"));
}

TEST_CASE("byte size: plain numbers are bytes", "[byte_size]") {
  CHECK(parse_ok("0") == 0);
  CHECK(parse_ok("1") == 1);
  CHECK(parse_ok("1048576") == 1048576);
  CHECK(parse_ok("007") == 7);
  CHECK(parse_ok("5B") == 5);
  CHECK(parse_ok("18446744073709551615") == UINT64_MAX);
}

TEST_CASE("byte size: every unit is a power of 1024", "[byte_size]") {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  const Case cases[] = {
      {"1K", 1024},       {"1KB", 1024},       {"1KiB", 1024},       {"512KiB", 512 * 1024},
      {"1M", 1u << 20},   {"1MB", 1u << 20},   {"64MiB", 64u << 20}, {"3M", 3u << 20},
      {"1G", 1ull << 30}, {"1GB", 1ull << 30}, {"1GiB", 1ull << 30}, {"10GiB", 10ull << 30},
      {"0K", 0},          {"0GiB", 0},
  };
  for (const Case& c : cases) CHECK(parse_ok(c.text) == c.bytes);
}

TEST_CASE("byte size: largest values that fit, and overflow", "[byte_size]") {
  CHECK(parse_ok("17179869183GiB") == (uint64_t{17179869183} << 30));
  CHECK(parse_ok("18014398509481983KiB") == (uint64_t{18014398509481983} << 10));
  expect_error("17179869184GiB");  // 2^34 GiB = 2^64 bytes
  expect_error("18014398509481984K");
  expect_error("18446744073709551616");  // 2^64 does not parse as uint64
  expect_error("99999999999999999999999MiB");
}

TEST_CASE("byte size: rejects text that is not a size", "[byte_size]") {
  for (const char* text : {"", "KiB", "abc", "-1", "+5", " 5", "5 ", "5 KiB", "1.5MiB", "1TiB",
                           "1T", "1KiBs", "1Kib", "1iB", "0x10", "1e3", "5BB"}) {
    expect_error(text);
  }
}

}  // namespace
}  // namespace eda::byte_size_test
