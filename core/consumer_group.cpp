#include "core/consumer_group.h"

#include <fmt/format.h>

#include <charconv>
#include <msgpack.hpp>
#include <random>

#include "core/envelope_codec.h"

namespace eda {
namespace {

constexpr uint64_t kSnapshotVersion = 1;
constexpr uint32_t kSnapshotFields = 9;
constexpr size_t kRunBytes = 16;
constexpr size_t kSlotBytes = 12;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t get_le(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return value;
}

Error malformed_snapshot(std::string_view what) {
  return {ErrorKind::kCorruption, fmt::format("consumer group snapshot is malformed: {}", what)};
}

std::string_view kind_name(GroupEvent::Kind kind) {
  switch (kind) {
    case GroupEvent::Kind::kDelivered:
      return "delivered";
    case GroupEvent::Kind::kCompleted:
      return "completed";
    case GroupEvent::Kind::kDeadLettered:
      return "dead-lettered";
    case GroupEvent::Kind::kSkippedTo:
      return "skipped to";
    case GroupEvent::Kind::kPassed:
      return "passed";
  }
  return "unknown";
}

Error event_does_not_fit(const GroupEvent& event, std::string_view why) {
  return {ErrorKind::kCorruption,
          fmt::format("consumer group journal does not fit its snapshot: {} {}: {}",
                      kind_name(event.kind), event.offset, why)};
}

Error lock_lost(LockToken token) {
  return invalid_argument(
      fmt::format("lock token {} is not held: it expired or was settled", lock_token_text(token)));
}

std::string deliveries_exhausted(uint32_t count, uint32_t limit) {
  return fmt::format("delivered {} times, the limit is {}", count, limit);
}

// splitmix64's output function: a bijection of 64-bit values.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t random_salt() {
  std::random_device device;
  return uint64_t{device()} << 32 | device();
}

}  // namespace

std::string lock_token_text(LockToken token) {
  return fmt::format("{:016x}", token);
}

Result<LockToken> parse_lock_token(std::string_view text) {
  LockToken token = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), token, 16);
  if (text.size() != 16 || ec != std::errc() || end != text.data() + text.size())
    return invalid_argument(fmt::format("lock token '{}' is not 16 hex digits", text));
  return token;
}

ConsumerGroup::ConsumerGroup(const ConsumerGroupConfig& config, uint64_t start)
    : config_(config), floor_(start), cursor_(start), token_salt_(random_salt()) {}

// --- delivering ---

TakeResult ConsumerGroup::take(ConsumerId consumer, size_t max, uint64_t end, int64_t now_ms,
                               const MessageTime& ts_of, int64_t lock_ms,
                               const MessageWanted& wanted) {
  if (lock_ms <= 0) lock_ms = config_.lock_ms;
  TakeResult result{{}, expire(now_ms)};
  size_t dead_lettered_here = 0;
  while (result.deliveries.size() < max && dead_lettered_here < kMaxDeadLettersPerTake) {
    uint64_t offset;
    if (!available_.empty())
      offset = *available_.begin();  // always below cursor_
    else if (cursor_ < end)
      offset = cursor_;
    else
      break;
    if (offset == cursor_ && wanted && !wanted(offset)) {
      settle(offset);
      events_.push_back({GroupEvent::Kind::kPassed, offset});
      if (++result.passed == kMaxPassesPerTake) break;
      continue;
    }
    if (auto dead = dead_letter_if_undeliverable(offset, now_ms, ts_of)) {
      result.dead_letters.push_back(std::move(*dead));
      ++dead_lettered_here;
    } else {
      result.deliveries.push_back(lease(offset, consumer, now_ms, lock_ms));
    }
  }
  return result;
}

TakeResult ConsumerGroup::receive_and_delete(ConsumerId consumer, size_t max, uint64_t end,
                                             int64_t now_ms, const MessageTime& ts_of,
                                             const MessageWanted& wanted) {
  TakeResult result = take(consumer, max, end, now_ms, ts_of, 0, wanted);
  for (const GroupDelivery& d : result.deliveries) (void)complete(d.token);  // just leased
  return result;
}

std::vector<uint64_t> ConsumerGroup::peek(size_t max, uint64_t end) const {
  std::vector<uint64_t> offsets;
  for (auto it = available_.begin(); it != available_.end() && offsets.size() < max; ++it)
    offsets.push_back(*it);
  for (uint64_t offset = cursor_; offset < end && offsets.size() < max; ++offset)
    offsets.push_back(offset);
  return offsets;
}

GroupDelivery ConsumerGroup::lease(uint64_t offset, ConsumerId consumer, int64_t now_ms,
                                   int64_t lock_ms) {
  if (offset == cursor_) ++cursor_;
  Slot& slot = unsettled_[offset];
  available_.erase(offset);
  ++slot.delivery_count;
  slot.lease = Lease{next_token(), consumer, now_ms + lock_ms, lock_ms};
  leased_.emplace(slot.lease->token, offset);
  expiries_.emplace(slot.lease->expiry_ms, offset);
  ++delivered_;
  events_.push_back({GroupEvent::Kind::kDelivered, offset, slot.delivery_count});
  return {offset, slot.lease->token, slot.delivery_count, slot.lease->expiry_ms};
}

LockToken ConsumerGroup::next_token() {
  // Distinct counters give distinct tokens: multiplying by an odd constant,
  // adding the salt and mix64 are all bijections.
  return mix64(token_salt_ + ++tokens_issued_ * 0x9e3779b97f4a7c15ULL);
}

std::optional<DeadLetter> ConsumerGroup::dead_letter_if_undeliverable(uint64_t offset,
                                                                      int64_t now_ms,
                                                                      const MessageTime& ts_of) {
  uint32_t count = offset < cursor_ ? unsettled_.at(offset).delivery_count : 0;
  if (count >= config_.max_deliveries)
    return dead_letter_offset(offset, std::string(kMaxDeliveryCountExceeded),
                              deliveries_exhausted(count, config_.max_deliveries));
  if (config_.ttl_ms && ts_of) {
    int64_t ts = ts_of(offset);
    if (ts < now_ms - *config_.ttl_ms)
      return dead_letter_offset(
          offset, std::string(kTtlExpired),
          fmt::format("message of {} ms is older than the TTL of {} ms", ts, *config_.ttl_ms));
  }
  return std::nullopt;
}

// --- settling ---

Result<ConsumerGroup::SlotIterator> ConsumerGroup::find_lease(LockToken token) {
  auto held = leased_.find(token);
  if (held == leased_.end()) return lock_lost(token);
  return unsettled_.find(held->second);
}

Status ConsumerGroup::complete(LockToken token) {
  auto it = find_lease(token);
  if (!it) return it.error();
  uint64_t offset = (*it)->first;
  settle(offset);
  ++completed_;
  events_.push_back({GroupEvent::Kind::kCompleted, offset});
  return ok_status();
}

Result<std::optional<DeadLetter>> ConsumerGroup::abandon(LockToken token) {
  auto it = find_lease(token);
  if (!it) return it.error();
  return reclaim(*it);
}

Result<DeadLetter> ConsumerGroup::dead_letter(LockToken token, std::string reason,
                                              std::string description) {
  auto it = find_lease(token);
  if (!it) return it.error();
  return dead_letter_offset((*it)->first, std::move(reason), std::move(description));
}

Result<int64_t> ConsumerGroup::renew(LockToken token, int64_t now_ms) {
  auto it = find_lease(token);
  if (!it) return it.error();
  Lease& lease = *(*it)->second.lease;
  expiries_.erase({lease.expiry_ms, (*it)->first});
  lease.expiry_ms = now_ms + lease.lock_ms;
  expiries_.emplace(lease.expiry_ms, (*it)->first);
  return lease.expiry_ms;
}

std::vector<DeadLetter> ConsumerGroup::expire(int64_t now_ms) {
  std::vector<DeadLetter> dead;
  while (!expiries_.empty() && expiries_.begin()->first <= now_ms)
    if (auto d = reclaim(unsettled_.find(expiries_.begin()->second))) dead.push_back(std::move(*d));
  return dead;
}

std::optional<int64_t> ConsumerGroup::next_lock_expiry() const {
  if (expiries_.empty()) return std::nullopt;
  return expiries_.begin()->first;
}

std::vector<DeadLetter> ConsumerGroup::release(ConsumerId consumer) {
  std::vector<uint64_t> held;
  for (const auto& [offset, slot] : unsettled_)
    if (slot.lease && slot.lease->consumer == consumer) held.push_back(offset);
  std::vector<DeadLetter> dead;
  for (uint64_t offset : held)
    if (auto d = reclaim(unsettled_.find(offset))) dead.push_back(std::move(*d));
  return dead;
}

void ConsumerGroup::drop_lease(SlotIterator it) {
  std::optional<Lease>& lease = it->second.lease;
  if (!lease) return;
  leased_.erase(lease->token);
  expiries_.erase({lease->expiry_ms, it->first});
  lease.reset();
}

std::optional<DeadLetter> ConsumerGroup::reclaim(SlotIterator it) {
  drop_lease(it);
  uint32_t count = it->second.delivery_count;
  if (count >= config_.max_deliveries)
    return dead_letter_offset(it->first, std::string(kMaxDeliveryCountExceeded),
                              deliveries_exhausted(count, config_.max_deliveries));
  available_.insert(it->first);
  return std::nullopt;
}

DeadLetter ConsumerGroup::dead_letter_offset(uint64_t offset, std::string reason,
                                             std::string description) {
  uint32_t count = settle(offset);
  ++dead_lettered_;
  events_.push_back({GroupEvent::Kind::kDeadLettered, offset});
  return {offset, std::move(reason), std::move(description), count};
}

// `offset` is unsettled, or cursor_ (a new offset settled without delivery).
// Returns its delivery count.
uint32_t ConsumerGroup::settle(uint64_t offset) {
  uint32_t count = 0;
  if (offset == cursor_) {
    ++cursor_;
  } else {
    auto it = unsettled_.find(offset);
    count = it->second.delivery_count;
    drop_lease(it);
    available_.erase(offset);
    unsettled_.erase(it);
  }
  mark_settled(offset);
  return count;
}

void ConsumerGroup::mark_settled(uint64_t offset) {
  if (offset == floor_) {
    ++floor_;
    auto first = settled_runs_.begin();
    if (first != settled_runs_.end() && first->first == floor_) {
      floor_ = first->second;
      settled_runs_.erase(first);
    }
    return;
  }
  auto next = settled_runs_.upper_bound(offset);
  uint64_t end = offset + 1;
  if (next != settled_runs_.end() && next->first == end) {
    end = next->second;
    next = settled_runs_.erase(next);
  }
  if (next != settled_runs_.begin()) {
    auto previous = std::prev(next);
    if (previous->second == offset) {
      previous->second = end;
      return;
    }
  }
  settled_runs_.emplace_hint(next, offset, end);
}

// --- retention ---

void ConsumerGroup::skip_to(uint64_t offset) {
  if (skip_below(offset)) events_.push_back({GroupEvent::Kind::kSkippedTo, offset});
}

bool ConsumerGroup::skip_below(uint64_t offset) {
  if (offset <= floor_) return false;
  for (auto it = unsettled_.begin(); it != unsettled_.end() && it->first < offset;) {
    drop_lease(it);
    available_.erase(it->first);
    ++lost_;
    it = unsettled_.erase(it);
  }
  while (!settled_runs_.empty() && settled_runs_.begin()->first < offset) {
    auto [begin, end] = *settled_runs_.begin();
    settled_runs_.erase(settled_runs_.begin());
    if (end > offset) settled_runs_.emplace(offset, end);
  }
  if (cursor_ < offset) {
    lost_ += offset - cursor_;
    cursor_ = offset;
  }
  floor_ = offset;
  auto first = settled_runs_.begin();
  if (first != settled_runs_.end() && first->first == floor_) {
    floor_ = first->second;
    settled_runs_.erase(first);
  }
  return true;
}

GroupStats ConsumerGroup::stats(uint64_t end) const {
  GroupStats s;
  uint64_t unread = end > cursor_ ? end - cursor_ : 0;
  s.pending = available_.size() + unread;
  s.locked = leased_.size();
  s.completed = completed_;
  s.dead_lettered = dead_lettered_;
  s.delivered = delivered_;
  s.lost = lost_;
  if (!available_.empty())
    s.oldest_pending = *available_.begin();
  else if (unread > 0)
    s.oldest_pending = cursor_;
  return s;
}

// --- persistence ---

std::string ConsumerGroup::snapshot() const {
  std::string runs, slots;
  runs.reserve(settled_runs_.size() * kRunBytes);
  for (auto [begin, end] : settled_runs_) {
    put_le(runs, begin, 8);
    put_le(runs, end, 8);
  }
  slots.reserve(unsettled_.size() * kSlotBytes);
  for (const auto& [offset, slot] : unsettled_) {
    put_le(slots, offset, 8);
    put_le(slots, slot.delivery_count, 4);
  }
  std::string out;
  StringStream stream{out};
  msgpack::packer<StringStream> pk(stream);
  pk.pack_array(kSnapshotFields);
  for (uint64_t n :
       {kSnapshotVersion, floor_, cursor_, completed_, dead_lettered_, delivered_, lost_})
    pk.pack(n);
  for (const std::string* bin : {&runs, &slots}) {
    pk.pack_bin(static_cast<uint32_t>(bin->size()));
    pk.pack_bin_body(bin->data(), static_cast<uint32_t>(bin->size()));
  }
  return out;
}

Result<ConsumerGroup> ConsumerGroup::restore(std::string_view snapshot,
                                             const ConsumerGroupConfig& config) {
  msgpack::object_handle handle;
  try {
    size_t read = 0;
    handle = unpack_bounded(snapshot.data(), snapshot.size(), read);
    if (read != snapshot.size()) return malformed_snapshot("bytes after its end");
  } catch (const std::exception& ex) {
    return malformed_snapshot(ex.what());
  }
  const msgpack::object& o = handle.get();
  if (o.type != msgpack::type::ARRAY || o.via.array.size != kSnapshotFields)
    return malformed_snapshot(fmt::format("expected an array of {} fields", kSnapshotFields));
  const msgpack::object* f = o.via.array.ptr;
  uint64_t n[7];
  for (int i = 0; i < 7; ++i) {
    if (f[i].type != msgpack::type::POSITIVE_INTEGER)
      return malformed_snapshot(fmt::format("field {} is not an unsigned integer", i));
    n[i] = f[i].via.u64;
  }
  if (n[0] != kSnapshotVersion) return malformed_snapshot(fmt::format("unknown version {}", n[0]));
  if (f[7].type != msgpack::type::BIN || f[8].type != msgpack::type::BIN)
    return malformed_snapshot("settled runs or unsettled offsets are not bytes");
  std::string_view runs(f[7].via.bin.ptr, f[7].via.bin.size);
  std::string_view slots(f[8].via.bin.ptr, f[8].via.bin.size);
  if (runs.size() % kRunBytes != 0 || slots.size() % kSlotBytes != 0)
    return malformed_snapshot("settled runs or unsettled offsets are cut short");

  ConsumerGroup g(config, n[1]);
  g.cursor_ = n[2];
  g.completed_ = n[3], g.dead_lettered_ = n[4], g.delivered_ = n[5], g.lost_ = n[6];
  if (g.floor_ > g.cursor_) return malformed_snapshot("floor is above the cursor");
  uint64_t settled = 0, previous_end = g.floor_;
  for (size_t i = 0; i < runs.size(); i += kRunBytes) {
    uint64_t begin = get_le(&runs[i], 8), end = get_le(&runs[i + 8], 8);
    // Runs lie above the floor, apart from each other: the floor absorbs a
    // run that touches it, and touching runs are merged.
    if (begin <= previous_end || end <= begin || end > g.cursor_)
      return malformed_snapshot(fmt::format("settled run [{}, {}) is out of place", begin, end));
    g.settled_runs_.emplace_hint(g.settled_runs_.end(), begin, end);
    settled += end - begin;
    previous_end = end;
  }
  auto is_settled = [&](uint64_t offset) {
    auto after = g.settled_runs_.upper_bound(offset);
    return after != g.settled_runs_.begin() && std::prev(after)->second > offset;
  };
  for (size_t i = 0; i < slots.size(); i += kSlotBytes) {
    uint64_t offset = get_le(&slots[i], 8);
    auto count = static_cast<uint32_t>(get_le(&slots[i + 8], 4));
    bool ascending = g.unsettled_.empty() || offset > g.unsettled_.rbegin()->first;
    if (!ascending || offset < g.floor_ || offset >= g.cursor_ || is_settled(offset) || count == 0)
      return malformed_snapshot(
          fmt::format("unsettled offset {} (delivered {} times) is out of place", offset, count));
    g.unsettled_.emplace_hint(g.unsettled_.end(), offset, Slot{count, std::nullopt});
    g.available_.emplace_hint(g.available_.end(), offset);
  }
  if (settled + g.unsettled_.size() != g.cursor_ - g.floor_)
    return malformed_snapshot("offsets between floor and cursor are unaccounted for");
  return g;
}

Status ConsumerGroup::apply(const GroupEvent& event) {
  uint64_t offset = event.offset;
  auto it = unsettled_.find(offset);
  bool unsettled = it != unsettled_.end();
  switch (event.kind) {
    case GroupEvent::Kind::kDelivered:
      if (event.delivery_count == 0) return event_does_not_fit(event, "delivery count 0");
      if (offset == cursor_) {
        ++cursor_;
        it = unsettled_.emplace(offset, Slot{}).first;
        available_.insert(offset);
      } else if (!unsettled) {
        return event_does_not_fit(event, "settled, or beyond the cursor");
      }
      it->second.delivery_count = event.delivery_count;
      ++delivered_;
      return ok_status();
    case GroupEvent::Kind::kCompleted:
      if (!unsettled) return event_does_not_fit(event, "not delivered, or already settled");
      settle(offset);
      ++completed_;
      return ok_status();
    case GroupEvent::Kind::kDeadLettered:
      if (!unsettled && offset != cursor_)
        return event_does_not_fit(event, "already settled, or beyond the cursor");
      settle(offset);
      ++dead_lettered_;
      return ok_status();
    case GroupEvent::Kind::kSkippedTo:
      skip_below(offset);
      return ok_status();
    case GroupEvent::Kind::kPassed:
      if (offset != cursor_) return event_does_not_fit(event, "not the next new offset");
      settle(offset);
      return ok_status();
  }
  return event_does_not_fit(event, "unknown kind");
}

}  // namespace eda
