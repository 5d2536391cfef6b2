#include "core/field_value.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace eda {

std::optional<FieldValue> parse_number(std::string_view text) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (text.empty()) return std::nullopt;
  int64_t i = 0;
  if (auto [end, ec] = std::from_chars(first, last, i); ec == std::errc() && end == last)
    return FieldValue::integer(i);
  double d = 0;
  auto [end, ec] = std::from_chars(first, last, d);
  // from_chars also reads "inf" and "nan", which no header means as a number.
  if (ec != std::errc() || end != last || !std::isfinite(d)) return std::nullopt;
  return FieldValue::real(d);
}

}  // namespace eda
