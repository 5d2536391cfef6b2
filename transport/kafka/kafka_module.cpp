#include "transport/kafka/kafka_module.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <limits.h>
#include <unistd.h>

#include <string>

// Where `cmake --install` puts the module, relative to the binary's
// directory (CMakeLists.txt: from CMAKE_INSTALL_BINDIR to
// CMAKE_INSTALL_LIBDIR/edatool).
#ifndef EDATOOL_KAFKA_MODULE_DIR_FROM_BIN
#define EDATOOL_KAFKA_MODULE_DIR_FROM_BIN "../lib/edatool"
#endif

namespace eda {
namespace {

std::string binary_dir() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return ".";
  std::string exe(path, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "." : exe.substr(0, slash);
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
  if (module->version != EDATOOL_VERSION)
    return runtime_error(
        fmt::format("{} is from edatool {}, this is edatool {}; install both from "
                    "the same build",
                    path, module->version, EDATOOL_VERSION));
  return module;  // never dlclose'd: librdkafka's threads may outlive a call
}

Result<const KafkaModule*> load_module() {
  std::string dir = binary_dir();
  std::string beside = fmt::format("{}/{}", dir, kKafkaModuleFile);
  std::string installed =
      fmt::format("{}/{}/{}", dir, EDATOOL_KAFKA_MODULE_DIR_FROM_BIN, kKafkaModuleFile);
  for (const std::string& path : {beside, installed})
    if (::access(path.c_str(), F_OK) == 0) return open_module(path);
  return runtime_error(fmt::format(
      "kafka:// needs edatool's Kafka module, found neither {} nor {}; build edatool with "
      "librdkafka-dev installed and install it with `cmake --install`",
      beside, installed));
}

}  // namespace

Result<const KafkaModule*> kafka_module() {
  static const Result<const KafkaModule*> loaded = load_module();
  return loaded;
}

}  // namespace eda
