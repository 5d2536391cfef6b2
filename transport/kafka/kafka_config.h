// Settings for the Kafka backend (DESIGN §9, docs/KAFKA.md): the
// `kafka://host:port[,host:port]` broker URL, `-X name=value` librdkafka
// settings and the mapping of edatool patterns to Kafka regex subscriptions:
// the pure parts, which the edatool binary uses to check its arguments before
// it loads the Kafka module (transport/kafka/kafka_module.h). librdkafka's
// side is transport/kafka/kafka_client.h.
#pragma once

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

}  // namespace eda
