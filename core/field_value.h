// FieldValue: one scalar a filter reads from a message or computes — a header
// value, a system field, a JSON payload field, a literal. Borrowed: a string
// points into the message or the filter and lives as long as they do.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace eda {

struct FieldValue {
  // kComposite: a JSON object or array; it exists but is no scalar.
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kComposite };

  Type type = Type::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;

  static FieldValue null() { return {}; }
  static FieldValue boolean(bool v) { return {Type::kBool, v, 0, 0, {}}; }
  static FieldValue integer(int64_t v) { return {Type::kInt, false, v, 0, {}}; }
  static FieldValue real(double v) { return {Type::kDouble, false, 0, v, {}}; }
  static FieldValue string(std::string_view v) { return {Type::kString, false, 0, 0, v}; }
  static FieldValue composite() { return {Type::kComposite, false, 0, 0, {}}; }

  bool is_null() const { return type == Type::kNull; }
  bool is_number() const { return type == Type::kInt || type == Type::kDouble; }
  double as_double() const { return type == Type::kInt ? static_cast<double>(i) : d; }
};

// The number a string spells, as a whole: "42" is an integer, "1.5" and
// "1e3" are doubles; "", " 42", "0x10", "inf" and "nan" are none.
std::optional<FieldValue> parse_number(std::string_view text);

// ASCII letters in any case are equal, as filter keywords and names compare.
// Inline: header lookups by name are a filter's hottest path.
inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

}  // namespace eda
