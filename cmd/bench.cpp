// edatool bench: publish/subscribe throughput and latency percentiles against
// a running broker (-b) or one started in this process.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cmd/bench_messages.h"
#include "cmd/bench_run.h"
#include "cmd/command.h"
#include "core/byte_size.h"
#include "core/envelope.h"
#include "core/progress.h"

namespace eda {
namespace {

struct BenchOptions {
  int64_t messages = 1'000'000;
  std::string size = "100";
  int publishers = 1;
  int subscribers = 1;
  bool stored = false;
  bool memory = false;
  double rate = 0;
  bool json = false;
  const CLI::Option* broker_option = nullptr;  // given on the command line or in the environment
};

constexpr int kMaxClients = 64;

struct Percentile {
  const char* name;
  double percent;
};
constexpr Percentile kPercentiles[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99_9", 99.9}};

Result<BenchConfig> make_config(const BenchOptions& o, const GlobalOptions& g) {
  BenchConfig config;
  if (o.messages < 1) return invalid_argument("--messages must be at least 1");
  config.messages = static_cast<uint64_t>(o.messages);
  auto size = parse_byte_size(o.size);
  if (!size) return size.error();
  if (*size < kBenchStampBytes || *size > kDefaultMaxMessageBytes)
    return invalid_argument(fmt::format(
        "--size must be between {} bytes (each payload starts with its 8-byte send time) and 1MiB",
        kBenchStampBytes));
  config.size = *size;
  for (auto [flag, count] :
       {std::pair{"--publishers", o.publishers}, {"--subscribers", o.subscribers}})
    if (count < 1 || count > kMaxClients)
      return invalid_argument(fmt::format("{} must be between 1 and {}", flag, kMaxClients));
  config.publishers = o.publishers;
  config.subscribers = o.subscribers;
  if (o.rate < 0) return invalid_argument("--rate must be positive (or 0: as fast as possible)");
  config.rate = o.rate;
  if (o.stored && o.memory) return invalid_argument("choose --stored or --memory, not both");
  if (o.broker_option->count() > 0) {
    if (o.stored || o.memory)
      return invalid_argument(
          "--stored and --memory choose the storage of the embedded broker; a broker given with "
          "-b or EDATOOL_BROKER keeps its own");
    config.broker = g.broker;
    auto curve = load_client_curve(g.curve_key, g.server_key);
    if (!curve) return curve.error();
    config.curve = std::move(*curve);
  }
  config.stored = o.stored;
  return config;
}

double per_second(double count, double seconds) {
  return seconds > 0 ? count / seconds : 0;
}

std::string where(const BenchConfig& c, const BenchResult& r) {
  if (c.broker) return fmt::format("broker at {}", r.broker);
  return fmt::format("embedded broker {} at {}", c.stored ? "on a temp data dir" : "in memory",
                     r.broker);
}

void print_text(const BenchConfig& c, const BenchResult& r) {
  auto plural = [](int n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
  };
  std::string pace = c.rate > 0 ? fmt::format("at {} msg/s", c.rate) : "as fast as possible";
  fmt::print("{} messages of {} B, {}, {}, {}; {}, topic {}\n", c.messages, c.size,
             plural(c.publishers, "publisher"), plural(c.subscribers, "subscriber"), pace,
             where(c, r), r.topic);
  auto line = [&](std::string_view label, uint64_t n, double seconds, std::string_view note) {
    fmt::print("{:<13} {} msgs in {:.3f} s: {:.0f} msg/s, {:.1f} MB/s{}\n", label, n, seconds,
               per_second(n, seconds), per_second(n * c.size / 1e6, seconds), note);
  };
  line("publish", r.published, r.publish_seconds, ", every message confirmed");
  double slowest = 0;
  uint64_t received = 0;
  for (size_t i = 0; i < r.subscribers.size(); ++i) {
    line(fmt::format("subscriber {}", i), r.subscribers[i].received, r.subscribers[i].seconds,
         ", every message, in order");
    slowest = std::max(slowest, r.subscribers[i].seconds);
    received += r.subscribers[i].received;
  }
  if (r.subscribers.size() > 1) line("received", received, slowest, " in all");
  const LatencyHistogram& h = r.latency;
  std::string percentiles;
  for (const Percentile& p : kPercentiles)
    percentiles += fmt::format("{} {}, ", p.percent == 99.9 ? "p99.9" : p.name,
                               format_latency(h.percentile(p.percent)));
  fmt::print("{:<13} {}max {} (mean {}, publish to receive)\n\n{}", "latency", percentiles,
             format_latency(h.max()), format_latency(h.mean()), render_histogram(h));
}

void print_json(const BenchConfig& c, const BenchResult& r) {
  auto rates = [&](uint64_t n, double seconds) {
    return nlohmann::ordered_json{{"seconds", seconds},
                                  {"msg_per_s", per_second(n, seconds)},
                                  {"mb_per_s", per_second(n * c.size / 1e6, seconds)}};
  };
  nlohmann::ordered_json subscribers = nlohmann::ordered_json::array();
  uint64_t received = 0;
  double slowest = 0;
  for (const SubscriberResult& s : r.subscribers) {
    auto j = rates(s.received, s.seconds);
    j["received"] = s.received;
    subscribers.push_back(j);
    received += s.received;
    slowest = std::max(slowest, s.seconds);
  }
  const LatencyHistogram& h = r.latency;
  nlohmann::ordered_json latency{{"count", h.count()}, {"min", h.min()}, {"mean", h.mean()}};
  for (const Percentile& p : kPercentiles) latency[p.name] = h.percentile(p.percent);
  latency["max"] = h.max();
  nlohmann::ordered_json histogram = nlohmann::ordered_json::array();
  for (const auto& range : h.ranges())
    histogram.push_back({{"ge", range.low_ns}, {"lt", range.high_ns}, {"count", range.count}});
  nlohmann::ordered_json j{
      {"broker", r.broker},
      {"storage", c.broker   ? "external"
                  : c.stored ? "stored"
                             : "memory"},
      {"topic", r.topic},
      {"messages", c.messages},
      {"size", c.size},
      {"publishers", c.publishers},
      {"subscribers", c.subscribers},
      {"rate", c.rate},
      {"published", r.published},
      {"received", received},
      {"publish", rates(r.published, r.publish_seconds)},
      {"receive", rates(received, slowest)},
      {"per_subscriber", subscribers},
      {"latency_ns", latency},
      {"histogram_ns", histogram},
  };
  fmt::print("{}\n", j.dump());
}

int run_bench_command(const BenchOptions& o, const GlobalOptions& g) {
  auto config = make_config(o, g);
  if (!config) return report(config.error());
  std::optional<ProgressMeter> meter;
  if (progress_wanted(g.quiet, false)) meter.emplace("bench", "messages received");
  auto progress = [&](uint64_t received, uint64_t expected) {
    if (meter) meter->update(received, static_cast<double>(received) / expected);
  };
  auto result = run_bench(*config, install_stop_signals(), progress);
  if (meter) meter->finish();
  if (!result) return report(result.error());
  if (o.json)
    print_json(*config, *result);
  else
    print_text(*config, *result);
  return kExitOk;
}

}  // namespace

Runner setup_bench(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<BenchOptions>();
  o->broker_option = app.get_parent()->get_option("--broker");
  app.add_option("--messages", o->messages, "messages to publish, in all")
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--size", o->size, "payload bytes, at least 8 (the send time)")
      ->type_name("BYTES")
      ->capture_default_str();
  app.add_option("--publishers", o->publishers, "publishers, each on its own connection")
      ->type_name("P")
      ->capture_default_str();
  app.add_option("--subscribers", o->subscribers, "subscribers; each gets every message")
      ->type_name("S")
      ->capture_default_str();
  app.add_flag("--stored", o->stored,
               "embedded broker: keep the log on a temp data dir (fsync batch)");
  app.add_flag("--memory", o->memory, "embedded broker: keep the log in memory (the default)");
  app.add_option("--rate", o->rate, "publish R messages per second in all (default: at once)")
      ->type_name("R");
  app.add_flag("--json", o->json, "print one JSON object");
  return [o, &global] { return run_bench_command(*o, global); };
}

}  // namespace eda
