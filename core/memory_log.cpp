#include "core/memory_log.h"

#include <algorithm>

namespace eda {

Status MemoryLog::append(const RecordBatch& batch) {
  for (size_t i = 0; i < batch.entries().size(); ++i) {
    const RecordBatch::Entry& e = batch.entries()[i];
    std::string_view body = batch.body(i);
    records_.push_back({e.offset, e.ts, keep(body, e.offset)});
    max_ts_ = std::max(max_ts_, e.ts);
    bytes_ += body.size();
    next_ = e.offset + 1;
  }
  return ok_status();
}

std::string_view MemoryLog::keep(std::string_view body, uint64_t offset) {
  auto open_chunk = [&](size_t capacity) {
    held_bytes_ += capacity;
    return Chunk{std::make_unique_for_overwrite<char[]>(capacity), capacity, 0, offset};
  };
  auto copy_into = [&](Chunk& chunk) {
    char* at = chunk.bytes.get() + chunk.used;
    std::copy(body.begin(), body.end(), at);
    chunk.used += body.size();
    chunk.next_offset = offset + 1;
    return std::string_view(at, body.size());
  };
  if (body.size() > kBigBodyBytes) {
    // Before the open chunk, which stays open: free_chunks() frees from the
    // front only once every record of a chunk is gone, so any order is safe.
    auto own = chunks_.insert(chunks_.empty() ? chunks_.end() : chunks_.end() - 1,
                              open_chunk(body.size()));
    return copy_into(*own);
  }
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < body.size()) {
    size_t capacity =
        chunks_.empty() ? kFirstChunkBytes : std::min(kChunkBytes, 2 * chunks_.back().capacity);
    chunks_.push_back(open_chunk(std::max(capacity, body.size())));
  }
  return copy_into(chunks_.back());
}

void MemoryLog::free_chunks() {
  uint64_t earliest = records_.empty() ? next_ : records_.front().offset;
  while (!chunks_.empty() && chunks_.front().next_offset <= earliest) {
    held_bytes_ -= chunks_.front().capacity;
    chunks_.pop_front();
  }
}

std::deque<MemoryLog::Record>::const_iterator MemoryLog::find(uint64_t offset) const {
  // Without compaction, the record is where its offset says.
  uint64_t guess = offset - std::min(offset, base_);
  if (guess < records_.size() && records_[guess].offset == offset)
    return records_.begin() + static_cast<ptrdiff_t>(guess);
  return std::lower_bound(records_.begin(), records_.end(), offset,
                          [](const Record& r, uint64_t o) { return r.offset < o; });
}

Result<uint64_t> MemoryLog::read(uint64_t offset, size_t max_records, size_t max_bytes,
                                 std::vector<StoredRecord>& out, std::string&) {
  offset = std::max(offset, base_);
  size_t bytes = 0;
  size_t taken = 0;
  for (auto it = find(offset);
       it != records_.end() && taken < max_records && (taken == 0 || bytes < max_bytes);
       ++it, ++taken) {
    out.push_back({it->offset, it->ts, it->body});
    bytes += it->body.size();
    offset = it->offset + 1;
  }
  // Nothing at or after `offset`: what compaction removed is read past.
  if (taken == 0 && max_records > 0) return std::max(offset, next_);
  return offset;
}

Result<uint64_t> MemoryLog::offset_for_time(int64_t ts) {
  auto it =
      std::find_if(records_.begin(), records_.end(), [&](const Record& r) { return r.ts >= ts; });
  return it == records_.end() ? next_ : it->offset;
}

Status MemoryLog::enforce_retention(const RetentionPolicy& policy, int64_t now_ms) {
  auto too_big = [&] { return policy.max_bytes && bytes_ > policy.max_bytes; };
  auto too_old = [&] {
    return policy.max_age_ms && records_.front().ts < now_ms - policy.max_age_ms;
  };
  // The newest record stays, so next_offset() survives retention.
  while (records_.size() > 1 && (too_big() || too_old())) {
    bytes_ -= records_.front().body.size();
    records_.pop_front();
    base_ = records_.front().offset;
  }
  free_chunks();
  return ok_status();
}

Status MemoryLog::destroy() {
  base_ = next_;
  records_.clear();
  free_chunks();
  bytes_ = 0;
  return ok_status();
}

CompactionResult MemoryLog::compact_in_place(int64_t tombstone_horizon_ms,
                                             int64_t tombstone_retention_ms) {
  LatestOffsets latest;
  for (const Record& r : records_) latest.add({r.offset, r.ts, r.body});
  CompactionResult result;
  result.records_read = records_.size();
  result.bytes_before = bytes_;
  std::erase_if(records_, [&](const Record& r) {
    if (latest.keeps({r.offset, r.ts, r.body}, tombstone_horizon_ms)) return false;
    bytes_ -= r.body.size();
    ++result.records_removed;
    return true;
  });
  // Once less than half of the memory held is live, the survivors move to
  // fresh chunks and the old ones are freed. (Copying on every pass would
  // cost a copy of the log each time a single tombstone expires.)
  if (bytes_ * 2 < held_bytes_) {
    std::deque<Chunk> old_chunks;
    old_chunks.swap(chunks_);
    held_bytes_ = 0;
    for (Record& r : records_) r.body = keep(r.body, r.offset);
  }
  result.bytes_after = bytes_;
  result.next_tombstone_expiry = latest.next_tombstone_expiry(tombstone_retention_ms);
  return result;
}

}  // namespace eda
