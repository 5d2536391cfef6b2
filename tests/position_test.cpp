#include "core/position.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>

namespace eda::position_test {
namespace {

using Kind = Position::Kind;

constexpr int64_t kNow = 1'714'564'800'000;  // 2024-05-01T12:00:00Z

Position parse_ok(const std::string& text) {
  INFO(text);
  auto p = parse_position(text, kNow);
  if (!p.ok()) FAIL("unexpected error: " << p.error().message);
  return *p;
}

TEST_CASE("parse_position reads keywords, offsets and last-N", "[position]") {
  CHECK(parse_ok("earliest") == Position{Kind::kEarliest, 0});
  CHECK(parse_ok("latest") == Position{Kind::kLatest, 0});
  CHECK(parse_ok("0") == Position{Kind::kOffset, 0});
  CHECK(parse_ok("5") == Position{Kind::kOffset, 5});
  CHECK(parse_ok("9223372036854775807") == Position{Kind::kOffset, INT64_MAX});
  CHECK(parse_ok("-1") == Position{Kind::kLast, 1});
  CHECK(parse_ok("-10") == Position{Kind::kLast, 10});
}

TEST_CASE("parse_position reads RFC 3339 times", "[position]") {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {
      {"@2024-05-01T12:00:00Z", 1'714'564'800'000},
      {"@2024-05-01t12:00:00z", 1'714'564'800'000},
      {"@2024-05-01 12:00:00Z", 1'714'564'800'000},
      {"@2024-05-01T12:00:00+00:00", 1'714'564'800'000},
      {"@2024-05-01T12:00:00-00:00", 1'714'564'800'000},
      {"@2024-05-01T14:00:00+02:00", 1'714'564'800'000},
      {"@2024-05-01T14:00:00.250+02:00", 1'714'564'800'250},
      {"@2024-05-01T12:00:00.5Z", 1'714'564'800'500},
      {"@2024-05-01T12:00:00.05Z", 1'714'564'800'050},
      {"@2024-05-01T12:00:00.123456789Z", 1'714'564'800'123},
      {"@2024-02-29T23:59:59.999-05:30", 1'709'270'999'999},
      {"@1970-01-01T00:00:00Z", 0},
      {"@1969-12-31T23:59:59.999Z", -1},
      {"@2000-03-01T00:00:00Z", 951'868'800'000},
      {"@9999-12-31T23:59:59.999Z", 253'402'300'799'999},
      {"@2016-12-31T23:59:60Z", 1'483'228'800'000},  // leap second
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(parse_ok(c.text) == Position{Kind::kTime, c.ms});
  }
}

TEST_CASE("parse_position reads times relative to now", "[position]") {
  CHECK(parse_ok("@-10m") == Position{Kind::kTime, kNow - 600'000});
  CHECK(parse_ok("@-250ms") == Position{Kind::kTime, kNow - 250});
  CHECK(parse_ok("@-2h") == Position{Kind::kTime, kNow - 7'200'000});
  CHECK(parse_ok("@-7d") == Position{Kind::kTime, kNow - 604'800'000});
  CHECK(parse_ok("@-0s") == Position{Kind::kTime, kNow});
  auto other_now = parse_position("@-1s", 5'000);
  REQUIRE(other_now.ok());
  CHECK(other_now->value == 4'000);
}

TEST_CASE("parse_position rejects bad input, naming it and the accepted forms", "[position]") {
  struct Case {
    const char* text;
    const char* problem;
  };
  const Case cases[] = {
      {"", "empty"},
      {"Earliest", "not a keyword, offset or time"},
      {"first", "not a keyword, offset or time"},
      {"+5", "not a keyword, offset or time"},
      {"5x", "not a keyword, offset or time"},
      {" 5", "not a keyword, offset or time"},
      {"1.5", "not a keyword, offset or time"},
      {"99999999999999999999", "not a keyword, offset or time"},
      {"-", "'-' must be followed by a number"},
      {"--5", "'-' must be followed by a number"},
      {"-5x", "'-' must be followed by a number"},
      {"-0", "selects no messages"},
      {"@", "needs a time"},
      {"@-", "is not a duration"},
      {"@-10", "'10' is not a duration"},
      {"@-10x", "is not a duration"},
      {"@--10m", "is not a duration"},
      {"@+10m", "RFC 3339"},
      {"@yesterday", "RFC 3339"},
      {"@2024-05-01", "RFC 3339"},
      {"@2024-05-01T12:00Z", "RFC 3339"},
      {"@2024-05-01T12:00:00", "RFC 3339"},
      {"@2024-05-01T12:00:00.Z", "RFC 3339"},
      {"@2024-05-01T12:00:00+0200", "RFC 3339"},
      {"@2024-05-01T12:00:00+2:00", "RFC 3339"},
      {"@2024-5-01T12:00:00Z", "RFC 3339"},
      {"@2024-05-01X12:00:00Z", "RFC 3339"},
      {"@2024-05-01T12:00:00Zjunk", "RFC 3339"},
      {"@2024-05-01T12:00:00+02:00 ", "RFC 3339"},
      {"@2024-13-01T12:00:00Z", "out of range"},
      {"@2024-00-01T12:00:00Z", "out of range"},
      {"@2023-02-29T12:00:00Z", "out of range"},
      {"@2024-04-31T12:00:00Z", "out of range"},
      {"@2024-05-00T12:00:00Z", "out of range"},
      {"@2024-05-01T24:00:00Z", "out of range"},
      {"@2024-05-01T12:60:00Z", "out of range"},
      {"@2024-05-01T12:00:61Z", "out of range"},
      {"@2024-05-01T12:00:00+24:00", "out of range"},
      {"@2024-05-01T12:00:00+01:60", "out of range"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto p = parse_position(c.text, kNow);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(p.error().message,
               Catch::StartsWith(std::string("invalid position '") + c.text + "'"));
    CHECK_THAT(p.error().message, Catch::Contains(c.problem));
    CHECK_THAT(p.error().message, Catch::Contains("earliest, latest, N, -N"));
  }
}

TEST_CASE("describe_position spells each kind", "[position]") {
  CHECK(describe_position({Kind::kEarliest, 0}) == "earliest");
  CHECK(describe_position({Kind::kLatest, 0}) == "latest");
  CHECK(describe_position({Kind::kOffset, 5}) == "offset 5");
  CHECK(describe_position({Kind::kLast, 10}) == "last 10");
  CHECK(describe_position({Kind::kTime, kNow + 7}) == "@2024-05-01T12:00:00.007Z");
}

TEST_CASE("format_rfc3339 writes UTC with milliseconds", "[position]") {
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(1'709'270'999'999) == "2024-03-01T05:29:59.999Z");
  CHECK(format_rfc3339(951'868'800'000) == "2000-03-01T00:00:00.000Z");
  CHECK(format_rfc3339(253'402'300'799'999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("format_rfc3339 output parses back to the same time", "[position]") {
  for (int64_t ms :
       std::initializer_list<int64_t>{0, -1, 1, 951'868'800'123, kNow, 253'402'300'799'999}) {
    INFO(ms);
    CHECK(parse_ok("@" + format_rfc3339(ms)) == Position{Kind::kTime, ms});
  }
}

TEST_CASE("now_ms is the wall clock in milliseconds", "[position]") {
  int64_t a = now_ms();
  int64_t b = now_ms();
  CHECK(a > 1'700'000'000'000);  // after 2023-11
  CHECK(b >= a);
}

}  // namespace
}  // namespace eda::position_test
