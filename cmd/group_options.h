// The settings flags of a queue or durable subscription (--lock,
// --max-deliveries, --ttl), shared by `queue create` and `subscription create`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/consumer_group.h"
#include "core/result.h"

namespace eda {

struct GroupOptions {
  std::string lock;
  std::string ttl;
  int64_t max_deliveries = ConsumerGroupConfig{}.max_deliveries;
};

void add_group_options(CLI::App& app, GroupOptions& o);

// The config the flags ask for; usage errors name the flag.
Result<ConsumerGroupConfig> group_config(const GroupOptions& o);

}  // namespace eda
