// The ids a topic stored recently, so that a publisher's retry (same ids) is
// stored once (DESIGN §5, duplicate detection). Bounded by a time window and
// by a number of ids, whichever is reached first.
//
// Ids are kept as 64-bit hashes: the index stays small and allocation-free
// on the publish path. Two different ids in one window collide with
// probability about n²/2^65 (n = 200k: ~1e-9), which would drop a message as
// a duplicate; that risk is accepted for the speed.
//
// Every stored message costs a find and an add (and, once full, an expiry),
// so the hash -> offset table is open addressing in one flat array rather
// than a node-based map: no allocation per id, one cache line per lookup in
// the common case. Both arrays grow on demand and never shrink; a quiet topic
// keeps small ones. Not thread-safe: the owning topic serializes calls.
//
// That line is still a cache miss (the table is megabytes and keys land at
// random), so a caller with a batch computes its keys first and prefetch()es
// them: the batch's misses then overlap instead of following each other.
// Expiry prefetches the slots of the ids it will forget next the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace eda {

class DedupIndex {
 public:
  DedupIndex(int64_t window_ms, size_t max_ids) : window_ms_(window_ms), max_ids_(max_ids) {}

  // An id's key in the index; kNoKey for an empty id, which is never remembered.
  static uint64_t key_of(std::string_view id);
  static constexpr uint64_t kNoKey = 0;
  // Starts loading the slot where `key` would be; find() and add() then hit the cache.
  void prefetch(uint64_t key) const;

  // Where the id with `key` was stored, if that was within the window.
  std::optional<uint64_t> find(uint64_t key, int64_t now_ms);
  std::optional<uint64_t> find(std::string_view id, int64_t now_ms) {
    return find(key_of(id), now_ms);
  }
  // Records that the id with `key` was stored at `offset` at time `stored_ms`.
  void add(uint64_t key, uint64_t offset, int64_t stored_ms);
  void add(std::string_view id, uint64_t offset, int64_t stored_ms) {
    add(key_of(id), offset, stored_ms);
  }
  // Takes back the last `n` add() calls (their batch was not stored).
  void forget_newest(size_t n);
  // Distinct ids remembered.
  size_t size() const { return table_used_; }

 private:
  // Linear probing; key kNoKey marks a free slot (real hashes never take it).
  struct Slot {
    uint64_t key;
    uint64_t offset;
  };
  struct Entry {
    int64_t stored_ms;
    uint64_t key;
    uint64_t offset;
  };

  bool enabled() const { return window_ms_ > 0 && max_ids_ > 0; }
  void expire(int64_t now_ms);
  // Drops the table's entry for `e` unless the id was stored again since.
  void forget(const Entry& e);

  size_t home(uint64_t key) const;
  size_t probe(uint64_t key) const;
  void put(uint64_t key, uint64_t offset);
  void erase_slot(size_t i);
  void grow_table();

  Entry& order_at(size_t i) { return order_[(order_head_ + i) & (order_.size() - 1)]; }
  void grow_order();

  int64_t window_ms_;
  size_t max_ids_;
  std::vector<Slot> table_;  // power-of-two size, or empty before the first add
  size_t table_used_ = 0;
  int table_shift_ = 0;  // 64 - log2(table_.size()), set by grow_table()
  // Every add() in order, oldest first: a ring buffer of power-of-two size.
  // An id added twice has two entries here and one (the newer) in table_.
  std::vector<Entry> order_;
  size_t order_head_ = 0;
  size_t order_size_ = 0;
};

}  // namespace eda
