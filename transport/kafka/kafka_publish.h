// `pub` against Kafka: the same contract as transport/publisher.h's publish(),
// through an idempotent librdkafka producer with acks=all (docs/KAFKA.md).
#pragma once

#include <atomic>

#include "core/envelope_source.h"
#include "core/result.h"
#include "transport/kafka/kafka_config.h"
#include "transport/publisher.h"

namespace eda {

// Publishes all of `source` to Kafka, stamped as publish() stamps. Success
// means every delivery report succeeded (with confirm=false: acks=0, every
// message was handed to a broker). Errors: kRuntime naming the first failed
// delivery's reason and how many failed, or an unreachable cluster; kTimeout
// when config.timeout ran out first; kInvalidArgument for bad -X settings;
// kInterrupted when `stop` was set. `report` holds the counts either way
// (duplicates stays 0: the idempotent producer drops retried copies itself).
Status kafka_publish(const KafkaConfig& kafka, EnvelopeSource& source, const EnvelopeStamp& stamp,
                     const PublishConfig& config, const std::atomic<bool>& stop,
                     PublishReport& report);

}  // namespace eda
