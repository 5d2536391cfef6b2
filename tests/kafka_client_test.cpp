// librdkafka's side of the Kafka settings (transport/kafka/kafka_client.h).
#include "transport/kafka/kafka_client.h"

#include <catch2/catch.hpp>

namespace eda::kafka_client_test {

TEST_CASE("kafka client: librdkafka checks -X names and values, errors name the setting",
          "[kafka_client]") {
  CHECK(check_kafka_settings({{"linger.ms", "20"}, {"client.id", "me"}}).ok());
  auto unknown = check_kafka_settings({{"no.such.setting", "1"}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(unknown.error().message, Catch::Contains("Kafka setting no.such.setting=1"));
  auto bad_value = check_kafka_settings({{"linger.ms", "soon"}});
  REQUIRE_FALSE(bad_value.ok());
  CHECK_THAT(bad_value.error().message, Catch::Contains("linger.ms"));
}

TEST_CASE("kafka client: user settings override edatool's defaults", "[kafka_client]") {
  KafkaConfig config{"h:1", {{"linger.ms", "7"}}};
  auto conf = make_kafka_conf(config, {{"linger.ms", "5"}});
  REQUIRE(conf.ok());
  char value[64];
  size_t size = sizeof value;
  REQUIRE(rd_kafka_conf_get(conf->get(), "linger.ms", value, &size) == RD_KAFKA_CONF_OK);
  CHECK(std::string(value) == "7");
  size = sizeof value;
  REQUIRE(rd_kafka_conf_get(conf->get(), "bootstrap.servers", value, &size) == RD_KAFKA_CONF_OK);
  CHECK(std::string(value) == "h:1");
}

}  // namespace eda::kafka_client_test
