#include "transport/publisher.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>

#include "core/duration.h"
#include "core/envelope_codec.h"
#include "core/log.h"
#include "core/position.h"

namespace eda {

std::optional<uint64_t> PublishOrder::next() const {
  if (paused_) return std::nullopt;
  auto it = owed_.lower_bound(cursor_);
  if (it == owed_.end() || (hold_through_ != 0 && *it > hold_through_)) return std::nullopt;
  return *it;
}

void PublishOrder::sent(uint64_t req) {
  cursor_ = req + 1;
  sent_through_ = std::max(sent_through_, req);
}

void PublishOrder::done(uint64_t req) {
  owed_.erase(req);
  if (hold_through_ != 0 && (owed_.empty() || *owed_.begin() > hold_through_)) hold_through_ = 0;
}

void PublishOrder::resend_all() {
  paused_ = true;  // even with nothing in flight: a new batch could go into the dead connection
  cursor_ = 0;
  // The newest batch that was ever sent and is still owed ends the resent prefix.
  auto it = owed_.upper_bound(sent_through_);
  if (it != owed_.begin()) hold_through_ = *std::prev(it);
}

std::optional<uint64_t> PublishOrder::oldest_in_flight() const {
  if (owed_.empty() || *owed_.begin() >= cursor_) return std::nullopt;
  return *owed_.begin();
}

namespace {

using Clock = std::chrono::steady_clock;

// Publish order across a lost connection or a broker restart (DESIGN §5: one
// publisher's messages are stored in the order it publishes them). The
// contract: a batch is never sent on a connection other than the one the
// unconfirmed batches before it went on, unless those are sent again first.
//
// Why it has to be kept before sending: the broker appends a batch as soon as
// it receives it. Once a newer batch has reached a new broker ahead of an older
// one lost with the old connection, it is stored ahead of it, and nothing later
// repairs that. So detecting it afterwards is no fix (and a CONFIRM does not
// say which broker instance stored the batch anyway). The DEALER reconnects by
// itself, so the publisher has to learn of a loss before the replacement
// connection can carry anything:
//
// - libzmq emits ZMQ_EVENT_DISCONNECTED on the monitor when the connection
//   dies, before it starts to reconnect (at least ZMQ_RECONNECT_IVL, 100 ms,
//   before a new connection can carry anything), and the DEALER sends on a new
//   connection only once it has processed that connection's arrival. Right
//   before each PUBLISH, check_connection() makes the DEALER process what has
//   arrived and then reads the monitor. If that shows no loss, the batch goes
//   on the connection the batches before it went on (or into it as it dies,
//   and then it is resent with them), never on a new one.
// - The monitor reports the loss before the DEALER has let go of the dead
//   connection: for a moment sends still "succeed" into it and are dropped.
//   (Resending at once put the resends there, and newer batches went out on
//   the new connection before the 3 s resend: the reordering seen under ASan.)
//   So after a loss (PublishOrder::resend_all) no PUBLISH goes out until a
//   WELCOME answers a HELLO sent after the loss; a reply proves the DEALER is
//   past the dead connection. Then the unconfirmed batches go again, oldest
//   first, and nothing newer until they are confirmed (PublishOrder).
// - A new instance id in a WELCOME or PONG, or a batch unconfirmed for
//   resend_after, is handled the same way, in case a loss went unnoticed.
//
// This needs no protocol change. What is left: if this thread stalls for more
// than the reconnect interval between check_connection() and the send, the
// batch can go on a new connection before the loss is seen. Ruling that out
// too would take a BrokerConnection that does not reconnect until its owner
// has handled the loss, or ordering enforced by the broker (a protocol change).
class PublishRun {
 public:
  PublishRun(BrokerConnection& c, EnvelopeSource& s, const EnvelopeStamp& stamp,
             const PublishConfig& config, const std::atomic<bool>& stop, PublishReport& report)
      : conn_(c),
        source_(s),
        stamp_(stamp),
        config_(config),
        stop_(stop),
        report_(report),
        order_(config.window_batches) {}

  Status run();

 private:
  struct Batch {
    uint64_t first;  // 1-based number of its first message, for error messages
    uint32_t count = 0;
    proto::Message publish;  // encoded once, sent (and resent) as it is
    Clock::time_point sent_at{};
  };
  // A message read, stamped and encoded, waiting for a batch.
  struct Staged {
    uint32_t bytes;  // of its encoding in staged_bytes_
    size_t size;     // the size --max-message-bytes limits (message_size)
  };

  bool done() const { return input_done_ && staged_.empty() && batches_.empty(); }
  void stage(const EnvelopeView& v, int64_t now);
  void build_batches();
  void send_unsent();
  void read_input();
  Status handle_replies();
  Status check_timers();
  // A confirmation or a refusal: the batch is no longer owed.
  void finish_batch(std::map<uint64_t, Batch>::iterator it);
  // Looks for a lost connection (polling the monitor first with `poll`) and,
  // if there was one, starts a resend.
  void check_connection(bool poll);
  void handle_welcome(const proto::Welcome& m);
  void note_instance(uint64_t instance);
  // Once the broker answers again, sends every unconfirmed batch again, oldest
  // first, before anything newer.
  void resend_all(std::string_view why);
  bool hello_due() const;
  void send_hello();
  size_t rate_allowance() const;

  BrokerConnection& conn_;
  EnvelopeSource& source_;
  const EnvelopeStamp& stamp_;
  const PublishConfig& config_;
  const std::atomic<bool>& stop_;
  PublishReport& report_;

  EnvelopeStamper stamper_{stamp_};
  std::vector<EnvelopeView> fresh_;  // the last read from the source
  // Read, not yet in a batch: their encodings one after another, from staged_head_ on.
  std::string staged_bytes_;
  size_t staged_head_ = 0;
  std::deque<Staged> staged_;
  std::map<uint64_t, Batch> batches_;  // req_id -> batch awaiting confirmation
  PublishOrder order_;                 // which of them to send, and when
  size_t in_batches_ = 0;              // messages inside batches_
  uint64_t numbered_ = 0;              // messages taken from the source
  bool input_done_ = false;
  std::optional<Error> failure_;  // the first rejection or input error
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_heard_ = Clock::now();
  Clock::time_point last_ping_{};
  bool heard_ = false;
  uint64_t instance_ = 0;           // the broker's instance id; 0 until known
  Clock::time_point hello_sent_{};  // the last HELLO, until the broker answers one
  uint64_t disconnects_ = 0;        // connection losses already handled
  bool welcomed_ = false;           // the broker answered HELLO: its limits are known
  uint64_t resume_hello_ = 0;       // paused: the first HELLO sent since; 0 if none yet
};

void PublishRun::stage(const EnvelopeView& v, int64_t now) {
  EnvelopeView stamped = stamper_.stamp(v, now);
  size_t before = staged_bytes_.size();
  StringStream stream{staged_bytes_};
  msgpack::packer<StringStream> pk(stream);
  pack_envelope(pk, stamped);
  staged_.push_back({static_cast<uint32_t>(staged_bytes_.size() - before), message_size(stamped)});
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
  while (!staged_.empty() && allowance > 0 && order_.has_room()) {
    Batch b;
    b.first = numbered_ - staged_.size() + 1;
    size_t bytes = 0, encoded = 0;
    while (!staged_.empty() && allowance > 0 && b.count < config_.batch_messages &&
           (b.count == 0 || bytes + staged_.front().size <= config_.batch_bytes)) {
      bytes += staged_.front().size;
      encoded += staged_.front().bytes;
      ++b.count;
      staged_.pop_front();
      --allowance;
    }
    uint64_t req = conn_.next_request_id();
    // req_id 0 asks for no confirmation (--no-confirm).
    b.publish =
        proto::encode_publish(config_.confirm ? req : 0, b.count,
                              std::string_view(staged_bytes_).substr(staged_head_, encoded));
    staged_head_ += encoded;
    if (staged_.empty() || staged_head_ > staged_bytes_.size() / 2) {  // keep it compact
      staged_bytes_.erase(0, staged_head_);
      staged_head_ = 0;
    }
    in_batches_ += b.count;
    batches_.emplace(req, std::move(b));
    order_.add(req);
  }
}

void PublishRun::send_unsent() {
  while (order_.next()) {
    // Right before each PUBLISH (see the comment on PublishRun); a loss pauses next().
    check_connection(true);
    auto next = order_.next();
    if (!next) return;
    auto it = batches_.find(*next);
    const Batch& b = it->second;
    if (conn_.send(b.publish) != SendResult::kSent) return;
    if (b.sent_at == Clock::time_point{}) report_.sent += b.count;
    it->second.sent_at = Clock::now();
    order_.sent(it->first);
    if (!config_.confirm) finish_batch(it);
  }
}

void PublishRun::read_input() {
  fresh_.clear();
  Status s = source_.read(fresh_, input_done_);
  int64_t now = now_ms();
  for (const EnvelopeView& v : fresh_) stage(v, now);
  numbered_ += fresh_.size();
  if (!s && !failure_) failure_ = s.error();
}

void PublishRun::finish_batch(std::map<uint64_t, Batch>::iterator it) {
  in_batches_ -= it->second.count;
  order_.done(it->first);
  batches_.erase(it);
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
        report_.confirmed += it->second.count;
        report_.duplicates += m->duplicates.size();
        if (config_.on_confirmed) config_.on_confirmed(it->second.first, m->offsets);
        finish_batch(it);
      }
    } else if (r.command == proto::Command::kWelcome) {
      auto m = proto::decode<proto::Welcome>(r.body());
      if (!m) return runtime_error(m.error().message);
      handle_welcome(*m);
    } else if (r.command == proto::Command::kPong) {
      auto m = proto::decode<proto::Pong>(r.body());
      if (!m) return runtime_error(m.error().message);
      if (!order_.paused()) note_instance(m->instance);  // (else the WELCOME tells)
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
                                             b.first + b.count - 1, m->text));
      finish_batch(it);
    }
  }
}

void PublishRun::check_connection(bool poll) {
  // wait() polls the DEALER before the monitor: a new connection that the
  // DEALER can send on has the loss of the one before it counted already.
  if (poll) conn_.wait(milliseconds(0));
  if (conn_.disconnects() == disconnects_) return;
  disconnects_ = conn_.disconnects();
  resend_all("the connection to the broker was lost");
}

void PublishRun::handle_welcome(const proto::Welcome& m) {
  welcomed_ = true;
  source_.set_max_message_bytes(m.max_message_bytes);
  if (!order_.paused()) return note_instance(m.instance);
  // Only an answer to a HELLO sent since the pause shows a live connection.
  if (resume_hello_ == 0 || m.req_id < resume_hello_) return;
  if (instance_ != 0 && m.instance != instance_) log_info("broker at {} restarted", conn_.url());
  instance_ = m.instance;
  resume_hello_ = 0;
  order_.resume();
}

void PublishRun::note_instance(uint64_t instance) {
  if (instance_ != 0 && instance != instance_) {
    log_info("broker at {} restarted", conn_.url());
    resend_all("a new broker instance answered");  // a loss that was not noticed
  }
  instance_ = instance;
}

void PublishRun::resend_all(std::string_view why) {
  order_.resend_all();
  resume_hello_ = 0;
  hello_sent_ = {};  // ask at once
  if (order_.recovering())
    log_debug("{}: once the broker answers, sending the unconfirmed batches to {} again", why,
              conn_.url());
}

bool PublishRun::hello_due() const {
  // At first, HELLO until the broker's limits are known; after a loss, HELLO
  // until a WELCOME shows a live connection (sooner: a HELLO may have gone
  // into the dead one).
  if (welcomed_ && !order_.paused()) return false;
  auto every = order_.paused() ? milliseconds(200) : milliseconds(1000);
  return Clock::now() - hello_sent_ >= every;
}

void PublishRun::send_hello() {
  uint64_t req = conn_.next_request_id();
  if (conn_.send(proto::encode(proto::Hello{req, "edatool pub"})) != SendResult::kSent) return;
  hello_sent_ = Clock::now();
  if (order_.paused() && resume_hello_ == 0) resume_hello_ = req;
}

Status PublishRun::check_timers() {
  auto now = Clock::now();
  uint64_t waiting = in_batches_ + staged_.size();
  if (config_.timeout && now - start_ >= *config_.timeout)
    return Error{
        ErrorKind::kTimeout,
        numbered_ == 0
            ? fmt::format("timed out after {} waiting for the broker at {}",
                          format_duration(*config_.timeout), conn_.url())
            : fmt::format("timed out after {} with {} of {} messages not confirmed by {}",
                          format_duration(*config_.timeout), waiting, numbered_, conn_.url())};
  if (batches_.empty() && welcomed_) {
    last_heard_ = now;  // nothing owed by the broker; silence is fine
    return ok_status();
  }
  if (!config_.timeout && now - last_heard_ >= config_.unreachable_after) {
    std::string what = heard_ ? fmt::format("no answer from the broker at {} for {}", conn_.url(),
                                            format_duration(config_.unreachable_after))
                              : conn_.cannot_reach(config_.unreachable_after);
    if (numbered_ == 0) return runtime_error(what);
    return runtime_error(
        fmt::format("{}; {} of {} messages not confirmed", what, waiting, numbered_));
  }
  if (now - last_heard_ >= std::chrono::seconds(1) && now - last_ping_ >= std::chrono::seconds(1)) {
    conn_.send(proto::encode(proto::Ping{conn_.next_request_id()}));
    last_ping_ = now;
  }
  // A batch unconfirmed this long may have been lost: all after it may have been too.
  if (auto oldest = order_.oldest_in_flight();
      oldest && now - batches_.at(*oldest).sent_at >= config_.resend_after)
    resend_all(fmt::format("no confirmation after {}", format_duration(config_.resend_after)));
  return ok_status();
}

Status PublishRun::run() {
  while (true) {
    if (stop_) return Error{ErrorKind::kInterrupted, "interrupted"};
    if (failure_) input_done_ = true;  // publish what was read, read no more
    check_connection(false);
    // Pipelined: arguments go out without waiting; stdin waits to learn the size limit.
    // Sent again until answered: a broker may die before it answers.
    if (hello_due()) send_hello();
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
    bool want_send = order_.next().has_value() || hello_due();
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

EnvelopeStamper::EnvelopeStamper(const EnvelopeStamp& stamp) : stamp_(stamp) {
  view_headers(stamp_.headers, extra_headers_);
}

EnvelopeView EnvelopeStamper::stamp(const EnvelopeView& v, int64_t now) {
  EnvelopeView e = v;
  e.topic = stamp_.topic;
  if (stamp_.key) e.key = *stamp_.key;
  if (!extra_headers_.empty()) {
    headers_.assign(v.headers.begin(), v.headers.end());
    headers_.insert(headers_.end(), extra_headers_.begin(), extra_headers_.end());
    e.headers = headers_;
  }
  if (e.ts == 0) e.ts = now;  // a copied envelope keeps its time
  if (stamp_.id) e.id = *stamp_.id;
  if (e.id.empty()) {
    ids_.next(now, id_);
    e.id = id_;
  }
  return e;
}

Status publish(BrokerConnection& connection, EnvelopeSource& source, const EnvelopeStamp& stamp,
               const PublishConfig& config, const std::atomic<bool>& stop, PublishReport& report) {
  return PublishRun(connection, source, stamp, config, stop, report).run();
}

}  // namespace eda
