// The ids a topic stored recently, so that a publisher's retry (same ids) is
// stored once (DESIGN §5, duplicate detection). Bounded by a time window and
// by a number of ids, whichever is reached first.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
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
  size_t size() const { return offsets_.size(); }

 private:
  void expire(int64_t now_ms);

  int64_t window_ms_;
  size_t max_ids_;
  std::unordered_map<std::string, uint64_t> offsets_;
  std::deque<std::pair<int64_t, std::string>> order_;  // (stored at, id), oldest first
};

}  // namespace eda
