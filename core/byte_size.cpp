#include "core/byte_size.h"

#include <fmt/format.h>

#include <charconv>
#include <utility>

namespace eda {

Result<uint64_t> parse_byte_size(std::string_view text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(end, text.data() + text.size() - end);
  auto bad = [&] {
    return invalid_argument(fmt::format(
        "invalid size '{}' (use a number of bytes, optionally with KiB, MiB or GiB)", text));
  };
  if (ec != std::errc() || end == text.data()) return bad();
  static constexpr std::pair<std::string_view, int> kUnits[] = {
      {"", 0},    {"B", 0},    {"K", 10}, {"KB", 10}, {"KiB", 10}, {"M", 20},
      {"MB", 20}, {"MiB", 20}, {"G", 30}, {"GB", 30}, {"GiB", 30}};
  for (auto [name, shift] : kUnits) {
    if (unit != name) continue;
    if (shift && n > (UINT64_MAX >> shift)) return bad();
    return n << shift;
  }
  return bad();
}

}  // namespace eda
