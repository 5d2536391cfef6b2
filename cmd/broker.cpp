// edatool broker: runs a broker in the foreground until SIGINT/SIGTERM.
#include <fmt/format.h>

#include "cmd/command.h"
#include "core/byte_size.h"
#include "core/log.h"
#include "transport/broker_server.h"

namespace eda {
namespace {

struct BrokerOptions {
  std::vector<std::string> binds;
  bool memory = false;
  std::string retention_bytes = "256MiB";
  std::string max_message_bytes = "1MiB";
};

int run_broker(const BrokerOptions& o) {
  BrokerConfig config;
  config.binds = o.binds.empty() ? std::vector<std::string>{"tcp://127.0.0.1:7670"} : o.binds;
  auto retention = parse_byte_size(o.retention_bytes);
  if (!retention) return report(retention.error());
  auto max_message = parse_byte_size(o.max_message_bytes);
  if (!max_message) return report(max_message.error());
  config.limits.retention_bytes = *retention;
  config.limits.max_message_bytes = *max_message;

  const std::atomic<bool>& stop = install_stop_signals();
  BrokerServer server(config);
  auto endpoints = server.bind();
  if (!endpoints) return report(endpoints.error());
  for (const std::string& e : *endpoints) log_info("broker listening on {}", e);
  log_info("storage: memory, {} per topic (messages are gone when the broker stops)",
           o.retention_bytes);
  server.run(stop);
  log_info("broker stopped");
  return kExitOk;
}

}  // namespace

Runner setup_broker(CLI::App& app, const GlobalOptions&) {
  auto o = std::make_shared<BrokerOptions>();
  app.add_option("--bind", o->binds,
                 "listen on URL (repeatable; default tcp://127.0.0.1:7670; tcp://HOST:* picks a "
                 "free port)")
      ->allow_extra_args(false);
  app.add_flag("--memory", o->memory,
               "keep messages in memory only (the only mode in this version)");
  app.add_option("--retention-bytes", o->retention_bytes,
                 "keep at most this much per topic, dropping the oldest")
      ->capture_default_str();
  app.add_option("--max-message-bytes", o->max_message_bytes, "reject messages larger than this")
      ->capture_default_str();
  return [o] { return run_broker(*o); };
}

}  // namespace eda
