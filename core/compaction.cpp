#include "core/compaction.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>

#include "core/log_format.h"
#include "core/record_frame.h"

namespace eda {

namespace lf = log_format;

void LatestOffsets::add(const StoredRecord& r) {
  auto v = viewer_.view(r.body);
  if (!v || !v->key) return;
  auto it = latest_.find(*v->key);
  if (it == latest_.end())
    latest_.emplace(std::string(*v->key), r.offset);
  else
    it->second = std::max(it->second, r.offset);
}

bool LatestOffsets::keeps(const StoredRecord& r, int64_t tombstone_horizon_ms) {
  auto v = viewer_.view(r.body);
  if (!v || !v->key) return true;
  auto it = latest_.find(*v->key);
  if (it != latest_.end() && it->second != r.offset) return false;
  if (!is_tombstone(*v)) return true;
  if (v->ts < tombstone_horizon_ms) return false;
  oldest_kept_tombstone_ = std::min(oldest_kept_tombstone_.value_or(v->ts), v->ts);
  return true;
}

std::optional<int64_t> LatestOffsets::next_tombstone_expiry(int64_t retention_ms) const {
  // A ts or retention so large that the sum overflows expires never.
  if (!oldest_kept_tombstone_ || *oldest_kept_tombstone_ > INT64_MAX - retention_ms - 1)
    return std::nullopt;
  return *oldest_kept_tombstone_ + retention_ms + 1;
}

namespace {

constexpr size_t kReadRecords = 4096;
constexpr size_t kReadBytes = 4u << 20;
constexpr size_t kFlushBytes = 1u << 20;

Error cancelled() {
  return runtime_error("compaction stopped");
}

// Calls `each` for every record of `segment`, oldest first.
Status for_each_record(FileSystem& fs, const std::string& dir, const SealedSegment& segment,
                       const std::atomic<bool>& cancel,
                       const std::function<void(const StoredRecord&)>& each) {
  auto opened = Segment::open_sealed(fs, dir, segment.base, segment.end);
  if (!opened) return opened.error();
  std::string buffer;
  std::vector<StoredRecord> records;
  for (uint64_t offset = segment.base; offset < segment.end;) {
    if (cancel.load()) return cancelled();
    records.clear();
    if (Status s = (*opened)->read(offset, kReadRecords, kReadBytes, buffer, records); !s) return s;
    if (records.empty()) break;  // the rest is a gap
    for (const StoredRecord& r : records) each(r);
    offset = records.back().offset + 1;
  }
  return ok_status();
}

// Writes one compacted segment file: a version-2 header, the kept records,
// and gap frames for the offsets between them.
class CompactedWriter {
 public:
  static Result<CompactedWriter> start(FileSystem& fs, const std::string& dir, uint64_t base) {
    std::string path =
        fmt::format("{}/{}{}{}", dir, segment_name(base), lf::kSegmentSuffix, lf::kCompactedSuffix);
    (void)fs.remove(path);  // debris of a pass that stopped
    auto file = fs.open(path, OpenMode::kCreate);
    if (!file) return file.error();
    CompactedWriter w(std::move(*file), std::move(path), base);
    w.pending_ = segment_header(base, lf::kCompactedVersion);
    return w;
  }

  Status add(const StoredRecord& r) {
    skip_to(r.offset);
    append_frame(pending_, r.ts, r.body);
    next_ = r.offset + 1;
    return pending_.size() >= kFlushBytes ? flush() : ok_status();
  }

  // Covers the offsets up to `end` and makes the file durable.
  Status finish(uint64_t end) {
    skip_to(end);
    if (Status s = flush(); !s) return s;
    return file_->sync();
  }

  uint64_t size() const { return file_->size() + pending_.size(); }
  const std::string& path() const { return path_; }

 private:
  CompactedWriter(std::unique_ptr<File> file, std::string path, uint64_t base)
      : file_(std::move(file)), path_(std::move(path)), next_(base) {}
  void skip_to(uint64_t offset) {
    if (offset > next_) append_gap_frame(pending_, offset - next_);
    next_ = std::max(next_, offset);
  }
  Status flush() {
    Status s = file_->append(pending_);
    pending_.clear();
    return s;
  }

  std::unique_ptr<File> file_;
  std::string path_;
  uint64_t next_;
  std::string pending_;
};

// One output file being written and the input segments it replaces.
struct OutputGroup {
  CompactedWriter writer;
  CompactedFile file;
  uint64_t removed = 0;
  uint64_t bytes_before = 0;
};

// Whether the next segment joins a group that starts at `base` and has
// written `size` bytes: while the group is under half the target, and the
// merged file stays within what a segment's u32 relative offsets and
// positions can address.
bool fits_in_group(uint64_t base, uint64_t size, const SealedSegment& next, uint64_t target) {
  return size < target / 2 && next.end - base <= UINT32_MAX &&
         size + next.bytes <= lf::kMaxSegmentBytes;
}

Result<uint64_t> segment_size(FileSystem& fs, const std::string& dir, uint64_t base) {
  auto file = fs.open(fmt::format("{}/{}{}", dir, segment_name(base), lf::kSegmentSuffix),
                      OpenMode::kReadOnly);
  if (!file) return file.error();
  return (*file)->size();
}

}  // namespace

Result<CompactionResult> compact_segments(FileSystem& fs, const CompactionJob& job,
                                          const std::atomic<bool>& cancel) {
  auto started = std::chrono::steady_clock::now();
  LatestOffsets latest;
  for (const SealedSegment& segment : job.segments)
    if (Status s = for_each_record(fs, job.dir, segment, cancel,
                                   [&](const StoredRecord& r) { latest.add(r); });
        !s)
      return s.error();

  CompactionResult result;
  std::optional<OutputGroup> group;
  auto abandon = [&](Error e) -> Result<CompactionResult> {
    if (group) (void)fs.remove(group->writer.path());
    for (const CompactedFile& f : result.files) (void)fs.remove(f.path);
    return e;
  };
  for (size_t i = 0; i < job.segments.size(); ++i) {
    const SealedSegment& segment = job.segments[i];
    if (!group) {
      auto writer = CompactedWriter::start(fs, job.dir, segment.base);
      if (!writer) return abandon(writer.error());
      group.emplace(OutputGroup{std::move(*writer), {segment.base, 0, {}, {}}});
    }
    auto before = segment_size(fs, job.dir, segment.base);
    if (!before) return abandon(before.error());
    group->bytes_before += *before;
    group->file.replaces.push_back(segment.base);
    Status written = ok_status();
    Status read = for_each_record(fs, job.dir, segment, cancel, [&](const StoredRecord& r) {
      ++result.records_read;
      if (!latest.keeps(r, job.tombstone_horizon_ms))
        ++group->removed;
      else if (written)
        written = group->writer.add(r);
    });
    if (!read) return abandon(read.error());
    if (!written) return abandon(written.error());

    if (i + 1 < job.segments.size() && fits_in_group(group->file.base, group->writer.size(),
                                                     job.segments[i + 1], job.target_bytes))
      continue;
    if (group->file.replaces.size() == 1 && group->removed == 0) {
      (void)fs.remove(group->writer.path());  // it would come out as it is
    } else {
      if (Status s = group->writer.finish(segment.end); !s) return abandon(s.error());
      group->file.end = segment.end;
      group->file.path = group->writer.path();
      result.records_removed += group->removed;
      result.bytes_before += group->bytes_before;
      result.bytes_after += group->writer.size();
      result.files.push_back(std::move(group->file));
    }
    group.reset();
  }
  result.next_tombstone_expiry = latest.next_tombstone_expiry(job.tombstone_retention_ms);
  result.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
  return result;
}

void remove_compaction_debris(FileSystem& fs, const std::string& dir) {
  auto names = fs.list(dir);
  if (!names) return;
  for (const std::string& name : *names)
    if (name.ends_with(lf::kCompactedSuffix)) (void)fs.remove(dir + "/" + name);
}

}  // namespace eda
