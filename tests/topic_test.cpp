#include "core/topic.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace eda::topic_test {
namespace {

struct MatchCase {
  const char* pattern;
  const char* topic;
  bool matches;
};

// Every pattern here is valid; topics are valid user or system topics.
const MatchCase kMatchCases[] = {
    {"orders", "orders", true},
    {"orders", "orders.eu", false},
    {"orders", "order", false},
    {"orders", "Orders", false},
    {"orders.eu.created", "orders.eu.created", true},
    {"orders.eu.created", "orders.eu.created.x", false},
    {"orders.eu.created", "orders.eu", false},
    {"orders.eu.created", "orders.us.created", false},
    {"orders.*", "orders.eu", true},
    {"orders.*", "orders.eu.x", false},
    {"orders.*", "orders", false},
    {"orders.*", "payments.eu", false},
    {"*", "orders", true},
    {"*", "orders.eu", false},
    {"*.*", "orders.eu", true},
    {"*.*", "orders", false},
    {"*.*", "a.b.c", false},
    {"*.eu", "orders.eu", true},
    {"*.eu", "orders.us", false},
    {"orders.*.created", "orders.eu.created", true},
    {"orders.*.created", "orders.eu.deleted", false},
    {"orders.*.created", "orders.created", false},
    {"orders.>", "orders.eu", true},
    {"orders.>", "orders.eu.created.v2", true},
    {"orders.>", "orders", false},
    {"orders.>", "ordersx.eu", false},
    {">", "orders", true},
    {">", "a.b.c.d", true},
    {"*.>", "orders", false},
    {"*.>", "orders.eu", true},
    {"orders.*.>", "orders.eu", false},
    {"orders.*.>", "orders.eu.created", true},
    {"a.b", "a.bc", false},
    {"a.bc", "a.b", false},
    {"a-b_c.1", "a-b_c.1", true},
    // Wildcards at the front do not see broker topics...
    {">", "$sys.stats", false},
    {"*", "$sys", false},
    {"*.stats", "$sys.stats", false},
    {"*.>", "$sys.stats", false},
    // ...but a pattern naming '$' explicitly does.
    {"$sys.>", "$sys.stats", true},
    {"$sys.*", "$sys.stats", true},
    {"$sys.stats", "$sys.stats", true},
    {"$sys.>", "sys.stats", false},
    {"sys.>", "$sys.stats", false},
    {"$sys.*", "$sys.stats.x", false},
};

TEST_CASE("topic_matches follows the pattern table", "[topic]") {
  for (const MatchCase& c : kMatchCases) {
    INFO("pattern '" << c.pattern << "' topic '" << c.topic << "'");
    REQUIRE(validate_pattern(c.pattern).ok());
    REQUIRE(validate_system_topic(c.topic).ok());
    CHECK(topic_matches(c.pattern, c.topic) == c.matches);
  }
}

struct NameCase {
  std::string name;
  bool valid_topic;         // validate_topic
  bool valid_system_topic;  // validate_system_topic
  bool valid_pattern;       // validate_pattern
  const char* error_part;   // expected in the topic error, or "" when the topic is valid
};

std::vector<NameCase> name_cases() {
  return {
      {"orders", true, true, true, ""},
      {"orders.eu.created", true, true, true, ""},
      {"A-Z_a-z.0-9", true, true, true, ""},
      {"-", true, true, true, ""},
      {"", false, false, false, "empty"},
      {".", false, false, false, "starts with '.'"},
      {".orders", false, false, false, "starts with '.'"},
      {"orders.", false, false, false, "ends with '.'"},
      {"a..b", false, false, false, "empty token between dots"},
      {"a...b", false, false, false, "empty token between dots"},
      {"a b", false, false, false, "character ' '"},
      {"a/b", false, false, false, "character '/'"},
      {"a#b", false, false, false, "character '#'"},
      {"caf\xc3\xa9", false, false, false, "byte 0xc3"},
      {"a\tb", false, false, false, "byte 0x09"},
      {"a$b", false, false, false, "character '$'"},
      {"a.$b", false, false, false, "'$' may only start the first token"},
      {"*", false, false, true, "wildcard"},
      {">", false, false, true, "wildcard"},
      {"orders.*", false, false, true, "wildcard"},
      {"orders.>", false, false, true, "wildcard"},
      {"orders.*.x", false, false, true, "wildcard"},
      {"orders.>.x", false, false, false, "wildcard"},
      {"a*", false, false, false, "character '*'"},
      {"orders.eu*", false, false, false, "character '*'"},
      {"*a", false, false, false, "character '*'"},
      {"a>", false, false, false, "character '>'"},
      {"**", false, false, false, "character '*'"},
      {"$sys", false, true, true, "reserved"},
      {"$sys.stats", false, true, true, "reserved"},
      {"$sys.*", false, false, true, "reserved"},
      {"$sys.>", false, false, true, "reserved"},
      {"$", false, false, false, "reserved"},
      {"$.x", false, false, false, "reserved"},
      {"$$x", false, false, false, "reserved"},
      {std::string(255, 'a'), true, true, true, ""},
      {std::string(256, 'a'), false, false, false, "256 bytes, the limit is 255"},
      {std::string(127, 'a') + "." + std::string(127, 'b'), true, true, true, ""},
      {std::string(253, 'a') + ".>", false, false, true, "wildcard"},
      {std::string(254, 'a') + ".>", false, false, false, "256 bytes"},
  };
}

TEST_CASE("validate_topic, validate_system_topic and validate_pattern follow the name table",
          "[topic]") {
  for (const NameCase& c : name_cases()) {
    INFO("name '" << c.name << "'");
    Status topic = validate_topic(c.name);
    CHECK(topic.ok() == c.valid_topic);
    if (!topic.ok()) {
      CHECK(topic.error().kind == ErrorKind::kInvalidArgument);
      CHECK_THAT(topic.error().message, Catch::Contains(c.error_part));
    }
    CHECK(validate_system_topic(c.name).ok() == c.valid_system_topic);
    CHECK(validate_pattern(c.name).ok() == c.valid_pattern);
  }
}

TEST_CASE("topic errors name the input and state the rules", "[topic]") {
  Status s = validate_topic("a..b");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message ==
        "invalid topic 'a..b': empty token between dots (topics are tokens of A-Z a-z 0-9 _ - "
        "joined by '.')");
  CHECK(s.error().message.find('\n') == std::string::npos);
}

TEST_CASE("pattern errors explain wildcard placement", "[topic]") {
  Status misplaced_rest = validate_pattern("orders.>.eu");
  REQUIRE_FALSE(misplaced_rest.ok());
  CHECK_THAT(misplaced_rest.error().message, Catch::StartsWith("invalid pattern 'orders.>.eu'"));
  CHECK_THAT(misplaced_rest.error().message, Catch::Contains("only allowed as the last token"));

  Status partial = validate_pattern("orders.eu*");
  REQUIRE_FALSE(partial.ok());
  CHECK_THAT(partial.error().message, Catch::Contains("'*' must be a whole token"));

  Status dollar_alone = validate_pattern("$.x");
  REQUIRE_FALSE(dollar_alone.ok());
  CHECK_THAT(dollar_alone.error().message, Catch::Contains("'$' must be followed by a name"));
}

TEST_CASE("long names are shortened in error messages", "[topic]") {
  std::string name(300, 'x');
  Status s = validate_topic(name);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.size() < 120);
  CHECK_THAT(s.error().message, Catch::Contains("300 bytes"));
}

TEST_CASE("is_system_topic looks at the leading '$'", "[topic]") {
  CHECK(is_system_topic("$sys.stats"));
  CHECK(is_system_topic("$sys"));
  CHECK_FALSE(is_system_topic("sys.stats"));
  CHECK_FALSE(is_system_topic("a.$b"));
  CHECK_FALSE(is_system_topic(""));
}

TEST_CASE("has_wildcard finds whole wildcard tokens", "[topic]") {
  CHECK(has_wildcard("*"));
  CHECK(has_wildcard(">"));
  CHECK(has_wildcard("orders.*"));
  CHECK(has_wildcard("orders.*.created"));
  CHECK(has_wildcard("orders.>"));
  CHECK_FALSE(has_wildcard("orders.eu.created"));
  CHECK_FALSE(has_wildcard("$sys.stats"));
  CHECK_FALSE(has_wildcard("orders.eu*"));
}

}  // namespace
}  // namespace eda::topic_test
