// The pure parts of the Kafka backend's settings: broker URLs, -X settings,
// patterns as Kafka regex subscriptions (transport/kafka/kafka_config.h).
#include "transport/kafka/kafka_config.h"

#include <catch2/catch.hpp>
#include <regex>

#include "core/topic.h"

namespace eda::kafka_config_test {

TEST_CASE("kafka config: kafka URLs give librdkafka's bootstrap list", "[kafka_config]") {
  CHECK(is_kafka_url("kafka://h:9092"));
  CHECK_FALSE(is_kafka_url("tcp://h:9092"));
  CHECK(*parse_kafka_url("kafka://h1:9092") == "h1:9092");
  CHECK(*parse_kafka_url("kafka://h1:9092,10.0.0.2:9093") == "h1:9092,10.0.0.2:9093");
  CHECK(*parse_kafka_url("kafka://[::1]:9092") == "[::1]:9092");
}

TEST_CASE("kafka config: a bad kafka URL is a usage error naming it", "[kafka_config]") {
  for (const char* url : {"kafka://", "kafka://h1", "kafka://h1:", "kafka://:9092",
                          "kafka://h1:9092,", "kafka://h1:x", "kafka://h1:99999", "tcp://h:1"}) {
    auto r = parse_kafka_url(url);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains(url));
  }
}

TEST_CASE("kafka config: -X takes name=value", "[kafka_config]") {
  auto s = parse_kafka_setting("security.protocol=ssl");
  REQUIRE(s.ok());
  CHECK(s->first == "security.protocol");
  CHECK(s->second == "ssl");
  CHECK(parse_kafka_setting("sasl.password=a=b")->second == "a=b");
  CHECK(parse_kafka_setting("client.id=")->second.empty());
  for (const char* bad : {"nothing", "=value"}) {
    auto r = parse_kafka_setting(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains(bad));
  }
}

TEST_CASE("kafka config: patterns become anchored Kafka topic regexes", "[kafka_config]") {
  CHECK(kafka_topic_regex("orders") == "orders");
  CHECK(kafka_topic_regex("orders.eu") == "orders.eu");  // literal: a topic name
  CHECK(kafka_topic_regex("orders.*") == "^orders\\.[^.]+$");
  CHECK(kafka_topic_regex("orders.>") == "^orders\\..+$");
  CHECK(kafka_topic_regex("*.created") == "^[^.]+\\.created$");
  CHECK(kafka_topic_regex(">") == "^.+$");
  CHECK(kafka_topic_regex("a-b.*.c_d") == "^a-b\\.[^.]+\\.c_d$");
}

TEST_CASE("kafka config: a pattern's regex matches the topics topic_matches does",
          "[kafka_config]") {
  const char* patterns[] = {"orders.*", "orders.>", "*.created", "a.*.c", ">"};
  const char* topics[] = {"orders", "orders.eu", "orders.eu.x", "x.created",
                          "a.b.c",  "a.b.b.c",   "ordersx.eu"};
  for (const char* p : patterns) {
    std::regex re(kafka_topic_regex(p), std::regex::ECMAScript);
    for (const char* t : topics) {
      INFO(p << " vs " << t);
      CHECK(std::regex_match(t, re) == topic_matches(p, t));
    }
  }
}

TEST_CASE("kafka config: a properties file is name=value lines", "[kafka_config]") {
  auto s = parse_kafka_config_text(
      "# TLS\n\nsecurity.protocol=ssl\r\n  ssl.ca.location = /etc/ca.pem\nclient.id=a=b", "f.conf");
  REQUIRE(s.ok());
  CHECK(*s == std::vector<KafkaSetting>{{"security.protocol", "ssl"},
                                        {"ssl.ca.location", "/etc/ca.pem"},
                                        {"client.id", "a=b"}});
  auto bad = parse_kafka_config_text("linger.ms=5\nnonsense\n", "f.conf");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(bad.error().message, Catch::Contains("f.conf line 2") && Catch::Contains("nonsense"));
  auto missing = read_kafka_config_file("/nonexistent/edatool-kafka.conf");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("/nonexistent/edatool-kafka.conf"));
}

}  // namespace eda::kafka_config_test
