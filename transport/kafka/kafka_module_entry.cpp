// The Kafka module's one export (transport/kafka/kafka_module.h).
#include "transport/kafka/kafka_client.h"
#include "transport/kafka/kafka_module.h"

extern "C" __attribute__((visibility("default"))) const eda::KafkaModule* edatool_kafka_module() {
  static const eda::KafkaModule module{
      EDATOOL_VERSION,     eda::kKafkaModuleAbi,  &eda::check_kafka_settings,
      &eda::kafka_publish, &eda::kafka_subscribe, &eda::kafka_consume_group};
  return &module;
}
