#include "core/memory_log.h"

#include <algorithm>

namespace eda {

Status MemoryLog::append(const RecordBatch& batch) {
  for (size_t i = 0; i < batch.entries().size(); ++i) {
    std::string_view body = batch.body(i);
    records_.push_back({batch.entries()[i].ts, std::string(body)});
    max_ts_ = std::max(max_ts_, batch.entries()[i].ts);
    bytes_ += body.size();
  }
  return ok_status();
}

Result<uint64_t> MemoryLog::read(uint64_t offset, size_t max_records, size_t max_bytes,
                                 std::vector<StoredRecord>& out, std::string&) {
  offset = std::max(offset, base_);
  size_t bytes = 0;
  size_t taken = 0;
  for (; offset < next_offset() && taken < max_records && (taken == 0 || bytes < max_bytes);
       ++offset, ++taken) {
    const Record& r = records_[offset - base_];
    out.push_back({offset, r.ts, r.body});
    bytes += r.body.size();
  }
  return offset;
}

Result<uint64_t> MemoryLog::offset_for_time(int64_t ts) {
  auto it =
      std::find_if(records_.begin(), records_.end(), [&](const Record& r) { return r.ts >= ts; });
  return base_ + static_cast<uint64_t>(it - records_.begin());
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
    ++base_;
  }
  return ok_status();
}

Status MemoryLog::destroy() {
  base_ = next_offset();
  records_.clear();
  bytes_ = 0;
  return ok_status();
}

}  // namespace eda
