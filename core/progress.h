// ProgressMeter: one self-rewriting status line for long work — count, rate,
// and percent and ETA when the total is known. The caller decides whether it
// is shown (stderr is a terminal and -q was not given); redrawing is rate
// limited, so update() may be called per batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace eda {

class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;

  // `what` names the work ("pub", "replay"); `unit` the things counted.
  // `write` receives each redraw (default: stderr); `now` is the clock.
  ProgressMeter(std::string what, std::string unit,
                std::function<void(const std::string&)> write = write_stderr,
                std::function<Clock::time_point()> now = Clock::now);
  ~ProgressMeter();  // finish()
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // `count` done so far; `fraction` (0..1) of the whole when known.
  void update(uint64_t count, std::optional<double> fraction = std::nullopt);
  // Erases the line, if one was drawn.
  void finish();

  // The line for a state, without the leading "\r" and trailing erase.
  static std::string format(const std::string& what, const std::string& unit, uint64_t count,
                            double seconds, std::optional<double> fraction);

  static void write_stderr(const std::string& text);

 private:
  std::string what_;
  std::string unit_;
  std::function<void(const std::string&)> write_;
  std::function<Clock::time_point()> now_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  bool drawn_ = false;
};

// Whether progress should be shown: stderr is a terminal, not `quiet`, and
// stdout does not print to the same terminal (`prints_to_stdout`), where the
// line would tangle with the output.
bool progress_wanted(bool quiet, bool prints_to_stdout);

}  // namespace eda
