#include "transport/subscriber.h"

#include <fmt/format.h>

#include <map>

#include "core/duration.h"
#include "core/log.h"

namespace eda {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr uint64_t kSubId = 1;

class SubscribeRun {
 public:
  SubscribeRun(BrokerConnection& c, const SubscribeConfig& config, EnvelopeSink& sink,
               const std::atomic<bool>& stop)
      : conn_(c), config_(config), sink_(sink), stop_(stop) {}

  Result<SubscribeEnd> run();

 private:
  // nullopt: keep going; a value or an error: stop.
  using Step = std::optional<Result<SubscribeEnd>>;

  void request_subscription() { subscribe_req_ = 0, want_subscribe_ = true, awaiting_ok_ = true; }
  void send_subscribe();
  Step handle(const Reply& r);
  Step deliver(std::string_view body);
  void advance_cursor(std::string_view topic, uint64_t offset);
  Step check_timers();
  Result<SubscribeEnd> finish(SubscribeEnd end);

  BrokerConnection& conn_;
  const SubscribeConfig& config_;
  EnvelopeSink& sink_;
  const std::atomic<bool>& stop_;

  proto::DeliverReader deliver_reader_;  // reused by every DELIVER
  // topic -> next offset wanted; cursor_ is the entry the last message moved
  std::map<std::string, uint64_t, std::less<>> cursors_;
  std::map<std::string, uint64_t, std::less<>>::iterator cursor_ = cursors_.end();
  uint64_t received_ = 0;
  uint64_t unflushed_ = 0;
  uint64_t ungranted_messages_ = 0;
  uint64_t ungranted_bytes_ = 0;
  bool want_subscribe_ = true;
  uint64_t subscribe_req_ = 0;  // request id of the SUBSCRIBE awaiting its answer
  bool subscribed_ = false;     // the broker accepted the subscription at least once
  bool awaiting_ok_ = true;     // deliveries before the OK belong to a replaced subscription
  uint64_t disconnects_ = 0;    // connection losses already handled
  bool warned_silence_ = false;
  uint64_t instance_ = 0;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_heard_ = Clock::now();
  Clock::time_point last_ping_{};
};

void SubscribeRun::send_subscribe() {
  proto::Subscribe m;
  m.req_id = conn_.next_request_id();
  m.sub_id = kSubId;
  m.patterns = config_.patterns;
  m.from = config_.from;
  m.filter = config_.filter;
  m.credit_messages = config_.credit_messages;
  m.credit_bytes = config_.credit_bytes;
  m.resume = {cursors_.begin(), cursors_.end()};
  if (conn_.send(proto::encode(m)) != SendResult::kSent) return;
  want_subscribe_ = false;
  subscribe_req_ = m.req_id;
  ungranted_messages_ = ungranted_bytes_ = 0;
  // Also learn the broker's instance, to notice a restart later.
  conn_.send(proto::encode(proto::Ping{conn_.next_request_id()}));
  last_ping_ = Clock::now();
}

Result<SubscribeEnd> SubscribeRun::finish(SubscribeEnd end) {
  if (Status s = sink_.flush(); !s) return s.error();
  return end;
}

void SubscribeRun::advance_cursor(std::string_view topic, uint64_t offset) {
  // A batch is mostly of one topic: look the map up only when it changes.
  if (cursor_ == cursors_.end() || cursor_->first != topic) {
    cursor_ = cursors_.find(topic);
    if (cursor_ == cursors_.end()) cursor_ = cursors_.emplace(topic, 0).first;
  }
  cursor_->second = offset + 1;
}

SubscribeRun::Step SubscribeRun::deliver(std::string_view body) {
  if (awaiting_ok_) return std::nullopt;
  auto m = deliver_reader_.read(body);
  if (!m) return Result<SubscribeEnd>(runtime_error(m.error().message));
  // The broker charged the records' bytes; the frame is a few bytes more, and
  // the broker caps what a subscription may hold, so the difference is harmless.
  ungranted_bytes_ += body.size();
  for (const EnvelopeView& e : m->envelopes) {
    ungranted_messages_ += 1;
    advance_cursor(e.topic, e.offset);
    if (Status s = sink_.write(e); !s) return Result<SubscribeEnd>(s.error());
    if (sink_.done()) return finish(SubscribeEnd::kSinkDone);
    ++unflushed_;
    if (config_.count && ++received_ >= *config_.count) return finish(SubscribeEnd::kCount);
  }
  if (ungranted_messages_ * 2 >= config_.credit_messages ||
      ungranted_bytes_ * 2 >= config_.credit_bytes) {
    conn_.send(proto::encode(proto::Credit{kSubId, ungranted_messages_, ungranted_bytes_}));
    ungranted_messages_ = ungranted_bytes_ = 0;
  }
  return std::nullopt;
}

SubscribeRun::Step SubscribeRun::handle(const Reply& r) {
  using proto::Command;
  switch (r.command) {
    case Command::kDeliver:
      return deliver(r.body());
    case Command::kOk:
      if (auto m = proto::decode<proto::OkReply>(r.body()); m && m->req_id == subscribe_req_) {
        if (!subscribed_)
          log_debug("subscribed to {} at {}", fmt::join(config_.patterns, " "), conn_.url());
        subscribed_ = true;
        awaiting_ok_ = false;
      }
      return std::nullopt;
    case Command::kEnd:
      if (awaiting_ok_) return std::nullopt;  // from a replaced subscription
      if (config_.exit_at_end) return finish(SubscribeEnd::kCaughtUp);
      return std::nullopt;
    case Command::kNotice:
      if (auto m = proto::decode<proto::Notice>(r.body()); m && !awaiting_ok_)
        log_info("{}", m->text);
      return std::nullopt;
    case Command::kPong:
      if (auto m = proto::decode<proto::Pong>(r.body())) {
        if (instance_ != 0 && m->instance != instance_) {
          log_info("broker at {} restarted; resubscribing where this subscription left off",
                   conn_.url());
          request_subscription();
        }
        instance_ = m->instance;
      }
      return std::nullopt;
    case Command::kError: {
      auto m = proto::decode<proto::ErrorReply>(r.body());
      if (!m) return Result<SubscribeEnd>(runtime_error(m.error().message));
      if (m->code == proto::ErrorCode::kUnknownSubscription) {
        log_debug("the broker forgot this subscription; resubscribing");
        request_subscription();
        return std::nullopt;
      }
      if (m->req_id == subscribe_req_ && m->code == proto::ErrorCode::kRejected)
        return Result<SubscribeEnd>(invalid_argument(m->text));
      if (m->code == proto::ErrorCode::kPermission)  // the text names the key and the right
        return Result<SubscribeEnd>(runtime_error(m->text));
      return Result<SubscribeEnd>(runtime_error(fmt::format("broker error: {}", m->text)));
    }
    default:
      return std::nullopt;
  }
}

SubscribeRun::Step SubscribeRun::check_timers() {
  auto now = Clock::now();
  if (config_.timeout && now - start_ >= *config_.timeout) {
    if (Status s = sink_.flush(); !s) return Result<SubscribeEnd>(s.error());
    if (!subscribed_)
      return Result<SubscribeEnd>(Error{ErrorKind::kTimeout, conn_.cannot_reach(*config_.timeout)});
    return subscribe_timeout_end(config_, received_);
  }
  auto silent = now - last_heard_;
  if (!subscribed_ && !config_.timeout && silent >= config_.unreachable_after)
    return Result<SubscribeEnd>(runtime_error(conn_.cannot_reach(config_.unreachable_after)));
  if (subscribed_ && silent >= config_.unreachable_after && !warned_silence_) {
    log_info("no answer from the broker at {} for {}; still waiting", conn_.url(),
             format_duration(config_.unreachable_after));
    warned_silence_ = true;
  }
  // Pings keep this client known to the broker and reveal a restarted broker.
  if (now - last_ping_ >= std::chrono::seconds(1)) {
    conn_.send(proto::encode(proto::Ping{conn_.next_request_id()}));
    last_ping_ = now;
  }
  return std::nullopt;
}

Result<SubscribeEnd> SubscribeRun::run() {
  while (true) {
    if (stop_) {
      (void)sink_.flush();
      return Error{ErrorKind::kInterrupted, "interrupted"};
    }
    if (conn_.disconnects() != disconnects_) {
      // The lost connection took the subscription with it.
      disconnects_ = conn_.disconnects();
      request_subscription();
    }
    if (want_subscribe_) send_subscribe();
    if (Step s = check_timers()) return std::move(*s);
    auto ready = conn_.wait(milliseconds(want_subscribe_ ? 10 : 200), want_subscribe_);
    if (!ready.readable) continue;
    for (;;) {
      auto reply = conn_.receive();
      if (!reply) return reply.error();
      if (!*reply) break;
      last_heard_ = Clock::now();
      warned_silence_ = false;
      if (Step s = handle(**reply)) return std::move(*s);
    }
    if (unflushed_ > 0) {
      if (Status s = sink_.flush(); !s) return s.error();
      unflushed_ = 0;
    }
  }
}

}  // namespace

Result<SubscribeEnd> subscribe_timeout_end(const SubscribeConfig& config, uint64_t received) {
  if (!config.count && !config.exit_at_end) return SubscribeEnd::kTimedOut;
  std::string got = config.count
                        ? fmt::format("received {} of {} messages", received, *config.count)
                        : std::string("not caught up");
  return Error{ErrorKind::kTimeout,
               fmt::format("timed out after {}: {}", format_duration(*config.timeout), got)};
}

Result<SubscribeEnd> subscribe(BrokerConnection& connection, const SubscribeConfig& config,
                               EnvelopeSink& sink, const std::atomic<bool>& stop) {
  return SubscribeRun(connection, config, sink, stop).run();
}

}  // namespace eda
