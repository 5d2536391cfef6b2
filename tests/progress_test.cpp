#include "core/progress.h"

#include <catch2/catch.hpp>

namespace eda::progress_test {
namespace {

using Clock = ProgressMeter::Clock;
using std::chrono::milliseconds;

// A meter on a fake clock that records what it draws.
struct Fixture {
  Clock::time_point now{};
  std::vector<std::string> drawn;
  ProgressMeter meter{"pub", "messages", [this](const std::string& s) { drawn.push_back(s); },
                      [this] { return now; }};
};

TEST_CASE("progress: the line shows count and rate, then percent and ETA when known",
          "[progress]") {
  CHECK(ProgressMeter::format("pub", "messages", 500, 2.0, std::nullopt) ==
        "pub: 500 messages, 250/s");
  CHECK(ProgressMeter::format("pub", "messages", 250000, 2.0, std::nullopt) ==
        "pub: 250000 messages, 125.0k/s");
  CHECK(ProgressMeter::format("replay", "messages", 3000000, 1.0, std::nullopt) ==
        "replay: 3000000 messages, 3.00M/s");
  CHECK(ProgressMeter::format("pub", "messages", 100, 10.0, 0.25) ==
        "pub: 100 messages, 10/s, 25%, ETA 0:30");
  CHECK(ProgressMeter::format("pub", "messages", 100, 4000.0, 0.5) ==
        "pub: 100 messages, 0/s, 50%, ETA 1:06:40");
  // No ETA before a second has passed, no percent before anything is known.
  CHECK(ProgressMeter::format("pub", "messages", 1, 0.5, 0.5) == "pub: 1 messages, 2/s, 50%");
  CHECK(ProgressMeter::format("pub", "messages", 0, 0.0, 0.0) == "pub: 0 messages, 0/s");
}

TEST_CASE("progress: redraws at most every 200 ms and erases its line at the end", "[progress]") {
  Fixture f;
  f.meter.update(1);
  CHECK(f.drawn.empty());  // too soon after the start
  f.now += milliseconds(250);
  f.meter.update(10);
  REQUIRE(f.drawn.size() == 1);
  CHECK(f.drawn[0] == "\rpub: 10 messages, 40/s\033[K");
  f.now += milliseconds(100);
  f.meter.update(20);
  CHECK(f.drawn.size() == 1);
  f.now += milliseconds(150);
  f.meter.update(30);
  CHECK(f.drawn.size() == 2);
  f.meter.finish();
  CHECK(f.drawn.back() == "\r\033[K");
  f.meter.finish();  // once is enough
  CHECK(f.drawn.size() == 3);
}

TEST_CASE("progress: a meter that never drew erases nothing", "[progress]") {
  Fixture f;
  f.meter.update(5);
  f.meter.finish();
  CHECK(f.drawn.empty());
}

}  // namespace
}  // namespace eda::progress_test
