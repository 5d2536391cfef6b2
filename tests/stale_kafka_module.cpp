// A Kafka module from another edatool build, for tests/e2e/install_test.sh:
// the same version but another layout of what binary and module exchange
// (the harder case: a version check alone would take it), so the loader
// must refuse it before calling anything in it.
#include "transport/kafka/kafka_module.h"

extern "C" __attribute__((visibility("default"))) const eda::KafkaModule* edatool_kafka_module() {
  static const eda::KafkaModule module{
      EDATOOL_VERSION, eda::kKafkaModuleAbi + 1, nullptr, nullptr, nullptr, nullptr};
  return &module;
}
