#include "transport/kafka/kafka_client.h"

#include <fmt/format.h>

namespace eda {

namespace {

Status set_kafka_setting(rd_kafka_conf_t* conf, const KafkaSetting& s, bool from_user) {
  char err[512];
  if (rd_kafka_conf_set(conf, s.first.c_str(), s.second.c_str(), err, sizeof err) ==
      RD_KAFKA_CONF_OK)
    return ok_status();
  if (!from_user)
    return runtime_error(fmt::format("librdkafka refused {}={}: {}", s.first, s.second, err));
  return invalid_argument(fmt::format("Kafka setting {}={}: {}", s.first, s.second, err));
}

}  // namespace

Result<KafkaConf> make_kafka_conf(const KafkaConfig& config,
                                  const std::vector<KafkaSetting>& defaults) {
  KafkaConf conf(rd_kafka_conf_new());
  if (Status s = set_kafka_setting(conf.get(), {"bootstrap.servers", config.bootstrap}, false); !s)
    return s.error();
  // librdkafka's own log lines would not start with "edatool:"; errors reach
  // us through error codes and callbacks instead.
  rd_kafka_conf_set_log_cb(conf.get(), nullptr);
  if (Status s = set_kafka_setting(conf.get(), {"log_level", "0"}, false); !s) return s.error();
  for (const KafkaSetting& s : defaults)
    if (Status st = set_kafka_setting(conf.get(), s, false); !st) return st.error();
  for (const KafkaSetting& s : config.settings)
    if (Status st = set_kafka_setting(conf.get(), s, true); !st) return st.error();
  return conf;
}

Status check_kafka_settings(const std::vector<KafkaSetting>& settings) {
  KafkaConf conf(rd_kafka_conf_new());
  for (const KafkaSetting& s : settings)
    if (Status st = set_kafka_setting(conf.get(), s, true); !st) return st.error();
  return ok_status();
}

Result<KafkaHandle> make_kafka_client(rd_kafka_type_t type, KafkaConf conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (!rk)  // the configuration as a whole does not hold together (e.g. -X acks=1 with idempotence)
    return invalid_argument(fmt::format("Kafka settings: {}", err));
  (void)conf.release();  // rd_kafka_new owns it now
  return KafkaHandle(rk);
}

std::string kafka_unreachable(const KafkaConfig& config, std::string_view reason) {
  return fmt::format("cannot reach the Kafka brokers at {}: {}; is Kafka running there?",
                     config.bootstrap, reason);
}

}  // namespace eda
