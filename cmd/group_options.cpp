#include "cmd/group_options.h"

#include <fmt/format.h>

#include "core/duration.h"

namespace eda {
namespace {

Result<int64_t> positive_duration_ms(const char* flag, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) return d.error();
  if (d->count() <= 0) return invalid_argument(fmt::format("{} must be longer than 0", flag));
  return static_cast<int64_t>(d->count());
}

}  // namespace

void add_group_options(CLI::App& app, GroupOptions& o) {
  app.add_option("--lock", o.lock, "how long a received message stays locked (default 30s)")
      ->type_name("DUR");
  app.add_option("--max-deliveries", o.max_deliveries, "dead-letter a message after N deliveries")
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--ttl", o.ttl, "dead-letter messages older than DUR (default: never)")
      ->type_name("DUR");
}

Result<ConsumerGroupConfig> group_config(const GroupOptions& o) {
  ConsumerGroupConfig config;
  if (!o.lock.empty()) {
    auto ms = positive_duration_ms("--lock", o.lock);
    if (!ms) return ms.error();
    config.lock_ms = *ms;
  }
  if (!o.ttl.empty()) {
    auto ms = positive_duration_ms("--ttl", o.ttl);
    if (!ms) return ms.error();
    config.ttl_ms = *ms;
  }
  if (o.max_deliveries < 1 || o.max_deliveries > UINT32_MAX)
    return invalid_argument(
        fmt::format("--max-deliveries must be at least 1, not {}", o.max_deliveries));
  config.max_deliveries = static_cast<uint32_t>(o.max_deliveries);
  return config;
}

}  // namespace eda
