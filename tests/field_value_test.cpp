#include "core/field_value.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string_view>

namespace eda::field_value_test {
namespace {

using Type = FieldValue::Type;

void check_integer(std::string_view text, int64_t want) {
  INFO("text: [" << text << "]");
  auto v = parse_number(text);
  REQUIRE(v.has_value());
  CHECK(v->type == Type::kInt);
  CHECK(v->i == want);
  CHECK(v->is_number());
  CHECK_FALSE(v->is_null());
}

void check_double(std::string_view text, double want) {
  INFO("text: [" << text << "]");
  auto v = parse_number(text);
  REQUIRE(v.has_value());
  CHECK(v->type == Type::kDouble);
  CHECK(v->d == want);
  CHECK(v->is_number());
}

void check_none(std::string_view text) {
  INFO("text: [" << text << "]");
  CHECK_FALSE(parse_number(text).has_value());
}

TEST_CASE("parse_number: integers", "[field_value]") {
  check_integer("42", 42);
  check_integer("-7", -7);
  check_integer("0", 0);
  check_integer("-0", 0);
  check_integer("9223372036854775807", INT64_MAX);
  check_integer("-9223372036854775808", INT64_MIN);
}

TEST_CASE("parse_number: decimals and exponents", "[field_value]") {
  check_double("1.5", 1.5);
  check_double("-1.5", -1.5);
  check_double("0.25", 0.25);
  check_double("1e3", 1000.0);
  check_double("1E3", 1000.0);
  check_double("25e-1", 2.5);
  check_double("2.0", 2.0);  // a decimal even when integral
}

TEST_CASE("parse_number: integers beyond int64 become doubles", "[field_value]") {
  check_double("9223372036854775808", 9223372036854775808.0);
  check_double("-9223372036854775809", -9223372036854775809.0);
  check_double("18446744073709551615", 18446744073709551615.0);
}

TEST_CASE("parse_number: what spells no number", "[field_value]") {
  const char* const texts[] = {"",    " 42", "42 ",      " ",   "0x10", "inf", "-inf",
                               "nan", "NaN", "infinity", "abc", "1.5x", "4 2", "-",
                               "e3",  "1e",  "--1",      "1,5", "42\n"};
  for (std::string_view text : texts) check_none(text);
  check_none(std::string_view("4\0002", 3));  // a NUL inside
}

TEST_CASE("parse_number: reads only the view it is given", "[field_value]") {
  const char text[] = "12345";
  auto v = parse_number(std::string_view(text, 2));
  REQUIRE(v.has_value());
  CHECK(v->type == Type::kInt);
  CHECK(v->i == 12);
}

TEST_CASE("FieldValue: constructors and helpers", "[field_value]") {
  CHECK(FieldValue::null().is_null());
  CHECK(FieldValue().is_null());
  CHECK_FALSE(FieldValue::null().is_number());

  FieldValue b = FieldValue::boolean(true);
  CHECK(b.type == Type::kBool);
  CHECK(b.b);
  CHECK_FALSE(b.is_number());
  CHECK_FALSE(b.is_null());

  FieldValue i = FieldValue::integer(-3);
  CHECK(i.type == Type::kInt);
  CHECK(i.is_number());
  CHECK(i.as_double() == -3.0);

  FieldValue d = FieldValue::real(2.5);
  CHECK(d.type == Type::kDouble);
  CHECK(d.is_number());
  CHECK(d.as_double() == 2.5);

  std::string_view text = "borrowed";
  FieldValue s = FieldValue::string(text);
  CHECK(s.type == Type::kString);
  CHECK(s.s.data() == text.data());  // borrowed, not copied
  CHECK_FALSE(s.is_number());

  FieldValue c = FieldValue::composite();
  CHECK(c.type == Type::kComposite);
  CHECK_FALSE(c.is_null());
  CHECK_FALSE(c.is_number());
}

}  // namespace
}  // namespace eda::field_value_test
