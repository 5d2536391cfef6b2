#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <string>

namespace eda {
namespace {
std::atomic<LogLevel> level{LogLevel::kInfo};
}

void set_log_level(LogLevel l) {
  level = l;
}
LogLevel log_level() {
  return level;
}

void log_line(LogLevel l, std::string_view text) {
  if (l > level) return;
  // One write per line so lines from several threads never interleave.
  std::string line = fmt::format("edatool: {}\n", text);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace eda
