#include "core/log_throttle.h"

#include <catch2/catch.hpp>

namespace eda::log_throttle_test {
namespace {

TEST_CASE("log throttle: a burst passes, then one line per interval", "[log_throttle]") {
  LogThrottle t(3, 1000);
  CHECK(t.allow(5000));
  CHECK(t.allow(5000));
  CHECK(t.allow(5001));
  CHECK_FALSE(t.allow(5002));
  CHECK_FALSE(t.allow(5999));
  CHECK(t.take_held_back() == 2);
  CHECK(t.take_held_back() == 0);
  CHECK(t.allow(6000));
  CHECK_FALSE(t.allow(6500));
  CHECK(t.allow(7000));
  CHECK(t.take_held_back() == 1);
}

TEST_CASE("log throttle: quiet time refills the burst, never beyond it", "[log_throttle]") {
  LogThrottle t(2, 100);
  CHECK(t.allow(0));
  CHECK(t.allow(0));
  CHECK_FALSE(t.allow(50));
  // An hour later: two lines again, not thousands.
  CHECK(t.allow(3'600'000));
  CHECK(t.allow(3'600'000));
  CHECK_FALSE(t.allow(3'600'000));
}

TEST_CASE("log throttle: a clock that steps back lets nothing extra through", "[log_throttle]") {
  LogThrottle t(1, 1000);
  CHECK(t.allow(10'000));
  CHECK_FALSE(t.allow(5'000));
  CHECK_FALSE(t.allow(10'999));
  CHECK(t.allow(11'000));
}

}  // namespace
}  // namespace eda::log_throttle_test
