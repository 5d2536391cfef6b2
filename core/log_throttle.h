// A token bucket for log lines about events a peer can repeat at will (a
// flood of malformed messages must not flood stderr): up to `burst` lines at
// once, then one per `interval_ms`. The caller passes the time, so tests
// need no clock.
#pragma once

#include <cstdint>

namespace eda {

class LogThrottle {
 public:
  LogThrottle(uint32_t burst, int64_t interval_ms) : burst_(burst), interval_ms_(interval_ms) {}

  // True when a line may be written at `now_ms`; false counts it as held back.
  bool allow(int64_t now_ms);
  // Lines held back since the last call; resets the count.
  uint64_t take_held_back();

 private:
  uint32_t burst_;
  int64_t interval_ms_;
  uint32_t tokens_ = 0;
  int64_t refilled_ms_ = INT64_MIN;  // when the last token was added; MIN: never (full bucket)
  uint64_t held_back_ = 0;
};

}  // namespace eda
