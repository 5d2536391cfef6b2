#include "core/disk_log.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/envelope_codec.h"
#include "core/log_format.h"
#include "core/memory_log.h"
#include "tests/fault_file_system.h"
#include "tests/temp_dir.h"

namespace eda::disk_log_test {
namespace {

namespace lf = log_format;
using testing::FaultFileSystem;

const std::string kDir = "/data/default/orders";

std::string payload_for(uint64_t offset) {
  return fmt::format("payload-{}-", offset) + std::string(40 + (offset * 29) % 300, 'q');
}

Envelope envelope(uint64_t offset, int64_t ts) {
  Envelope e;
  e.id = fmt::format("id-{:08}", offset);
  e.topic = "orders";
  e.ts = ts;
  e.payload = payload_for(offset);
  e.offset = offset;
  return e;
}

int64_t default_ts(uint64_t offset) {
  return 1'000'000 + int64_t(offset);
}

// Appends `n` records at log.next_offset() in batches of `per_batch`.
template <class TsOf>
void append(TopicLog& log, size_t n, size_t per_batch, TsOf ts_of) {
  for (size_t done = 0; done < n;) {
    RecordBatch batch;
    for (size_t k = 0; k < per_batch && done < n; ++k, ++done) {
      uint64_t o = log.next_offset() + k;
      batch.add(envelope(o, ts_of(o)));
    }
    Status s = log.append(batch);
    if (!s) FAIL(s.error().message);
  }
}
void append(TopicLog& log, size_t n, size_t per_batch = 1) {
  append(log, n, per_batch, default_ts);
}

RecordBatch make_batch(uint64_t first, size_t n) {
  RecordBatch b;
  for (uint64_t o = first; o < first + n; ++o) b.add(envelope(o, default_ts(o)));
  return b;
}

void check_record(const StoredRecord& r, uint64_t expected_offset) {
  INFO("record at offset " << expected_offset);
  REQUIRE(r.offset == expected_offset);
  auto e = decode_envelope(r.body);
  REQUIRE(e.ok());
  REQUIRE(e->offset == expected_offset);
  REQUIRE(e->payload == payload_for(expected_offset));
}

// Every offset delivered when reading from `from` to the end in chunks,
// checking each record; `skips` gets the skipped reasons.
std::vector<uint64_t> read_offsets(TopicLog& log, uint64_t from, size_t chunk,
                                   std::vector<std::string>* skips = nullptr) {
  std::vector<uint64_t> offsets;
  uint64_t offset = from;
  while (offset < log.next_offset()) {
    std::vector<StoredRecord> out;
    std::string skipped;
    auto next = log.read(offset, chunk, SIZE_MAX, out, skipped);
    if (!next) FAIL(next.error().message);
    REQUIRE(*next > offset);
    if (!skipped.empty()) {
      if (!skips) FAIL("unexpected skip: " << skipped);
      skips->push_back(skipped);
    }
    for (const StoredRecord& r : out) {
      check_record(r, r.offset);
      offsets.push_back(r.offset);
    }
    // Past the last record returned, unless records after it could not be read.
    if (!out.empty() && skipped.empty()) REQUIRE(*next == out.back().offset + 1);
    if (!out.empty()) REQUIRE(*next > out.back().offset);
    offset = *next;
  }
  return offsets;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t o = from; o < to; ++o) v.push_back(o);
  return v;
}

std::string log_path(const std::string& dir, uint64_t base) {
  return dir + "/" + segment_name(base) + std::string(lf::kSegmentSuffix);
}
std::string idx_path(const std::string& dir, uint64_t base) {
  return dir + "/" + segment_name(base) + std::string(lf::kIndexSuffix);
}

// Segment bases in `dir`, sorted.
std::vector<uint64_t> segment_bases(FileSystem& fs, const std::string& dir) {
  auto names = fs.list(dir);
  REQUIRE(names.ok());
  std::vector<uint64_t> bases;
  for (const std::string& n : *names)
    if (n.ends_with(".log")) {
      REQUIRE(n.size() == 24);
      bases.push_back(std::stoull(n.substr(0, 20)));
    }
  std::sort(bases.begin(), bases.end());
  return bases;
}

std::unique_ptr<DiskLog> create_log(FileSystem& fs, const std::string& dir,
                                    DiskLogOptions options = {}) {
  auto log = DiskLog::create(fs, dir, options);
  if (!log) FAIL(log.error().message);
  return std::move(*log);
}

std::unique_ptr<DiskLog> open_log(FileSystem& fs, const std::string& dir,
                                  DiskLogOptions options = {},
                                  std::vector<std::string>* notes_out = nullptr) {
  std::vector<std::string> notes;
  auto log = DiskLog::open(fs, dir, options, notes);
  if (!log) FAIL(log.error().message);
  if (notes_out) *notes_out = notes;
  return std::move(*log);
}

DiskLogOptions small_segments(uint64_t bytes = 8192) {
  DiskLogOptions o;
  o.segment_bytes = bytes;
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// --- create, append, roll ---

TEST_CASE("disk log: create starts with one empty segment at base 0", "[disk_log]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir);
  CHECK(log->segment_count() == 1);
  CHECK(log->earliest_offset() == 0);
  CHECK(log->next_offset() == 0);
  CHECK(log->bytes() == lf::kHeaderSize);
  CHECK(log->last_ts() == 0);
  CHECK(fs.has_file(log_path(kDir, 0)));
}

TEST_CASE("disk log: rolls when a batch would pass segment_bytes, never splitting it",
          "[disk_log]") {
  FaultFileSystem fs;
  const uint64_t limit = 8192;
  auto log = create_log(fs, kDir, small_segments(limit));
  std::vector<uint64_t> batch_starts;
  for (int b = 0; b < 60; ++b) {
    batch_starts.push_back(log->next_offset());
    append(*log, 3, 3);
  }
  CHECK(log->next_offset() == 180);
  auto bases = segment_bases(fs, kDir);
  REQUIRE(bases.size() > 4);
  CHECK(bases.size() == log->segment_count());
  uint64_t total = 0;
  for (size_t i = 0; i < bases.size(); ++i) {
    INFO("segment " << bases[i]);
    uint64_t size = fs.file_size(log_path(kDir, bases[i]));
    total += size;
    CHECK(size <= limit);
    // Each segment starts at a batch.
    CHECK(std::find(batch_starts.begin(), batch_starts.end(), bases[i]) != batch_starts.end());
    if (i + 1 < bases.size()) {
      // Sealed: rolled only because the next batch did not fit, and indexed.
      uint64_t next_batch = make_batch(bases[i + 1], 3).data().size();
      CHECK(size + next_batch > limit);
      CHECK(fs.has_file(idx_path(kDir, bases[i])));
    }
  }
  CHECK(total == log->bytes());
  CHECK(read_offsets(*log, 0, 1000) == range(0, 180));
}

TEST_CASE("disk log: a batch larger than segment_bytes goes whole into one segment", "[disk_log]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(1000));
  append(*log, 10, 10);
  append(*log, 10, 10);
  CHECK(segment_bases(fs, kDir) == std::vector<uint64_t>{0, 10});
  CHECK(read_offsets(*log, 0, 1000) == range(0, 20));
}

TEST_CASE("disk log: read across segment boundaries from every offset", "[disk_log]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 150, 2);
  REQUIRE(log->segment_count() > 5);
  for (uint64_t from = 0; from < 150; ++from) {
    INFO("from " << from);
    REQUIRE(read_offsets(*log, from, 1000) == range(from, 150));
    REQUIRE(read_offsets(*log, from, 3) == range(from, 150));
  }
}

TEST_CASE("disk log: read at or past the end returns nothing and the same offset", "[disk_log]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir);
  append(*log, 5);
  for (uint64_t at : {5, 6, 100}) {
    std::vector<StoredRecord> out;
    std::string skipped;
    auto next = log->read(at, 10, SIZE_MAX, out, skipped);
    REQUIRE(next.ok());
    CHECK(*next == at);
    CHECK(out.empty());
  }
}

TEST_CASE("disk log: read respects max_records and max_bytes", "[disk_log]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir);
  append(*log, 20, 20);
  std::vector<StoredRecord> out;
  std::string skipped;
  auto next = log->read(2, 5, SIZE_MAX, out, skipped);
  REQUIRE(next.ok());
  CHECK(out.size() == 5);
  CHECK(*next == 7);
  out.clear();
  next = log->read(2, 100, 1, out, skipped);
  REQUIRE(next.ok());
  CHECK(out.size() == 1);
  CHECK(*next == 3);
}

TEST_CASE("disk log: read with max_records 0 returns nothing and skips nothing", "[disk_log]") {
  // The returned offset is past records returned or unreadable; none here.
  FaultFileSystem fs;
  auto log = create_log(fs, kDir);
  append(*log, 10, 10);
  std::vector<StoredRecord> out;
  std::string skipped;
  auto next = log->read(3, 0, SIZE_MAX, out, skipped);
  REQUIRE(next.ok());
  CHECK(out.empty());
  CHECK(skipped.empty());
  CHECK(*next == 3);
}

// --- reopen ---

void check_reopen_recovers_the_same_log(FileSystem& fs, const std::string& dir) {
  uint64_t next, earliest, bytes;
  size_t segments;
  int64_t last_ts;
  {
    auto log = create_log(fs, dir, small_segments(4096));
    append(*log, 120, 4);
    next = log->next_offset();
    earliest = log->earliest_offset();
    bytes = log->bytes();
    segments = log->segment_count();
    last_ts = log->last_ts();
    REQUIRE(segments > 3);
  }
  std::vector<std::string> notes;
  auto log = open_log(fs, dir, small_segments(4096), &notes);
  CHECK(notes.empty());
  CHECK(log->next_offset() == next);
  CHECK(log->earliest_offset() == earliest);
  CHECK(log->bytes() == bytes);
  CHECK(log->segment_count() == segments);
  CHECK(log->last_ts() == last_ts);
  CHECK(read_offsets(*log, 0, 1000) == range(0, 120));
  append(*log, 10, 2);
  CHECK(read_offsets(*log, 0, 1000) == range(0, 130));
}

TEST_CASE("disk log: reopen recovers the same offsets (in memory)", "[disk_log]") {
  FaultFileSystem fs;
  check_reopen_recovers_the_same_log(fs, kDir);
}

TEST_CASE("disk log: reopen recovers the same offsets (posix)", "[disk_log][posix]") {
  TempDir tmp;
  check_reopen_recovers_the_same_log(posix_file_system(), tmp.path() + "/default/orders");
}

TEST_CASE("disk log: reopen cuts a torn tail of the last segment and says so", "[disk_log]") {
  FaultFileSystem fs;
  uint64_t last_base;
  {
    auto log = create_log(fs, kDir, small_segments(4096));
    append(*log, 50, 1);
    last_base = segment_bases(fs, kDir).back();
  }
  uint64_t size = fs.file_size(log_path(kDir, last_base));
  fs.truncate_file(log_path(kDir, last_base), size - 3);
  std::vector<std::string> notes;
  auto log = open_log(fs, kDir, small_segments(4096), &notes);
  CHECK(log->next_offset() == 49);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains(log_path(kDir, last_base)));
  CHECK_THAT(notes[0], Catch::Contains("cut"));
  CHECK(fs.file_size(log_path(kDir, last_base)) < size - 3);
  CHECK(log->bytes() == [&] {
    uint64_t total = 0;
    for (uint64_t b : segment_bases(fs, kDir)) total += fs.file_size(log_path(kDir, b));
    return total;
  }());
  append(*log, 1);
  CHECK(read_offsets(*log, 0, 1000) == range(0, 50));
}

TEST_CASE("disk log: reopen keeps last_ts when the newest ts is in an older segment",
          "[disk_log]") {
  // Publishers' clocks differ: the largest ts need not be in the last segment.
  FaultFileSystem fs;
  int64_t last_ts;
  {
    auto log = create_log(fs, kDir, small_segments(2048));
    append(*log, 10, 1, [](uint64_t) { return int64_t(9'000); });
    append(*log, 10, 1, [](uint64_t) { return int64_t(1'000); });
    REQUIRE(log->segment_count() > 1);
    last_ts = log->last_ts();
    REQUIRE(last_ts == 9'000);
  }
  auto log = open_log(fs, kDir, small_segments(2048));
  CHECK(log->last_ts() == last_ts);
}

TEST_CASE("disk log: reopen keeps last_ts when the last segment is empty", "[disk_log]") {
  // A roll whose first batch then failed to write leaves an empty last segment.
  FaultFileSystem fs;
  {
    auto log = create_log(fs, kDir, small_segments(2048));
    append(*log, 10, 1, [](uint64_t) { return int64_t(5'000); });
    size_t segments = log->segment_count();
    // The roll writes the new segment's header; its first batch fails.
    fs.faults.path_filter = segment_name(log->next_offset());
    fs.faults.write_error = true;
    fs.faults.spared_writes = 1;
    RecordBatch big = make_batch(log->next_offset(), 10);
    CHECK_FALSE(log->append(big).ok());
    fs.faults = {};
    REQUIRE(log->segment_count() == segments + 1);
    CHECK(log->last_ts() == 5'000);
  }
  auto log = open_log(fs, kDir, small_segments(2048));
  CHECK(log->next_offset() == 10);
  CHECK(log->last_ts() == 5'000);
}

TEST_CASE("disk log: open of a directory with no segments", "[disk_log]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  SECTION("writable: starts the topic empty and says so") {
    std::vector<std::string> notes;
    auto log = open_log(fs, kDir, {}, &notes);
    CHECK(log->next_offset() == 0);
    CHECK(notes.size() == 1);
    CHECK(fs.has_file(log_path(kDir, 0)));
  }
  SECTION("read-only: an error, and nothing created") {
    DiskLogOptions o;
    o.writable = false;
    std::vector<std::string> notes;
    auto log = DiskLog::open(fs, kDir, o, notes);
    CHECK_FALSE(log.ok());
    CHECK_FALSE(fs.has_file(log_path(kDir, 0)));
  }
}

TEST_CASE("disk log: open ignores files that are not segments", "[disk_log]") {
  FaultFileSystem fs;
  { append(*create_log(fs, kDir), 3); }
  fs.set_contents(kDir + "/notes.txt", "hello");
  fs.set_contents(kDir + "/abc.log", "not a segment");
  auto log = open_log(fs, kDir);
  CHECK(log->segment_count() == 1);
  CHECK(read_offsets(*log, 0, 10) == range(0, 3));
}

TEST_CASE("disk log: open ignores .log files whose name is not 20 digits", "[disk_log]") {
  // Segment names are the base offset in 20 digits; "7.log" is someone else's.
  FaultFileSystem fs;
  { append(*create_log(fs, kDir), 3); }
  fs.set_contents(kDir + "/7.log", "not a segment");
  std::vector<std::string> notes;
  auto log = DiskLog::open(fs, kDir, {}, notes);
  INFO((log ? std::string("ok") : log.error().message));
  REQUIRE(log.ok());
  CHECK((*log)->segment_count() == 1);
  CHECK(read_offsets(**log, 0, 10) == range(0, 3));
}

// --- read-only ---

void check_read_only_open_of_torn_tail(FileSystem& fs, const std::string& dir,
                                       std::function<std::string()> contents,
                                       std::function<void(uint64_t)> cut_to) {
  uint64_t size;
  {
    auto log = create_log(fs, dir, small_segments(4096));
    append(*log, 40, 1);
    size = log->bytes();
  }
  (void)size;
  cut_to(7);  // cuts 7 bytes off the last segment
  std::string before = contents();
  DiskLogOptions o = small_segments(4096);
  o.writable = false;
  std::vector<std::string> notes;
  auto log = open_log(fs, dir, o, &notes);
  CHECK(log->next_offset() == 39);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains("ignoring"));
  CHECK(read_offsets(*log, 0, 1000) == range(0, 39));
  CHECK_FALSE(log->append(make_batch(39, 1)).ok());
  CHECK(log->enforce_retention({1, 1}, 1'000'000'000'000));
  CHECK(log->checkpoint());
  log.reset();
  CHECK(contents() == before);
}

TEST_CASE("disk log: read-only open of a torn tail does not modify the file (in memory)",
          "[disk_log]") {
  FaultFileSystem fs;
  auto last = [&] { return log_path(kDir, segment_bases(fs, kDir).back()); };
  check_read_only_open_of_torn_tail(
      fs, kDir,
      [&] {
        std::string all;
        auto names = fs.list(kDir);
        REQUIRE(names.ok());
        std::sort(names->begin(), names->end());
        for (const auto& n : *names) all += n + ":" + fs.contents(kDir + "/" + n) + "\n";
        return all;
      },
      [&](uint64_t n) { fs.truncate_file(last(), fs.file_size(last()) - n); });
}

TEST_CASE("disk log: read-only open of a torn tail does not modify the file (posix)",
          "[disk_log][posix]") {
  TempDir tmp;
  std::string dir = tmp.path() + "/default/orders";
  FileSystem& fs = posix_file_system();
  auto last = [&] { return log_path(dir, segment_bases(fs, dir).back()); };
  check_read_only_open_of_torn_tail(
      fs, dir,
      [&] {
        std::string all;
        auto names = *fs.list(dir);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
          auto t = std::filesystem::last_write_time(dir + "/" + n);
          all +=
              fmt::format("{}:{}:{}\n", n, t.time_since_epoch().count(), read_file(dir + "/" + n));
        }
        return all;
      },
      [&](uint64_t n) {
        std::filesystem::resize_file(last(), std::filesystem::file_size(last()) - n);
      });
}

// --- corruption in sealed segments ---

TEST_CASE("disk log: read of a corrupt sealed segment skips to the next segment's base",
          "[disk_log]") {
  FaultFileSystem fs;
  { append(*create_log(fs, kDir, small_segments(4096)), 60, 1); }
  auto bases = segment_bases(fs, kDir);
  REQUIRE(bases.size() >= 4);
  const uint64_t bad_base = bases[1], next_base = bases[2];
  // A flipped bit in the body of the segment's third record.
  std::string path = log_path(kDir, bad_base);
  fs.corrupt(path, lf::kHeaderSize + make_batch(bad_base, 2).data().size() + 20, 0x08);
  auto log = open_log(fs, kDir, small_segments(4096));

  std::vector<StoredRecord> out;
  std::string skipped;
  auto next = log->read(bad_base + 2, 10, SIZE_MAX, out, skipped);
  REQUIRE(next.ok());
  CHECK(*next == next_base);
  CHECK(out.empty());
  CHECK_THAT(skipped, Catch::Contains(path));
  CHECK_THAT(skipped, Catch::Contains(fmt::format("{}..{}", bad_base + 2, next_base - 1)));

  // A reader going through the whole log gets everything outside the bad segment.
  std::vector<std::string> skips;
  auto got = read_offsets(*log, 0, 1000, &skips);
  CHECK_FALSE(skips.empty());
  // The records before the bad one are still delivered (core/segment.h, Segment::read).
  for (uint64_t o : range(0, bad_base + 2)) CHECK(std::count(got.begin(), got.end(), o) == 1);
  for (uint64_t o : range(next_base, 60)) CHECK(std::count(got.begin(), got.end(), o) == 1);
  for (uint64_t o = bad_base + 2; o < next_base; ++o)
    CHECK(std::count(got.begin(), got.end(), o) == 0);
}

TEST_CASE("disk log: a truncated sealed segment skips to the next segment's base", "[disk_log]") {
  FaultFileSystem fs;
  { append(*create_log(fs, kDir, small_segments(4096)), 60, 1); }
  auto bases = segment_bases(fs, kDir);
  REQUIRE(bases.size() >= 3);
  fs.truncate_file(log_path(kDir, bases[0]), fs.file_size(log_path(kDir, bases[0])) - 5);
  REQUIRE(fs.remove(idx_path(kDir, bases[0])));
  auto log = open_log(fs, kDir, small_segments(4096));
  std::vector<StoredRecord> out;
  std::string skipped;
  auto next = log->read(bases[1] - 1, 10, SIZE_MAX, out, skipped);
  REQUIRE(next.ok());
  CHECK(*next == bases[1]);
  CHECK(out.empty());
  CHECK_FALSE(skipped.empty());
}

// --- retention ---

TEST_CASE("disk log: retention by bytes removes whole oldest segments", "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 200, 1);
  auto bases = segment_bases(fs, kDir);
  REQUIRE(bases.size() >= 8);
  uint64_t limit = 3 * 4096;
  REQUIRE(log->enforce_retention({limit, 0}, 0));
  auto kept = segment_bases(fs, kDir);
  REQUIRE(kept.size() < bases.size());
  CHECK(kept.back() == bases.back());
  CHECK(std::equal(kept.begin(), kept.end(), bases.end() - kept.size()));
  // The oldest first, and only while over the limit.
  CHECK(log->bytes() <= limit);
  uint64_t total = 0;
  for (uint64_t b : kept) total += fs.file_size(log_path(kDir, b));
  CHECK(total == log->bytes());
  uint64_t last_removed = bases[bases.size() - kept.size() - 1];
  CHECK_FALSE(fs.has_file(log_path(kDir, last_removed)));
  CHECK_FALSE(fs.has_file(idx_path(kDir, last_removed)));
  CHECK(log->earliest_offset() == kept.front());
  CHECK(log->segment_count() == kept.size());
  CHECK(read_offsets(*log, kept.front(), 1000) == range(kept.front(), 200));
}

TEST_CASE("disk log: retention by bytes stops as soon as the topic fits", "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 200, 1);
  auto bases = segment_bases(fs, kDir);
  uint64_t first_size = fs.file_size(log_path(kDir, bases[0]));
  // Exactly one segment too much.
  REQUIRE(log->enforce_retention({log->bytes() - first_size, 0}, 0));
  CHECK(segment_bases(fs, kDir) == std::vector<uint64_t>(bases.begin() + 1, bases.end()));
  REQUIRE(log->enforce_retention({log->bytes(), 0}, 0));
  CHECK(log->segment_count() == bases.size() - 1);
}

TEST_CASE("disk log: retention by bytes never removes the last segment", "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 100, 1);
  uint64_t last = segment_bases(fs, kDir).back();
  REQUIRE(log->enforce_retention({1, 0}, 0));
  CHECK(segment_bases(fs, kDir) == std::vector<uint64_t>{last});
  CHECK(log->earliest_offset() == last);
  CHECK(log->next_offset() == 100);
  CHECK(read_offsets(*log, 0, 1000) == range(last, 100));
  append(*log, 1);
  CHECK(log->next_offset() == 101);
}

TEST_CASE("disk log: retention by age removes segments whose newest record is old",
          "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  // ts = 1000 * offset: segment k's newest record is its last.
  append(*log, 100, 1, [](uint64_t o) { return int64_t(1000 * o); });
  auto bases = segment_bases(fs, kDir);
  REQUIRE(bases.size() >= 5);
  // Cut-off just after the newest ts of the third segment.
  int64_t newest_of_third = int64_t(1000 * (bases[3] - 1));
  int64_t max_age = 10'000;
  int64_t now = newest_of_third + max_age + 1;
  REQUIRE(log->enforce_retention({0, max_age}, now));
  CHECK(segment_bases(fs, kDir) == std::vector<uint64_t>(bases.begin() + 3, bases.end()));
  CHECK(log->earliest_offset() == bases[3]);
}

TEST_CASE("disk log: retention by age removes only segments strictly older than the age",
          "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 100, 1, [](uint64_t o) { return int64_t(1000 * o); });
  auto bases = segment_bases(fs, kDir);
  REQUIRE(bases.size() >= 3);
  int64_t newest_of_first = int64_t(1000 * (bases[1] - 1));
  int64_t max_age = 10'000;
  // Exactly max_age old: kept.
  REQUIRE(log->enforce_retention({0, max_age}, newest_of_first + max_age));
  CHECK(log->earliest_offset() == 0);
  // One millisecond more: removed.
  REQUIRE(log->enforce_retention({0, max_age}, newest_of_first + max_age + 1));
  CHECK(log->earliest_offset() == bases[1]);
}

TEST_CASE("disk log: retention by age keeps a segment with one new record",
          "[disk_log][retention]") {
  // Timestamps are not monotonic: a segment is old only if its newest record is.
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 60, 1, [](uint64_t o) { return int64_t(o == 3 ? 1'000'000 : 1'000); });
  auto bases = segment_bases(fs, kDir);
  REQUIRE(bases.size() >= 3);
  REQUIRE(bases[1] > 3);
  REQUIRE(log->enforce_retention({0, 1000}, 500'000));
  CHECK(segment_bases(fs, kDir) == bases);
}

TEST_CASE("disk log: retention by age never removes the last segment", "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 100, 1, [](uint64_t) { return int64_t(1); });
  uint64_t last = segment_bases(fs, kDir).back();
  REQUIRE(log->enforce_retention({0, 1}, 1'000'000'000));
  CHECK(segment_bases(fs, kDir) == std::vector<uint64_t>{last});
  CHECK(log->next_offset() == 100);
}

TEST_CASE("disk log: read below the earliest offset after retention starts at it",
          "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 100, 1);
  REQUIRE(log->enforce_retention({1, 0}, 0));
  std::vector<StoredRecord> out;
  std::string skipped;
  auto next = log->read(0, 1, SIZE_MAX, out, skipped);
  REQUIRE(next.ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].offset == log->earliest_offset());
}

TEST_CASE("disk log: retention survives reopen", "[disk_log][retention]") {
  FaultFileSystem fs;
  uint64_t earliest;
  {
    auto log = create_log(fs, kDir, small_segments(4096));
    append(*log, 100, 1);
    REQUIRE(log->enforce_retention({4096, 0}, 0));
    earliest = log->earliest_offset();
    REQUIRE(earliest > 0);
  }
  auto log = open_log(fs, kDir, small_segments(4096));
  CHECK(log->earliest_offset() == earliest);
  CHECK(read_offsets(*log, 0, 1000) == range(earliest, 100));
}

TEST_CASE("disk log: a segment that cannot be removed stays, and retention says why",
          "[disk_log][retention]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(4096));
  append(*log, 100, 1);
  auto bases = segment_bases(fs, kDir);
  fs.faults.remove_error = true;
  fs.faults.path_filter = segment_name(bases[0]) + ".log";
  CHECK_FALSE(log->enforce_retention({1, 0}, 0).ok());
  CHECK(log->earliest_offset() == 0);
  CHECK(read_offsets(*log, 0, 1000) == range(0, 100));
}

// --- offset_for_time ---

TEST_CASE("disk log: offset_for_time across segments agrees with a memory log", "[disk_log]") {
  FaultFileSystem fs;
  auto disk = create_log(fs, kDir, small_segments(4096));
  MemoryLog memory;
  std::mt19937 rng(17);
  std::vector<int64_t> ts;
  for (int i = 0; i < 300; ++i) {
    int64_t v = 10'000 + i * 10 + int64_t(rng() % 300) - 150;
    if (rng() % 19 == 0) v -= 5'000;
    ts.push_back(v);
  }
  auto ts_of = [&](uint64_t o) { return ts[o]; };
  for (int b = 0; b < 100; ++b) {
    RecordBatch batch;
    for (int k = 0; k < 3; ++k) {
      uint64_t o = disk->next_offset() + k;
      batch.add(envelope(o, ts_of(o)));
    }
    REQUIRE(disk->append(batch));
    REQUIRE(memory.append(batch));
  }
  REQUIRE(disk->segment_count() > 5);
  for (int64_t target = 0; target < 14'000; target += 7) {
    auto d = disk->offset_for_time(target);
    auto m = memory.offset_for_time(target);
    REQUIRE(d.ok());
    REQUIRE(m.ok());
    INFO("ts " << target);
    REQUIRE(*d == *m);
  }
  CHECK(*disk->offset_for_time(INT64_MAX) == disk->next_offset());
}

// --- failed appends ---

TEST_CASE("disk log: a failed append leaves the log as it was", "[disk_log][faults]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(1 << 20));
  append(*log, 20, 4);
  uint64_t next = log->next_offset(), bytes = log->bytes();
  int64_t last_ts = log->last_ts();
  std::string before = fs.contents(log_path(kDir, 0));

  SECTION("write error") {
    fs.faults.write_error = true;
  }
  SECTION("short write") {
    fs.faults.short_write = true;
    fs.faults.short_write_bytes = 50;
  }
  Status st = log->append(make_batch(20, 4));
  REQUIRE_FALSE(st.ok());
  CHECK(log->next_offset() == next);
  CHECK(log->bytes() == bytes);
  CHECK(log->last_ts() == last_ts);
  CHECK(fs.contents(log_path(kDir, 0)) == before);
  fs.faults = {};
  CHECK(read_offsets(*log, 0, 1000) == range(0, 20));
  append(*log, 4, 4);
  CHECK(read_offsets(*log, 0, 1000) == range(0, 24));
}

TEST_CASE("disk log: a failed roll leaves the log as it was", "[disk_log][faults]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(2048));
  append(*log, 5, 1);
  while (log->segment_count() == 1) append(*log, 1);
  // The next append that rolls cannot create its segment.
  uint64_t next = log->next_offset();
  size_t segments = log->segment_count();
  fs.faults.create_error = true;
  Status st = ok_status();
  do {
    st = log->append(make_batch(log->next_offset(), 1));
  } while (st.ok() && log->segment_count() == segments);
  REQUIRE_FALSE(st.ok());
  CHECK(log->segment_count() == segments);
  fs.faults = {};
  CHECK(read_offsets(*log, 0, 1000) == range(0, log->next_offset()));
  CHECK(log->next_offset() >= next);
  append(*log, 1);
  CHECK(log->segment_count() == segments + 1);
}

// --- tracking for group commit ---

struct RecordingTracker : SyncTracker {
  std::vector<const File*> files;
  std::vector<std::string> dirs;
  void written(const std::shared_ptr<File>& file) override { files.push_back(file.get()); }
  void changed_dir(const std::string& dir) override { dirs.push_back(dir); }
  void clear() {
    files.clear();
    dirs.clear();
  }
};

TEST_CASE("disk log: the tracker hears of every written file and new directory entry",
          "[disk_log]") {
  FaultFileSystem fs;
  RecordingTracker tracker;
  DiskLogOptions o = small_segments(2048);
  o.tracker = &tracker;
  auto log = create_log(fs, kDir, o);
  // The new topic: its directory and its parent's entry for it.
  CHECK(std::count(tracker.dirs.begin(), tracker.dirs.end(), kDir) == 1);
  CHECK(std::count(tracker.dirs.begin(), tracker.dirs.end(), "/data/default") == 1);
  CHECK(tracker.files.size() == 1);

  tracker.clear();
  append(*log, 1);
  CHECK(tracker.files.size() == 1);
  CHECK(tracker.dirs.empty());

  // A roll: the directory gains the new segment, which is written.
  tracker.clear();
  size_t segments = log->segment_count();
  while (log->segment_count() == segments) append(*log, 1);
  CHECK(std::count(tracker.dirs.begin(), tracker.dirs.end(), kDir) == 1);
  CHECK(tracker.files.back() != tracker.files.front());

  // A failed write is not reported as written.
  tracker.clear();
  fs.faults.write_error = true;
  CHECK_FALSE(log->append(make_batch(log->next_offset(), 1)).ok());
  CHECK(tracker.files.empty());
}

// --- checkpoint and destroy ---

TEST_CASE("disk log: checkpoint writes the last segment's index", "[disk_log]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir);
  append(*log, 30, 3);
  CHECK_FALSE(fs.has_file(idx_path(kDir, 0)));
  REQUIRE(log->checkpoint());
  CHECK(fs.has_file(idx_path(kDir, 0)));
  append(*log, 3, 3);
  CHECK(read_offsets(*log, 0, 1000) == range(0, 33));
}

TEST_CASE("disk log: destroy removes the topic's directory", "[disk_log]") {
  FaultFileSystem fs;
  auto log = create_log(fs, kDir, small_segments(2048));
  append(*log, 30, 1);
  REQUIRE(log->destroy());
  CHECK_FALSE(fs.exists(kDir));
  CHECK(fs.exists("/data/default"));
}

TEST_CASE("disk log: destroy on the real file system", "[disk_log][posix]") {
  TempDir tmp;
  std::string dir = tmp.path() + "/default/orders";
  auto log = create_log(posix_file_system(), dir, small_segments(2048));
  append(*log, 30, 1);
  REQUIRE(log->destroy());
  CHECK_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace eda::disk_log_test
