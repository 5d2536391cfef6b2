#include "core/duration.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>

namespace eda::duration_test {
namespace {

TEST_CASE("parse_duration reads every unit", "[duration]") {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {
      {"250ms", 250},  {"0ms", 0},        {"0s", 0},           {"30s", 30'000},
      {"5m", 300'000}, {"2h", 7'200'000}, {"7d", 604'800'000}, {"1d", 86'400'000},
      {"90s", 90'000}, {"1500ms", 1'500}, {"007s", 7'000},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto d = parse_duration(c.text);
    REQUIRE(d.ok());
    CHECK(d->count() == c.ms);
  }
}

TEST_CASE("parse_duration accepts the largest value that fits", "[duration]") {
  auto d = parse_duration("9223372036854775807ms");
  REQUIRE(d.ok());
  CHECK(d->count() == INT64_MAX);
}

TEST_CASE("parse_duration rejects malformed input with a message naming it", "[duration]") {
  struct Case {
    const char* text;
    const char* problem;
  };
  const Case cases[] = {
      {"", "empty"},
      {"-5s", "negative"},
      {"5", "unit is missing"},
      {"s", "does not start with a number"},
      {"ms", "does not start with a number"},
      {"+5s", "does not start with a number"},
      {" 5s", "does not start with a number"},
      {"1.5s", "fractions"},
      {"1,5s", "fractions"},
      {"5sec", "unknown unit 'sec'"},
      {"5S", "unknown unit 'S'"},
      {"5 s", "unknown unit ' s'"},
      {"5w", "unknown unit 'w'"},
      {"5s ", "unknown unit 's '"},
      {"5m30s", "unknown unit 'm30s'"},
      {"99999999999999999999ms", "too large"},
      {"9223372036854775807s", "too long"},
      {"106751991167301d", "too long"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto d = parse_duration(c.text);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(d.error().message, Catch::StartsWith(std::string("invalid duration '") + c.text));
    CHECK_THAT(d.error().message, Catch::Contains(c.problem));
    CHECK_THAT(d.error().message, Catch::Contains("250ms, 30s, 5m, 2h or 7d"));
  }
}

TEST_CASE("parse_duration's day limit sits at the int64 boundary", "[duration]") {
  // INT64_MAX ms is 106751991167 days and a bit.
  CHECK(parse_duration("106751991167d").ok());
  CHECK_FALSE(parse_duration("106751991168d").ok());
}

TEST_CASE("format_duration picks the shortest exact spelling", "[duration]") {
  CHECK(format_duration(Millis(0)) == "0s");
  CHECK(format_duration(Millis(250)) == "250ms");
  CHECK(format_duration(Millis(1'000)) == "1s");
  CHECK(format_duration(Millis(1'500)) == "1500ms");
  CHECK(format_duration(Millis(90'000)) == "90s");
  CHECK(format_duration(Millis(120'000)) == "2m");
  CHECK(format_duration(Millis(5'400'000)) == "90m");
  CHECK(format_duration(Millis(7'200'000)) == "2h");
  CHECK(format_duration(Millis(86'400'000)) == "1d");
  CHECK(format_duration(Millis(90'000'000)) == "25h");
  CHECK(format_duration(Millis(604'800'000)) == "7d");
}

TEST_CASE("format_duration round-trips through parse_duration", "[duration]") {
  for (int64_t ms : std::initializer_list<int64_t>{0, 1, 999, 1'000, 61'000, 3'600'000, 86'400'001,
                                                   864'000'000}) {
    INFO(ms);
    auto back = parse_duration(format_duration(Millis(ms)));
    REQUIRE(back.ok());
    CHECK(back->count() == ms);
  }
}

}  // namespace
}  // namespace eda::duration_test
