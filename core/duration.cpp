#include "core/duration.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

namespace eda {

namespace {

struct Unit {
  std::string_view suffix;
  int64_t ms;
};

// Largest first, so format_duration picks the shortest spelling.
constexpr std::array<Unit, 5> kUnits = {{
    {"d", 24 * 60 * 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"m", 60 * 1000},
    {"s", 1000},
    {"ms", 1},
}};

constexpr std::string_view kForms = "use a whole number and a unit: 250ms, 30s, 5m, 2h or 7d";

Error invalid_duration(std::string_view text, std::string_view problem) {
  return invalid_argument(fmt::format("invalid duration '{}': {} ({})", text, problem, kForms));
}

const Unit* find_unit(std::string_view suffix) {
  for (const Unit& unit : kUnits)
    if (unit.suffix == suffix) return &unit;
  return nullptr;
}

}  // namespace

Result<Millis> parse_duration(std::string_view text) {
  if (text.empty()) return invalid_duration(text, "it is empty");
  if (text.front() == '-') return invalid_duration(text, "it must not be negative");
  const char* end = text.data() + text.size();
  int64_t count = 0;
  auto [rest, ec] = std::from_chars(text.data(), end, count);
  if (ec == std::errc::result_out_of_range)
    return invalid_duration(text, "the number is too large");
  if (ec != std::errc()) return invalid_duration(text, "it does not start with a number");
  std::string_view suffix(rest, end - rest);
  if (suffix.empty()) return invalid_duration(text, "the unit is missing");
  if (suffix.front() == '.' || suffix.front() == ',')
    return invalid_duration(text, "fractions are not supported, use a smaller unit");
  const Unit* unit = find_unit(suffix);
  if (!unit) return invalid_duration(text, fmt::format("unknown unit '{}'", suffix));
  if (count > std::numeric_limits<int64_t>::max() / unit->ms)
    return invalid_duration(text, "it is too long");
  return Millis(count * unit->ms);
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  for (const Unit& unit : kUnits)
    if (ms % unit.ms == 0) return fmt::format("{}{}", ms / unit.ms, unit.suffix);
  return fmt::format("{}ms", ms);  // unreachable: every count divides by 1ms
}

}  // namespace eda
