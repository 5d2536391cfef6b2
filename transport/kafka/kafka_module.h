// The Kafka backend is a module, edatool-kafka.so, that edatool loads only
// when --broker is a kafka:// URL. Linked into the binary, librdkafka and
// what it pulls in (OpenSSL, SASL, Kerberos, zstd, lz4, zlib) cost 1.6 ms of
// every start, a third of a one-shot `edatool pub` to edatool's own broker
// (docs/PERFORMANCE.md). The module is built from transport/kafka/'s
// sources but kafka_config and this loader; what it uses of core/ and
// transport/ it takes from the edatool binary, which exports its symbols
// for it. (The unit-test binary links the module's sources and exports
// nothing: there kafka_module() would fail, naming the missing symbol.)
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "transport/kafka/kafka_group.h"
#include "transport/kafka/kafka_publish.h"
#include "transport/kafka/kafka_subscribe.h"

namespace eda {

// The layout of what the binary and the module hand each other: a module
// built against other definitions of these structs is refused, not run.
inline constexpr size_t kKafkaModuleAbi =
    sizeof(KafkaConfig) ^ (sizeof(PublishConfig) << 8) ^ (sizeof(EnvelopeStamp) << 16) ^
    (sizeof(PublishReport) << 24) ^ (sizeof(SubscribeConfig) << 32) ^
    (sizeof(KafkaGroupConfig) << 40) ^ (sizeof(Envelope) << 48);

// What the module offers: the librdkafka-backed entry points commands call.
struct KafkaModule {
  std::string_view version;  // EDATOOL_VERSION of the build the module came from
  size_t abi;                // its kKafkaModuleAbi
  // check_kafka_settings (kafka_client.h): -X names and values, by librdkafka.
  Status (*check_settings)(const std::vector<KafkaSetting>& settings);
  decltype(&kafka_publish) publish;
  decltype(&kafka_subscribe) subscribe;
  decltype(&kafka_consume_group) consume_group;
};

// The module's file name, and the one function it exports:
// extern "C" const KafkaModule* edatool_kafka_module().
inline constexpr std::string_view kKafkaModuleFile = "edatool-kafka.so";
inline constexpr const char* kKafkaModuleEntry = "edatool_kafka_module";

// Loads the module on first use (later calls return the same answer): from
// next to the edatool binary (a build tree), else from where `cmake
// --install` puts it relative to the binary (../lib/edatool/). Errors
// (kRuntime): no module in either place, one that does not load (dlerror's
// reason), or one from another edatool version or layout; each names the
// path. The binary's own path comes from /proc/self/exe; without it, no
// module is loaded (never one from the current directory).
Result<const KafkaModule*> kafka_module();

}  // namespace eda
