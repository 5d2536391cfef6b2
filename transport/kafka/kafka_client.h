// librdkafka's side of the Kafka backend: RAII owners for its handles and a
// client configured from a KafkaConfig. Part of the Kafka module
// (transport/kafka/kafka_module.h); only the module's sources include
// rdkafka.h, so the edatool binary does not load librdkafka.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "transport/kafka/kafka_config.h"

namespace eda {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using KafkaPartitions = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaMetadata = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;
using KafkaHeaders = std::unique_ptr<rd_kafka_headers_t, KafkaDeleter>;

// A librdkafka configuration: bootstrap.servers, then `defaults` (edatool's
// choices for this role), then the user's -X settings, which win. An unknown
// name or a bad value is a usage error naming the setting and librdkafka's reason.
Result<KafkaConf> make_kafka_conf(const KafkaConfig& config,
                                  const std::vector<KafkaSetting>& defaults);

// Checks -X settings without connecting (the same errors as make_kafka_conf).
Status check_kafka_settings(const std::vector<KafkaSetting>& settings);

// Creates the client; `conf` is consumed on success and on failure.
Result<KafkaHandle> make_kafka_client(rd_kafka_type_t type, KafkaConf conf);

// "cannot reach the Kafka brokers at h1:9092,...: <reason>; is Kafka running there?"
std::string kafka_unreachable(const KafkaConfig& config, std::string_view reason);

}  // namespace eda
