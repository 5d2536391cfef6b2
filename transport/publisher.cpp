#include "transport/publisher.h"

#include <fmt/format.h>

#include <deque>
#include <map>

#include "core/duration.h"
#include "core/log.h"
#include "core/position.h"

namespace eda {
namespace {

using Clock = std::chrono::steady_clock;

class PublishRun {
 public:
  PublishRun(BrokerConnection& c, EnvelopeSource& s, const EnvelopeStamp& stamp,
             const PublishConfig& config, const std::atomic<bool>& stop, PublishReport& report)
      : conn_(c), source_(s), stamp_(stamp), config_(config), stop_(stop), report_(report) {}

  Status run();

 private:
  struct Batch {
    uint64_t first;  // 1-based number of its first message, for error messages
    std::vector<Envelope> envelopes;
    Clock::time_point sent_at{};
  };

  bool done() const { return input_done_ && staged_.empty() && batches_.empty(); }
  void stamp(Envelope& e);
  void build_batches();
  void send_unsent();
  void read_input();
  Status handle_replies();
  Status check_timers();
  // Queues every unconfirmed batch to be sent again, oldest first, ahead of new ones.
  void resend_all();
  size_t rate_allowance() const;

  BrokerConnection& conn_;
  EnvelopeSource& source_;
  const EnvelopeStamp& stamp_;
  const PublishConfig& config_;
  const std::atomic<bool>& stop_;
  PublishReport& report_;

  UlidGenerator ids_;
  std::deque<Envelope> staged_;        // read, not yet in a batch
  std::map<uint64_t, Batch> batches_;  // req_id -> batch awaiting confirmation
  std::deque<uint64_t> unsent_;        // req_ids to send (again)
  size_t in_batches_ = 0;              // messages inside batches_
  uint64_t numbered_ = 0;              // messages taken from the source
  bool input_done_ = false;
  std::optional<Error> failure_;  // the first rejection or input error
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_heard_ = Clock::now();
  Clock::time_point last_ping_{};
  bool heard_ = false;
  uint64_t instance_ = 0;
  Clock::time_point hello_sent_{};  // the last HELLO, until the broker answers one
  uint64_t disconnects_ = 0;        // connection losses already handled
  bool welcomed_ = false;           // the broker answered HELLO: its limits are known
};

void PublishRun::stamp(Envelope& e) {
  e.topic = stamp_.topic;
  if (stamp_.key) e.key = stamp_.key;
  e.headers.insert(e.headers.end(), stamp_.headers.begin(), stamp_.headers.end());
  int64_t now = now_ms();
  if (e.ts == 0) e.ts = now;  // a copied envelope keeps its time
  if (stamp_.id) e.id = *stamp_.id;
  if (e.id.empty()) e.id = ids_.next(now);
}

size_t PublishRun::rate_allowance() const {
  if (config_.rate <= 0) return SIZE_MAX;
  double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  auto allowed = static_cast<uint64_t>(elapsed * config_.rate) + 1;
  uint64_t taken = numbered_ - staged_.size();
  return allowed > taken ? allowed - taken : 0;
}

void PublishRun::build_batches() {
  size_t allowance = rate_allowance();
  while (!staged_.empty() && allowance > 0 && batches_.size() < config_.window_batches) {
    Batch b;
    b.first = numbered_ - staged_.size() + 1;
    size_t bytes = 0;
    while (!staged_.empty() && allowance > 0 && b.envelopes.size() < config_.batch_messages &&
           (b.envelopes.empty() || bytes + staged_.front().size() <= config_.batch_bytes)) {
      bytes += staged_.front().size();
      b.envelopes.push_back(std::move(staged_.front()));
      staged_.pop_front();
      --allowance;
    }
    uint64_t req = conn_.next_request_id();
    in_batches_ += b.envelopes.size();
    batches_.emplace(req, std::move(b));
    unsent_.push_back(req);
  }
}

void PublishRun::send_unsent() {
  while (!unsent_.empty()) {
    auto it = batches_.find(unsent_.front());
    if (it == batches_.end()) {
      unsent_.pop_front();
      continue;
    }
    uint64_t req = config_.confirm ? it->first : 0;
    if (conn_.send(proto::encode_publish(req, it->second.envelopes)) != SendResult::kSent) return;
    if (it->second.sent_at == Clock::time_point{}) report_.sent += it->second.envelopes.size();
    it->second.sent_at = Clock::now();
    unsent_.pop_front();
    if (!config_.confirm) {
      in_batches_ -= it->second.envelopes.size();
      batches_.erase(it);
    }
  }
}

void PublishRun::read_input() {
  std::vector<Envelope> fresh;
  Status s = source_.read(fresh, input_done_);
  for (Envelope& e : fresh) {
    stamp(e);
    staged_.push_back(std::move(e));
  }
  numbered_ += fresh.size();
  if (!s && !failure_) failure_ = s.error();
}

Status PublishRun::handle_replies() {
  for (;;) {
    auto reply = conn_.receive();
    if (!reply) return reply.error();
    if (!*reply) return ok_status();
    last_heard_ = Clock::now();
    heard_ = true;
    const Reply& r = **reply;
    if (r.command == proto::Command::kConfirm) {
      auto m = proto::decode<proto::Confirm>(r.body());
      if (!m) return runtime_error(m.error().message);
      if (auto it = batches_.find(m->req_id); it != batches_.end()) {
        report_.confirmed += it->second.envelopes.size();
        report_.duplicates += m->duplicates.size();
        in_batches_ -= it->second.envelopes.size();
        batches_.erase(it);
      }
    } else if (r.command == proto::Command::kWelcome) {
      auto m = proto::decode<proto::Welcome>(r.body());
      if (!m) return runtime_error(m.error().message);
      welcomed_ = true;
      instance_ = m->instance;
      source_.set_max_message_bytes(m->max_message_bytes);
    } else if (r.command == proto::Command::kPong) {
      auto m = proto::decode<proto::Pong>(r.body());
      if (!m) return runtime_error(m.error().message);
      // A new broker instance lost whatever was sent to the old one: send again now.
      if (instance_ != 0 && m->instance != instance_) {
        log_info("broker at {} restarted", conn_.url());
        resend_all();
      }
      instance_ = m->instance;
    } else if (r.command == proto::Command::kError) {
      auto m = proto::decode<proto::ErrorReply>(r.body());
      if (!m) return runtime_error(m.error().message);
      auto it = batches_.find(m->req_id);
      if (it == batches_.end()) {
        if (!failure_) failure_ = runtime_error(fmt::format("broker error: {}", m->text));
        continue;
      }
      const Batch& b = it->second;
      if (!failure_)
        failure_ = runtime_error(fmt::format("broker rejected messages {}..{}: {}", b.first,
                                             b.first + b.envelopes.size() - 1, m->text));
      in_batches_ -= b.envelopes.size();
      batches_.erase(it);
    }
  }
}

void PublishRun::resend_all() {
  unsent_.clear();
  for (auto& [req, b] : batches_) unsent_.push_back(req);
  if (!batches_.empty())
    log_debug("sending {} unconfirmed messages to {} again", in_batches_, conn_.url());
}

Status PublishRun::check_timers() {
  auto now = Clock::now();
  uint64_t waiting = in_batches_ + staged_.size();
  if (config_.timeout && now - start_ >= *config_.timeout)
    return Error{ErrorKind::kTimeout,
                 fmt::format("timed out after {} with {} of {} messages not confirmed by {}",
                             format_duration(*config_.timeout), waiting, numbered_, conn_.url())};
  if (batches_.empty() && welcomed_) {
    last_heard_ = now;  // nothing owed by the broker; silence is fine
    return ok_status();
  }
  if (!config_.timeout && now - last_heard_ >= config_.unreachable_after)
    return runtime_error(
        fmt::format("{} {} for {}; {} of {} messages not confirmed",
                    heard_ ? "no answer from the broker at" : "cannot reach a broker at",
                    conn_.url(), format_duration(config_.unreachable_after), waiting, numbered_));
  if (now - last_heard_ >= std::chrono::seconds(1) && now - last_ping_ >= std::chrono::seconds(1)) {
    conn_.send(proto::encode(proto::Ping{conn_.next_request_id()}));
    last_ping_ = now;
  }
  for (auto& [req, b] : batches_) {
    if (b.sent_at != Clock::time_point{} && now - b.sent_at >= config_.resend_after &&
        std::find(unsent_.begin(), unsent_.end(), req) == unsent_.end())
      unsent_.push_back(req);
  }
  return ok_status();
}

Status PublishRun::run() {
  while (true) {
    if (stop_) return Error{ErrorKind::kInterrupted, "interrupted"};
    if (failure_) input_done_ = true;  // publish what was read, read no more
    if (conn_.disconnects() != disconnects_) {
      // What was in flight on the lost connection is gone; keep the order by resending first.
      disconnects_ = conn_.disconnects();
      resend_all();
    }
    if (!welcomed_ && Clock::now() - hello_sent_ >= std::chrono::seconds(1)) {
      // Pipelined: arguments go out without waiting; stdin waits to learn the size limit.
      // Sent again each second until answered: a broker may die before it answers.
      if (conn_.send(proto::encode(proto::Hello{conn_.next_request_id(), "edatool pub"})) ==
          SendResult::kSent)
        hello_sent_ = Clock::now();
    }
    build_batches();
    send_unsent();
    if (done()) break;
    if (Status s = check_timers(); !s) return s;
    bool want_input = !input_done_ && (welcomed_ || source_.fd() < 0) &&
                      staged_.size() < config_.batch_messages * config_.window_batches;
    if (want_input && source_.fd() < 0) {
      read_input();
      continue;
    }
    milliseconds wait{100};
    if (config_.rate > 0 && !staged_.empty())
      wait = milliseconds(std::max(1, int(1000 / config_.rate)));
    bool want_send = !unsent_.empty() || (!welcomed_ && hello_sent_ == Clock::time_point{});
    auto ready = conn_.wait(wait, want_send, want_input ? source_.fd() : -1);
    if (ready.readable)
      if (Status s = handle_replies(); !s) return s;
    if (ready.fd_readable) read_input();
  }
  if (failure_) {
    uint64_t lost = numbered_ - report_.confirmed;
    return runtime_error(fmt::format("{} ({} of the {} messages read were not published)",
                                     failure_->message, lost, numbered_));
  }
  return ok_status();
}

}  // namespace

Status publish(BrokerConnection& connection, EnvelopeSource& source, const EnvelopeStamp& stamp,
               const PublishConfig& config, const std::atomic<bool>& stop, PublishReport& report) {
  return PublishRun(connection, source, stamp, config, stop, report).run();
}

}  // namespace eda
