// Settings for the Kafka backend (DESIGN §9, docs/KAFKA.md): the
// `kafka://host:port[,host:port]` broker URL, `-X name=value` librdkafka
// settings, the mapping of edatool patterns to Kafka regex subscriptions, and
// RAII owners for librdkafka handles. Only transport/kafka/ includes rdkafka.h.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace eda {

inline constexpr std::string_view kKafkaScheme = "kafka://";

// One `-X name=value`.
using KafkaSetting = std::pair<std::string, std::string>;

struct KafkaConfig {
  std::string bootstrap;  // "host:port,host:port", for bootstrap.servers
  // --kafka-config FILE's settings then -X, applied after edatool's
  // defaults, in order (a later one wins).
  std::vector<KafkaSetting> settings;
};

bool is_kafka_url(std::string_view url);

// `kafka://h1:9092,h2:9092` -> bootstrap "h1:9092,h2:9092". Each entry needs a
// host and a numeric port. Errors (usage) name the URL and what is wrong.
Result<std::string> parse_kafka_url(std::string_view url);

// `name=value` (the value may contain '='; it may be empty). Errors (usage)
// quote the argument.
Result<KafkaSetting> parse_kafka_setting(std::string_view arg);

// The settings of a librdkafka properties file (as `kcat -F` reads):
// `name=value` per line; blank lines and lines starting with '#' are skipped.
// `source` names the file in errors (usage), with the line number.
Result<std::vector<KafkaSetting>> parse_kafka_config_text(std::string_view text,
                                                          std::string_view source);

// Reads and parses the file at `path`; an unreadable file is a usage error.
Result<std::vector<KafkaSetting>> read_kafka_config_file(const std::string& path);

// A Kafka topic regex (librdkafka subscribes to topics starting with '^' as
// regexes) for an edatool pattern: `orders.*` -> `^orders\.[^.]+$`,
// `orders.>` -> `^orders\..+$`. A pattern without wildcards stays as it is.
std::string kafka_topic_regex(std::string_view pattern);

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
