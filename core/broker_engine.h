// The broker's domain state, without any I/O: topics with their logs,
// subscriptions with per-topic cursors and credit (DESIGN §5).
//
// Single-threaded: the broker's loop thread owns the engine. Pointers handed
// out in a Delivery stay valid until the next call that publishes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/envelope.h"
#include "core/position.h"
#include "core/result.h"

namespace eda {

struct EngineLimits {
  size_t retention_bytes = 256u << 20;  // per topic, in memory mode
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  size_t delivery_messages = 1000;   // at most this many envelopes per delivery
  size_t delivery_bytes = 1u << 20;  // and about this many payload bytes
};

using SubscriptionId = uint64_t;

struct SubscribeRequest {
  std::vector<std::string> patterns;
  Position from;
  // Where a reconnecting subscriber left off: topic -> next offset it needs.
  // Wins over `from` for the topics it names.
  std::map<std::string, uint64_t> resume;
};

struct Delivery {
  std::vector<const Envelope*> messages;
  bool reached_end = false;          // every matched topic is now caught up (reported once)
  std::vector<std::string> notices;  // things the subscriber should be told, e.g. skipped data
};

struct TopicInfo {
  std::string name;
  uint64_t earliest_offset = 0;
  uint64_t next_offset = 0;
  size_t bytes = 0;
};

class BrokerEngine {
 public:
  explicit BrokerEngine(EngineLimits limits = {});
  ~BrokerEngine();
  BrokerEngine(const BrokerEngine&) = delete;
  BrokerEngine& operator=(const BrokerEngine&) = delete;

  // Stores a batch, all or nothing: every envelope is checked first (topic name,
  // size). Creates topics on first use, fills in missing ids/ts, sets offsets.
  // Returns the offset of each envelope, in batch order.
  Result<std::vector<uint64_t>> publish(std::vector<Envelope>&& batch, int64_t now_ms);

  Result<SubscriptionId> subscribe(const SubscribeRequest& request, int64_t now_ms);
  void unsubscribe(SubscriptionId id);
  bool has_subscription(SubscriptionId id) const;

  // Allows `messages` more envelopes and about `bytes` more payload bytes.
  void grant(SubscriptionId id, uint64_t messages, uint64_t bytes);

  // Subscriptions that may have something to deliver; the list is cleared.
  std::vector<SubscriptionId> take_ready();
  bool has_ready() const { return !ready_.empty(); }

  // The next batch for `id` within its credit and the delivery limits. Marks
  // the subscription ready again when more is waiting and credit remains.
  Delivery next_delivery(SubscriptionId id);

  std::vector<TopicInfo> topics() const;

 private:
  struct Topic;
  struct Subscription;
  Topic& topic_for_publish(const std::string& name);
  void watch(Subscription& sub, SubscriptionId id, Topic& topic, uint64_t start);
  void mark_ready(SubscriptionId id, Subscription& sub);
  bool has_backlog(const Subscription& sub) const;

  EngineLimits limits_;
  std::unordered_map<std::string, std::unique_ptr<Topic>> topics_;
  std::unordered_map<SubscriptionId, std::unique_ptr<Subscription>> subs_;
  std::vector<SubscriptionId> ready_;
  SubscriptionId next_sub_id_ = 1;
};

}  // namespace eda
