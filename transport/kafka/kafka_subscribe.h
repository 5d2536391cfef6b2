// `sub`, `tail` and `replay` against Kafka: the same contract as
// transport/subscriber.h's subscribe(), through a librdkafka consumer that
// assigns itself the partitions of every matching topic (no consumer group,
// nothing committed), as `kcat -C` does (docs/KAFKA.md).
#pragma once

#include <atomic>

#include "core/envelope_output.h"
#include "core/result.h"
#include "transport/kafka/kafka_config.h"
#include "transport/subscriber.h"

namespace eda {

// Reads every partition of the topics `config.patterns` match, each from
// `config.from` (per partition: `-N` is the last N of each partition, `@TIME`
// goes through offsetsForTimes), into `sink`, with config.filter evaluated
// here. Without -e, topics and partitions that appear later are picked up
// from their start. -e stops once every partition reached the end it had
// when it was assigned. Envelopes carry their partition. Errors as
// subscribe(): kRuntime for an unreachable cluster, kTimeout, kInterrupted.
Result<SubscribeEnd> kafka_subscribe(const KafkaConfig& kafka, const SubscribeConfig& config,
                                     EnvelopeSink& sink, const std::atomic<bool>& stop);

}  // namespace eda
