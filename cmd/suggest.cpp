#include "cmd/suggest.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace eda {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Rows i-2, i-1 and i of the table of distances between prefixes of a and b.
  std::vector<size_t> before(b.size() + 1), above(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    before.swap(above);
    above.swap(row);
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      row[j] = std::min({above[j] + 1, row[j - 1] + 1, above[j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        row[j] = std::min(row[j], before[j - 2] + 1);
    }
  }
  return row[b.size()];
}

namespace {
// "--format" -> "format": the dashes every flag shares would make all flags look alike.
std::string_view undashed(std::string_view name) {
  return name.substr(std::min(name.find_first_not_of('-'), name.size()));
}
}  // namespace

std::string_view nearest(std::string_view word, std::span<const std::string> candidates) {
  word = undashed(word);
  if (word.empty()) return {};
  auto abbreviated = [&](const std::string& c) { return undashed(c).starts_with(word); };
  if (std::count_if(candidates.begin(), candidates.end(), abbreviated) == 1)
    return *std::find_if(candidates.begin(), candidates.end(), abbreviated);
  std::string_view best;
  size_t best_distance = 3;  // at most two edits...
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, undashed(c));
    // ...and at most half the name: "-x" is one edit from "-n" yet no typo of it.
    if (d < best_distance && 2 * d <= std::max(word.size(), undashed(c).size()))
      best_distance = d, best = c;
  }
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
  std::string_view hint = nearest(word, candidates);
  return hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint);
}

}  // namespace eda
