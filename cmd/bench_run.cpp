#include "cmd/bench_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "cmd/bench_messages.h"
#include "cmd/command.h"
#include "core/log.h"
#include "core/ulid.h"
#include "transport/admin_client.h"
#include "transport/broker_server.h"
#include "transport/publisher.h"
#include "transport/subscriber.h"

namespace eda {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// All messages received, and nothing new for this long after every publish
// was confirmed: the rest are lost.
constexpr auto kStallTimeout = std::chrono::seconds(10);
// Subscribers get the warm-up message within this, or the run fails.
constexpr auto kWarmUpTimeout = std::chrono::seconds(10);

// A broker in this process on a free loopback port, in memory or on a temp
// data directory that is removed with it. No retention limit: a run's
// messages stay until it ends.
class EmbeddedBroker {
 public:
  static Result<std::unique_ptr<EmbeddedBroker>> start(bool stored) {
    std::unique_ptr<EmbeddedBroker> b(new EmbeddedBroker);
    EngineConfig config;
    if (stored) {
      auto dir = std::filesystem::temp_directory_path() / "edatool-bench-XXXXXX";
      std::string path = dir.string();
      if (!::mkdtemp(path.data()))
        return runtime_error(fmt::format("cannot make a temp dir {}: {}", path, strerror(errno)));
      b->data_dir_ = path;
      config.data_dir = path;
    }
    std::vector<std::string> notes;
    auto engine = BrokerEngine::open(config, notes);
    if (!engine) return engine.error();
    b->server_ =
        std::make_unique<BrokerServer>(BrokerConfig{{"tcp://127.0.0.1:*"}}, std::move(*engine));
    auto endpoints = b->server_->bind();
    if (!endpoints) return endpoints.error();
    b->url_ = endpoints->front();
    b->thread_ = std::jthread([server = b->server_.get(), &stop = b->stop_] { server->run(stop); });
    return b;
  }

  ~EmbeddedBroker() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    server_.reset();
    std::error_code ignored;
    if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_, ignored);
  }

  const std::string& url() const { return url_; }

 private:
  EmbeddedBroker() = default;
  std::string data_dir_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<BrokerServer> server_;
  std::jthread thread_;
  std::string url_;
};

// How a publisher's or subscriber's thread ended, readable once `finished`.
struct Outcome {
  std::atomic<bool> finished{false};
  std::optional<Error> error;
  uint64_t end_ns = 0;

  void set(Status s) {
    if (!s) error = s.error();
    end_ns = bench_clock_ns();
    finished = true;
  }
};

struct Subscriber {
  explicit Subscriber(uint64_t expected) : sink(expected) {}
  BenchSink sink;
  Outcome outcome;
  std::jthread thread;  // last: joined before what it uses goes
};

struct Publisher {
  PublishReport report;
  Outcome outcome;
  std::jthread thread;  // last: joined before what it uses goes
};

Status subscribe_all(const std::string& url, const ClientCurve& curve, const std::string& topic,
                     BenchSink& sink, const std::atomic<bool>& halt) {
  auto connection = BrokerConnection::open(url, curve);
  if (!connection) return connection.error();
  SubscribeConfig config;
  config.patterns = {topic};
  config.from = Position{Position::Kind::kEarliest, 0};
  auto end = subscribe(**connection, config, sink, halt);
  if (!end) return end.error();
  return ok_status();
}

Status publish_all(const std::string& url, const ClientCurve& curve, const std::string& topic,
                   EnvelopeSource& source, const std::atomic<bool>& halt, PublishReport& report) {
  auto connection = BrokerConnection::open(url, curve);
  if (!connection) return connection.error();
  return publish(**connection, source, EnvelopeStamp{topic, {}, {}, {}}, PublishConfig{}, halt,
                 report);
}

// The first failure among the workers, named "publisher 2: ...".
std::optional<Error> first_error(const std::vector<std::unique_ptr<Publisher>>& publishers,
                                 const std::vector<std::unique_ptr<Subscriber>>& subscribers) {
  auto named = [](const char* what, size_t i, const Error& e) {
    return Error{e.kind, fmt::format("{} {}: {}", what, i, e.message)};
  };
  for (size_t i = 0; i < publishers.size(); ++i)
    if (const Outcome& o = publishers[i]->outcome; o.finished && o.error)
      return named("publisher", i, *o.error);
  for (size_t i = 0; i < subscribers.size(); ++i)
    if (const Outcome& o = subscribers[i]->outcome; o.finished && o.error)
      return named("subscriber", i, *o.error);
  return std::nullopt;
}

std::string lost_message(const std::vector<std::unique_ptr<Subscriber>>& subscribers,
                         uint64_t expected) {
  std::vector<std::string> counts;
  for (size_t i = 0; i < subscribers.size(); ++i)
    counts.push_back(fmt::format("subscriber {} received {} of {}", i,
                                 subscribers[i]->sink.received(), expected));
  return fmt::format(
      "messages were lost: {} ({}s without a message after every publish was confirmed)",
      fmt::join(counts, ", "), kStallTimeout.count());
}

}  // namespace

Result<BenchResult> run_bench(const BenchConfig& config, const std::atomic<bool>& stop,
                              const BenchProgress& progress) {
  BenchResult result;
  std::unique_ptr<EmbeddedBroker> embedded;  // outlives the workers below
  if (config.broker) {
    result.broker = *config.broker;
  } else {
    auto started = EmbeddedBroker::start(config.stored);
    if (!started) return started.error();
    embedded = std::move(*started);
    result.broker = embedded->url();
  }
  result.topic = "bench." + UlidGenerator().next(now_ms());
  std::atomic<bool> halt{false};
  const std::string& url = result.broker;
  const std::string& topic = result.topic;

  std::vector<std::unique_ptr<Publisher>> publishers;
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  // Stops and joins every worker before `publishers` and `subscribers` go.
  struct Halt {
    std::atomic<bool>& flag;
    ~Halt() { flag = true; }
  } halt_on_exit{halt};
  for (int i = 0; i < config.subscribers; ++i) {
    auto& s = *subscribers.emplace_back(std::make_unique<Subscriber>(config.messages));
    s.thread =
        std::jthread([&] { s.outcome.set(subscribe_all(url, config.curve, topic, s.sink, halt)); });
  }

  // The warm-up: once every subscriber has it, all are subscribed and
  // connected, and the clock starts.
  auto control = BrokerConnection::open(url, config.curve);
  if (!control) return control.error();
  Envelope first;
  first.payload.assign(config.size, '\0');
  ListSource warm_up({first});
  PublishReport ignored;
  if (Status s = publish(**control, warm_up, {topic, {}, {}, {}}, {}, stop, ignored); !s)
    return s.error();
  auto deadline = Clock::now() + kWarmUpTimeout;
  while (!std::all_of(subscribers.begin(), subscribers.end(),
                      [](const auto& s) { return s->sink.ready(); })) {
    if (stop) return Error{ErrorKind::kInterrupted, "interrupted"};
    if (auto e = first_error(publishers, subscribers)) return *e;
    if (Clock::now() > deadline)
      return runtime_error(fmt::format("subscribers did not get the first message within {}s",
                                       kWarmUpTimeout.count()));
    std::this_thread::sleep_for(milliseconds(5));
  }

  uint64_t start_ns = bench_clock_ns();
  for (int i = 0; i < config.publishers; ++i) {
    uint64_t share =
        config.messages / config.publishers + (i < int(config.messages % config.publishers));
    auto& p = *publishers.emplace_back(std::make_unique<Publisher>());
    p.thread = std::jthread([&, share] {
      BenchSource source(share, config.size, config.rate / config.publishers);
      p.outcome.set(publish_all(url, config.curve, topic, source, halt, p.report));
    });
  }

  uint64_t expected = config.messages * config.subscribers;
  uint64_t last_total = 0;
  auto last_change = Clock::now();
  for (;;) {
    std::this_thread::sleep_for(milliseconds(20));
    if (stop) return Error{ErrorKind::kInterrupted, "interrupted"};
    if (auto e = first_error(publishers, subscribers)) return *e;
    uint64_t total = 0;
    for (const auto& s : subscribers) total += s->sink.received();
    if (progress) progress(total, expected);
    if (std::all_of(subscribers.begin(), subscribers.end(),
                    [](auto& s) { return s->outcome.finished.load(); }))
      break;
    if (total != last_total || !std::all_of(publishers.begin(), publishers.end(),
                                            [](auto& p) { return p->outcome.finished.load(); }))
      last_total = total, last_change = Clock::now();
    else if (Clock::now() - last_change > kStallTimeout)
      return runtime_error(lost_message(subscribers, config.messages));
  }
  for (auto& p : publishers) p->thread.join();
  if (auto e = first_error(publishers, subscribers)) return *e;

  for (const auto& p : publishers) {
    result.published += p->report.confirmed;
    result.publish_seconds = std::max(result.publish_seconds, (p->outcome.end_ns - start_ns) / 1e9);
  }
  for (const auto& s : subscribers) {
    result.subscribers.push_back({s->sink.received(), (s->sink.last_ns() - start_ns) / 1e9});
    result.latency.merge(s->sink.latency());
  }
  if (!config.broker) return result;
  // A shared broker keeps no trace of the run.
  if (Status s = delete_topic(**control, topic, kAdminTimeout); !s)
    log_info("could not delete the bench topic {}: {}", topic, s.error().message);
  return result;
}

}  // namespace eda
