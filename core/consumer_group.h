// One durable consumer group on one topic (DESIGN §5, issue 5): which offsets
// its members hold under peek-lock, which are settled, what is delivered
// next. At-least-once: an offset is held by at most one member at a time;
// abandon, lock expiry or the member's disconnect make it available again,
// until its delivery count reaches max_deliveries and it is dead-lettered.
//
// A pure state machine: no I/O, no clock (callers pass now_ms), no message
// contents. Single-threaded, like the engine that owns it.
//
// Memory is proportional to the in-flight window, not to the topic: below
// floor() every offset is settled; above it the group keeps the unsettled
// delivered offsets and runs of settled ones; from cursor() on nothing was
// ever delivered.
//
// Durability: snapshot() is the state that must survive a restart, and every
// change to it is also reported as a GroupEvent (take_events()), so the owner
// can journal events between snapshots and rebuild the group after a crash
// with restore() then apply() of each later event. Leases are not persisted:
// after a restore, offsets that were leased are available again with their
// delivery counts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"

namespace eda {

using ConsumerId = uint64_t;  // opaque to the group: the owner names its members

// Names one lease. Unique within a ConsumerGroup object's life (a bijection
// of a counter, salted per object); a restored group draws a new salt, so a
// token from before a restart is not held after it (but for a 2^-64 chance
// per pair). Not a secret: a guard against settling another lease by mistake.
using LockToken = uint64_t;

std::string lock_token_text(LockToken token);  // 16 lowercase hex digits
Result<LockToken> parse_lock_token(std::string_view text);

inline constexpr std::string_view kMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded";
inline constexpr std::string_view kTtlExpired = "TTLExpired";

struct ConsumerGroupConfig {
  int64_t lock_ms = 30000;        // > 0
  uint32_t max_deliveries = 10;   // > 0
  std::optional<int64_t> ttl_ms;  // older messages are dead-lettered instead of delivered
};

struct GroupDelivery {
  uint64_t offset = 0;
  LockToken token = 0;
  uint32_t delivery_count = 0;  // 1 on the first delivery
  int64_t lock_expiry_ms = 0;   // the lease ends then unless renewed
  bool operator==(const GroupDelivery&) const = default;
};

// An offset the group settled as dead-lettered; the owner copies its message
// to the dead-letter queue with this reason.
struct DeadLetter {
  uint64_t offset = 0;
  std::string reason;
  std::string description;
  uint32_t delivery_count = 0;
};

struct TakeResult {
  std::vector<GroupDelivery> deliveries;
  std::vector<DeadLetter> dead_letters;
  size_t passed = 0;  // new offsets `wanted` refused
};

struct GroupStats {
  uint64_t pending = 0;  // available again, plus not yet read up to `end`
  uint64_t locked = 0;
  // These four count over the group's life.
  uint64_t completed = 0;
  uint64_t dead_lettered = 0;
  uint64_t delivered = 0;  // redeliveries included
  uint64_t lost = 0;       // removed by retention before being settled
  std::optional<uint64_t> oldest_pending;
  bool operator==(const GroupStats&) const = default;
};

// A change to the durable state, for the owner's journal.
struct GroupEvent {
  enum class Kind : uint8_t {
    kDelivered,  // leased; delivery_count is the offset's count now
    kCompleted,
    kDeadLettered,  // the dead-letter queue copy is the owner's job
    kSkippedTo,     // retention: every offset below `offset` is gone
    kPassed,        // not for this group (its filter): settled without delivery
  };
  Kind kind = Kind::kDelivered;
  uint64_t offset = 0;
  uint32_t delivery_count = 0;  // kDelivered only
  bool operator==(const GroupEvent&) const = default;
};

// The timestamp (ms) of the message at `offset`, read by the owner from the
// log; the group uses it only for the TTL.
using MessageTime = std::function<int64_t(uint64_t offset)>;
// Whether the message at `offset` is for this group (a subscription's filter).
using MessageWanted = std::function<bool(uint64_t offset)>;

class ConsumerGroup {
 public:
  // A new group reads from `start`: the topic's earliest offset for a queue,
  // its end for a subscription that must not see older messages.
  explicit ConsumerGroup(const ConsumerGroupConfig& config, uint64_t start = 0);
  ConsumerGroup(ConsumerGroup&&) = default;
  ConsumerGroup& operator=(ConsumerGroup&&) = default;
  ConsumerGroup(const ConsumerGroup&) = delete;  // a copy would hand out the same tokens
  ConsumerGroup& operator=(const ConsumerGroup&) = delete;

  // Leases up to `max` offsets to `consumer`: offsets available again first,
  // then new ones from cursor() up to `end` (exclusive: the topic's visible
  // end), lowest first. Leases due at now_ms are reclaimed first, as by
  // expire(). An offset due for delivery is dead-lettered instead when its
  // count reached max_deliveries (after a restore or a lowered limit) or,
  // with a TTL and `ts_of`, when its message is older than now_ms - ttl_ms.
  // TTL is enforced only here, when a message would be delivered (as
  // Service Bus does, with an active receiver). A call dead-letters at most
  // kMaxDeadLettersPerTake offsets on its way, so it stays short: fewer
  // deliveries than `max` with that many dead letters means "call again".
  // Offsets below the topic's earliest must be skipped (skip_to) first.
  // `lock_ms` > 0 sets these leases' duration (and their renewals'); 0: the group's.
  // With `wanted`, a new offset it refuses is settled as passed, not delivered.
  TakeResult take(ConsumerId consumer, size_t max, uint64_t end, int64_t now_ms,
                  const MessageTime& ts_of = {}, int64_t lock_ms = 0,
                  const MessageWanted& wanted = {});
  // Likewise it passes at most kMaxPassesPerTake offsets `wanted` refuses.
  static constexpr size_t kMaxDeadLettersPerTake = 1024;
  static constexpr size_t kMaxPassesPerTake = 4096;
  // take() then complete() of each delivery: `--ack none`. Tokens come settled.
  TakeResult receive_and_delete(ConsumerId consumer, size_t max, uint64_t end, int64_t now_ms,
                                const MessageTime& ts_of = {}, const MessageWanted& wanted = {});

  // Up to `max` offsets a take() would consider, in the order it would, without
  // leasing them: available again first, then unread ones below `end`.
  std::vector<uint64_t> peek(size_t max, uint64_t end) const;

  // Settling needs the token of a lease the group still holds; a lease is
  // held until settled, released, skipped, or reclaimed by expire()/take()
  // (not merely past its expiry). Otherwise: kInvalidArgument, "lock token X
  // is not held: it expired or was settled".
  Status complete(LockToken token);
  // Available again, or dead-lettered when the count reached max_deliveries.
  Result<std::optional<DeadLetter>> abandon(LockToken token);
  Result<DeadLetter> dead_letter(LockToken token, std::string reason, std::string description);
  // The lease now ends at now_ms + its lock duration; returns that time.
  Result<int64_t> renew(LockToken token, int64_t now_ms);

  // Reclaims leases that ended by now_ms, like abandon().
  std::vector<DeadLetter> expire(int64_t now_ms);
  // When the owner should call expire() next; nullopt: no lease.
  std::optional<int64_t> next_lock_expiry() const;
  // `consumer` is gone: its leases are reclaimed, like abandon().
  std::vector<DeadLetter> release(ConsumerId consumer);
  // Retention removed every offset below `offset`: those not settled yet are
  // counted lost (not completed) and their leases end. No-op at or below floor().
  void skip_to(uint64_t offset);

  GroupStats stats(uint64_t end) const;
  uint64_t floor() const { return floor_; }
  const ConsumerGroupConfig& config() const { return config_; }
  uint64_t cursor() const { return cursor_; }
  // Entries held: unsettled offsets plus runs of settled ones above floor().
  size_t tracked_entries() const { return unsettled_.size() + settled_runs_.size(); }

  // The events of the calls since the last take_events(), in order. The
  // owner drains them after each call (and journals them, or drops them
  // when nothing is persisted): they accumulate until then.
  std::vector<GroupEvent> take_events() { return std::exchange(events_, {}); }

  // The durable state, a msgpack array:
  //   [version:uint = 1, floor:uint, cursor:uint, completed:uint,
  //    dead_lettered:uint, delivered:uint, lost:uint,
  //    settled runs:bin (begin u64, end u64 per run),
  //    unsettled offsets:bin (offset u64, delivery count u32 per offset)]
  // Integers in the bins are little-endian, entries ascending. The lists are
  // bins, not arrays, so restoring allocates no more than the bytes present
  // (msgpack allocates an array's declared size up front); unpack_bounded's
  // 64 MiB bin limit caps a snapshot at about 5 million unsettled offsets.
  // Restoring checks every field: a malformed snapshot is a kCorruption Error.
  std::string snapshot() const;
  static Result<ConsumerGroup> restore(std::string_view snapshot,
                                       const ConsumerGroupConfig& config);
  // Replays one journaled event on a restored group, in journal order; it
  // records no event and touches no lease. An event that does not fit the
  // state (say, completing a settled offset) is a kCorruption Error.
  Status apply(const GroupEvent& event);

 private:
  struct Lease {
    LockToken token;
    ConsumerId consumer;
    int64_t expiry_ms;
    int64_t lock_ms;
  };
  struct Slot {  // a delivered, unsettled offset
    uint32_t delivery_count = 0;
    std::optional<Lease> lease;
  };
  using SlotIterator = std::map<uint64_t, Slot>::iterator;

  GroupDelivery lease(uint64_t offset, ConsumerId consumer, int64_t now_ms, int64_t lock_ms);
  Result<SlotIterator> find_lease(LockToken token);
  void drop_lease(SlotIterator it);
  std::optional<DeadLetter> reclaim(SlotIterator it);
  std::optional<DeadLetter> dead_letter_if_undeliverable(uint64_t offset, int64_t now_ms,
                                                         const MessageTime& ts_of);
  DeadLetter dead_letter_offset(uint64_t offset, std::string reason, std::string description);
  uint32_t settle(uint64_t offset);
  void mark_settled(uint64_t offset);
  bool skip_below(uint64_t offset);
  LockToken next_token();

  ConsumerGroupConfig config_;
  uint64_t floor_;                                   // every offset below is settled or lost
  uint64_t cursor_;                                  // offsets from here on were never reached
  std::map<uint64_t, uint64_t> settled_runs_;        // [begin, end) above floor_, never adjacent
  std::map<uint64_t, Slot> unsettled_;               // every other offset in [floor_, cursor_)
  std::set<uint64_t> available_;                     // unsettled_ offsets without a lease
  std::unordered_map<LockToken, uint64_t> leased_;   // token -> offset
  std::set<std::pair<int64_t, uint64_t>> expiries_;  // (lease end, offset)
  uint64_t completed_ = 0, dead_lettered_ = 0, delivered_ = 0, lost_ = 0;
  uint64_t token_salt_;
  uint64_t tokens_issued_ = 0;
  std::vector<GroupEvent> events_;
};

}  // namespace eda
