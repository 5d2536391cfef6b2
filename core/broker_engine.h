// The broker's domain state, without any I/O of its own beyond storage:
// topics with their logs, subscriptions with per-topic cursors and credit,
// and when published messages become durable (DESIGN §5).
//
// Single-threaded: the broker's loop thread owns the engine. Record views in
// a Delivery stay valid until the next call into the engine.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/consumer_group.h"
#include "core/data_dir.h"
#include "core/dedup_index.h"
#include "core/envelope.h"
#include "core/group_commit.h"
#include "core/group_store.h"
#include "core/position.h"
#include "core/result.h"
#include "core/topic.h"
#include "core/topic_log.h"
#include "core/topic_settings.h"
#include "core/ulid.h"

namespace eda {

class Compactor;
class Filter;
class RecordViews;
class ViewSet;
struct ViewSource;

struct EngineConfig {
  std::optional<std::string> data_dir;  // nullopt: keep everything in memory
  FsyncPolicy fsync = FsyncPolicy::kBatch;
  uint64_t segment_bytes = 64u << 20;
  RetentionPolicy retention;                           // per topic
  size_t max_message_bytes = kDefaultMaxMessageBytes;  // payload + key + headers
  size_t delivery_messages = 1000;                     // at most this many records per delivery
  size_t delivery_bytes = 1u << 20;                    // and about this many bytes
  // Most credit one subscription may hold, whatever its client grants.
  uint64_t max_credit_messages = 100000;
  uint64_t max_credit_bytes = 64u << 20;
  // Duplicate detection: an id stored on a topic within the window (and
  // among its last dedup_max_ids) is not stored again.
  int64_t dedup_window_ms = 120000;
  size_t dedup_max_ids = 200000;
};

using SubscriptionId = uint64_t;

// Every name below lives in a namespace (DESIGN §4 `--namespace`; the
// default one unless a request names another): topics, patterns, queues and
// groups of one namespace never see another's.

struct SubscribeRequest {
  std::vector<std::string> patterns;
  Position from;
  // Where a reconnecting subscriber left off: topic -> next offset it needs.
  // Wins over `from` for the topics it names.
  std::map<std::string, uint64_t> resume;
  // Only messages it matches are delivered; empty: all. A syntax error fails
  // subscribe() with the filter's message.
  std::string filter;
  std::string ns = std::string(kDefaultNamespace);
};

struct PublishReceipt {
  std::vector<uint64_t> offsets;     // of each envelope, in batch order
  std::vector<uint32_t> duplicates;  // batch indexes of envelopes already stored (same id)
  uint64_t ticket = 0;               // 0: durable now; else wait for take_commits()
};

struct Delivery {
  std::vector<StoredRecord> records;
  bool reached_end = false;          // every matched topic is now caught up (reported once)
  std::vector<std::string> notices;  // what the subscriber should be told, e.g. skipped data
};

struct TopicInfo {
  std::string name;
  uint64_t earliest_offset = 0;
  uint64_t next_offset = 0;
  uint64_t bytes = 0;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  TopicSettings settings;
};

// The group of a queue: `recv NAME` and `queue ... NAME` use it. Other groups
// on a topic (`sub --group G`) are named by a topic token.
inline constexpr std::string_view kQueueGroup = group_format::kQueueGroup;

// Where a queue or group named `group` on `topic` dead-letters: "$dlq.<topic>"
// ("$dlq-<name>.<rest>" for a broker topic "$<name>.<rest>").
std::string dead_letter_topic(std::string_view topic);

struct GroupRequest {
  std::string topic;
  std::string group = std::string(kQueueGroup);
  std::string ns = std::string(kDefaultNamespace);
};

// A durable subscription's rule (`subscription create`): which messages the
// group gets, and how the copy it delivers is changed.
struct GroupRule {
  std::string filter;               // empty: every message
  std::vector<std::string> set;     // headers as `-H` takes them: name=text, name:=42
  std::vector<std::string> remove;  // header names
  bool empty() const { return filter.empty() && set.empty() && remove.empty(); }
  bool operator==(const GroupRule&) const = default;
};

struct CreateGroupRequest {
  GroupRequest target;
  ConsumerGroupConfig config;
  GroupRule rule;
  Position start{Position::Kind::kEarliest, 0};  // where a new group reads from
};

struct ReceiveRequest {
  GroupRequest target;
  ConsumerId consumer = 0;  // release_consumer(consumer) abandons its leases; 0: none does
  size_t max = 1;
  int64_t lock_ms = 0;             // 0: the group's
  bool delete_on_receive = false;  // receive-and-delete (--ack none)
  bool create_queue = true;        // a missing queue group is created (not on a retry)
};

struct ReceiveResult {
  std::vector<StoredRecord> records;
  std::vector<GroupDelivery> deliveries;  // one per record, same order
  // Covers the group's journal of this receive; a receive-and-delete must
  // not hand out its messages before (at most once).
  uint64_t ticket = 0;
};

enum class SettleAction : uint8_t { kComplete = 1, kAbandon = 2, kDeadLetter = 3, kRenew = 4 };

struct Settlement {
  LockToken token = 0;
  SettleAction action = SettleAction::kComplete;
  std::string reason;  // dead-letter only
  std::string description;
};

struct SettleReceipt {
  std::vector<std::string> errors;  // per settlement: "" when done, else why not
  uint64_t ticket = 0;              // 0: durable now; else wait for take_commits()
};

struct GroupInfo {
  std::string topic;
  std::string group;
  ConsumerGroupConfig config;
  GroupRule rule;
  GroupStats stats;
  int64_t oldest_pending_ts = 0;  // 0: nothing pending
};

class BrokerEngine {
 public:
  // Memory, or the data directory: locked, and every topic in it recovered.
  // `notes` gets a line for each repair made on the way.
  static Result<std::unique_ptr<BrokerEngine>> open(const EngineConfig& config,
                                                    std::vector<std::string>& notes);
  ~BrokerEngine();
  BrokerEngine(const BrokerEngine&) = delete;
  BrokerEngine& operator=(const BrokerEngine&) = delete;

  // Stores a batch for one topic of namespace `ns`, all or nothing: every
  // envelope is checked first. Creates the topic on first use, fills in
  // missing ids and ts.
  Result<PublishReceipt> publish(std::span<const EnvelopeView> batch, int64_t now_ms,
                                 std::string_view ns = kDefaultNamespace);
  Result<PublishReceipt> publish(const std::vector<Envelope>& batch, int64_t now_ms,
                                 std::string_view ns = kDefaultNamespace);

  // Readable when tickets completed (group commit); -1 when none ever will.
  int commit_fd() const;
  // Completed tickets, in order. Messages of completed tickets become
  // visible to subscribers, even when the sync failed (the publisher is told).
  std::vector<GroupCommitter::Completion> take_commits();

  Result<SubscriptionId> subscribe(const SubscribeRequest& request);
  void unsubscribe(SubscriptionId id);
  bool has_subscription(SubscriptionId id) const;
  // Allows `messages` more records and `bytes` more record bytes, up to the caps.
  void grant(SubscriptionId id, uint64_t messages, uint64_t bytes);
  // Subscriptions that may have something to deliver; the list is cleared.
  // The returned list lives until the next call.
  const std::vector<SubscriptionId>& take_ready();
  bool has_ready() const { return !ready_.empty(); }
  // The next batch for `id` within its credit and the delivery limits.
  Delivery next_delivery(SubscriptionId id);

  // --- queues and durable groups (docs/QUEUES.md) ---
  // Creates the group, and its topic when missing. An existing group with the
  // same config is fine; with another config it is an error.
  Status create_group(const CreateGroupRequest& request);
  // Removes one group's state; the topic stays.
  Status delete_group(const GroupRequest& target);
  std::vector<GroupInfo> groups(std::string_view ns = kDefaultNamespace);
  // Leases up to `max` messages; a missing queue group is created with the
  // defaults, and a missing topic with it. Dead letters due on the way are
  // moved to the dead-letter topic. Empty when nothing is available now.
  Result<ReceiveResult> receive(const ReceiveRequest& request, int64_t now_ms);
  // Pending messages, without leasing them (tail, dlq). A missing group reads as
  // a new queue group would.
  Result<std::vector<StoredRecord>> peek(const GroupRequest& target, size_t max);
  Result<SettleReceipt> settle(const GroupRequest& target, const std::vector<Settlement>& batch,
                               int64_t now_ms);
  void release_consumer(ConsumerId consumer);
  // Reclaims expired leases (dead-lettering what ran out of deliveries).
  void expire_locks(int64_t now_ms);
  // When expire_locks() has work next; nullopt: no lease.
  std::optional<int64_t> next_lock_expiry() const;
  // Bumped whenever a receive that found nothing might now find something.
  uint64_t receive_epoch() const { return receive_epoch_; }

  // Makes a topic with `settings` (`topic create`). An existing topic with
  // the same settings is fine; with other settings it is an error.
  Status create_topic(const std::string& name, const TopicSettings& settings,
                      std::string_view ns = kDefaultNamespace);
  // Retention for topics that keep by age and size; compaction for the
  // compacted ones: starts passes due and puts finished ones in place.
  void maintain_logs(int64_t now_ms);
  std::vector<TopicInfo> topics(std::string_view ns = kDefaultNamespace);
  size_t topic_count(std::string_view ns) const;
  Status delete_topic(const std::string& name, std::string_view ns = kDefaultNamespace);
  // Writes index files so the next start is quick; called at shutdown.
  Status checkpoint();

  const EngineConfig& config() const { return config_; }

  // --- materialized views (core/view_set.h; broker_views.cpp) ---
  ViewSet& view_set() { return *view_set_; }
  // Every topic as views read it; valid until the next call into the engine.
  std::vector<ViewSource> view_sources();
  // Folds at most `budget` messages into views; true when more are waiting.
  bool fold_views(size_t budget);
  bool has_view_work() const;
  // Queues view snapshots due for the background writer; with `force`, all
  // changed ones, and waits until they are on disk.
  Status save_views(int64_t now_ms, bool force);

 private:
  struct Topic;
  struct Subscription;
  struct Group;
  explicit BrokerEngine(const EngineConfig& config);
  Topic* find_topic(std::string_view ns, std::string_view name);
  Result<Topic*> topic_for_publish(std::string_view ns, const std::string& name);
  std::string topic_dir(const Topic& topic) const;
  // Stores `batch` (all for topic `t`, validated), dropping ids seen within the
  // dedup window when `dedup`.
  Result<PublishReceipt> store_batch(Topic& t, std::span<const EnvelopeView> batch, int64_t now_ms,
                                     bool dedup);
  Topic& add_topic(std::string_view ns, const std::string& name, std::unique_ptr<TopicLog> log);
  // A new, empty topic in memory or in the data directory.
  Result<Topic*> make_topic(std::string_view ns, const std::string& name,
                            const TopicSettings& settings);
  // Compaction (broker_compaction.cpp).
  void compact(Topic& topic, int64_t now_ms);
  void finish_compactions(int64_t now_ms);
  Topic* find_topic_by_serial(uint64_t serial);
  void watch(Subscription& sub, SubscriptionId id, Topic& topic, uint64_t start);
  void mark_ready(SubscriptionId id, Subscription& sub);
  void make_visible(Topic& topic, uint64_t next);
  void rebuild_dedup(Topic& topic, int64_t now_ms);
  bool has_backlog(const Subscription& sub) const;
  Result<Group*> find_group(const GroupRequest& target, bool create_queue);
  Result<Group*> add_group(Topic& topic, const std::string& name, const ConsumerGroupConfig& config,
                           uint64_t start, const GroupRule& rule = {});
  Status recover_groups(Topic& topic, std::vector<std::string>& notes);
  Status open_views(std::vector<std::string>& notes);
  // Journals the group's events; returns the commit ticket that covers them.
  Result<uint64_t> persist(Group& group);
  std::vector<Group*> all_groups();
  // Applies the group's SET/REMOVE actions to the records' envelopes.
  void rewrite_for_rule(const Group& group, std::vector<StoredRecord>& records);
  void move_to_dead_letters(Group& group, const std::vector<DeadLetter>& dead, int64_t now_ms);
  std::vector<StoredRecord> read_offsets(Topic& topic, const std::vector<uint64_t>& offsets);
  // Accepts the records of `topic` that `filter` matches (all without one),
  // decoding each record once for every filter that tests it.
  RecordFilter accepted_by(const std::optional<Filter>& filter, const Topic& topic);

  EngineConfig config_;
  std::optional<DataDir> data_dir_;
  std::unique_ptr<GroupCommitter> committer_;
  std::unordered_map<std::string, std::unique_ptr<Topic>> topics_;
  std::unordered_map<SubscriptionId, std::unique_ptr<Subscription>> subs_;
  std::vector<SubscriptionId> ready_;
  std::vector<SubscriptionId> taken_ready_;  // what take_ready() last returned
  SubscriptionId next_sub_id_ = 1;
  struct PendingCommit {
    uint64_t ticket;
    std::string topic;  // topic_key()
    uint64_t next_offset;
  };
  std::vector<PendingCommit> pending_commits_;
  UlidGenerator ids_;
  uint64_t receive_epoch_ = 0;
  std::string held_;                    // record bodies read_offsets() copied; its views point here
  std::string rewritten_;               // bodies changed by a rule's actions, for the last receive
  RecordBatch batch_;                   // reused between publishes
  std::vector<uint64_t> dedup_keys_;    // the batch's DedupIndex keys, reused between publishes
  std::unique_ptr<RecordViews> views_;  // made when a filter first reads
  uint64_t topics_made_ = 0;            // numbers topics for views_
  std::unique_ptr<ViewSet> view_set_;   // materialized views
  std::unique_ptr<Compactor> compactor_;  // made for the first compacted topic on disk
};

}  // namespace eda
