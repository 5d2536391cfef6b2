// BrokerServer's queue and group requests (docs/PROTOCOL.md §12a): receives
// that wait for a message, settlements answered once durable, group admin.
#include <fmt/format.h>

#include "core/log.h"
#include "transport/broker_server.h"

namespace eda {

using proto::ErrorCode;
using Clock = std::chrono::steady_clock;

namespace {

// Most messages one RECEIVE hands out, whatever it asks for.
constexpr uint64_t kMaxReceive = 10000;
// Longest a RECEIVE may wait; clients that want longer ask again. Below the
// peer timeout (30 s), so that a client only waiting is not taken for gone.
constexpr uint64_t kMaxWaitMs = 20000;

std::vector<proto::Lock> locks_of(const ReceiveResult& r) {
  std::vector<proto::Lock> locks;
  locks.reserve(r.deliveries.size());
  for (const GroupDelivery& d : r.deliveries)
    locks.push_back({d.token, d.delivery_count, d.lock_expiry_ms});
  return locks;
}

}  // namespace

ErrorCode code_for(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kNotFound:
      return ErrorCode::kNotFound;
    case ErrorKind::kConflict:
      return ErrorCode::kConflict;
    case ErrorKind::kInvalidArgument:
      return ErrorCode::kRejected;
    default:
      return ErrorCode::kStorage;
  }
}

void BrokerServer::handle_receive(const std::string& peer, Peer& p, std::string_view body) {
  auto m = proto::decode<proto::Receive>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!permitted(peer, m->req_id, Right::kSubscribe, m->topic)) return;
  if (!may_hold_another(peer, p, m->req_id)) return;
  m->max = std::clamp<uint64_t>(m->max, 1, kMaxReceive);
  auto wait = std::chrono::milliseconds(std::min(m->wait_ms, kMaxWaitMs));
  ConsumerId consumer = m->mode == proto::ReceiveMode::kPeekLock ? p.consumer : 0;
  receive(peer, consumer, ns_, *m, Clock::now() + wait, false);
}

void BrokerServer::receive(const std::string& peer, ConsumerId consumer, const std::string& ns,
                           const proto::Receive& request, Clock::time_point deadline, bool retry) {
  ReceiveRequest r{{request.topic, request.group, ns},
                   consumer,
                   request.max,
                   static_cast<int64_t>(std::min<uint64_t>(request.lock_ms, INT64_MAX)),
                   request.mode == proto::ReceiveMode::kReceiveAndDelete,
                   !retry};
  auto received = engine_->receive(r, now_ms());
  if (!received)
    return reply_error(peer, request.req_id, code_for(received.error()), received.error().message);
  if (received->records.empty() && Clock::now() < deadline) {
    ++peers_.at(peer).in_flight;
    parked_.push_back({peer, consumer, ns, request, deadline});
    return;
  }
  reply_when_durable(
      received->ticket, peer, request.req_id,
      proto::encode_received(request.req_id, received->records, locks_of(*received)));
}

void BrokerServer::serve_parked_receives() {
  if (auto due = engine_->next_lock_expiry(); due && *due <= now_ms())
    engine_->expire_locks(now_ms());
  if (parked_.empty()) return;
  bool changed = engine_->receive_epoch() != parked_epoch_;
  auto now = Clock::now();
  if (!changed && std::none_of(parked_.begin(), parked_.end(),
                               [&](const ParkedReceive& r) { return r.deadline <= now; }))
    return;
  parked_epoch_ = engine_->receive_epoch();
  // receive() may park them again, and a reply may drop a peer's parked ones.
  std::vector<ParkedReceive> waiting = std::exchange(parked_, {});
  for (ParkedReceive& r : waiting) {
    auto peer = peers_.find(r.peer);
    if (peer == peers_.end()) continue;
    if (changed || r.deadline <= now) {
      --peer->second.in_flight;  // receive() counts it again if it parks it again
      receive(r.peer, r.consumer, r.ns, r.request, r.deadline, true);
    } else {
      parked_.push_back(std::move(r));
    }
  }
}

std::chrono::milliseconds BrokerServer::poll_timeout() const {
  // Deliveries still waiting for their next round must not wait on the poll.
  if (engine_->has_ready() || engine_->has_view_work()) return std::chrono::milliseconds(0);
  auto timeout = std::chrono::milliseconds(100);
  auto now = Clock::now();
  for (const ParkedViewGet& g : parked_gets_)
    timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::max(g.deadline - now, Clock::duration::zero())));
  for (const ParkedReceive& r : parked_)
    timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::max(r.deadline - now, Clock::duration::zero())));
  if (auto due = engine_->next_lock_expiry())
    timeout = std::min(timeout, std::chrono::milliseconds(std::max<int64_t>(*due - now_ms(), 0)));
  // An XPUB never signals room to send: a blocked tap retries on a timer.
  if (tap_ && tap_->blocked()) timeout = std::min(timeout, tap_->retry_delay());
  return timeout;
}

void BrokerServer::handle_settle(const std::string& peer, Peer& p, std::string_view body) {
  auto m = proto::decode<proto::Settle>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!may_hold_another(peer, p, m->req_id)) return;
  if (!permitted(peer, m->req_id, Right::kSubscribe, m->topic)) return;
  auto receipt = engine_->settle({m->topic, m->group, ns_}, m->settlements, now_ms());
  if (!receipt)
    return reply_error(peer, m->req_id, code_for(receipt.error()), receipt.error().message);
  reply_when_durable(receipt->ticket, peer, m->req_id,
                     proto::encode(proto::Settled{m->req_id, std::move(receipt->errors)}));
}

void BrokerServer::handle_peek(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::Peek>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!permitted(peer, m->req_id, Right::kSubscribe, m->topic)) return;
  auto records = engine_->peek({m->topic, m->group, ns_}, std::min(m->max, kMaxReceive));
  if (!records)
    return reply_error(peer, m->req_id, code_for(records.error()), records.error().message);
  reply(peer,
        proto::encode_received(m->req_id, *records, std::vector<proto::Lock>(records->size())));
}

void BrokerServer::handle_create_group(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::CreateGroup>(body);
  if (!m) return reject_malformed(peer, m.error());
  // A reader may set up its own group (sub --group, queue create) with the
  // sub= right on the topic; admin may make any.
  const KeyRights* rights = caller_rights();
  bool reader =
      rights && rights->may_use_namespace(ns_) && rights->may_subscribe(m->request.target.topic);
  if (!reader && !permitted(peer, m->req_id, Right::kAdmin, {})) return;
  m->request.target.ns = ns_;
  if (Status s = engine_->create_group(m->request); !s)
    return reply_error(peer, m->req_id, code_for(s.error()), s.error().message);
  reply(peer, proto::encode(proto::OkReply{m->req_id}));
}

void BrokerServer::handle_delete_group(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::DeleteGroup>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!permitted(peer, m->req_id, Right::kAdmin, {})) return;
  m->target.ns = ns_;
  if (Status s = engine_->delete_group(m->target); !s)
    return reply_error(peer, m->req_id, code_for(s.error()), s.error().message);
  reply(peer, proto::encode(proto::OkReply{m->req_id}));
}

void BrokerServer::handle_list_groups(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::ListGroups>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!permitted(peer, m->req_id, Right::kAdmin, {})) return;
  reply(peer, proto::encode(proto::GroupList{m->req_id, engine_->groups(ns_)}));
}

}  // namespace eda
