// Opening a connection to --broker, and the choice between edatool's broker
// and Kafka (cmd/broker_io.h).
#include <algorithm>

#include "cmd/broker_io.h"
#include "cmd/command.h"
#include "core/log.h"
#include "transport/broker_connection.h"
#include "transport/curve_keys.h"

namespace eda {

Result<KafkaBackend> kafka_backend_of(const GlobalOptions& global) {
  KafkaConfig config;
  auto bootstrap = parse_kafka_url(global.broker);
  if (!bootstrap) return bootstrap.error();
  config.bootstrap = std::move(*bootstrap);
  if (!global.kafka_config_file.empty()) {
    auto from_file = read_kafka_config_file(global.kafka_config_file);
    if (!from_file) return from_file.error();
    config.settings = std::move(*from_file);
  }
  for (const std::string& arg : global.kafka_settings) {
    auto setting = parse_kafka_setting(arg);
    if (!setting) return setting.error();
    config.settings.push_back(std::move(*setting));
  }
  // A later setting of a name replaces an earlier one: -X overrides the file
  // even where the file's value is one librdkafka would refuse.
  std::vector<KafkaSetting> latest;
  for (auto it = config.settings.rbegin(); it != config.settings.rend(); ++it)
    if (std::none_of(latest.begin(), latest.end(),
                     [&](const KafkaSetting& s) { return s.first == it->first; }))
      latest.push_back(std::move(*it));
  config.settings.assign(std::make_move_iterator(latest.rbegin()),
                         std::make_move_iterator(latest.rend()));
  auto module = kafka_module();
  if (!module) return module.error();
  if (Status s = (*module)->check_settings(config.settings); !s) return s.error();
  if (global.ns != "default")
    log_info("--namespace {} does not apply to Kafka: topic names are used as given", global.ns);
  return KafkaBackend{std::move(config), **module};
}

bool uses_kafka(const GlobalOptions& global) {
  return is_kafka_url(global.broker);
}

Result<std::unique_ptr<BrokerConnection>> connect_broker(const GlobalOptions& global) {
  if (uses_kafka(global))
    return invalid_argument(
        "this command needs edatool's own broker (tcp:// or ipc://); with kafka:// brokers, "
        "pub, sub, tail, replay and recv work (docs/KAFKA.md)");
  if (!global.kafka_settings.empty())
    return invalid_argument(
        "-X sets librdkafka options and applies only to kafka:// brokers, not to " + global.broker);
  auto curve = load_client_curve(global.curve_key, global.server_key);
  if (!curve) return curve.error();
  return BrokerConnection::open(global.broker, *curve, global.ns);
}

Status publish_to_broker(const GlobalOptions& global, EnvelopeSource& source,
                         const EnvelopeStamp& stamp, const PublishConfig& config,
                         const std::atomic<bool>& stop, PublishReport& report) {
  if (uses_kafka(global)) {
    auto kafka = kafka_backend_of(global);
    if (!kafka) return kafka.error();
    return kafka->module.publish(kafka->config, source, stamp, config, stop, report);
  }
  auto connection = connect_broker(global);
  if (!connection) return connection.error();
  return publish(**connection, source, stamp, config, stop, report);
}

Result<SubscribeEnd> subscribe_to_broker(const GlobalOptions& global, const SubscribeConfig& config,
                                         EnvelopeSink& sink, const std::atomic<bool>& stop) {
  if (uses_kafka(global)) {
    auto kafka = kafka_backend_of(global);
    if (!kafka) return kafka.error();
    return kafka->module.subscribe(kafka->config, config, sink, stop);
  }
  auto connection = connect_broker(global);
  if (!connection) return connection.error();
  return subscribe(**connection, config, sink, stop);
}

}  // namespace eda
