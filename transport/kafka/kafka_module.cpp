#include "transport/kafka/kafka_module.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <string>

// Where `cmake --install` puts the module, relative to the binary's
// directory (CMakeLists.txt sets it: from the install's bin directory to
// its lib directory's edatool/).
#ifndef EDATOOL_KAFKA_MODULE_DIR_FROM_BIN
#define EDATOOL_KAFKA_MODULE_DIR_FROM_BIN "../lib/edatool"
#endif

namespace eda {
namespace {

// The directory of the running binary.
Result<std::filesystem::path> binary_dir() {
  std::error_code error;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error)
    return runtime_error(
        fmt::format("cannot look for edatool's Kafka module: the binary's own path is unknown "
                    "(/proc/self/exe: {})",
                    error.message()));
  return exe.parent_path();
}

Result<const KafkaModule*> open_module(const std::string& path) {
  // RTLD_NOW: a module that does not fit this binary fails here, with
  // dlerror naming the symbol, not at a call in the middle of a run.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return runtime_error(fmt::format("cannot load the Kafka module: {}", ::dlerror()));
  using Entry = const KafkaModule* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, kKafkaModuleEntry));
  if (!entry)
    return runtime_error(
        fmt::format("{} is not edatool's Kafka module (no {})", path, kKafkaModuleEntry));
  const KafkaModule* module = entry();
  if (module->version != EDATOOL_VERSION || module->abi != kKafkaModuleAbi) {
    std::string versions =
        module->version == EDATOOL_VERSION
            ? ""
            : fmt::format(" (edatool {}, this is {})", module->version, EDATOOL_VERSION);
    return runtime_error(fmt::format(
        "{} is from another edatool build{}; install the binary and its module together", path,
        versions));
  }
  return module;  // never dlclose'd: librdkafka's threads may outlive a call
}

Result<const KafkaModule*> load_module() {
  auto dir = binary_dir();
  if (!dir) return dir.error();
  std::string beside = (*dir / kKafkaModuleFile).string();
  std::string installed =
      (*dir / EDATOOL_KAFKA_MODULE_DIR_FROM_BIN / kKafkaModuleFile).lexically_normal().string();
  for (const std::string& path : {beside, installed})
    if (::access(path.c_str(), F_OK) == 0) return open_module(path);
  return runtime_error(fmt::format(
      "kafka:// needs edatool's Kafka module, found neither {} nor {}; put the {} built with "
      "this binary next to it, or install both with `cmake --install`",
      beside, installed, kKafkaModuleFile));
}

}  // namespace

Result<const KafkaModule*> kafka_module() {
  static const Result<const KafkaModule*> loaded = load_module();
  return loaded;
}

}  // namespace eda
