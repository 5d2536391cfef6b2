// A topic log in segment files under one directory (docs/STORAGE.md).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/file.h"
#include "core/group_commit.h"
#include "core/segment.h"
#include "core/topic_log.h"

namespace eda {

struct DiskLogOptions {
  uint64_t segment_bytes = 64u << 20;
  bool writable = true;            // false: read what is there (replay --data), change nothing
  SyncTracker* tracker = nullptr;  // told of every write, for group commit
};

class DiskLog : public TopicLog {
 public:
  // A new topic: creates `dir` and its first segment.
  static Result<std::unique_ptr<DiskLog>> create(FileSystem& fs, const std::string& dir,
                                                 const DiskLogOptions& options);
  // An existing topic: opens its segments and recovers the last one (see
  // Segment::recover); `notes` gets a line for anything cut or repaired.
  static Result<std::unique_ptr<DiskLog>> open(FileSystem& fs, const std::string& dir,
                                               const DiskLogOptions& options,
                                               std::vector<std::string>& notes);

  uint64_t earliest_offset() const override { return segments_.begin()->first; }
  uint64_t next_offset() const override { return active().next_offset(); }
  uint64_t bytes() const override { return bytes_; }
  Status append(const RecordBatch& batch) override;
  Result<uint64_t> read(uint64_t offset, size_t max_records, size_t max_bytes,
                        std::vector<StoredRecord>& out, std::string& skipped) override;
  Result<uint64_t> offset_for_time(int64_t ts) override;
  Status enforce_retention(const RetentionPolicy& policy, int64_t now_ms) override;
  int64_t last_ts() const override;
  Status checkpoint() override;
  Status destroy() override;

  std::vector<SealedSegment> sealed_segments() const override;
  Status replace_segments(const CompactedFile& file) override;

  size_t segment_count() const { return segments_.size(); }

 private:
  DiskLog(FileSystem& fs, std::string dir, DiskLogOptions options);
  Segment& active() const { return *segments_.rbegin()->second; }
  Status roll();

  FileSystem& fs_;
  std::string dir_;
  DiskLogOptions options_;
  std::map<uint64_t, std::unique_ptr<Segment>> segments_;  // by base offset
  uint64_t bytes_ = 0;
  mutable std::optional<int64_t> last_ts_;  // unknown until asked
  std::string buffer_;                      // read buffer; returned views point into it
};

}  // namespace eda
