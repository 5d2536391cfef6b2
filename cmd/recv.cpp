// edatool recv: competing-consumer receive from a queue or durable group,
// with peek-lock and the settling modes of docs/QUEUES.md. `sub --group`
// runs the same loop.
#include "cmd/recv.h"

#include <fmt/format.h>
#include <unistd.h>

#include <unordered_map>

#include "cmd/broker_io.h"
#include "cmd/command.h"
#include "cmd/output_options.h"
#include "core/duration.h"
#include "core/envelope_json.h"
#include "core/handler_pool.h"
#include "core/log.h"
#include "core/topic.h"
#include "transport/queue_client.h"

namespace eda {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Most messages asked for at once when nothing else limits it. Larger
// batches are faster (bench/queue.sh) but let the first of several receivers
// started together take a small queue alone.
constexpr size_t kReceiveBatch = 500;
// Without --exec, most completions sent and not yet acknowledged. The broker
// acknowledges them once stored (group commit: 2-10 ms on a busy disk), and
// recv keeps receiving meanwhile; a window of under ~8000 made one receiver
// wait on fsyncs (docs/PERFORMANCE.md "Queues").
constexpr size_t kMaxUnacknowledged = 32 * kReceiveBatch;
// How long one RECEIVE waits in the broker when recv has no --wait.
// The broker's limit, which keeps it under its 30 s peer timeout.
constexpr milliseconds kLongPoll{20000};

struct RecvOptions {
  std::string queue;
  int64_t count = -1;
  std::string lock;
  std::string ack = "auto";
  std::string exec;
  size_t concurrency = 1;
  std::string wait;
  OutputOptions output;
};

Settlement settlement(LockToken token, SettleAction action) {
  Settlement s;
  s.token = token;
  s.action = action;
  return s;
}

// What one process holds under lock and has not settled yet.
struct Held {
  ReceivedMessage message;
  bool started = false;  // its handler is running
};

class Receiver {
 public:
  Receiver(BrokerConnection& c, const RecvConfig& config, EnvelopeSink& sink, HandlerPool* pool)
      : config_(config), conn_(c), client_(c, config.target), sink_(sink), pool_(pool) {}

  Result<int> run(const std::atomic<bool>& stop);

 private:
  size_t room(size_t arriving) const;
  void request_more(size_t arriving = 0);
  Status take(std::vector<ReceivedMessage>& messages);
  Status print(const ReceivedMessage& m);
  void start_handlers();
  void finish_handlers();
  void renew_locks();
  void on_settled(std::vector<SettleOutcome>& outcomes);
  bool counted_out() const { return config_.count && done_ >= *config_.count; }
  bool idle() const { return held_.empty() && client_.settling() == 0; }
  void abandon_held();

  const RecvConfig& config_;
  const BrokerConnection& conn_;
  QueueClient client_;
  EnvelopeSink& sink_;
  HandlerPool* pool_;
  std::unordered_map<LockToken, Held> held_;  // with --exec: by token, until settled
  // Without --exec, the ids of the messages of each completion request not
  // acknowledged yet (for an error message), by request.
  std::unordered_map<uint64_t, std::vector<std::string>> completing_;
  std::deque<LockToken> waiting_;  // received, handler not started yet (in order)
  uint64_t done_ = 0;              // messages settled (or handed out, without locks)
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_message_ = Clock::now();
  Clock::time_point last_renew_ = Clock::now();
};

// How many more messages to ask for, with `arriving` received and not taken yet.
size_t Receiver::room(size_t arriving) const {
  // With --exec, held_ counts every message not settled yet and those whose
  // settlement is not acknowledged yet; without, settling() counts the latter.
  size_t in_hand = (pool_ ? held_.size() : client_.settling()) + arriving;
  size_t room = 0;
  if (pool_) {
    room = pool_->concurrency() > in_hand ? pool_->concurrency() - in_hand : 0;
  } else {
    room = kMaxUnacknowledged > in_hand ? std::min(kReceiveBatch, kMaxUnacknowledged - in_hand) : 0;
  }
  if (config_.count) {
    uint64_t left = *config_.count - std::min<uint64_t>(*config_.count, done_ + in_hand);
    room = std::min<uint64_t>(room, left);
  }
  return room;
}

void Receiver::request_more(size_t arriving) {
  if (client_.requesting() || counted_out()) return;
  size_t want = room(arriving);
  if (want == 0) return;
  milliseconds wait = kLongPoll;
  if (config_.wait) {
    auto idle_for = std::chrono::duration_cast<milliseconds>(Clock::now() - last_message_);
    wait = std::clamp(*config_.wait - idle_for, milliseconds(0), kLongPoll);
  }
  client_.request(want, config_.mode, config_.lock.value_or(milliseconds(0)), wait);
}

Status Receiver::print(const ReceivedMessage& m) {
  if (config_.mode != proto::ReceiveMode::kPeekLockDetached) return sink_.write(m.envelope);
  // --ack manual: the token goes with the message, so that `settle` can use it.
  std::string line = lock_token_text(m.lock.token);
  if (config_.manual_json) {
    std::string json;
    append_envelope_json(m.envelope, json);
    json.pop_back();  // the closing brace
    line = fmt::format("{},\"lock_token\":\"{}\",\"delivery_count\":{}}}\n", json, line,
                       m.lock.delivery_count);
  } else {
    line = fmt::format("{} {}\n", line, m.envelope.payload);
  }
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return runtime_error("cannot write to stdout");
  return ok_status();
}

Status Receiver::take(std::vector<ReceivedMessage>& messages) {
  if (!messages.empty()) last_message_ = Clock::now();
  std::vector<Settlement> completes;
  std::vector<std::string> ids;
  for (ReceivedMessage& m : messages) {
    if (pool_) {
      waiting_.push_back(m.lock.token);
      held_.emplace(m.lock.token, Held{std::move(m)});
      continue;
    }
    if (Status s = print(m); !s) return s;
    if (config_.mode == proto::ReceiveMode::kPeekLock) {
      completes.push_back(settlement(m.lock.token, SettleAction::kComplete));
      ids.push_back(std::move(m.envelope.id));
    } else {
      ++done_;  // manual and receive-and-delete: handed out is done here
    }
  }
  if (Status s = sink_.flush(); !s) return s;
  // Completed only once written: at least once, never lost.
  if (uint64_t request = client_.settle(std::move(completes)))
    completing_.emplace(request, std::move(ids));
  return ok_status();
}

void Receiver::start_handlers() {
  while (pool_ && pool_->has_room() && !waiting_.empty()) {
    LockToken token = waiting_.front();
    waiting_.pop_front();
    Held& h = held_.at(token);
    const Envelope& e = h.message.envelope;
    if (Status s = pool_->start(handler_job(e, token, h.message.lock.delivery_count)); !s) {
      log_error("cannot run the handler: {}; the message will be delivered again",
                s.error().message);
      client_.settle({settlement(token, SettleAction::kAbandon)});
      continue;
    }
    h.started = true;
  }
}

void Receiver::finish_handlers() {
  if (!pool_) return;
  std::vector<Settlement> outcomes;
  for (HandlerExit& exit : pool_->reap()) {
    Settlement s =
        settlement(exit.tag, exit.succeeded() ? SettleAction::kComplete : SettleAction::kAbandon);
    if (!exit.succeeded()) {
      auto it = held_.find(exit.tag);
      if (it != held_.end())
        log_info("message {}: handler {}; abandoned", it->second.message.envelope.id,
                 exit.description);
    }
    outcomes.push_back(std::move(s));
  }
  client_.settle(std::move(outcomes));
}

void Receiver::renew_locks() {
  if (!pool_) return;
  // Renewed well before the lock's end; the broker's lock may be the group's,
  // which recv does not know, so a third of the default at most.
  milliseconds every = config_.lock.value_or(milliseconds(30000)) / 3;
  if (Clock::now() - last_renew_ < every) return;
  last_renew_ = Clock::now();
  std::vector<Settlement> renewals;
  for (uint64_t token : pool_->running_tags())
    renewals.push_back(settlement(token, SettleAction::kRenew));
  client_.settle(std::move(renewals));
}

void Receiver::on_settled(std::vector<SettleOutcome>& outcomes) {
  for (SettleOutcome& o : outcomes) {
    if (o.settlement.action == SettleAction::kRenew) {
      if (!o.error.empty()) log_info("renewing a lock: {}", o.error);
      continue;
    }
    // Settled or not, it is out of this process's hands (a message that was
    // not completed is delivered again, to this receiver or another); -n
    // counts it.
    if (auto batch = completing_.find(o.request); batch != completing_.end()) {
      if (!o.error.empty())
        log_error("message {} was not settled: {}", batch->second.at(o.index), o.error);
      ++done_;
      if (o.index + 1 == batch->second.size()) completing_.erase(batch);
      continue;
    }
    auto it = held_.find(o.settlement.token);
    if (it == held_.end()) continue;
    if (!o.error.empty())
      log_error("message {} was not settled: {}", it->second.message.envelope.id, o.error);
    ++done_;
    held_.erase(it);
  }
}

void Receiver::abandon_held() {
  if (pool_) pool_->terminate(milliseconds(2000));
  std::vector<Settlement> back;
  for (auto& [token, h] : held_) back.push_back(settlement(token, SettleAction::kAbandon));
  client_.settle(std::move(back));
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (client_.settling() > 0 && Clock::now() < deadline) (void)client_.poll(milliseconds(50));
}

Result<int> Receiver::run(const std::atomic<bool>& stop) {
  for (;;) {
    if (stop.load()) {
      abandon_held();
      return Error{ErrorKind::kInterrupted, "interrupted"};
    }
    if (counted_out() && idle()) return kExitOk;
    // As sub does: no broker at the start is a failure, not a silent wait.
    if (!client_.reached() && Clock::now() - started_ >= kAdminTimeout)
      return runtime_error(conn_.cannot_reach(kAdminTimeout));
    if (config_.wait && idle() && !client_.requesting() &&
        Clock::now() - last_message_ >= *config_.wait) {
      if (!config_.count) return kExitOk;
      return Error{ErrorKind::kTimeout,
                   fmt::format("received {} of {} messages before {} passed without one", done_,
                               *config_.count, format_duration(*config_.wait))};
    }
    request_more();
    auto events = client_.poll(milliseconds(200), pool_ ? pool_->wait_fd() : -1);
    if (!events) return events.error();
    // The next batch is asked for before this one is written, so that the
    // broker prepares it meanwhile.
    if (!events->messages.empty()) {
      last_message_ = Clock::now();
      request_more(events->messages.size());
    }
    if (Status s = take(events->messages); !s) return s.error();
    on_settled(events->settled);
    finish_handlers();
    start_handlers();
    renew_locks();
  }
}

}  // namespace

HandlerJob handler_job(const Envelope& e, uint64_t tag, uint64_t delivery_count) {
  HandlerJob job{tag, e.payload, {}};
  job.env = {{"EDATOOL_ID", e.id},
             {"EDATOOL_KEY", e.key.value_or("")},
             {"EDATOOL_TOPIC", e.topic},
             {"EDATOOL_OFFSET", std::to_string(e.offset)},
             {"EDATOOL_DELIVERY_COUNT", std::to_string(delivery_count)}};
  if (e.partition >= 0) job.env.emplace_back("EDATOOL_PARTITION", std::to_string(e.partition));
  for (const auto& [name, value] : e.headers)
    job.env.emplace_back(header_env_name(name), header_value_text(value));
  return job;
}

Result<GroupRequest> parse_queue_name(const std::string& text) {
  GroupRequest target{text, std::string(kQueueGroup)};
  if (size_t colon = text.find(':'); colon != std::string::npos) {
    target.topic = text.substr(0, colon);
    target.group = text.substr(colon + 1);
    if (target.group.empty())
      return invalid_argument(fmt::format("'{}': a group name must follow ':'", text));
  }
  if (Status s = target.topic.starts_with("$dlq") ? validate_system_topic(target.topic)
                                                  : validate_topic(target.topic);
      !s)
    return s.error();
  return target;
}

int run_receive(const RecvConfig& config, const OutputOptions& output, const GlobalOptions& g) {
  if (uses_kafka(g)) return run_kafka_receive(config, output, g);
  auto sink = make_stdout_sink(output);
  if (!sink) return report(sink.error());
  std::unique_ptr<HandlerPool> pool;
  if (config.exec) {
    auto created = HandlerPool::create(*config.exec, config.concurrency);
    if (!created) return report(created.error());
    pool = std::move(*created);
  }
  auto connection = connect_broker(g);
  if (!connection) return report(connection.error());
  const std::atomic<bool>& stop = install_stop_signals();
  Receiver receiver(**connection, config, **sink, pool.get());
  auto status = receiver.run(stop);
  if (!status) return report(status.error());
  return *status;
}

namespace {

Result<RecvConfig> make_config(const RecvOptions& o) {
  RecvConfig config;
  auto target = parse_queue_name(o.queue);
  if (!target) return target.error();
  config.target = std::move(*target);
  if (o.count == 0 || o.count < -1) return invalid_argument("-n must be a positive count");
  if (o.count > 0) config.count = static_cast<uint64_t>(o.count);
  if (!o.lock.empty()) {
    auto lock = parse_duration(o.lock);
    if (!lock) return lock.error();
    if (lock->count() <= 0) return invalid_argument("--lock must be a positive duration");
    config.lock = *lock;
  }
  if (!o.wait.empty()) {
    auto wait = parse_duration(o.wait);
    if (!wait) return wait.error();
    config.wait = *wait;
  }
  if (o.ack == "auto") {
    config.mode = proto::ReceiveMode::kPeekLock;
  } else if (o.ack == "manual") {
    config.mode = proto::ReceiveMode::kPeekLockDetached;
    if (!o.output.output_template.empty() || o.output.format == "msgpack")
      return invalid_argument(
          "--ack manual prints each message with its lock token: use --format raw or json");
    config.manual_json = o.output.format == "json";
  } else if (o.ack == "none") {
    config.mode = proto::ReceiveMode::kReceiveAndDelete;
  } else {
    return invalid_argument(fmt::format("--ack '{}' is not one of auto, manual, none", o.ack));
  }
  if (!o.exec.empty()) {
    if (o.ack != "auto")
      return invalid_argument("--exec settles each message by its exit status: drop --ack");
    config.exec = o.exec;
  }
  if (o.concurrency == 0) return invalid_argument("--concurrency must be at least 1");
  if (o.concurrency > 1 && o.exec.empty())
    return invalid_argument("--concurrency is the number of --exec handlers at once: add --exec");
  config.concurrency = o.concurrency;
  return config;
}

}  // namespace

Runner setup_recv(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<RecvOptions>();
  app.add_option("QUEUE", o->queue, "queue name, or TOPIC:GROUP for a durable group")->required();
  app.add_option("-n,--count", o->count, "exit after COUNT messages were settled")
      ->type_name("COUNT");
  app.add_option("--lock", o->lock, "lock duration of the messages received (default: the queue's)")
      ->type_name("DUR");
  app.add_option("--ack", o->ack,
                 "auto: complete once printed (or by --exec's status); manual: print lock "
                 "tokens for `edatool settle`; none: receive-and-delete")
      ->type_name("MODE")
      ->capture_default_str();
  app.add_option("--exec", o->exec,
                 "run `sh -c CMD` per message, payload on stdin; exit 0 completes, else abandons")
      ->type_name("CMD");
  app.add_option("--concurrency", o->concurrency, "handlers running at once with --exec")
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--wait", o->wait,
                 "stop after DUR without a message; exit 3 if -n was not reached")
      ->type_name("DUR");
  add_output_options(app, o->output);
  return [o, &global] {
    auto config = make_config(*o);
    if (!config) return report(config.error());
    return run_receive(*config, o->output, global);
  };
}

}  // namespace eda
