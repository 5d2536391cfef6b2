#include "transport/broker_server.h"

#include <fmt/format.h>

#include <random>

#include "core/log.h"
#include "core/position.h"
#include "core/topic.h"

namespace eda {

using proto::ErrorCode;
using Clock = std::chrono::steady_clock;

// Answers queued for one peer at most (its ZMQ_SNDHWM), in messages.
constexpr int kPeerSendQueue = 100000;

BrokerServer::BrokerServer(BrokerConfig config, std::unique_ptr<BrokerEngine> engine)
    : config_(std::move(config)),
      context_(1),
      router_(context_, zmq::socket_type::router),
      engine_(std::move(engine)),
      instance_(std::random_device{}() | uint64_t(std::random_device{}()) << 32) {
  router_.set(zmq::sockopt::router_mandatory, 1);
  // Credit bounds the deliveries queued per peer and the in-flight limit its
  // deferred answers; only a client that keeps sending requests while it
  // reads no answers fills this, and it is then forgotten (reply()).
  router_.set(zmq::sockopt::sndhwm, kPeerSendQueue);
  router_.set(zmq::sockopt::rcvhwm, 0);
  router_.set(zmq::sockopt::linger, 0);
  router_.set(zmq::sockopt::maxmsgsize,
              static_cast<int64_t>(engine_->config().max_message_bytes + (2u << 20)));
  router_.set(zmq::sockopt::heartbeat_ivl, 1000);
  router_.set(zmq::sockopt::heartbeat_timeout, 5000);
  if (config_.curve) {
    // The ZAP handler answers on this loop (poll_once), not on a thread of
    // its own: the loop already owns the authorized keys for the rights
    // checks, so admission and rights read one list, a SIGHUP reload swaps it
    // between two requests, and nothing needs a lock. A handshake waits at
    // most one loop round (bounded, with polls of at most 100 ms).
    zap_ = zmq::socket_t(context_, zmq::socket_type::rep);
    zap_.set(zmq::sockopt::linger, 0);
    zap_.bind("inproc://zeromq.zap.01");
    router_.set(zmq::sockopt::curve_server, 1);
    router_.set(zmq::sockopt::curve_secretkey, config_.curve->secret_key);
    router_.set(zmq::sockopt::zap_domain, "edatool");
  }
}

BrokerServer::~BrokerServer() = default;

Result<std::vector<std::string>> BrokerServer::bind() {
  auto endpoints = bind_endpoints(router_, config_.binds);
  if (!endpoints) return endpoints;
  if (!config_.taps.empty()) {
    tap_ = std::make_unique<TapBridge>(context_, engine_->config().max_message_bytes);
    auto taps = tap_->bind(config_.taps);
    if (!taps) return taps.error();
    tap_endpoints_ = std::move(*taps);
    if (Status s = tap_->start(*engine_); !s) return s.error();
  }
  if (!config_.ingests.empty()) {
    ingest_ = std::make_unique<IngestBridge>(context_, engine_->config().max_message_bytes);
    auto ingests = ingest_->bind(config_.ingests);
    if (!ingests) return ingests.error();
    ingest_endpoints_ = std::move(*ingests);
  }
  return endpoints;
}

void BrokerServer::poll_once(std::chrono::milliseconds timeout) {
  // The commit fd, the ZAP socket and the bridges only when there are such;
  // index 0 (the ROUTER) stands for "not polled" in the others.
  zmq::pollitem_t items[5];
  size_t count = 0;
  auto add = [&](zmq::pollitem_t item) {
    items[count] = item;
    return count++;
  };
  add({router_.handle(), 0, ZMQ_POLLIN, 0});
  size_t commit =
      engine_->commit_fd() >= 0 ? add({nullptr, engine_->commit_fd(), ZMQ_POLLIN, 0}) : 0;
  size_t zap = zap_ ? add({zap_.handle(), 0, ZMQ_POLLIN, 0}) : 0;
  size_t tap = tap_ ? add({tap_->socket().handle(), 0, ZMQ_POLLIN, 0}) : 0;
  size_t ingest = ingest_ ? add({ingest_->socket().handle(), 0, ZMQ_POLLIN, 0}) : 0;
  auto readable = [&](size_t i) { return i != 0 && (items[i].revents & ZMQ_POLLIN); };
  try {
    zmq::poll(items, count, timeout);
    if (readable(commit)) finish_commits();
    if (readable(zap)) handle_zap();
    if (readable(tap)) tap_->read_subscriptions();
    // A bounded round, so commits are not starved by a flood of requests.
    // Once the round has taken in a delivery's worth of messages, deliveries
    // go out before the next request: subscribers keep pace with publishers
    // instead of getting one delivery per round however many batches it took
    // in, and deliveries stay full when many publishers send small batches.
    uint64_t published_at_delivery = published_;
    for (int i = 0; i < 10000; ++i) {
      auto in = receive_message(router_);
      if (!in) break;
      handle(*in);
      if (published_ - published_at_delivery >= engine_->config().delivery_messages) {
        deliver_ready();
        published_at_delivery = published_;
      }
    }
    if (readable(ingest)) ingest_->drain(*engine_);
    if (tap_ && tap_->blocked()) tap_->retry(*engine_);
    deliver_ready();
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
  }
}

void BrokerServer::run(const std::atomic<bool>& stop) {
  auto last_sweep = Clock::now();
  while (!stop.load()) {
    if (config_.reload_keys && config_.reload_keys->exchange(false)) reload_authorized_keys();
    poll_once(poll_timeout());
    serve_parked_receives();
    serve_views();
    if (Clock::now() - last_sweep > std::chrono::seconds(1)) {
      expire_silent_peers();
      engine_->maintain_logs(now_ms());
      last_sweep = Clock::now();
    }
  }
  // Confirm what is already being synced rather than leave publishers to resend it.
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (!pending_replies_.empty() && Clock::now() < deadline)
    poll_once(std::chrono::milliseconds(10));
  if (Status s = engine_->checkpoint(); !s) log_error("writing index files: {}", s.error().message);
  if (tap_) log_info("tap: {} messages sent", tap_->sent());
  if (ingest_)
    log_info("ingest: {} messages stored, {} dropped", ingest_->stored(), ingest_->dropped());
}

void BrokerServer::finish_commits() {
  for (const auto& done : engine_->take_commits()) {
    while (!pending_replies_.empty() && pending_replies_.front().ticket <= done.through) {
      PendingReply& p = pending_replies_.front();
      if (auto owner = peers_.find(p.peer);
          owner != peers_.end() && owner->second.consumer == p.peer_serial)
        --owner->second.in_flight;
      if (done.status)
        reply(p.peer, std::move(p.reply));
      else
        reply_error(p.peer, p.req_id, ErrorCode::kStorage,
                    fmt::format("written but not synced: {}", done.status.error().message));
      pending_replies_.pop_front();
    }
  }
}

void BrokerServer::handle(const Incoming& in) {
  std::string peer = in.parts[0].to_string();
  // The routing id is made by the ROUTER; the frames after it carry the
  // connection's properties.
  const char* user_id =
      zap_ && in.parts.size() > 1 ? zmq_msg_gets(in.parts[1].handle(), "User-Id") : nullptr;
  caller_key_ = user_id ? user_id : "";
  auto frames = split_frames(in, 1);
  Peer& p = peers_[peer];
  p.last_seen = Clock::now();
  if (p.consumer == 0) p.consumer = next_consumer_++;
  if (!frames) {
    ++malformed_;
    log_debug("malformed frame from a client: {}", frames.error().message);
    bool bad_version = in.parts.size() == 3 && in.parts[1].size() == 2 &&
                       static_cast<const uint8_t*>(in.parts[1].data())[0] != proto::kVersion;
    return reply_error(peer, 0, bad_version ? ErrorCode::kUnsupportedVersion : ErrorCode::kBadFrame,
                       frames.error().message);
  }
  ns_ = frames->ns;
  switch (frames->command) {
    case proto::Command::kPublish:
      return handle_publish(peer, p, frames->body);
    case proto::Command::kSubscribe:
      return handle_subscribe(peer, p, frames->body);
    case proto::Command::kCredit:
      return handle_credit(peer, p, frames->body);
    case proto::Command::kUnsubscribe:
      return handle_unsubscribe(peer, p, frames->body);
    case proto::Command::kListTopics:
      return handle_list_topics(peer, frames->body);
    case proto::Command::kDeleteTopic:
      return handle_delete_topic(peer, frames->body);
    case proto::Command::kCreateTopic:
      return handle_create_topic(peer, frames->body);
    case proto::Command::kReceive:
      return handle_receive(peer, p, frames->body);
    case proto::Command::kSettle:
      return handle_settle(peer, p, frames->body);
    case proto::Command::kPeek:
      return handle_peek(peer, frames->body);
    case proto::Command::kCreateGroup:
      return handle_create_group(peer, frames->body);
    case proto::Command::kDeleteGroup:
      return handle_delete_group(peer, frames->body);
    case proto::Command::kListGroups:
      return handle_list_groups(peer, frames->body);
    case proto::Command::kStats: {
      auto m = proto::decode<proto::Stats>(frames->body);
      if (!m) return reject_malformed(peer, m.error());
      if (!permitted(peer, m->req_id, Right::kAdmin, {})) return;
      return (void)reply(peer, proto::encode(proto::StatsReply{m->req_id, counters(ns_)}));
    }
    case proto::Command::kCreateView:
    case proto::Command::kDropView:
    case proto::Command::kRebuildView:
      return handle_view_admin(peer, frames->command, frames->body);
    case proto::Command::kViewGet:
      return handle_view_get(peer, frames->body);
    case proto::Command::kViewList:
      return handle_view_list(peer, frames->body);
    case proto::Command::kViewStats:
      return handle_view_stats(peer, frames->body);
    case proto::Command::kPing: {
      auto m = proto::decode<proto::Ping>(frames->body);
      if (!m) return reject_malformed(peer, m.error());
      return (void)reply(peer, proto::encode(proto::Pong{m->req_id, instance_}));
    }
    case proto::Command::kHello: {
      auto m = proto::decode<proto::Hello>(frames->body);
      if (!m) return reject_malformed(peer, m.error());
      log_debug("client '{}' connected", m->client);
      return (void)reply(peer, proto::encode(proto::Welcome{m->req_id, EDATOOL_VERSION, instance_,
                                                            engine_->config().max_message_bytes}));
    }
    default:
      return reject_malformed(peer,
                              runtime_error(fmt::format("{} is not a request a client may send",
                                                        proto::command_name(frames->command))));
  }
}

bool BrokerServer::may_hold_another(const std::string& peer, Peer& p, uint64_t req_id) {
  if (p.in_flight < config_.max_in_flight_per_client) return true;
  ++refused_;
  reply_error(peer, req_id, ErrorCode::kRejected,
              fmt::format("this connection has {} requests waiting for an answer, the most the "
                          "broker holds for one client; wait for answers before sending more",
                          p.in_flight));
  return false;
}

void BrokerServer::handle_publish(const std::string& peer, Peer& p, std::string_view body) {
  auto m = publish_reader_.read(body);
  if (!m) return reject_malformed(peer, m.error());
  const uint64_t req_id = m->id;
  if (req_id != 0 && !may_hold_another(peer, p, req_id)) return;
  for (const EnvelopeView& e : m->envelopes)
    if (!permitted(peer, req_id, Right::kPublish, e.topic)) return;
  auto receipt = engine_->publish(m->envelopes, now_ms(), ns_);
  if (!receipt) {
    bool storage = receipt.error().kind == ErrorKind::kRuntime;
    return reply_error(peer, req_id, storage ? ErrorCode::kStorage : ErrorCode::kRejected,
                       receipt.error().message);
  }
  published_ += receipt->offsets.size() - receipt->duplicates.size();
  duplicates_ += receipt->duplicates.size();
  // req_id 0 asks for no confirmation (pub --no-confirm).
  if (req_id == 0) return;
  proto::Confirm confirm{req_id, std::move(receipt->offsets), std::move(receipt->duplicates)};
  reply_when_durable(receipt->ticket, peer, req_id, proto::encode(confirm));
}

void BrokerServer::reply_when_durable(uint64_t ticket, const std::string& peer, uint64_t req_id,
                                      proto::Message m) {
  if (ticket == 0) return (void)reply(peer, std::move(m));
  ConsumerId serial = 0;
  if (auto p = peers_.find(peer); p != peers_.end()) {
    ++p->second.in_flight;
    serial = p->second.consumer;
  }
  pending_replies_.push_back({ticket, peer, serial, req_id, std::move(m)});
}

void BrokerServer::handle_subscribe(const std::string& peer, Peer& p, std::string_view body) {
  auto m = proto::decode<proto::Subscribe>(body);
  if (!m) return reject_malformed(peer, m.error());
  for (const std::string& pattern : m->patterns)
    if (!permitted(peer, m->req_id, Right::kSubscribe, pattern)) return;
  if (!p.subscriptions.count(m->sub_id) &&
      p.subscriptions.size() >= config_.max_subscriptions_per_client) {
    ++refused_;
    return reply_error(peer, m->req_id, ErrorCode::kRejected,
                       fmt::format("this connection holds {} subscriptions, the most one client "
                                   "may; unsubscribe one first",
                                   p.subscriptions.size()));
  }
  if (auto old = p.subscriptions.find(m->sub_id); old != p.subscriptions.end()) {
    engine_->unsubscribe(old->second);
    owners_.erase(old->second);
    p.subscriptions.erase(old);
  }
  auto id = engine_->subscribe({m->patterns, m->from, m->resume, m->filter, ns_});
  if (!id) return reply_error(peer, m->req_id, ErrorCode::kRejected, id.error().message);
  p.subscriptions[m->sub_id] = *id;
  owners_[*id] = {peer, m->sub_id};
  reply(peer, proto::encode(proto::OkReply{m->req_id}));
  engine_->grant(*id, m->credit_messages, m->credit_bytes);
}

void BrokerServer::handle_credit(const std::string& peer, Peer& p, std::string_view body) {
  auto m = proto::decode<proto::Credit>(body);
  if (!m) return reject_malformed(peer, m.error());
  auto it = p.subscriptions.find(m->sub_id);
  if (it == p.subscriptions.end())
    return reply_error(peer, 0, ErrorCode::kUnknownSubscription,
                       fmt::format("subscription {} is unknown here", m->sub_id));
  engine_->grant(it->second, m->messages, m->bytes);
}

void BrokerServer::handle_unsubscribe(const std::string& peer, Peer& p, std::string_view body) {
  auto m = proto::decode<proto::Unsubscribe>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (auto it = p.subscriptions.find(m->sub_id); it != p.subscriptions.end()) {
    engine_->unsubscribe(it->second);
    owners_.erase(it->second);
    p.subscriptions.erase(it);
  }
  reply(peer, proto::encode(proto::OkReply{m->req_id}));
}

void BrokerServer::handle_list_topics(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::ListTopics>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!permitted(peer, m->req_id, Right::kAdmin, {})) return;
  if (Status s = validate_pattern(m->pattern); !s)
    return reply_error(peer, m->req_id, ErrorCode::kRejected, s.error().message);
  proto::TopicList list{m->req_id, {}};
  for (TopicInfo& t : engine_->topics(ns_))
    if (topic_matches(m->pattern, t.name)) list.topics.push_back(std::move(t));
  reply(peer, proto::encode(list));
}

void BrokerServer::handle_delete_topic(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::DeleteTopic>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!permitted(peer, m->req_id, Right::kAdmin, {})) return;
  if (Status s = engine_->delete_topic(m->name, ns_); !s)
    return reply_error(peer, m->req_id, ErrorCode::kNotFound, s.error().message);
  log_info("topic {} of namespace {} deleted", m->name, ns_);
  reply(peer, proto::encode(proto::OkReply{m->req_id}));
}

void BrokerServer::handle_create_topic(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::CreateTopic>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!permitted(peer, m->req_id, Right::kAdmin, {})) return;
  if (Status s = engine_->create_topic(m->name, m->settings, ns_); !s)
    return reply_error(peer, m->req_id, code_for(s.error()), s.error().message);
  reply(peer, proto::encode(proto::OkReply{m->req_id}));
}

void BrokerServer::reject_malformed(const std::string& peer, const Error& e) {
  ++malformed_;
  reply_error(peer, 0, ErrorCode::kBadFrame, e.message);
}

bool BrokerServer::reply(const std::string& peer, proto::Message&& m) {
  switch (send_message(router_, std::move(m), peer)) {
    case SendResult::kSent:
      return true;
    case SendResult::kWouldBlock:
      // Forgotten as if gone: its subscriptions end, and an edatool client
      // resubscribes from where it was once it reads again. Answers still
      // queued for it fail the same way; it is counted and logged once.
      if (drop_peer(peer)) {
        ++refused_;
        log_info("a client has {} answers it does not read; forgetting it", kPeerSendQueue);
      }
      return false;
    case SendResult::kUnreachable:
      drop_peer(peer);
      return false;
  }
  return false;
}

void BrokerServer::reply_error(const std::string& peer, uint64_t req_id, ErrorCode code,
                               std::string text) {
  reply(peer, proto::encode(proto::ErrorReply{req_id, code, std::move(text)}));
}

void BrokerServer::deliver_ready() {
  // One delivery per ready subscription per round keeps subscribers fair;
  // next_delivery marks a subscription ready again when more is waiting.
  for (SubscriptionId id : engine_->take_ready()) {
    if (tap_ && id == tap_->subscription()) {
      tap_->deliver(*engine_, engine_->next_delivery(id));
      continue;
    }
    auto owner = owners_.find(id);
    if (owner == owners_.end()) continue;
    Delivery d = engine_->next_delivery(id);
    auto [peer, sub_id] = owner->second;
    // Encoded (the records copied) before anything is sent: a send that fails
    // drops the peer, whose released leases may go to a dead-letter topic and
    // run its retention, freeing what the records point to.
    std::optional<proto::Message> deliver;
    if (!d.records.empty()) deliver = proto::encode_deliver(sub_id, d.records);
    for (std::string& text : d.notices) reply(peer, proto::encode(proto::Notice{sub_id, text}));
    if (deliver && reply(peer, std::move(*deliver))) delivered_ += d.records.size();
    if (d.reached_end) reply(peer, proto::encode(proto::End{sub_id}));
  }
}

proto::Counters BrokerServer::counters(std::string_view ns) {
  size_t parked = parked_.size();
  size_t topics = engine_->topic_count(ns);
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_);
  return {{"uptime_seconds", uptime.count()},
          {"clients", peers_.size()},
          {"subscriptions", owners_.size()},
          {"topics", topics},
          {"messages_published", published_},
          {"messages_duplicate", duplicates_},
          {"messages_delivered", delivered_},
          {"receives_waiting", parked},
          {"replies_waiting_for_sync", pending_replies_.size()},
          {"ingest_stored", ingest_stored()},
          {"ingest_dropped", ingest_dropped()},
          {"malformed_frames", malformed_},
          {"refused_over_limit", refused_},
          {"refused_permission", permission_denied_}};
}

bool BrokerServer::drop_peer(const std::string& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  for (auto& [client_id, id] : it->second.subscriptions) {
    engine_->unsubscribe(id);
    owners_.erase(id);
  }
  engine_->release_consumer(it->second.consumer);
  std::erase_if(parked_, [&](const ParkedReceive& r) { return r.peer == peer; });
  std::erase_if(parked_gets_, [&](const ParkedViewGet& g) { return g.peer == peer; });
  peers_.erase(it);
  return true;
}

void BrokerServer::expire_silent_peers() {
  auto cutoff = Clock::now() - config_.peer_timeout;
  std::vector<std::string> silent;
  for (const auto& [peer, p] : peers_)
    if (p.last_seen < cutoff) silent.push_back(peer);
  for (const std::string& peer : silent) drop_peer(peer);
}

}  // namespace eda
