#include "core/disk_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/log.h"
#include "core/log_format.h"

namespace eda {

namespace lf = log_format;

DiskLog::DiskLog(FileSystem& fs, std::string dir, DiskLogOptions options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

Result<std::unique_ptr<DiskLog>> DiskLog::create(FileSystem& fs, const std::string& dir,
                                                 const DiskLogOptions& options) {
  if (Status s = fs.create_dirs(dir); !s) return s.error();
  std::unique_ptr<DiskLog> log(new DiskLog(fs, dir, options));
  auto segment = Segment::create(fs, dir, 0);
  if (!segment) return segment.error();
  log->bytes_ = (*segment)->size();
  if (options.tracker) {
    options.tracker->written((*segment)->file());
    options.tracker->changed_dir(dir);
    options.tracker->changed_dir(dir.substr(0, dir.rfind('/')));
  }
  log->segments_.emplace(0, std::move(*segment));
  return log;
}

Result<std::unique_ptr<DiskLog>> DiskLog::open(FileSystem& fs, const std::string& dir,
                                               const DiskLogOptions& options,
                                               std::vector<std::string>& notes) {
  auto names = fs.list(dir);
  if (!names) return names.error();
  std::vector<uint64_t> bases;
  for (const std::string& name : *names) {
    if (!name.ends_with(lf::kSegmentSuffix)) continue;
    uint64_t base = 0;
    auto stem = std::string_view(name).substr(0, name.size() - lf::kSegmentSuffix.size());
    if (stem.size() != 20) continue;  // segment names are exactly 20 digits
    auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), base);
    if (ec == std::errc() && end == stem.data() + stem.size()) bases.push_back(base);
  }
  if (bases.empty()) {
    if (!options.writable) return runtime_error(fmt::format("{} holds no segments", dir));
    notes.push_back(fmt::format("{}: no segments found; starting the topic empty", dir));
    return create(fs, dir, options);
  }
  std::sort(bases.begin(), bases.end());
  if (options.writable) remove_compaction_debris(fs, dir);
  std::unique_ptr<DiskLog> log(new DiskLog(fs, dir, options));
  for (size_t i = 0; i + 1 < bases.size(); ++i) {
    auto s = Segment::open_sealed(fs, dir, bases[i], bases[i + 1]);
    if (!s) return s.error();
    log->bytes_ += (*s)->size();
    log->segments_.emplace(bases[i], std::move(*s));
  }
  uint64_t cut = 0;
  auto last = Segment::recover(fs, dir, bases.back(), options.writable, cut);
  if (!last) return last.error();
  if (cut > 0)
    notes.push_back(fmt::format("{}: {} {} bytes of a torn or corrupt tail at offset {}",
                                (*last)->path(), options.writable ? "cut" : "ignoring", cut,
                                (*last)->next_offset()));
  log->bytes_ += (*last)->size();
  log->segments_.emplace(bases.back(), std::move(*last));
  return log;
}

Status DiskLog::roll() {
  if (Status s = active().write_indexes(); !s)
    log_info("{}: could not write its index ({}); it will be rebuilt when needed", active().path(),
             s.error().message);
  auto segment = Segment::create(fs_, dir_, next_offset());
  if (!segment) return segment.error();
  if (options_.tracker) options_.tracker->changed_dir(dir_);
  bytes_ += (*segment)->size();
  segments_.emplace((*segment)->base(), std::move(*segment));
  return ok_status();
}

Status DiskLog::append(const RecordBatch& batch) {
  if (!options_.writable) return runtime_error(fmt::format("{} is open read-only", dir_));
  if (active().next_offset() > active().base() &&
      active().size() + batch.data().size() > options_.segment_bytes)
    if (Status s = roll(); !s) return s;
  uint64_t before = active().size();
  if (Status s = active().append(batch); !s) return s;
  bytes_ += active().size() - before;
  if (last_ts_)
    for (const auto& e : batch.entries()) last_ts_ = std::max(*last_ts_, e.ts);
  if (options_.tracker) options_.tracker->written(active().file());
  return ok_status();
}

Result<uint64_t> DiskLog::read(uint64_t offset, size_t max_records, size_t max_bytes,
                               std::vector<StoredRecord>& out, std::string& skipped) {
  offset = std::max(offset, earliest_offset());
  if (offset >= next_offset()) return offset;
  auto it = std::prev(segments_.upper_bound(offset));
  Segment& segment = *it->second;
  size_t before = out.size();
  Status s = segment.read(offset, max_records, max_bytes, buffer_, out);
  if (!s) {
    // Never deliver a corrupt record: deliver what precedes it, skip the rest of the segment.
    uint64_t bad = out.size() > before ? out.back().offset + 1 : offset;
    uint64_t resume = segment.next_offset();
    skipped = fmt::format("{}; skipping offsets {}..{}", s.error().message, bad, resume - 1);
    log_error("{}", skipped);
    return resume;
  }
  if (out.size() > before) return out.back().offset + 1;
  return max_records == 0 ? offset : segment.next_offset();
}

Result<uint64_t> DiskLog::offset_for_time(int64_t ts) {
  for (auto& [base, segment] : segments_) {
    auto max = segment->max_ts();
    if (!max) return max.error();
    if (*max >= ts) return segment->offset_for_time(ts);
  }
  return next_offset();
}

Status DiskLog::enforce_retention(const RetentionPolicy& policy, int64_t now_ms) {
  if (!options_.writable) return ok_status();
  while (segments_.size() > 1) {
    Segment& oldest = *segments_.begin()->second;
    bool too_big = policy.max_bytes && bytes_ > policy.max_bytes;
    bool too_old = false;
    if (policy.max_age_ms) {
      auto max = oldest.max_ts();
      too_old = max && *max < now_ms - policy.max_age_ms;
    }
    if (!too_big && !too_old) break;
    uint64_t size = oldest.size();
    if (Status s = oldest.remove_files(); !s) return s;
    log_debug("{}: removed by retention ({})", oldest.path(), too_big ? "size" : "age");
    bytes_ -= size;
    segments_.erase(segments_.begin());
  }
  return ok_status();
}

int64_t DiskLog::last_ts() const {
  // The newest ts may sit in any segment (publishers set it); computed when
  // first asked, since it means reading every segment's index.
  if (!last_ts_) {
    int64_t newest = 0;
    for (const auto& [base, segment] : segments_)
      if (auto ts = segment->max_ts()) newest = std::max(newest, *ts);
    last_ts_ = newest;
  }
  return *last_ts_;
}

Status DiskLog::checkpoint() {
  if (!options_.writable) return ok_status();
  return active().write_indexes();
}

std::vector<SealedSegment> DiskLog::sealed_segments() const {
  std::vector<SealedSegment> sealed;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it)
    sealed.push_back({it->first, std::next(it)->first, it->second->size()});
  return sealed;
}

Status DiskLog::replace_segments(const CompactedFile& file) {
  // Each replaced segment must still be there, sealed, and end where the file does.
  bool current = !file.replaces.empty() && file.replaces.front() == file.base;
  for (size_t i = 0; current && i < file.replaces.size(); ++i) {
    auto it = segments_.find(file.replaces[i]);
    current = it != segments_.end() && std::next(it) != segments_.end() &&
              (i + 1 < file.replaces.size() ? std::next(it)->first == file.replaces[i + 1]
                                            : std::next(it)->first == file.end);
  }
  if (!options_.writable || !current) {
    (void)fs_.remove(file.path);
    return runtime_error(fmt::format("{}: the segments it replaces changed; not used", file.path));
  }
  // Crash-safe order: the merged file first takes the first segment's name,
  // durably (reads of it stop at the next segment's base, so until the others
  // are gone they still serve their offsets); only then do the others go.
  // The merged file's index is built from it when first needed.
  (void)fs_.remove(fmt::format("{}/{}{}", dir_, segment_name(file.base), lf::kIndexSuffix));
  if (Status s = fs_.rename(file.path, segments_.at(file.base)->path()); !s) {
    (void)fs_.remove(file.path);
    return s;
  }
  if (Status s = fs_.sync_dir(dir_); !s) return s;
  for (size_t i = 1; i < file.replaces.size(); ++i)
    if (Status s = segments_.at(file.replaces[i])->remove_files(); !s) return s;
  if (Status s = fs_.sync_dir(dir_); !s) return s;
  auto merged = Segment::open_sealed(fs_, dir_, file.base, file.end);
  if (!merged) return merged.error();
  for (uint64_t base : file.replaces) {
    bytes_ -= segments_.at(base)->size();
    segments_.erase(base);
  }
  bytes_ += (*merged)->size();
  last_ts_.reset();  // the newest ts may have been compacted away
  segments_.emplace(file.base, std::move(*merged));
  return ok_status();
}

Status DiskLog::destroy() {
  segments_.clear();
  return fs_.remove_all(dir_);
}

}  // namespace eda
