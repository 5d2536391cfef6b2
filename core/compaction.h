// Compaction of a compacted topic (docs/STORAGE.md "Compacted topics"): the
// log keeps at least the newest record of every key, and a tombstone until
// it is older than the tombstone retention. Offsets are never renumbered: a
// rewritten segment stands for the removed offsets with gap frames.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/envelope_view.h"
#include "core/file.h"
#include "core/segment.h"

namespace eda {

inline constexpr int64_t kDefaultTombstoneRetentionMs = 24 * 3600 * 1000;

// The newest offset of each key among the records shown to it.
class LatestOffsets {
 public:
  // Records without a key are kept by compaction, so they are not noted;
  // nor are unreadable ones.
  void add(const StoredRecord& r);
  // Whether compaction keeps `r`: it has no key, or it is its key's newest
  // record and not a tombstone published before `tombstone_horizon_ms`.
  bool keeps(const StoredRecord& r, int64_t tombstone_horizon_ms);
  // When the oldest tombstone keeps() kept may go: its ts + `retention` + 1
  // (a pass then finds it older than its horizon); none when it kept none.
  std::optional<int64_t> next_tombstone_expiry(int64_t retention_ms) const;
  size_t keys() const { return latest_.size(); }

 private:
  // Looked up by the string_view of a viewed key, without copying it.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  EnvelopeViewer viewer_;
  std::unordered_map<std::string, uint64_t, KeyHash, std::equal_to<>> latest_;
  std::optional<int64_t> oldest_kept_tombstone_;  // its ts
};

// A sealed segment: offsets [base, end).
struct SealedSegment {
  uint64_t base = 0;
  uint64_t end = 0;
  uint64_t bytes = 0;  // its file's size
};

// One pass over a topic's sealed segments, run on the compactor's thread.
struct CompactionJob {
  std::string dir;                      // the topic's directory
  std::vector<SealedSegment> segments;  // consecutive, oldest first
  int64_t tombstone_horizon_ms = 0;     // tombstones older than this go
  int64_t tombstone_retention_ms = 0;   // for CompactionResult::next_tombstone_expiry
  uint64_t target_bytes = 64u << 20;    // about how large a merged output may grow
};

// A new segment file that replaces segments [base, end) of the job.
struct CompactedFile {
  uint64_t base = 0;
  uint64_t end = 0;
  std::string path;                // <base>.log.compacted, synced; rename over <base>.log to use it
  std::vector<uint64_t> replaces;  // the bases of the segments it replaces, first == base
};

struct CompactionResult {
  std::vector<CompactedFile> files;
  uint64_t records_read = 0;
  uint64_t records_removed = 0;
  uint64_t bytes_before = 0;  // of the segments replaced
  uint64_t bytes_after = 0;   // of the files replacing them
  // When a tombstone kept now may be removed: its ts + tombstone retention.
  std::optional<int64_t> next_tombstone_expiry;
  int64_t elapsed_ms = 0;  // how long the pass took
};

// Reads the job's segments twice — once to find each key's newest offset,
// once to write what survives — into new files beside them, merging
// neighbours while the output stays under about target_bytes. A segment
// that would come out unchanged is not replaced. `cancel` stops it early
// (its files are removed). Never changes the job's segments.
Result<CompactionResult> compact_segments(FileSystem& fs, const CompactionJob& job,
                                          const std::atomic<bool>& cancel);

// Removes `<base>.log.compacted` files a stopped pass left behind.
void remove_compaction_debris(FileSystem& fs, const std::string& dir);

}  // namespace eda
