#include "core/dedup_index.h"

namespace eda {

void DedupIndex::expire(int64_t now_ms) {
  while (!order_.empty() &&
         (order_.front().first < now_ms - window_ms_ || order_.size() > max_ids_)) {
    auto it = offsets_.find(order_.front().second);
    // A re-added id has a newer entry later in order_; only the newest one maps.
    if (it != offsets_.end()) offsets_.erase(it);
    order_.pop_front();
  }
}

std::optional<uint64_t> DedupIndex::find(std::string_view id, int64_t now_ms) {
  if (window_ms_ <= 0 || max_ids_ == 0) return std::nullopt;
  expire(now_ms);
  auto it = offsets_.find(std::string(id));
  if (it == offsets_.end()) return std::nullopt;
  return it->second;
}

void DedupIndex::add(std::string_view id, uint64_t offset, int64_t stored_ms) {
  if (window_ms_ <= 0 || max_ids_ == 0 || id.empty()) return;
  offsets_[std::string(id)] = offset;
  order_.emplace_back(stored_ms, std::string(id));
  expire(stored_ms);
}

}  // namespace eda
