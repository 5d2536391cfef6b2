#include "transport/queue_client.h"

#include <fmt/format.h>

#include "transport/admin_client.h"

namespace eda {

using Clock = std::chrono::steady_clock;

namespace {
// How much longer than its own wait an unanswered RECEIVE is given before it
// counts as lost (a broker that died without the connection noticing).
constexpr std::chrono::seconds kAnswerGrace{10};
}  // namespace

void QueueClient::request(size_t max, proto::ReceiveMode mode, std::chrono::milliseconds lock,
                          std::chrono::milliseconds wait) {
  proto::Receive m{c_.next_request_id(),
                   target_.topic,
                   target_.group,
                   max,
                   static_cast<uint64_t>(lock.count()),
                   mode,
                   static_cast<uint64_t>(wait.count())};
  receive_req_ = m.req_id;
  receive_deadline_ = Clock::now() + wait + kAnswerGrace;
  send_or_queue(proto::encode(m));
}

uint64_t QueueClient::settle(std::vector<Settlement> batch) {
  if (batch.empty()) return 0;
  proto::Settle m{c_.next_request_id(), target_.topic, target_.group, std::move(batch)};
  settling_ += m.settlements.size();
  proto::Message encoded = proto::encode(m);
  settles_.emplace(m.req_id, std::move(m.settlements));
  send_or_queue(std::move(encoded));
  return m.req_id;
}

void QueueClient::send_or_queue(proto::Message m) {
  outbox_.push_back(std::move(m));
  flush_outbox();
}

void QueueClient::flush_outbox() {
  while (!outbox_.empty() && c_.send(outbox_.front()) == SendResult::kSent) {
    outbox_.pop_front();
    reached_ = true;
  }
}

void QueueClient::on_disconnect(Events& events) {
  disconnects_ = c_.disconnects();
  // Whatever was sent may be lost; the broker's locks may be too (a restart).
  receive_req_ = 0;
  for (auto& [req_id, batch] : settles_)
    for (size_t i = 0; i < batch.size(); ++i)
      events.settled.push_back(
          {std::move(batch[i]),
           "the connection to the broker was lost before it answered; the message "
           "will be delivered again",
           req_id, i});
  settles_.clear();
  settling_ = 0;
  outbox_.clear();
}

Result<QueueClient::Events> QueueClient::poll(std::chrono::milliseconds timeout, int fd) {
  Events events;
  flush_outbox();
  c_.wait(timeout, !outbox_.empty(), fd);
  for (;;) {
    auto reply = c_.receive();
    if (!reply) return reply.error();
    if (!*reply) break;
    if (Status s = handle(**reply, events); !s) return s.error();
  }
  if (c_.disconnects() != disconnects_) on_disconnect(events);
  if (receive_req_ != 0 && Clock::now() > receive_deadline_) receive_req_ = 0;
  flush_outbox();
  return events;
}

Status QueueClient::handle(const Reply& r, Events& events) {
  switch (r.command) {
    case proto::Command::kReceived: {
      auto m = proto::decode<proto::Received>(r.body());
      if (!m) return runtime_error(m.error().message);
      // An answer to a request given up on still holds locks: take them,
      // so that they are settled rather than left to expire.
      if (m->req_id == receive_req_) receive_req_ = 0;
      events.messages.reserve(events.messages.size() + m->envelopes.size());
      for (size_t i = 0; i < m->envelopes.size(); ++i)
        events.messages.push_back({std::move(m->envelopes[i]), m->locks[i]});
      return ok_status();
    }
    case proto::Command::kSettled: {
      auto m = proto::decode<proto::Settled>(r.body());
      if (!m) return runtime_error(m.error().message);
      auto it = settles_.find(m->req_id);
      if (it == settles_.end()) return ok_status();
      for (size_t i = 0; i < it->second.size(); ++i)
        events.settled.push_back({std::move(it->second[i]),
                                  i < m->errors.size() ? m->errors[i] : "no answer for it",
                                  m->req_id, i});
      settling_ -= it->second.size();
      settles_.erase(it);
      return ok_status();
    }
    case proto::Command::kError: {
      auto e = proto::decode<proto::ErrorReply>(r.body());
      if (!e) return runtime_error(e.error().message);
      if (auto it = settles_.find(e->req_id); it != settles_.end()) {
        for (size_t i = 0; i < it->second.size(); ++i)
          events.settled.push_back({std::move(it->second[i]), e->text, e->req_id, i});
        settling_ -= it->second.size();
        settles_.erase(it);
        return ok_status();
      }
      if (e->req_id == receive_req_ || e->req_id == 0) return broker_error(*e);
      return ok_status();
    }
    default:
      return ok_status();  // PONG and the like
  }
}

}  // namespace eda
