// Durations as users type them: `250ms`, `30s`, `5m`, `2h`, `7d` (DESIGN §3).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace eda {

using Millis = std::chrono::milliseconds;

// An integer followed by a unit (ms, s, m, h, d). "0s" is allowed; negatives,
// missing units, fractions, and overflow are errors naming the input.
Result<Millis> parse_duration(std::string_view text);

// The shortest exact spelling, e.g. 90000ms -> "90s", 120000ms -> "2m".
std::string format_duration(Millis d);

}  // namespace eda
