// "Did you mean": the known name closest to a mistyped one. Unknown commands
// and unknown flags use the same rule.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace eda {

// The fewest insertions, deletions, substitutions and swaps of adjacent
// characters that turn a into b (optimal string alignment distance: the
// typist's errors, each substring edited once).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate `word` most likely stands for, comparing names without their
// leading dashes: the only one it abbreviates (is a prefix of), else the
// nearest within two edits and half its length (the first on a tie). Empty
// when none is that close. The result views an element of `candidates`.
std::string_view nearest(std::string_view word, std::span<const std::string> candidates);

// " (did you mean 'NAME'?)" for the nearest candidate, or "" when there is none.
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

}  // namespace eda
