// The broker's network side: one ROUTER socket (bound to every --bind URL)
// served by one loop thread that owns the BrokerEngine (DESIGN §8).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "core/authorized_keys.h"
#include "core/broker_engine.h"
#include "core/result.h"
#include "transport/broker_bridges.h"
#include "transport/zmq_io.h"

namespace eda {

// CURVE on every endpoint, admitting only the listed keys (docs/PROTOCOL.md
// "Security").
struct CurveServerConfig {
  std::string secret_key;            // the broker's, Z85
  std::string authorized_keys_path;  // reread when BrokerConfig::reload_keys is set
  AuthorizedKeys authorized_keys;    // as first read
};

// The ERROR code for an engine error: not found, conflict, rejected (bad
// argument), else storage.
proto::ErrorCode code_for(const Error& e);

struct BrokerConfig {
  std::vector<std::string> binds;
  // Bridges to plain ZeroMQ peers (broker_bridges.h): XPUB and PULL URLs.
  std::vector<std::string> taps{};
  std::vector<std::string> ingests{};
  std::optional<CurveServerConfig> curve{};  // none: plaintext
  // Set from outside (SIGHUP); the loop clears it and rereads the authorized
  // keys file. A file that does not parse keeps the old list.
  std::atomic<bool>* reload_keys = nullptr;
  // A client silent this long is forgotten (its subscriptions end). Live
  // clients ping every second; a stalled one resubscribes when it wakes.
  std::chrono::milliseconds peer_timeout{30000};
  // Per connection: subscriptions held at once, and requests the broker holds
  // unanswered (publishes and settles waiting for their sync, receives waiting
  // for a message). Beyond either a request is refused (ERROR REJECTED) and
  // the connection carries on (docs/PROTOCOL.md §14).
  size_t max_subscriptions_per_client = 1000;
  size_t max_in_flight_per_client = 10000;
};

class BrokerServer {
 public:
  // Takes an opened engine (its storage recovered).
  BrokerServer(BrokerConfig config, std::unique_ptr<BrokerEngine> engine);
  ~BrokerServer();

  // Binds every endpoint; returns them with wildcard ports resolved
  // (tcp://127.0.0.1:* -> tcp://127.0.0.1:41234). Also binds the bridges
  // (see tap_endpoints()) and starts the tap's subscription.
  Result<std::vector<std::string>> bind();
  // The bridges' endpoints as bound, after bind().
  const std::vector<std::string>& tap_endpoints() const { return tap_endpoints_; }
  const std::vector<std::string>& ingest_endpoints() const { return ingest_endpoints_; }

  // Serves until `stop` becomes true (noticed within 100 ms), then confirms
  // what is being synced and writes index files.
  void run(const std::atomic<bool>& stop);

  // Frames that did not parse, since start.
  uint64_t malformed_frames() const { return malformed_; }
  // What `edatool stats` shows (docs/PROTOCOL.md §13.5), for namespace `ns`.
  proto::Counters counters(std::string_view ns);
  // Messages the ingest bridge stored and dropped, since start (0 without one).
  uint64_t ingest_stored() const { return ingest_ ? ingest_->stored() : 0; }
  uint64_t ingest_dropped() const { return ingest_ ? ingest_->dropped() : 0; }

 private:
  struct Peer {
    std::chrono::steady_clock::time_point last_seen;
    ConsumerId consumer = 0;  // names this peer's leases in consumer groups
    size_t in_flight = 0;     // its requests in pending_replies_ and parked_
    std::unordered_map<uint64_t, SubscriptionId> subscriptions;  // client sub_id -> engine id
  };
  struct Owner {
    std::string peer;
    uint64_t client_sub_id;
  };

  void handle(const Incoming& in);
  // Security: broker_server_auth.cpp.
  enum class Right { kPublish, kSubscribe, kAdmin };
  // Answers the ZAP requests waiting on zap_ (RFC 27): admits listed keys.
  void handle_zap();
  void reload_authorized_keys();
  // Without CURVE, or when the current request's key may use its namespace
  // and has `right` on `name` (a topic or pattern; ignored for kAdmin): true.
  // Else replies PERMISSION to `req_id`, naming the key and the missing
  // right, and returns false.
  // The current request's rights; null without CURVE or for a key no longer listed.
  const KeyRights* caller_rights() const;
  bool permitted(const std::string& peer, uint64_t req_id, Right right, std::string_view name);
  // False, after refusing `req_id`, when `p` has max_in_flight_per_client
  // requests unanswered.
  bool may_hold_another(const std::string& peer, Peer& p, uint64_t req_id);
  void handle_publish(const std::string& peer, Peer& p, std::string_view body);
  void handle_subscribe(const std::string& peer, Peer& p, std::string_view body);
  void handle_credit(const std::string& peer, Peer& p, std::string_view body);
  void handle_unsubscribe(const std::string& peer, Peer& p, std::string_view body);
  void handle_list_topics(const std::string& peer, std::string_view body);
  void handle_delete_topic(const std::string& peer, std::string_view body);
  void handle_create_topic(const std::string& peer, std::string_view body);
  // Queues and groups: broker_server_queues.cpp.
  void handle_receive(const std::string& peer, Peer& p, std::string_view body);
  void handle_settle(const std::string& peer, Peer& p, std::string_view body);
  void handle_peek(const std::string& peer, std::string_view body);
  void handle_create_group(const std::string& peer, std::string_view body);
  void handle_delete_group(const std::string& peer, std::string_view body);
  void handle_list_groups(const std::string& peer, std::string_view body);
  // Materialized views: broker_server_views.cpp.
  // Views live in the default namespace: false, after refusing `req_id`, for another.
  bool views_here(const std::string& peer, uint64_t req_id);
  void handle_view_admin(const std::string& peer, proto::Command command, std::string_view body);
  void handle_view_get(const std::string& peer, std::string_view body);
  void handle_view_list(const std::string& peer, std::string_view body);
  void handle_view_stats(const std::string& peer, std::string_view body);
  // Answers a VIEW_GET now, or parks it until its offset is folded or its deadline.
  void view_get(const std::string& peer, const proto::ViewGet& request,
                std::chrono::steady_clock::time_point deadline);
  // Folds a bounded step into views, answers parked VIEW_GETs now due, and
  // writes view snapshots due (every 5 s per changed view).
  void serve_views();
  // Answers the receive now when it got messages or may not wait; else parks it.
  // `retry`: parked before, so a queue deleted meanwhile is not made again.
  void receive(const std::string& peer, ConsumerId consumer, const std::string& ns,
               const proto::Receive& request, std::chrono::steady_clock::time_point deadline,
               bool retry);
  // Retries parked receives when something changed; answers those whose wait ended.
  void serve_parked_receives();
  std::chrono::milliseconds poll_timeout() const;
  void reply_when_durable(uint64_t ticket, const std::string& peer, uint64_t req_id,
                          proto::Message m);
  void finish_commits();
  void poll_once(std::chrono::milliseconds timeout);
  // False when the message could not be sent (the peer is gone or forgotten).
  bool reply(const std::string& peer, proto::Message&& m);
  void reply_error(const std::string& peer, uint64_t req_id, proto::ErrorCode code,
                   std::string text);
  // A request body that does not decode: counted, and answered BAD_FRAME.
  void reject_malformed(const std::string& peer, const Error& e);
  void deliver_ready();
  // Forgets the peer and its subscriptions, leases and waits; false if it was not known.
  bool drop_peer(const std::string& peer);
  void expire_silent_peers();

  BrokerConfig config_;
  zmq::context_t context_;
  zmq::socket_t router_;
  zmq::socket_t zap_;  // REP at inproc://zeromq.zap.01 when CURVE is on
  // The CURVE key (Z85) of the request being handled, from its User-Id
  // property (the ZAP handler's user id); empty without CURVE.
  std::string caller_key_;
  // The namespace of the request being handled, from its header.
  std::string ns_;
  std::unique_ptr<BrokerEngine> engine_;
  proto::PublishReader publish_reader_;  // reused by every PUBLISH
  uint64_t instance_;
  struct PendingReply {
    uint64_t ticket;
    std::string peer;
    ConsumerId peer_serial;  // the Peer's consumer id: a new Peer of the same routing id differs
    uint64_t req_id;
    proto::Message reply;  // sent once the ticket's writes are durable
  };
  std::deque<PendingReply> pending_replies_;  // confirms and settles waiting for group commit
  struct ParkedReceive {
    std::string peer;
    ConsumerId consumer;
    std::string ns;
    proto::Receive request;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<ParkedReceive> parked_;  // receives waiting for a message
  struct ParkedViewGet {
    std::string peer;
    proto::ViewGet request;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<ParkedViewGet> parked_gets_;  // VIEW_GETs waiting for an offset to be folded
  std::chrono::steady_clock::time_point last_view_save_{};
  uint64_t parked_epoch_ = 0;  // engine's receive_epoch() when they last tried
  ConsumerId next_consumer_ = 1;
  std::unordered_map<std::string, Peer> peers_;
  std::unordered_map<SubscriptionId, Owner> owners_;
  std::unique_ptr<TapBridge> tap_;        // with --tap
  std::unique_ptr<IngestBridge> ingest_;  // with --ingest
  std::vector<std::string> tap_endpoints_;
  std::vector<std::string> ingest_endpoints_;
  uint64_t malformed_ = 0;
  uint64_t refused_ = 0;            // requests refused for a per-client limit
  uint64_t permission_denied_ = 0;  // requests refused for a key's rights
  uint64_t published_ = 0;          // messages stored
  uint64_t duplicates_ = 0;         // messages confirmed as already stored
  uint64_t delivered_ = 0;          // messages sent to subscribers
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace eda
