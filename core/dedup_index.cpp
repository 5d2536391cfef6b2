#include "core/dedup_index.h"

#include <functional>

namespace eda {
namespace {
uint64_t hash_id(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}
}  // namespace

void DedupIndex::expire(int64_t now_ms) {
  while (!order_.empty() &&
         (order_.front().stored_ms < now_ms - window_ms_ || order_.size() > max_ids_)) {
    const Entry& e = order_.front();
    // An id stored again later maps to its newer offset; only forget the entry that is current.
    if (auto it = offsets_.find(e.hash); it != offsets_.end() && it->second == e.offset)
      offsets_.erase(it);
    order_.pop_front();
  }
}

std::optional<uint64_t> DedupIndex::find(std::string_view id, int64_t now_ms) {
  if (!enabled() || id.empty()) return std::nullopt;
  expire(now_ms);
  auto it = offsets_.find(hash_id(id));
  if (it == offsets_.end()) return std::nullopt;
  return it->second;
}

void DedupIndex::add(std::string_view id, uint64_t offset, int64_t stored_ms) {
  if (!enabled() || id.empty()) return;
  uint64_t hash = hash_id(id);
  offsets_[hash] = offset;
  order_.push_back({stored_ms, hash, offset});
  expire(stored_ms);
}

void DedupIndex::forget_newest(size_t n) {
  for (; n > 0 && !order_.empty(); --n) {
    if (auto it = offsets_.find(order_.back().hash);
        it != offsets_.end() && it->second == order_.back().offset)
      offsets_.erase(it);
    order_.pop_back();
  }
}

}  // namespace eda
