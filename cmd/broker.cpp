// edatool broker: runs a broker in the foreground until SIGINT/SIGTERM.
#include <fmt/format.h>

#include "cmd/command.h"
#include "core/byte_size.h"
#include "core/data_dir.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/log_format.h"
#include "transport/broker_server.h"
#include "transport/curve_keys.h"

namespace eda {
namespace {

struct BrokerOptions {
  std::vector<std::string> binds;
  std::vector<std::string> taps;
  std::vector<std::string> ingests;
  std::string data;
  bool memory = false;
  std::string fsync = "batch";
  std::string retention_age;
  std::string retention_bytes;
  std::string segment_bytes = "64MiB";
  std::string max_message_bytes = "1MiB";
  std::string dedup_window = "2m";
  std::string curve_secret;
  std::string authorized_keys;
};

constexpr const char* kMemoryRetention = "256MiB";
constexpr const char* kDiskRetentionAge = "7d";

Result<EngineConfig> make_config(const BrokerOptions& o) {
  EngineConfig config;
  if (o.memory && !o.data.empty())
    return invalid_argument("choose --data DIR or --memory, not both");
  if (!o.memory) config.data_dir = o.data.empty() ? default_data_dir() : o.data;
  auto fsync = parse_fsync_policy(o.fsync);
  if (!fsync) return fsync.error();
  config.fsync = *fsync;
  std::string age = o.retention_age.empty() && !o.memory ? kDiskRetentionAge : o.retention_age;
  if (!age.empty()) {
    auto d = parse_duration(age);
    if (!d) return d.error();
    config.retention.max_age_ms = d->count();
  }
  std::string bytes = o.retention_bytes.empty() && o.memory ? kMemoryRetention : o.retention_bytes;
  if (!bytes.empty()) {
    auto b = parse_byte_size(bytes);
    if (!b) return b.error();
    config.retention.max_bytes = *b;
  }
  auto segment = parse_byte_size(o.segment_bytes);
  if (!segment) return segment.error();
  if (*segment < 4096 || *segment > log_format::kMaxSegmentBytes)
    return invalid_argument("--segment-bytes must be between 4KiB and 4GiB");
  config.segment_bytes = *segment;
  auto max_message = parse_byte_size(o.max_message_bytes);
  if (!max_message) return max_message.error();
  if (*max_message == 0 || *max_message > (32u << 20))
    return invalid_argument("--max-message-bytes must be between 1 byte and 32MiB");
  config.max_message_bytes = *max_message;
  auto window = parse_duration(o.dedup_window);
  if (!window) return window.error();
  config.dedup_window_ms = window->count();
  return config;
}

Result<std::optional<CurveServerConfig>> make_curve_config(const BrokerOptions& o) {
  if (o.curve_secret.empty() && o.authorized_keys.empty())
    return std::optional<CurveServerConfig>();
  if (o.curve_secret.empty() || o.authorized_keys.empty())
    return invalid_argument(
        "CURVE needs both --curve-secret FILE (the broker's .key from edatool keygen) and "
        "--authorized-keys FILE (the clients' public keys)");
  auto pair = read_secret_key_file(o.curve_secret);
  if (!pair) return pair.error();
  auto keys = AuthorizedKeys::load(o.authorized_keys);
  if (!keys) return keys.error();
  return std::optional<CurveServerConfig>(
      CurveServerConfig{pair->secret_key, o.authorized_keys, std::move(*keys)});
}

// tcp://127.0.0.1:7670, tcp://localhost:*, tcp://[::1]:7670 and ipc:// stay on this machine.
bool is_local_endpoint(std::string_view url) {
  if (!url.starts_with("tcp://")) return true;
  std::string_view host = url.substr(6, url.rfind(':') - 6);
  return host.starts_with("127.") || host == "localhost" || host == "[::1]";
}

int run_broker(const BrokerOptions& o) {
  auto config = make_config(o);
  if (!config) return report(config.error());
  auto curve = make_curve_config(o);
  if (!curve) return report(curve.error());
  BrokerConfig server_config;
  server_config.binds =
      o.binds.empty() ? std::vector<std::string>{"tcp://127.0.0.1:7670"} : o.binds;
  server_config.taps = o.taps;
  server_config.ingests = o.ingests;
  if (*curve && (!o.taps.empty() || !o.ingests.empty()))
    return report(invalid_argument(
        "--tap and --ingest are plain ZeroMQ sockets without authentication; they cannot be "
        "combined with --curve-secret"));
  if (*curve) {
    log_info("CURVE on, {} keys authorized by {}", (*curve)->authorized_keys.size(),
             o.authorized_keys);
    server_config.curve = std::move(*curve);
    server_config.reload_keys = &install_reload_signal();
  }

  const std::atomic<bool>& stop = install_stop_signals();
  std::vector<std::string> notes;
  auto engine = BrokerEngine::open(*config, notes);
  if (!engine) return report(engine.error());
  for (const std::string& note : notes) log_info("{}", note);
  BrokerServer server(server_config, std::move(*engine));
  auto endpoints = server.bind();
  if (!endpoints) return report(endpoints.error());
  auto announce = [&](std::string_view what, const std::vector<std::string>& bound) {
    for (const std::string& e : bound) {
      if (!server_config.curve && !is_local_endpoint(e))
        log_error(
            "warning: {} is reachable from other machines without encryption or "
            "authentication (see --curve-secret and --authorized-keys)",
            e);
      log_info("{} listening on {}", what, e);
    }
  };
  announce("broker", *endpoints);
  announce("tap", server.tap_endpoints());
  announce("ingest", server.ingest_endpoints());
  if (config->data_dir)
    log_info("data directory {} (fsync {})", *config->data_dir, o.fsync);
  else
    log_info("storage: memory only, messages are gone when the broker stops");
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
      ->type_name("URL")
      ->allow_extra_args(false);
  app.add_option("--tap", o->taps,
                 "also send every stored message as [topic][payload] to plain ZeroMQ SUB "
                 "sockets on URL (an XPUB; repeatable; $ topics excluded)")
      ->type_name("URL")
      ->allow_extra_args(false);
  app.add_option("--ingest", o->ingests,
                 "also store what plain ZeroMQ PUSH sockets send to URL as [topic][payload] or "
                 "[topic][payload][msgpack headers map] (a PULL; repeatable)")
      ->type_name("URL")
      ->allow_extra_args(false);
  app.add_option("--data", o->data, "keep the log in DIR (default $XDG_DATA_HOME/edatool)")
      ->type_name("DIR");
  app.add_flag("--memory", o->memory, "keep messages in memory only");
  app.add_option("--fsync", o->fsync, "when a publish counts as stored: always, batch, never")
      ->capture_default_str()
      ->check(CLI::IsMember({"always", "batch", "never"}));
  app.add_option("--retention-age", o->retention_age,
                 "drop data older than DUR (default 7d on disk, none in memory)")
      ->type_name("DUR");
  app.add_option("--retention-bytes", o->retention_bytes,
                 "keep at most this much per topic (default unlimited on disk, 256MiB in memory)")
      ->type_name("SIZE");
  app.add_option("--segment-bytes", o->segment_bytes, "roll segment files at this size")
      ->type_name("SIZE")
      ->capture_default_str();
  app.add_option("--max-message-bytes", o->max_message_bytes, "reject messages larger than this")
      ->type_name("SIZE")
      ->capture_default_str();
  app.add_option("--dedup-window", o->dedup_window,
                 "drop a message whose id the topic stored within DUR (0s: off)")
      ->type_name("DUR")
      ->capture_default_str();
  app.add_option("--curve-secret", o->curve_secret,
                 "encrypt with CURVE using this secret key (a .key file from edatool keygen); "
                 "needs --authorized-keys")
      ->type_name("FILE");
  app.add_option("--authorized-keys", o->authorized_keys,
                 "admit only the client public keys listed in FILE, each with optional rights "
                 "pub=PATTERNS sub=PATTERNS admin; reread on SIGHUP")
      ->type_name("FILE");
  return [o] { return run_broker(*o); };
}

}  // namespace eda
