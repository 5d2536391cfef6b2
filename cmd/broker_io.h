// The one place where commands pick a backend by --broker's scheme:
// tcp:// and ipc:// reach edatool's broker (transport/publisher.h,
// subscriber.h), kafka:// a Kafka cluster (transport/kafka/). pub, sub, tail
// and replay call these instead of publish()/subscribe().
#pragma once

#include <atomic>

#include "cmd/command.h"
#include "transport/kafka/kafka_module.h"
#include "transport/publisher.h"
#include "transport/subscriber.h"

namespace eda {

// Whether --broker is a kafka:// URL.
bool uses_kafka(const GlobalOptions& global);

// A kafka:// --broker: its checked settings and the loaded Kafka module
// that serves them (transport/kafka/kafka_module.h).
struct KafkaBackend {
  KafkaConfig config;
  const KafkaModule& module;
};
// Errors: a bad URL or -X (usage); no loadable Kafka module (runtime).
Result<KafkaBackend> kafka_backend_of(const GlobalOptions& global);

// publish() on the broker --broker names. Errors: a bad URL or -X setting
// (usage), then as publish() / kafka_publish().
Status publish_to_broker(const GlobalOptions& global, EnvelopeSource& source,
                         const EnvelopeStamp& stamp, const PublishConfig& config,
                         const std::atomic<bool>& stop, PublishReport& report);

// subscribe() on the broker --broker names; errors as publish_to_broker.
Result<SubscribeEnd> subscribe_to_broker(const GlobalOptions& global, const SubscribeConfig& config,
                                         EnvelopeSink& sink, const std::atomic<bool>& stop);

}  // namespace eda
