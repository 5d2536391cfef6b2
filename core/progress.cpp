#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace eda {
namespace {

// Often enough to look alive, rarely enough to cost nothing.
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);

std::string human_rate(double per_second) {
  if (per_second >= 1e6) return fmt::format("{:.2f}M", per_second / 1e6);
  if (per_second >= 1e3) return fmt::format("{:.1f}k", per_second / 1e3);
  return fmt::format("{:.0f}", per_second);
}

std::string clock_time(double seconds) {
  auto s = static_cast<uint64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

ProgressMeter::ProgressMeter(std::string what, std::string unit,
                             std::function<void(const std::string&)> write,
                             std::function<Clock::time_point()> now)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      write_(std::move(write)),
      now_(std::move(now)),
      start_(now_()),
      last_draw_(start_) {}

ProgressMeter::~ProgressMeter() {
  finish();
}

std::string ProgressMeter::format(const std::string& what, const std::string& unit, uint64_t count,
                                  double seconds, std::optional<double> fraction) {
  double rate = seconds > 0 ? static_cast<double>(count) / seconds : 0;
  std::string line = fmt::format("{}: {} {}, {}/s", what, count, unit, human_rate(rate));
  if (fraction && *fraction > 0) {
    double f = std::min(*fraction, 1.0);
    line += fmt::format(", {:.0f}%", f * 100);
    if (seconds >= 1) line += fmt::format(", ETA {}", clock_time(seconds * (1 - f) / f));
  }
  return line;
}

void ProgressMeter::update(uint64_t count, std::optional<double> fraction) {
  Clock::time_point now = now_();
  if (now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  write_("\r" + format(what_, unit_, count, seconds, fraction) + "\033[K");
  drawn_ = true;
}

void ProgressMeter::finish() {
  if (!drawn_) return;
  write_("\r\033[K");
  drawn_ = false;
}

void ProgressMeter::write_stderr(const std::string& text) {
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
}

bool progress_wanted(bool quiet, bool prints_to_stdout) {
  if (quiet || ::isatty(STDERR_FILENO) != 1) return false;
  return !prints_to_stdout || ::isatty(STDOUT_FILENO) != 1;
}

}  // namespace eda
