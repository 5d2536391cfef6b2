// The ids a topic stored recently, so that a publisher's retry (same ids) is
// stored once (DESIGN §5, duplicate detection). Bounded by a time window and
// by a number of ids, whichever is reached first.
//
// Ids are kept as 64-bit hashes: the index stays small and allocation-free
// on the publish path. Two different ids in one window collide with
// probability about n²/2^65 (n = 200k: ~1e-9), which would drop a message as
// a duplicate; that risk is accepted for the speed.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace eda {

class DedupIndex {
 public:
  DedupIndex(int64_t window_ms, size_t max_ids) : window_ms_(window_ms), max_ids_(max_ids) {}

  // Where `id` was stored, if that was within the window.
  std::optional<uint64_t> find(std::string_view id, int64_t now_ms);
  // Records that `id` was stored at `offset` at time `stored_ms`.
  void add(std::string_view id, uint64_t offset, int64_t stored_ms);
  // Takes back the last `n` add() calls (their batch was not stored).
  void forget_newest(size_t n);
  size_t size() const { return offsets_.size(); }

 private:
  struct Entry {
    int64_t stored_ms;
    uint64_t hash;
    uint64_t offset;
  };
  void expire(int64_t now_ms);
  bool enabled() const { return window_ms_ > 0 && max_ids_ > 0; }

  int64_t window_ms_;
  size_t max_ids_;
  std::unordered_map<uint64_t, uint64_t> offsets_;  // id hash -> offset
  std::deque<Entry> order_;                         // oldest first
};

}  // namespace eda
