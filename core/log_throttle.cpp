#include "core/log_throttle.h"

#include <algorithm>

namespace eda {

bool LogThrottle::allow(int64_t now_ms) {
  if (refilled_ms_ == INT64_MIN) {
    tokens_ = burst_;
    refilled_ms_ = now_ms;
  } else if (now_ms > refilled_ms_ && interval_ms_ > 0) {
    int64_t earned = (now_ms - refilled_ms_) / interval_ms_;
    if (earned > 0) {
      tokens_ = static_cast<uint32_t>(std::min<int64_t>(burst_, tokens_ + earned));
      refilled_ms_ += earned * interval_ms_;
    }
  }
  if (tokens_ == 0) {
    ++held_back_;
    return false;
  }
  --tokens_;
  return true;
}

uint64_t LogThrottle::take_held_back() {
  uint64_t n = held_back_;
  held_back_ = 0;
  return n;
}

}  // namespace eda
