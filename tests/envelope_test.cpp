#include "core/envelope.h"

#include <catch2/catch.hpp>
#include <string>

namespace eda::envelope_test {
namespace {

std::pair<std::string, HeaderValue> parse_ok(const std::string& arg) {
  INFO(arg);
  auto header = parse_header_arg(arg);
  if (!header.ok()) FAIL("unexpected error: " << header.error().message);
  return *header;
}

TEST_CASE("parse_header_arg: name=text gives a string", "[envelope]") {
  CHECK(parse_ok("trace=abc") == std::pair<std::string, HeaderValue>{"trace", std::string("abc")});
  CHECK(parse_ok("n=5") == std::pair<std::string, HeaderValue>{"n", std::string("5")});
  CHECK(parse_ok("flag=true") == std::pair<std::string, HeaderValue>{"flag", std::string("true")});
  CHECK(parse_ok("empty=") == std::pair<std::string, HeaderValue>{"empty", std::string()});
  CHECK(parse_ok("eq=a=b") == std::pair<std::string, HeaderValue>{"eq", std::string("a=b")});
  CHECK(parse_ok("sp=a b") == std::pair<std::string, HeaderValue>{"sp", std::string("a b")});
}

TEST_CASE("parse_header_arg: name:=value gives a typed value", "[envelope]") {
  CHECK(parse_ok("n:=42") == std::pair<std::string, HeaderValue>{"n", int64_t{42}});
  CHECK(parse_ok("n:=-7") == std::pair<std::string, HeaderValue>{"n", int64_t{-7}});
  CHECK(parse_ok("n:=0") == std::pair<std::string, HeaderValue>{"n", int64_t{0}});
  CHECK(parse_ok("big:=9223372036854775807") ==
        std::pair<std::string, HeaderValue>{"big", int64_t{INT64_MAX}});
  CHECK(parse_ok("x:=1.5") == std::pair<std::string, HeaderValue>{"x", 1.5});
  CHECK(parse_ok("x:=-0.25") == std::pair<std::string, HeaderValue>{"x", -0.25});
  CHECK(parse_ok("x:=1e3") == std::pair<std::string, HeaderValue>{"x", 1000.0});
  CHECK(parse_ok("ok:=true") == std::pair<std::string, HeaderValue>{"ok", true});
  CHECK(parse_ok("ok:=false") == std::pair<std::string, HeaderValue>{"ok", false});
}

TEST_CASE("parse_header_arg rejects missing names and bad typed values", "[envelope]") {
  struct Case {
    const char* arg;
    const char* problem;
  };
  const Case cases[] = {
      {"noequals", "has no '='"},
      {"", "has no '='"},
      {"=value", "empty name"},
      {":=5", "empty name"},
      {"n:=", "is not a number or true/false"},
      {"n:=abc", "'abc' is not a number or true/false"},
      {"n:=5x", "is not a number or true/false"},
      {"n:=TRUE", "is not a number or true/false"},
      {"n:= 5", "is not a number or true/false"},
  };
  for (const Case& c : cases) {
    INFO(c.arg);
    auto header = parse_header_arg(c.arg);
    REQUIRE_FALSE(header.ok());
    CHECK(header.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(header.error().message, Catch::Contains(std::string("'") + c.arg + "'"));
    CHECK_THAT(header.error().message, Catch::Contains(c.problem));
  }
}

TEST_CASE("header_value_text shows each type as text", "[envelope]") {
  CHECK(header_value_text(std::string("abc")) == "abc");
  CHECK(header_value_text(std::string()) == "");
  CHECK(header_value_text(int64_t{42}) == "42");
  CHECK(header_value_text(int64_t{-7}) == "-7");
  CHECK(header_value_text(1.5) == "1.5");
  CHECK(header_value_text(0.1) == "0.1");
  CHECK(header_value_text(true) == "true");
  CHECK(header_value_text(false) == "false");
}

TEST_CASE("header_value_text inverts parse_header_arg for typed values", "[envelope]") {
  for (const char* text : {"42", "-7", "1.5", "true", "false"}) {
    INFO(text);
    CHECK(header_value_text(parse_ok(std::string("v:=") + text).second) == text);
  }
}

TEST_CASE("find_header returns the first header with that name", "[envelope]") {
  Headers headers = {
      {"a", std::string("first")},
      {"n", int64_t{5}},
      {"a", std::string("second")},
  };
  const HeaderValue* a = find_header(headers, "a");
  REQUIRE(a != nullptr);
  CHECK(a == &headers[0].second);  // points into `headers`, not at a copy
  CHECK(*a == HeaderValue{std::string("first")});
  const HeaderValue* n = find_header(headers, "n");
  REQUIRE(n != nullptr);
  CHECK(*n == HeaderValue{int64_t{5}});
  CHECK(find_header(headers, "A") == nullptr);
  CHECK(find_header(headers, "missing") == nullptr);
  CHECK(find_header({}, "a") == nullptr);
}

}  // namespace
}  // namespace eda::envelope_test
