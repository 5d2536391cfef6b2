// One topic's log: in memory (MemoryLog) or in segment files (DiskLog).
// Offsets run from the earliest retained one to next_offset() - 1, without
// gaps except where a compacted topic's compaction removed records.
// Not thread-safe: the broker's loop thread owns every log.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/compaction.h"
#include "core/position.h"
#include "core/record_batch.h"
#include "core/result.h"
#include "core/segment.h"

namespace eda {

struct RetentionPolicy {
  uint64_t max_bytes = 0;  // 0: no limit
  int64_t max_age_ms = 0;  // 0: no limit
};

class TopicLog {
 public:
  virtual ~TopicLog() = default;
  virtual uint64_t earliest_offset() const = 0;
  virtual uint64_t next_offset() const = 0;
  virtual uint64_t bytes() const = 0;

  // Appends a batch whose first offset is next_offset(). All or nothing.
  virtual Status append(const RecordBatch& batch) = 0;

  // Appends records from `offset` on (at least one if any is there) within
  // the limits. Views stay valid until the next call on this log. Returns
  // the offset to read next: past the last record returned, or past records
  // that could not be read (corruption; the reason is in `skipped`).
  virtual Result<uint64_t> read(uint64_t offset, size_t max_records, size_t max_bytes,
                                std::vector<StoredRecord>& out, std::string& skipped) = 0;

  // The first offset whose record has ts >= `ts`, or next_offset().
  virtual Result<uint64_t> offset_for_time(int64_t ts) = 0;

  // Drops the oldest data beyond the policy (whole segments on disk).
  virtual Status enforce_retention(const RetentionPolicy& policy, int64_t now_ms) = 0;

  // Largest ts stored, or 0 when empty.
  virtual int64_t last_ts() const = 0;

  // Persists what helps the next start (index files); the log stays usable.
  virtual Status checkpoint() = 0;

  // Deletes all of the topic's data; the log is not used afterwards.
  virtual Status destroy() = 0;

  // --- compacted topics (core/compaction.h) ---
  // The segments a Compactor may rewrite meanwhile: every one but the one
  // appended to. None for a log not kept in files.
  virtual std::vector<SealedSegment> sealed_segments() const { return {}; }
  // Puts `file` (written by compact_segments) in place of the segments it
  // replaces. When they changed meanwhile, removes the file and fails.
  virtual Status replace_segments(const CompactedFile& file);
  // Compacts the whole log on this thread: how a log not in files compacts
  // (a log in files does nothing here; it uses a Compactor).
  virtual CompactionResult compact_in_place(int64_t /*tombstone_horizon_ms*/,
                                            int64_t /*tombstone_retention_ms*/) {
    return {};
  }
};

// Accepts the records a reader wants (a subscription's filter).
using RecordFilter = std::function<bool(const StoredRecord&)>;

// The offset a read from `p` starts at, when records below `end` may be read.
// With `wanted`, "the last N" counts only records it accepts: the log is read
// backwards from `end` until N are found.
uint64_t resolve_position(TopicLog& log, const Position& p, uint64_t end,
                          const RecordFilter& wanted = {});

}  // namespace eda
