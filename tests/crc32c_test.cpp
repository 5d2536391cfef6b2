#include "core/crc32c.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>

namespace eda::crc32c_test {
namespace {

// Bit by bit, straight from the definition (reflected polynomial 0x82F63B78),
// so the table and SSE4.2 paths are checked against something independent.
uint32_t reference_crc32c(std::string_view data) {
  uint32_t crc = 0xffffffff;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
  }
  return ~crc;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_CASE("crc32c: the check value of \"123456789\"", "[crc32c]") {
  CHECK(crc32c("123456789") == 0xE3069283u);
}

TEST_CASE("crc32c: RFC 3720 test vectors", "[crc32c]") {
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending += static_cast<char>(i);
    descending += static_cast<char>(31 - i);
  }
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
  CHECK(crc32c(ascending) == 0x46DD794Eu);
  CHECK(crc32c(descending) == 0x113FDB5Cu);
}

TEST_CASE("crc32c: empty input is 0 and leaves a running crc unchanged", "[crc32c]") {
  CHECK(crc32c("") == 0u);
  uint32_t running = crc32c("abc");
  CHECK(crc32c("", running) == running);
}

TEST_CASE("crc32c: chaining over every split point equals one pass", "[crc32c]") {
  std::string data = random_bytes(300, 1);
  uint32_t whole = crc32c(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    std::string_view v(data);
    INFO("split at " << split);
    REQUIRE(crc32c(v.substr(split), crc32c(v.substr(0, split))) == whole);
  }
}

TEST_CASE("crc32c: chaining many small pieces equals one pass", "[crc32c]") {
  std::string data = random_bytes(4096, 2);
  std::mt19937 rng(3);
  uint32_t crc = 0;
  for (size_t at = 0; at < data.size();) {
    size_t n = std::min<size_t>(rng() % 23, data.size() - at);
    crc = crc32c(std::string_view(data).substr(at, n), crc);
    at += n;
  }
  CHECK(crc == crc32c(data));
}

TEST_CASE("crc32c: every alignment and length matches the bitwise reference", "[crc32c]") {
  // Covers the 8-byte hardware loop, its byte tail, and unaligned starts.
  std::string data = random_bytes(200, 4);
  for (size_t start = 0; start < 16; ++start)
    for (size_t n = 0; n + start <= 140; ++n) {
      std::string_view v = std::string_view(data).substr(start, n);
      INFO("start " << start << " length " << n);
      REQUIRE(crc32c(v) == reference_crc32c(v));
    }
}

TEST_CASE("crc32c: a single flipped bit changes the checksum", "[crc32c]") {
  std::string data = random_bytes(64, 5);
  uint32_t original = crc32c(data);
  for (size_t i = 0; i < data.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = data;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      REQUIRE(crc32c(flipped) != original);
    }
}

}  // namespace
}  // namespace eda::crc32c_test
