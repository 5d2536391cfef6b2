#include "core/base64.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

namespace eda::base64_test {
namespace {

struct Vector {
  const char* plain;
  const char* encoded;
};

// RFC 4648 section 10.
const Vector kRfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST_CASE("base64: encodes the RFC 4648 test vectors", "[base64]") {
  for (const Vector& v : kRfc4648) {
    INFO(v.plain);
    CHECK(base64_encode(v.plain) == v.encoded);
  }
}

TEST_CASE("base64: decodes the RFC 4648 test vectors", "[base64]") {
  for (const Vector& v : kRfc4648) {
    INFO(v.encoded);
    auto decoded = base64_decode(v.encoded);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == v.plain);
  }
}

TEST_CASE("base64: uses the standard alphabet with + and /", "[base64]") {
  CHECK(base64_encode("\xfb\xff\xbf") == "+/+/");
  CHECK(base64_encode(std::string("\0\0\0", 3)) == "AAAA");
  CHECK(base64_encode("\xff\xff\xff") == "////");
  auto decoded = base64_decode("+/+/");
  REQUIRE(decoded.has_value());
  CHECK(*decoded == "\xfb\xff\xbf");
}

TEST_CASE("base64: round trip of every length and byte value", "[base64]") {
  std::mt19937 rng(4648);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t n = 0; n <= 300; ++n) {
    std::string bytes(n, '\0');
    for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(i < 256 ? i : byte(rng));
    std::string text = base64_encode(bytes);
    INFO("length " << n);
    CHECK(text.size() == (n + 2) / 3 * 4);
    auto back = base64_decode(text);
    REQUIRE(back.has_value());
    CHECK(*back == bytes);
  }
}

TEST_CASE("base64: rejects lengths that are not a multiple of 4", "[base64]") {
  for (const char* text : {"Z", "Zg", "Zg=", "Zm9vY", "Zm9vYg=", "Zm9vYmF"}) {
    INFO(text);
    CHECK_FALSE(base64_decode(text).has_value());
  }
}

TEST_CASE("base64: rejects characters outside the alphabet", "[base64]") {
  for (const char* text :
       {"Zm9-", "Zm9_", "Zm 9", "Zm9v\n", "Zm9v\nYmFy", "@@@@", "Zm9v YmFy", "Zm\x80v"}) {
    INFO(text);
    CHECK_FALSE(base64_decode(text).has_value());
  }
  CHECK_FALSE(base64_decode(std::string("Zm9v\0AAA", 8)).has_value());
}

TEST_CASE("base64: rejects misplaced padding", "[base64]") {
  for (const char* text :
       {"====", "Z===", "Zg=A", "Z=g=", "=Zg=", "Zg==Zg==", "Zm8=Zm9v", "A=AA", "AA=A"}) {
    INFO(text);
    CHECK_FALSE(base64_decode(text).has_value());
  }
}

struct Utf8Case {
  const char* what;
  std::string bytes;
};

TEST_CASE("is_valid_utf8: accepts well-formed text", "[base64][utf8]") {
  const Utf8Case cases[] = {
      {"empty", ""},
      {"ascii", "hello, world"},
      {"NUL", std::string("a\0b", 3)},
      {"DEL", "\x7f"},
      {"U+0080", "\xc2\x80"},
      {"U+00E9", "\xc3\xa9"},
      {"U+07FF", "\xdf\xbf"},
      {"U+0800", "\xe0\xa0\x80"},
      {"U+20AC", "\xe2\x82\xac"},
      {"U+D7FF (before surrogates)", "\xed\x9f\xbf"},
      {"U+E000 (after surrogates)", "\xee\x80\x80"},
      {"U+FFFF", "\xef\xbf\xbf"},
      {"U+10000", "\xf0\x90\x80\x80"},
      {"U+1F600", "\xf0\x9f\x98\x80"},
      {"U+10FFFF", "\xf4\x8f\xbf\xbf"},
      {"mixed", "a\xc3\xa9z\xe2\x82\xac\xf0\x9f\x98\x80."},
  };
  for (const Utf8Case& c : cases) {
    INFO(c.what);
    CHECK(is_valid_utf8(c.bytes));
  }
}

TEST_CASE("is_valid_utf8: rejects overlong encodings", "[base64][utf8]") {
  const Utf8Case cases[] = {
      {"C0 80 (NUL)", "\xc0\x80"},
      {"C1 BF (U+7F)", "\xc1\xbf"},
      {"E0 80 80 (NUL)", "\xe0\x80\x80"},
      {"E0 9F BF (U+7FF)", "\xe0\x9f\xbf"},
      {"F0 80 80 80 (NUL)", "\xf0\x80\x80\x80"},
      {"F0 8F BF BF (U+FFFF)", "\xf0\x8f\xbf\xbf"},
      {"C0 AF ('/')", "\xc0\xaf"},
  };
  for (const Utf8Case& c : cases) {
    INFO(c.what);
    CHECK_FALSE(is_valid_utf8(c.bytes));
    CHECK_FALSE(is_valid_utf8("ok " + c.bytes + " ok"));
  }
}

TEST_CASE("is_valid_utf8: rejects surrogates", "[base64][utf8]") {
  const Utf8Case cases[] = {
      {"U+D800", "\xed\xa0\x80"},
      {"U+DBFF", "\xed\xaf\xbf"},
      {"U+DC00", "\xed\xb0\x80"},
      {"U+DFFF", "\xed\xbf\xbf"},
      {"CESU-8 pair for U+1F600", "\xed\xa0\xbd\xed\xb8\x80"},
  };
  for (const Utf8Case& c : cases) {
    INFO(c.what);
    CHECK_FALSE(is_valid_utf8(c.bytes));
  }
}

TEST_CASE("is_valid_utf8: rejects values past U+10FFFF and invalid lead bytes", "[base64][utf8]") {
  const Utf8Case cases[] = {
      {"U+110000", "\xf4\x90\x80\x80"},
      {"F5 lead", "\xf5\x80\x80\x80"},
      {"F7 lead", "\xf7\xbf\xbf\xbf"},
      {"F8 five-byte lead", "\xf8\x88\x80\x80\x80"},
      {"FC six-byte lead", "\xfc\x84\x80\x80\x80\x80"},
      {"FE", "\xfe"},
      {"FF", "\xff"},
      {"lone continuation 80", "\x80"},
      {"lone continuation BF", "\xbf"},
      {"continuation after ascii", "a\x80"},
  };
  for (const Utf8Case& c : cases) {
    INFO(c.what);
    CHECK_FALSE(is_valid_utf8(c.bytes));
  }
}

TEST_CASE("is_valid_utf8: rejects truncated sequences", "[base64][utf8]") {
  const Utf8Case cases[] = {
      {"C3 at end", "\xc3"},
      {"E2 82 at end", "\xe2\x82"},
      {"E2 at end", "\xe2"},
      {"F0 9F 98 at end", "\xf0\x9f\x98"},
      {"F0 at end", "\xf0"},
      {"C3 then ascii",
       "\xc3"
       "A"},
      {"E2 then ascii",
       "\xe2"
       "A\xac"},
      {"E2 82 then ascii",
       "\xe2\x82"
       "A"},
      {"F0 9F 98 then ascii",
       "\xf0\x9f\x98"
       "A"},
      {"two-byte lead then lead", "\xc3\xc3\xa9"},
      {"truncated then NUL", std::string("\xe2\x82\0", 3)},
  };
  for (const Utf8Case& c : cases) {
    INFO(c.what);
    CHECK_FALSE(is_valid_utf8(c.bytes));
  }
}

TEST_CASE("is_valid_utf8: every truncation of a multi-byte character is rejected",
          "[base64][utf8]") {
  for (std::string ch : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"}) {
    for (size_t n = 1; n < ch.size(); ++n) {
      INFO(ch.size() << "-byte character cut to " << n);
      CHECK_FALSE(is_valid_utf8("x" + ch.substr(0, n)));
    }
    CHECK(is_valid_utf8("x" + ch));
  }
}

}  // namespace
}  // namespace eda::base64_test
