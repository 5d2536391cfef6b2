#include "core/segment.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"
#include "core/log_format.h"
#include "core/record_frame.h"

namespace eda {

namespace lf = log_format;

namespace {

constexpr size_t kReadChunk = 256 * 1024;

// Reads frames one after another from a file position. The buffer only grows
// during one reader's life, so indexes into it stay valid (views may not).
class FrameReader {
 public:
  FrameReader(const File& file, uint64_t position, std::string& buffer)
      : file_(file), start_(position), position_(position), buffer_(buffer) {
    buffer_.clear();
  }

  // The frame at position(). kIncomplete means the file ends inside it (or
  // right at it: check at_end()).
  Result<Frame> next() {
    if (Status s = fill(lf::kRecordHeaderSize); !s) return s.error();
    Frame f = check_frame(view());
    if (f.status == FrameStatus::kIncomplete && f.size > 0) {
      if (Status s = fill(f.size); !s) return s.error();
      f = check_frame(view());
    }
    return f;
  }

  void advance(const Frame& f) { position_ += f.size; }
  uint64_t position() const { return position_; }
  bool at_end() const { return position_ >= file_.size(); }
  // Index in the buffer of a byte seen through a frame's view.
  size_t index_of(const char* p) const { return static_cast<size_t>(p - buffer_.data()); }

 private:
  std::string_view view() const {
    return std::string_view(buffer_).substr(static_cast<size_t>(position_ - start_));
  }
  // Makes the buffer hold `n` bytes from position() if the file has them.
  Status fill(size_t n) {
    uint64_t have_end = start_ + buffer_.size();
    if (position_ + n <= have_end) return ok_status();
    uint64_t want_end =
        std::min<uint64_t>(file_.size(), std::max(position_ + n, have_end + kReadChunk));
    if (want_end <= have_end) return ok_status();
    size_t old = buffer_.size();
    buffer_.resize(old + (want_end - have_end));
    auto got = file_.read_at(have_end, buffer_.data() + old, want_end - have_end);
    if (!got) return got.error();
    buffer_.resize(old + *got);
    return ok_status();
  }

  const File& file_;
  uint64_t start_;
  uint64_t position_;
  std::string& buffer_;
};

}  // namespace

std::string segment_header(uint64_t base, uint32_t version) {
  std::string h(lf::kHeaderSize, '\0');
  std::memcpy(h.data(), lf::kMagic.data(), lf::kMagic.size());
  std::memcpy(h.data() + 8, &version, 4);
  std::memcpy(h.data() + 12, &base, 8);
  return h;
}

std::string segment_name(uint64_t base) {
  return fmt::format("{:020}", base);
}

Segment::Segment(FileSystem& fs, std::string dir, uint64_t base, std::shared_ptr<File> file)
    : fs_(fs),
      dir_(std::move(dir)),
      path_(fmt::format("{}/{}{}", dir_, segment_name(base), lf::kSegmentSuffix)),
      base_(base),
      next_offset_(base),
      file_(std::move(file)) {}

std::string Segment::index_path() const {
  return fmt::format("{}/{}{}", dir_, segment_name(base_), lf::kIndexSuffix);
}

Result<std::unique_ptr<Segment>> Segment::create(FileSystem& fs, const std::string& dir,
                                                 uint64_t base) {
  std::string path = fmt::format("{}/{}{}", dir, segment_name(base), lf::kSegmentSuffix);
  auto file = fs.open(path, OpenMode::kCreate);
  if (!file) return file.error();
  std::unique_ptr<Segment> s(new Segment(fs, dir, base, std::move(*file)));
  if (Status st = s->file_->append(segment_header(base, lf::kVersion)); !st) {
    (void)fs.remove(path);
    return st.error();
  }
  s->writable_ = true;
  s->indexes_ready_ = true;
  return s;
}

Status Segment::check_header() {
  char h[lf::kHeaderSize];
  auto n = file_->read_at(0, h, sizeof h);
  if (!n) return n.error();
  if (*n < lf::kHeaderSize || std::string_view(h, 8) != lf::kMagic)
    return Error{ErrorKind::kCorruption,
                 fmt::format("{} is not an edatool segment (bad header)", path_)};
  uint32_t version;
  uint64_t base;
  std::memcpy(&version, h + 8, 4);
  std::memcpy(&base, h + 12, 8);
  if (version != lf::kVersion && version != lf::kCompactedVersion)
    return Error{ErrorKind::kCorruption,
                 fmt::format("{} has format version {}; this edatool reads versions {} and {}",
                             path_, version, lf::kVersion, lf::kCompactedVersion)};
  compacted_ = version == lf::kCompactedVersion;
  if (base != base_)
    return Error{ErrorKind::kCorruption,
                 fmt::format("{} says base offset {} but is named {}", path_, base, base_)};
  return ok_status();
}

Result<std::unique_ptr<Segment>> Segment::recover(FileSystem& fs, const std::string& dir,
                                                  uint64_t base, bool writable,
                                                  uint64_t& bytes_cut) {
  std::string path = fmt::format("{}/{}{}", dir, segment_name(base), lf::kSegmentSuffix);
  auto file = fs.open(path, writable ? OpenMode::kReadWrite : OpenMode::kReadOnly);
  if (!file) return file.error();
  std::unique_ptr<Segment> s(new Segment(fs, dir, base, std::move(*file)));
  s->writable_ = writable;
  bytes_cut = 0;
  // A header torn by a crash right after the segment was created holds no records.
  if (s->file_->size() < lf::kHeaderSize) {
    bytes_cut = s->file_->size();
    s->indexes_ready_ = true;
    if (!writable) return s;  // read as empty, leave the file alone
    if (Status st = s->file_->rewrite(segment_header(base, lf::kVersion)); !st) return st.error();
  }
  if (Status st = s->check_header(); !st) return st.error();
  auto valid_end = s->scan_all();
  if (!valid_end) return valid_end.error();
  if (*valid_end < s->file_->size()) {
    bytes_cut += s->file_->size() - *valid_end;
    if (writable)
      if (Status st = s->file_->truncate(*valid_end); !st) return st.error();
  }
  return s;
}

Result<std::unique_ptr<Segment>> Segment::open_sealed(FileSystem& fs, const std::string& dir,
                                                      uint64_t base, uint64_t end_offset) {
  std::string path = fmt::format("{}/{}{}", dir, segment_name(base), lf::kSegmentSuffix);
  auto file = fs.open(path, OpenMode::kReadOnly);
  if (!file) return file.error();
  std::unique_ptr<Segment> s(new Segment(fs, dir, base, std::move(*file)));
  s->next_offset_ = end_offset;
  if (Status st = s->check_header(); !st) return st.error();
  return s;
}

void Segment::index_record(uint64_t offset, int64_t ts, uint64_t position) {
  max_ts_ = std::max(max_ts_, ts);
  if (!index_.empty() && position - last_indexed_position_ < lf::kIndexInterval) return;
  index_.push_back(
      {static_cast<uint32_t>(offset - base_), static_cast<uint32_t>(position), max_ts_});
  last_indexed_position_ = position;
}

Result<uint64_t> Segment::scan_all() {
  index_.clear();
  max_ts_ = 0;
  std::string buffer;
  FrameReader reader(*file_, lf::kHeaderSize, buffer);
  uint64_t offset = base_;
  while (!reader.at_end()) {
    auto f = reader.next();
    if (!f) return f.error();
    if (!readable(*f)) break;
    if (f->status == FrameStatus::kOk) index_record(offset, f->ts, reader.position());
    offset += offsets_in(*f);
    reader.advance(*f);
  }
  next_offset_ = offset;
  indexes_ready_ = true;
  return reader.position();
}

bool Segment::load_indexes() {
  auto file = fs_.open(index_path(), OpenMode::kReadOnly);
  if (!file) return false;
  uint64_t size = (*file)->size();
  if (size < 2 * lf::kIndexEntrySize || size % lf::kIndexEntrySize != 0) return false;
  std::string raw(size, '\0');
  auto n = (*file)->read_at(0, raw.data(), size);
  if (!n || *n != size) return false;
  // The trailer: magic, CRC-32C of the entries, and the segment's size when written.
  uint32_t magic, crc;
  uint64_t segment_size;
  const char* trailer = raw.data() + size - lf::kIndexEntrySize;
  std::memcpy(&magic, trailer, 4);
  std::memcpy(&crc, trailer + 4, 4);
  std::memcpy(&segment_size, trailer + 8, 8);
  raw.resize(size - lf::kIndexEntrySize);
  if (magic != lf::kIndexMagic || crc != crc32c(raw) || segment_size != file_->size()) return false;
  std::vector<IndexEntry> entries(raw.size() / lf::kIndexEntrySize);
  for (size_t i = 0; i < entries.size(); ++i) {
    const char* p = raw.data() + i * lf::kIndexEntrySize;
    std::memcpy(&entries[i].relative_offset, p, 4);
    std::memcpy(&entries[i].position, p + 4, 4);
    std::memcpy(&entries[i].max_ts, p + 8, 8);
    // A compacted segment may start with a gap; others start with offset base.
    bool ordered = i == 0 ? entries[0].position >= lf::kHeaderSize &&
                                (compacted_ || (entries[0].relative_offset == 0 &&
                                                entries[0].position == lf::kHeaderSize))
                          : entries[i].relative_offset > entries[i - 1].relative_offset &&
                                entries[i].position > entries[i - 1].position &&
                                entries[i].max_ts >= entries[i - 1].max_ts;
    if (!ordered) return false;
  }
  const IndexEntry& last = entries.back();
  if (base_ + last.relative_offset >= next_offset_ || last.position >= file_->size()) return false;
  // The records after the last entry must end exactly at the segment's end.
  std::string buffer;
  FrameReader reader(*file_, last.position, buffer);
  uint64_t offset = base_ + last.relative_offset;
  int64_t max_ts = last.max_ts;
  while (!reader.at_end()) {
    auto f = reader.next();
    if (!f || !readable(*f)) return false;
    if (f->status == FrameStatus::kOk) max_ts = std::max(max_ts, f->ts);
    offset += offsets_in(*f);
    reader.advance(*f);
  }
  if (offset != next_offset_) return false;
  index_ = std::move(entries);
  max_ts_ = max_ts;
  last_indexed_position_ = last.position;
  indexes_ready_ = true;
  return true;
}

Status Segment::ensure_indexes() {
  if (indexes_ready_ || load_indexes()) return ok_status();
  uint64_t expected_end = next_offset_;
  if (auto scanned = scan_all(); !scanned) return scanned.error();
  // A bad record in a sealed segment: the index covers the records before it,
  // so they stay readable; reading reaches the bad record and reports it.
  next_offset_ = expected_end;
  return ok_status();
}

std::pair<uint64_t, uint64_t> Segment::seek(uint64_t offset) const {
  auto it =
      std::upper_bound(index_.begin(), index_.end(), offset - base_,
                       [](uint64_t rel, const IndexEntry& e) { return rel < e.relative_offset; });
  if (it == index_.begin()) return {lf::kHeaderSize, base_};
  --it;
  return {it->position, base_ + it->relative_offset};
}

Status Segment::append(const RecordBatch& batch) {
  if (batch.empty()) return ok_status();
  if (unwritable_)
    return runtime_error(
        fmt::format("{} could not be repaired after a failed write; restart the broker", path_));
  uint64_t before = file_->size();
  if (Status s = file_->append(batch.data()); !s) {
    // A partial record must not stay in front of later ones.
    if (!file_->truncate(before)) unwritable_ = true;
    return s;
  }
  for (const RecordBatch::Entry& e : batch.entries())
    index_record(e.offset, e.ts, before + e.position);
  next_offset_ = batch.entries().back().offset + 1;
  return ok_status();
}

Status Segment::read(uint64_t offset, size_t max_records, size_t max_bytes, std::string& buffer,
                     std::vector<StoredRecord>& out) {
  if (offset < base_ || offset >= next_offset_) return ok_status();
  if (Status s = ensure_indexes(); !s) return s;
  auto [position, at] =
      cached_offset_ == offset ? std::pair{cached_position_, offset} : seek(offset);
  FrameReader reader(*file_, position, buffer);
  struct Found {
    uint64_t offset;
    int64_t ts;
    size_t index;
    size_t size;
  };
  std::vector<Found> found;
  size_t bytes = 0;
  Status status = ok_status();
  while (at < next_offset_ && found.size() < max_records && (found.empty() || bytes < max_bytes)) {
    auto f = reader.next();
    if (!f) {
      status = f.error();
      break;
    }
    if (!readable(*f)) {
      status = Error{ErrorKind::kCorruption,
                     fmt::format("{}: record at offset {} (position {}) is unreadable: {}", path_,
                                 at, reader.position(), frame_status_name(f->status))};
      break;
    }
    if (f->status == FrameStatus::kOk && at >= offset) {
      found.push_back({at, f->ts, reader.index_of(f->body.data()), f->body.size()});
      bytes += f->size;
    }
    reader.advance(*f);
    at += offsets_in(*f);
  }
  cached_offset_ = status ? at : UINT64_MAX;
  cached_position_ = reader.position();
  for (const Found& f : found)
    out.push_back({f.offset, f.ts, std::string_view(buffer).substr(f.index, f.size)});
  return status;
}

Result<uint64_t> Segment::offset_for_time(int64_t ts) {
  if (Status s = ensure_indexes(); !s) return s.error();
  if (index_.empty() || max_ts_ < ts) return next_offset_;
  auto it = std::lower_bound(index_.begin(), index_.end(), ts,
                             [](const IndexEntry& e, int64_t t) { return e.max_ts < t; });
  if (it != index_.begin()) --it;
  std::string buffer;
  FrameReader reader(*file_, it->position, buffer);
  for (uint64_t at = base_ + it->relative_offset; at < next_offset_;) {
    auto f = reader.next();
    if (!f) return f.error();
    if (!readable(*f)) break;
    if (f->status == FrameStatus::kOk && f->ts >= ts) return at;
    at += offsets_in(*f);
    reader.advance(*f);
  }
  return next_offset_;
}

Result<int64_t> Segment::max_ts() {
  if (Status s = ensure_indexes(); !s) return s.error();
  return max_ts_;
}

Status Segment::write_indexes() {
  if (!indexes_ready_ || index_.empty()) return ok_status();
  std::vector<IndexEntry> entries = index_;
  // End with the last record, so a loaded index knows the segment's newest ts.
  std::string buffer;
  auto [position, at] = seek(next_offset_ - 1);
  FrameReader reader(*file_, position, buffer);
  uint64_t last_offset = at, last_position = position;
  while (at < next_offset_ && !reader.at_end()) {
    auto f = reader.next();
    if (!f) return f.error();
    if (!readable(*f)) break;
    if (f->status == FrameStatus::kOk) {
      last_offset = at;
      last_position = reader.position();
    }
    at += offsets_in(*f);
    reader.advance(*f);
  }
  if (entries.back().relative_offset != last_offset - base_)
    entries.push_back({static_cast<uint32_t>(last_offset - base_),
                       static_cast<uint32_t>(last_position), max_ts_});
  std::string raw(entries.size() * lf::kIndexEntrySize, '\0');
  for (size_t i = 0; i < entries.size(); ++i) {
    char* p = raw.data() + i * lf::kIndexEntrySize;
    std::memcpy(p, &entries[i].relative_offset, 4);
    std::memcpy(p + 4, &entries[i].position, 4);
    std::memcpy(p + 8, &entries[i].max_ts, 8);
  }
  char trailer[lf::kIndexEntrySize];
  uint32_t crc = crc32c(raw);
  uint64_t segment_size = file_->size();
  std::memcpy(trailer, &lf::kIndexMagic, 4);
  std::memcpy(trailer + 4, &crc, 4);
  std::memcpy(trailer + 8, &segment_size, 8);
  raw.append(trailer, sizeof trailer);
  auto file =
      fs_.open(index_path(), fs_.exists(index_path()) ? OpenMode::kReadWrite : OpenMode::kCreate);
  if (!file) return file.error();
  return (*file)->rewrite(raw);
}

Status Segment::remove_files() {
  (void)fs_.remove(index_path());
  return fs_.remove(path_);
}

}  // namespace eda
