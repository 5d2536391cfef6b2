#include "cmd/bench_run.h"

#include <fmt/format.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

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

// Publishers and subscribers share this process, so the steady clock serves
// both ends and cannot jump.
uint64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

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

// One publisher's messages: `size` bytes each, the first 8 the steady clock
// in ns when the message was handed to the publisher. Paced (`rate` > 0), a
// timerfd wakes the publisher and each message carries the time it was due,
// so a publisher that falls behind shows as latency instead of hiding it.
class BenchSource : public EnvelopeSource {
 public:
  BenchSource(uint64_t count, size_t size, double rate) : count_(count), size_(size), rate_(rate) {
    if (rate <= 0) return;
    timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    // Often enough to send each message on its own at 10k/s, rarely enough
    // not to spin at high rates (where messages go out in small batches).
    auto period = std::clamp<int64_t>(static_cast<int64_t>(1e9 / rate), 50'000, 10'000'000);
    itimerspec spec{};
    spec.it_interval.tv_nsec = spec.it_value.tv_nsec = period;
    if (timer_ >= 0) ::timerfd_settime(timer_, 0, &spec, nullptr);
  }
  ~BenchSource() override {
    if (timer_ >= 0) ::close(timer_);
  }
  BenchSource(const BenchSource&) = delete;
  BenchSource& operator=(const BenchSource&) = delete;

  int fd() const override { return timer_; }

  Status read(std::vector<Envelope>& out, bool& at_end) override {
    if (rate_ > 0 && timer_ < 0) return runtime_error(fmt::format("timerfd: {}", strerror(errno)));
    uint64_t now = steady_ns();
    if (timer_ >= 0) {
      uint64_t expirations;
      (void)!::read(timer_, &expirations, sizeof expirations);
    }
    if (start_ns_ == 0) start_ns_ = now;
    uint64_t due = std::min<uint64_t>(count_ - made_, kChunk);
    if (rate_ > 0) {
      auto by_now = static_cast<uint64_t>(static_cast<double>(now - start_ns_) * rate_ / 1e9) + 1;
      due = std::min(due, by_now > made_ ? by_now - made_ : 0);
    }
    for (uint64_t i = 0; i < due; ++i, ++made_) {
      uint64_t stamp = rate_ > 0 ? start_ns_ + static_cast<uint64_t>(made_ * 1e9 / rate_) : now;
      Envelope& e = out.emplace_back();
      e.payload.assign(size_, 'x');
      std::memcpy(e.payload.data(), &stamp, kBenchStampBytes);
    }
    at_end = made_ == count_;
    return ok_status();
  }

 private:
  static constexpr uint64_t kChunk = 1000;
  uint64_t count_;
  size_t size_;
  double rate_;
  int timer_ = -1;
  uint64_t made_ = 0;
  uint64_t start_ns_ = 0;
};

// One subscriber's end: takes the warm-up message (the topic's first), then
// checks that offsets follow on without a gap or a repeat and records each
// message's latency. Wants no more once it has `expected`.
class BenchSink : public EnvelopeSink {
 public:
  explicit BenchSink(uint64_t expected) : expected_(expected) {}

  Status write(const Envelope& e) override {
    uint64_t now = steady_ns();
    if (next_offset_ == kNoOffset) {
      next_offset_ = e.offset + 1;
      ready_ = true;
      return ok_status();
    }
    if (e.offset != next_offset_)
      return runtime_error(
          fmt::format("expected offset {}, got {}: {}", next_offset_, e.offset,
                      e.offset > next_offset_ ? "messages were lost" : "a message came twice"));
    ++next_offset_;
    if (e.payload.size() < kBenchStampBytes)
      return runtime_error(fmt::format("offset {} has no timestamp", e.offset));
    uint64_t sent;
    std::memcpy(&sent, e.payload.data(), kBenchStampBytes);
    latency_.record(now > sent ? now - sent : 0);
    last_ns_ = now;
    received_.store(received_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return ok_status();
  }
  Status flush() override { return ok_status(); }
  bool done() const override { return received_.load(std::memory_order_relaxed) == expected_; }

  bool ready() const { return ready_; }
  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  // Read only after the subscriber's thread ended.
  uint64_t last_ns() const { return last_ns_; }
  const LatencyHistogram& latency() const { return latency_; }

 private:
  uint64_t expected_;
  uint64_t next_offset_ = kNoOffset;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> received_{0};
  uint64_t last_ns_ = 0;
  LatencyHistogram latency_;
};

// A publisher or subscriber thread: how it ended, readable once `finished`.
struct Worker {
  std::atomic<bool> finished{false};
  std::optional<Error> error;
  uint64_t end_ns = 0;
  std::jthread thread;  // last: joined before the rest goes

  void set(Status s) {
    if (!s) error = s.error();
    end_ns = steady_ns();
    finished = true;
  }
};

struct Subscriber : Worker {
  explicit Subscriber(uint64_t expected) : sink(expected) {}
  BenchSink sink;
};

struct Publisher : Worker {
  PublishReport report;
};

Status subscribe_all(const std::string& url, const std::string& topic, BenchSink& sink,
                     const std::atomic<bool>& halt) {
  auto connection = BrokerConnection::open(url);
  if (!connection) return connection.error();
  SubscribeConfig config;
  config.patterns = {topic};
  config.from = Position{Position::Kind::kEarliest, 0};
  auto end = subscribe(**connection, config, sink, halt);
  if (!end) return end.error();
  return ok_status();
}

Status publish_all(const std::string& url, const std::string& topic, EnvelopeSource& source,
                   const std::atomic<bool>& halt, PublishReport& report) {
  auto connection = BrokerConnection::open(url);
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
    if (publishers[i]->finished && publishers[i]->error)
      return named("publisher", i, *publishers[i]->error);
  for (size_t i = 0; i < subscribers.size(); ++i)
    if (subscribers[i]->finished && subscribers[i]->error)
      return named("subscriber", i, *subscribers[i]->error);
  return std::nullopt;
}

std::string lost_message(const std::vector<std::unique_ptr<Subscriber>>& subscribers,
                         uint64_t expected) {
  std::vector<std::string> counts;
  for (size_t i = 0; i < subscribers.size(); ++i)
    counts.push_back(fmt::format("subscriber {} received {} of {}", i,
                                 subscribers[i]->sink.received(), expected));
  return fmt::format(
      "messages were lost: {} ({}s without a message after every publish was "
      "confirmed)",
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
    s.thread = std::jthread([&] { s.set(subscribe_all(url, topic, s.sink, halt)); });
  }

  // The warm-up: once every subscriber has it, all are subscribed and
  // connected, and the clock starts.
  auto control = BrokerConnection::open(url);
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

  uint64_t start_ns = steady_ns();
  for (int i = 0; i < config.publishers; ++i) {
    uint64_t share =
        config.messages / config.publishers + (i < int(config.messages % config.publishers));
    auto& p = *publishers.emplace_back(std::make_unique<Publisher>());
    p.thread = std::jthread([&, share] {
      BenchSource source(share, config.size, config.rate / config.publishers);
      p.set(publish_all(url, topic, source, halt, p.report));
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
                    [](auto& s) { return s->finished.load(); }))
      break;
    if (total != last_total || !std::all_of(publishers.begin(), publishers.end(),
                                            [](auto& p) { return p->finished.load(); }))
      last_total = total, last_change = Clock::now();
    else if (Clock::now() - last_change > kStallTimeout)
      return runtime_error(lost_message(subscribers, config.messages));
  }
  for (auto& p : publishers) p->thread.join();
  if (auto e = first_error(publishers, subscribers)) return *e;

  for (const auto& p : publishers) {
    result.published += p->report.confirmed;
    result.publish_seconds = std::max(result.publish_seconds, (p->end_ns - start_ns) / 1e9);
  }
  for (const auto& s : subscribers) {
    result.subscribers.push_back({s->sink.received(), (s->sink.last_ns() - start_ns) / 1e9});
    result.latency.merge(s->sink.latency());
  }
  if (!config.broker) return result;
  // A shared broker keeps no trace of the run.
  if (Status s = delete_topic(**control, topic, milliseconds(5000)); !s)
    log_info("could not delete the bench topic {}: {}", topic, s.error().message);
  return result;
}

}  // namespace eda
