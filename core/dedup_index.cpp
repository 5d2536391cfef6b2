#include "core/dedup_index.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace eda {
namespace {

// Both arrays start here and double: 16 KiB + 24 KiB for a topic that stores
// little, and log2(n) reallocations for one that stores much.
constexpr size_t kMinSlots = 1024;
constexpr size_t kMinEntries = 1024;
// Probe runs, and the runs an erase shifts back, stay about one cache line
// long below this load. 200k ids take 2^19 slots (8 MiB, 38%): a find+add
// with prefetching cost about 45 ns there against 90 ns at 76% in 2^18 slots
// (the load allowed before), where runs spanned several lines.
constexpr size_t kMaxLoadPercent = 50;
// How many expiries ahead expire() prefetches: enough to cover a miss's
// latency with the work of the adds in between.
constexpr size_t kExpiryLookahead = 8;

}  // namespace

uint64_t DedupIndex::key_of(std::string_view id) {
  if (id.empty()) return kNoKey;
  uint64_t h = std::hash<std::string_view>{}(id);
  // kNoKey marks a free slot. An id hashing to it shares key 1: one more
  // collision of the kind the header accepts.
  return h == kNoKey ? 1 : h;
}

void DedupIndex::prefetch(uint64_t key) const {
  if (!table_.empty()) __builtin_prefetch(&table_[home(key)]);
}

// Fibonacci hashing: the multiply spreads every bit of the key into the high
// bits, so a weak low half of std::hash cannot cluster the slots.
size_t DedupIndex::home(uint64_t key) const {
  return (key * 0x9E3779B97F4A7C15ULL) >> table_shift_;
}

// The slot that holds `key`, or the free slot where it would go. The table is
// never full, so the scan ends.
size_t DedupIndex::probe(uint64_t key) const {
  const size_t mask = table_.size() - 1;
  size_t i = home(key);
  while (table_[i].key != key && table_[i].key != kNoKey) i = (i + 1) & mask;
  return i;
}

void DedupIndex::put(uint64_t key, uint64_t offset) {
  if ((table_used_ + 1) * 100 > table_.size() * kMaxLoadPercent) grow_table();
  size_t i = probe(key);
  if (table_[i].key == kNoKey) ++table_used_;
  table_[i] = {key, offset};
}

// Backward-shift deletion: the rest of the probe run moves back into the hole,
// so lookups may still stop at the first free slot and no tombstones pile up.
void DedupIndex::erase_slot(size_t hole) {
  const size_t mask = table_.size() - 1;
  for (size_t i = (hole + 1) & mask; table_[i].key != kNoKey; i = (i + 1) & mask) {
    // The entry at i may fill the hole unless its home lies in (hole, i].
    if (((i - home(table_[i].key)) & mask) >= ((i - hole) & mask)) {
      table_[hole] = table_[i];
      hole = i;
    }
  }
  table_[hole].key = kNoKey;
  --table_used_;
}

void DedupIndex::grow_table() {
  std::vector<Slot> old(std::max(kMinSlots, 2 * table_.size()), Slot{kNoKey, 0});
  old.swap(table_);
  table_shift_ = 64 - std::countr_zero(table_.size());
  for (const Slot& s : old)
    if (s.key != kNoKey) table_[probe(s.key)] = s;
}

void DedupIndex::grow_order() {
  std::vector<Entry> grown(std::max(kMinEntries, 2 * order_.size()));
  for (size_t i = 0; i < order_size_; ++i) grown[i] = order_at(i);
  order_.swap(grown);
  order_head_ = 0;
}

void DedupIndex::forget(const Entry& e) {
  size_t i = probe(e.key);
  // An id stored again later maps to its newer offset; only forget the entry that is current.
  if (table_[i].key == e.key && table_[i].offset == e.offset) erase_slot(i);
}

void DedupIndex::expire(int64_t now_ms) {
  bool expired = false;
  while (order_size_ > 0 &&
         (order_at(0).stored_ms < now_ms - window_ms_ || order_size_ > max_ids_)) {
    forget(order_at(0));
    order_head_ = (order_head_ + 1) & (order_.size() - 1);
    --order_size_;
    expired = true;
  }
  // At the count cap every add expires the oldest id, so the one that many
  // adds from now is known: start its miss now.
  if (expired && order_size_ > kExpiryLookahead) prefetch(order_at(kExpiryLookahead).key);
}

std::optional<uint64_t> DedupIndex::find(uint64_t key, int64_t now_ms) {
  if (!enabled() || key == kNoKey) return std::nullopt;
  expire(now_ms);
  if (table_used_ == 0) return std::nullopt;
  const Slot& s = table_[probe(key)];
  if (s.key == kNoKey) return std::nullopt;
  return s.offset;
}

void DedupIndex::add(uint64_t key, uint64_t offset, int64_t stored_ms) {
  if (!enabled() || key == kNoKey) return;
  put(key, offset);
  if (order_size_ == order_.size()) grow_order();
  order_at(order_size_++) = {stored_ms, key, offset};
  expire(stored_ms);
}

void DedupIndex::forget_newest(size_t n) {
  for (; n > 0 && order_size_ > 0; --n) forget(order_at(--order_size_));
}

}  // namespace eda
