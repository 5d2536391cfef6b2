// A topic log kept in memory (broker --memory): records as msgpack bodies.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>

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
  // Memory the bodies hold, whole chunks counted: what retention and
  // compaction give back, where bytes() counts the bodies alone.
  uint64_t held_bytes() const { return held_bytes_; }

 private:
  struct Record {
    uint64_t offset;  // ascending; consecutive until compaction removes some
    int64_t ts;
    std::string_view body;  // in one of chunks_
  };
  // Bodies are packed into chunks, so storing a record allocates nothing. A
  // log's first chunk is small (a quiet topic holds little), and each next one
  // twice the last, up to kChunkBytes. A body over kBigBodyBytes gets a chunk
  // of its own size, so it wastes no chunk's tail. A chunk is freed once
  // retention has removed every record in it.
  struct Chunk {
    std::unique_ptr<char[]> bytes;
    size_t capacity;
    size_t used;
    uint64_t next_offset;  // after the last record stored in it
  };
  static constexpr size_t kFirstChunkBytes = size_t{16} << 10;
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  static constexpr size_t kBigBodyBytes = kChunkBytes / 4;

  // The first record at or after `offset`.
  std::deque<Record>::const_iterator find(uint64_t offset) const;
  // Copies `body` into a chunk (see Chunk) and returns where it now is.
  std::string_view keep(std::string_view body, uint64_t offset);
  // Frees the chunks before the one holding the earliest record.
  void free_chunks();

  std::deque<Record> records_;
  std::deque<Chunk> chunks_;
  uint64_t base_ = 0;  // earliest offset
  uint64_t next_ = 0;
  uint64_t bytes_ = 0;
  uint64_t held_bytes_ = 0;
  int64_t max_ts_ = 0;
};

}  // namespace eda
