// A topic log kept in memory (broker --memory): records as msgpack bodies.
#pragma once

#include <deque>
#include <string>

#include "core/topic_log.h"

namespace eda {

class MemoryLog : public TopicLog {
 public:
  uint64_t earliest_offset() const override { return base_; }
  uint64_t next_offset() const override { return next_; }
  uint64_t bytes() const override { return bytes_; }
  Status append(const RecordBatch& batch) override;
  Result<uint64_t> read(uint64_t offset, size_t max_records, size_t max_bytes,
                        std::vector<StoredRecord>& out, std::string& skipped) override;
  Result<uint64_t> offset_for_time(int64_t ts) override;
  Status enforce_retention(const RetentionPolicy& policy, int64_t now_ms) override;
  int64_t last_ts() const override { return max_ts_; }
  Status checkpoint() override { return ok_status(); }
  Status destroy() override;
  CompactionResult compact_in_place(int64_t tombstone_horizon_ms,
                                    int64_t tombstone_retention_ms) override;

 private:
  struct Record {
    uint64_t offset;  // ascending; consecutive until compaction removes some
    int64_t ts;
    std::string body;
  };
  // The first record at or after `offset`.
  std::deque<Record>::const_iterator find(uint64_t offset) const;

  std::deque<Record> records_;
  uint64_t base_ = 0;  // earliest offset
  uint64_t next_ = 0;
  uint64_t bytes_ = 0;
  int64_t max_ts_ = 0;
};

}  // namespace eda
