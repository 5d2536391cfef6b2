// `sub --group` and `recv` against Kafka: a member of a Kafka consumer group
// (docs/KAFKA.md). The group's members split the partitions of the topics
// they subscribe to; patterns become regex subscriptions. A message's offset
// is committed only once the caller says it is completed, so what was not
// completed is delivered again after a crash or a rebalance (at least once).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/position.h"
#include "core/result.h"
#include "transport/kafka/kafka_config.h"

namespace eda {

struct KafkaGroupConfig {
  std::vector<std::string> patterns;  // topics, or patterns (`*`, `>`)
  std::string group;                  // the Kafka group.id
  // Where a group without committed offsets starts: earliest or latest
  // (auto.offset.reset); a group that has committed offsets goes on from them.
  Position from;
  std::optional<uint64_t> count;                  // stop after this many were settled
  std::optional<std::chrono::milliseconds> wait;  // stop after this long without a message
  std::chrono::milliseconds unreachable_after{5000};
};

enum class KafkaSettle {
  kComplete,  // commit its offset
  kAbandon,   // not completed: read the partition again from this message
};

// Gets each message; an Error ends the run with that error.
using KafkaMessageHandler = std::function<Result<KafkaSettle>(const Envelope&)>;

// Checks the config (only earliest/latest for --from: usage error otherwise).
// Inline: recv checks it before it loads the Kafka module.
inline Status check_kafka_group_config(const KafkaGroupConfig& config) {
  if (config.from.kind != Position::Kind::kEarliest && config.from.kind != Position::Kind::kLatest)
    return invalid_argument(
        "with Kafka, a group starts at earliest or latest (auto.offset.reset); read from an "
        "offset or a time without --group");
  return ok_status();
}

// Consumes as a member of config.group until -n, --wait, or `stop`. Returns
// how many messages were settled. Errors: kRuntime for an unreachable
// cluster or a failed commit; kTimeout when --wait passed before -n was
// reached; kInterrupted when `stop` was set (offsets already committed stay).
Result<uint64_t> kafka_consume_group(const KafkaConfig& kafka, const KafkaGroupConfig& config,
                                     const KafkaMessageHandler& handler,
                                     const std::atomic<bool>& stop);

}  // namespace eda
