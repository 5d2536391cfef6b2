// Where a read starts (`--from`) or stops (`--to`) in a topic (DESIGN §3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace eda {

struct Position {
  enum class Kind {
    kEarliest,  // the first retained message
    kLatest,    // only messages stored after the read starts
    kOffset,    // `N`: the message at offset N
    kLast,      // `-N`: the last N messages (value = N)
    kTime,      // `@TIME`: the first message with ts >= value (ms since epoch)
  };
  Kind kind = Kind::kLatest;
  int64_t value = 0;
  bool operator==(const Position&) const = default;
};

// Parses `earliest`, `latest`, `N`, `-N`, `@2024-05-01T12:00:00Z` (RFC 3339, with
// `Z` or `+hh:mm`, optional fractional seconds), or `@-10m` (a duration before
// `now_ms`). Errors list the accepted forms.
Result<Position> parse_position(std::string_view text, int64_t now_ms);

// Back to text, e.g. for log lines: "earliest", "offset 5", "last 10", "@<rfc3339>".
std::string describe_position(const Position& p);

// Milliseconds since the epoch, now.
int64_t now_ms();

// RFC 3339 in UTC with milliseconds: 2024-05-01T12:00:00.000Z.
std::string format_rfc3339(int64_t ms);

}  // namespace eda
