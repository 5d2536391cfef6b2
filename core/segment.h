// One segment file of a topic's log, with its sparse offset and time index
// (docs/STORAGE.md). Only the last segment of a topic is appended to.
//
// Not thread-safe: the broker's loop thread owns every segment. The File is
// shared so the group-commit syncer can fdatasync it meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/record_batch.h"
#include "core/record_frame.h"
#include "core/result.h"

namespace eda {

struct StoredRecord {
  uint64_t offset;
  int64_t ts;
  std::string_view body;  // msgpack envelope; valid until the next read from the same log
};

class Segment {
 public:
  // A new, empty segment (header only) in `dir`. Fails if it exists.
  static Result<std::unique_ptr<Segment>> create(FileSystem& fs, const std::string& dir,
                                                 uint64_t base);

  // Opens the last segment of a topic and checks every record. With
  // `writable`, a torn or corrupt tail is cut off and `bytes_cut` says how much;
  // read-only, reading just stops before it. Indexes are rebuilt from the scan.
  static Result<std::unique_ptr<Segment>> recover(FileSystem& fs, const std::string& dir,
                                                  uint64_t base, bool writable,
                                                  uint64_t& bytes_cut);

  // Opens a sealed segment whose records end before `end_offset` (the next
  // segment's base). Reads only the header now; indexes load on first use.
  static Result<std::unique_ptr<Segment>> open_sealed(FileSystem& fs, const std::string& dir,
                                                      uint64_t base, uint64_t end_offset);

  uint64_t base() const { return base_; }
  uint64_t next_offset() const { return next_offset_; }
  uint64_t size() const { return file_->size(); }
  const std::string& path() const { return path_; }
  std::shared_ptr<File> file() const { return file_; }

  // Appends a batch whose first offset is next_offset(). On a failed write
  // the file is cut back to its previous size and nothing changes.
  Status append(const RecordBatch& batch);

  // Appends records from `offset` on, within the limits (at least one record
  // if any is there), to `out`. Views point into `buffer`. A corrupt record
  // gives a kCorruption error naming the segment and position; the records
  // before it are still appended.
  Status read(uint64_t offset, size_t max_records, size_t max_bytes, std::string& buffer,
              std::vector<StoredRecord>& out);

  // The first offset whose record has ts >= `ts`, or next_offset().
  Result<uint64_t> offset_for_time(int64_t ts);

  // Newest ts in the segment (0 when empty), for retention by age.
  Result<int64_t> max_ts();

  // Persists the index files (when the segment is sealed, or at shutdown).
  Status write_indexes();

  // Deletes the segment's files.
  Status remove_files();

 private:
  struct IndexEntry {
    uint32_t relative_offset;
    uint32_t position;
    int64_t max_ts;  // largest ts up to and including this record
  };

  Segment(FileSystem& fs, std::string dir, uint64_t base, std::shared_ptr<File> file);
  Status check_header();
  // A frame this segment may hold: a record, or a gap when it is compacted.
  bool readable(const Frame& f) const {
    return f.status == FrameStatus::kOk || (compacted_ && f.status == FrameStatus::kGap);
  }
  // How many offsets a readable frame stands for.
  static uint64_t offsets_in(const Frame& f) { return f.status == FrameStatus::kGap ? f.gap : 1; }
  // Scans records from the header on, rebuilding the index; stops at the
  // first bad record and returns its position (the valid end).
  Result<uint64_t> scan_all();
  Status ensure_indexes();
  bool load_indexes();
  void index_record(uint64_t offset, int64_t ts, uint64_t position);
  // File position of the last indexed record at or before `offset`, and its offset.
  std::pair<uint64_t, uint64_t> seek(uint64_t offset) const;
  std::string index_path() const;

  FileSystem& fs_;
  std::string dir_;
  std::string path_;
  uint64_t base_;
  uint64_t next_offset_;
  std::shared_ptr<File> file_;
  bool indexes_ready_ = false;
  bool writable_ = false;
  bool compacted_ = false;   // format version 2: written by compaction, may hold gap frames
  bool unwritable_ = false;  // a failed write could not be cut back: refuse appends
  std::vector<IndexEntry> index_;
  uint64_t last_indexed_position_ = 0;
  int64_t max_ts_ = 0;
  // Where the previous read ended, so a sequential reader does not seek.
  uint64_t cached_offset_ = UINT64_MAX;
  uint64_t cached_position_ = 0;
};

// The 32-byte header of a segment file with base offset `base`.
std::string segment_header(uint64_t base, uint32_t version);

// "00000000000000001234" for base 1234.
std::string segment_name(uint64_t base);

}  // namespace eda
