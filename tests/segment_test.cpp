#include "core/segment.h"

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/crc32c.h"
#include "core/envelope_codec.h"
#include "core/log_format.h"
#include "core/record_batch.h"
#include "tests/fault_file_system.h"

namespace eda::segment_test {
namespace {

namespace lf = log_format;
using testing::FaultFileSystem;

const std::string kDir = "/data/default/orders";

// Payload sizes vary so that records straddle index intervals unevenly.
size_t payload_size(uint64_t offset) {
  return 10 + (offset * 37) % 600;
}

std::string payload_for(uint64_t offset) {
  return fmt::format("payload-{}-", offset) + std::string(payload_size(offset), 'p');
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

// Where each record of a segment sits, as the test wrote it.
struct Written {
  uint64_t offset;
  int64_t ts;
  uint64_t position;  // of the length field
  uint64_t size;      // of the frame
};

class SegmentTest {
 public:
  FaultFileSystem fs;

  SegmentTest() { REQUIRE(fs.create_dirs(kDir)); }

  std::string log_path(uint64_t base) const {
    return kDir + "/" + segment_name(base) + std::string(lf::kSegmentSuffix);
  }
  std::string idx_path(uint64_t base) const {
    return kDir + "/" + segment_name(base) + std::string(lf::kIndexSuffix);
  }

  std::unique_ptr<Segment> create(uint64_t base) {
    auto s = Segment::create(fs, kDir, base);
    if (!s) FAIL(s.error().message);
    return std::move(*s);
  }

  // Appends records `first`..`first + n - 1`, `per_batch` to a batch, with
  // timestamps from `ts_of`.
  template <class TsOf>
  std::vector<Written> append(Segment& s, uint64_t first, size_t n, TsOf ts_of,
                              size_t per_batch = 1) {
    std::vector<Written> out;
    for (uint64_t o = first; o < first + n;) {
      RecordBatch batch;
      for (size_t k = 0; k < per_batch && o < first + n; ++k, ++o) batch.add(envelope(o, ts_of(o)));
      uint64_t at = s.size();
      Status st = s.append(batch);
      if (!st) FAIL(st.error().message);
      for (const auto& e : batch.entries())
        out.push_back({e.offset, e.ts, at + e.position, e.size});
    }
    return out;
  }
  std::vector<Written> append(Segment& s, uint64_t first, size_t n) {
    return append(s, first, n, [](uint64_t o) { return int64_t(1'000'000 + o); });
  }

  std::unique_ptr<Segment> recover(uint64_t base, bool writable, uint64_t& cut) {
    auto s = Segment::recover(fs, kDir, base, writable, cut);
    if (!s) FAIL(s.error().message);
    return std::move(*s);
  }

  std::unique_ptr<Segment> open_sealed(uint64_t base, uint64_t end) {
    auto s = Segment::open_sealed(fs, kDir, base, end);
    if (!s) FAIL(s.error().message);
    return std::move(*s);
  }
};

// Checks that `r` is the record the tests write for its offset.
void check_record(const StoredRecord& r, uint64_t expected_offset) {
  INFO("record at offset " << expected_offset);
  REQUIRE(r.offset == expected_offset);
  auto e = decode_envelope(r.body);
  REQUIRE(e.ok());
  REQUIRE(e->offset == expected_offset);
  REQUIRE(e->payload == payload_for(expected_offset));
  REQUIRE(e->ts == r.ts);
}

// Reads every record of `s` in [from, to) one at a time, last first, so that
// each read seeks (a sequential reader continues where it stopped); checks each.
void check_reads_from_every_offset(Segment& s, uint64_t from, uint64_t to) {
  std::string buffer;
  for (uint64_t o = to; o-- > from;) {
    std::vector<StoredRecord> out;
    Status st = s.read(o, 1, SIZE_MAX, buffer, out);
    INFO("read from offset " << o);
    REQUIRE(st.ok());
    REQUIRE(out.size() == 1);
    check_record(out[0], o);
  }
}

// All records from `s`, read sequentially in chunks of `chunk`.
std::vector<uint64_t> read_all_offsets(Segment& s, size_t chunk = 7) {
  std::string buffer;
  std::vector<uint64_t> offsets;
  for (uint64_t o = s.base(); o < s.next_offset();) {
    std::vector<StoredRecord> out;
    Status st = s.read(o, chunk, SIZE_MAX, buffer, out);
    if (!st) FAIL(st.error().message);
    REQUIRE_FALSE(out.empty());
    for (const auto& r : out) {
      check_record(r, o);
      offsets.push_back(o++);
    }
  }
  return offsets;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t o = from; o < to; ++o) v.push_back(o);
  return v;
}

struct RawIndexEntry {
  uint32_t relative_offset;
  uint32_t position;
  int64_t max_ts;
};

// The entries of an index file written by Segment, after checking its trailer.
std::vector<RawIndexEntry> parse_index(std::string raw) {
  REQUIRE(raw.size() % lf::kIndexEntrySize == 0);
  REQUIRE(raw.size() >= lf::kIndexEntrySize);
  uint32_t magic, crc;
  std::memcpy(&magic, raw.data() + raw.size() - lf::kIndexEntrySize, 4);
  std::memcpy(&crc, raw.data() + raw.size() - lf::kIndexEntrySize + 4, 4);
  raw.resize(raw.size() - lf::kIndexEntrySize);
  CHECK(magic == lf::kIndexMagic);
  CHECK(crc == crc32c(raw));
  std::vector<RawIndexEntry> entries(raw.size() / lf::kIndexEntrySize);
  for (size_t i = 0; i < entries.size(); ++i) {
    const char* p = raw.data() + i * lf::kIndexEntrySize;
    std::memcpy(&entries[i].relative_offset, p, 4);
    std::memcpy(&entries[i].position, p + 4, 4);
    std::memcpy(&entries[i].max_ts, p + 8, 8);
  }
  return entries;
}

// Entries without the trailer: an index no current writer produces, which a
// reader must not trust.
std::string serialize_index(const std::vector<RawIndexEntry>& entries) {
  std::string raw(entries.size() * lf::kIndexEntrySize, '\0');
  for (size_t i = 0; i < entries.size(); ++i) {
    char* p = raw.data() + i * lf::kIndexEntrySize;
    std::memcpy(p, &entries[i].relative_offset, 4);
    std::memcpy(p + 4, &entries[i].position, 4);
    std::memcpy(p + 8, &entries[i].max_ts, 8);
  }
  return raw;
}

void put_u32(FaultFileSystem& fs, const std::string& path, uint64_t pos, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  fs.overwrite(path, pos, std::string_view(b, 4));
}

// --- create, append, read ---

TEST_CASE("segment: create writes the 32-byte header", "[segment]") {
  SegmentTest t;
  auto s = t.create(1234);
  std::string h = t.fs.contents(t.log_path(1234));
  REQUIRE(h.size() == 32);
  CHECK(h.substr(0, 8) == std::string("\x89"
                                      "EDALOG\n",
                                      8));
  uint32_t version;
  uint64_t base;
  std::memcpy(&version, h.data() + 8, 4);
  std::memcpy(&base, h.data() + 12, 8);
  CHECK(version == 1);
  CHECK(base == 1234);
  CHECK(h.substr(20) == std::string(12, '\0'));
  CHECK(s->base() == 1234);
  CHECK(s->next_offset() == 1234);
  CHECK(s->size() == 32);
}

TEST_CASE("segment: names are the base offset in 20 digits", "[segment]") {
  CHECK(segment_name(0) == "00000000000000000000");
  CHECK(segment_name(1048576) == "00000000000001048576");
  CHECK(segment_name(UINT64_MAX) == "18446744073709551615");
}

TEST_CASE("segment: create fails when the segment exists", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 3);
  std::string before = t.fs.contents(t.log_path(0));
  auto again = Segment::create(t.fs, kDir, 0);
  CHECK_FALSE(again.ok());
  CHECK(t.fs.contents(t.log_path(0)) == before);
}

TEST_CASE("segment: create that cannot write its header leaves no file", "[segment]") {
  SegmentTest t;
  t.fs.faults.write_error = true;
  auto s = Segment::create(t.fs, kDir, 0);
  CHECK_FALSE(s.ok());
  CHECK_FALSE(t.fs.has_file(t.log_path(0)));
}

TEST_CASE("segment: append and read round trip", "[segment]") {
  SegmentTest t;
  auto s = t.create(100);
  auto written = t.append(
      *s, 100, 50, [](uint64_t o) { return int64_t(o * 10); }, 4);
  CHECK(s->next_offset() == 150);
  CHECK(s->size() == written.back().position + written.back().size);
  std::string buffer;
  std::vector<StoredRecord> out;
  REQUIRE(s->read(100, 1000, SIZE_MAX, buffer, out));
  REQUIRE(out.size() == 50);
  for (size_t i = 0; i < out.size(); ++i) {
    check_record(out[i], 100 + i);
    CHECK(out[i].ts == int64_t((100 + i) * 10));
  }
}

TEST_CASE("segment: the file holds exactly the batch bytes after the header", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  RecordBatch batch;
  for (uint64_t o = 0; o < 3; ++o) batch.add(envelope(o, 5));
  REQUIRE(s->append(batch));
  CHECK(t.fs.contents(t.log_path(0)).substr(32) == batch.data());
}

TEST_CASE("segment: an empty batch changes nothing", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  REQUIRE(s->append(RecordBatch{}));
  CHECK(s->size() == 32);
  CHECK(s->next_offset() == 0);
}

TEST_CASE("segment: read from any offset starts at that record", "[segment]") {
  SegmentTest t;
  auto s = t.create(7);
  t.append(
      *s, 7, 120, [](uint64_t o) { return int64_t(o); }, 5);
  check_reads_from_every_offset(*s, 7, 127);
  // Backwards, so that no read continues where the previous one ended.
  std::string buffer;
  for (uint64_t o = 126; o >= 7; --o) {
    std::vector<StoredRecord> out;
    REQUIRE(s->read(o, 3, SIZE_MAX, buffer, out));
    REQUIRE(out.size() == std::min<uint64_t>(3, 127 - o));
    for (size_t i = 0; i < out.size(); ++i) check_record(out[i], o + i);
  }
}

TEST_CASE("segment: read outside the segment returns nothing", "[segment]") {
  SegmentTest t;
  auto s = t.create(10);
  t.append(*s, 10, 5);
  std::string buffer;
  std::vector<StoredRecord> out;
  REQUIRE(s->read(9, 10, SIZE_MAX, buffer, out));
  REQUIRE(s->read(15, 10, SIZE_MAX, buffer, out));
  REQUIRE(s->read(1000, 10, SIZE_MAX, buffer, out));
  CHECK(out.empty());
}

TEST_CASE("segment: read stops at max_records", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(
      *s, 0, 20, [](uint64_t o) { return int64_t(o); }, 20);
  std::string buffer;
  std::vector<StoredRecord> out;
  REQUIRE(s->read(3, 4, SIZE_MAX, buffer, out));
  REQUIRE(out.size() == 4);
  for (size_t i = 0; i < 4; ++i) check_record(out[i], 3 + i);
}

TEST_CASE("segment: read stops once max_bytes is reached but returns at least one", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  auto written = t.append(
      *s, 0, 20, [](uint64_t o) { return int64_t(o); }, 20);
  std::string buffer;
  std::vector<StoredRecord> out;
  REQUIRE(s->read(0, 100, 1, buffer, out));
  REQUIRE(out.size() == 1);
  check_record(out[0], 0);

  out.clear();
  // Room for exactly records 2 and 3 (frames): no third.
  size_t two = written[2].size + written[3].size;
  REQUIRE(s->read(2, 100, two, buffer, out));
  REQUIRE(out.size() == 2);
  check_record(out[1], 3);
}

TEST_CASE("segment: appended records appear to a reader that already read to the end",
          "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 5);
  std::string buffer;
  std::vector<StoredRecord> out;
  REQUIRE(s->read(0, 100, SIZE_MAX, buffer, out));
  REQUIRE(out.size() == 5);
  t.append(*s, 5, 5);
  out.clear();
  REQUIRE(s->read(5, 100, SIZE_MAX, buffer, out));
  REQUIRE(out.size() == 5);
  for (size_t i = 0; i < 5; ++i) check_record(out[i], 5 + i);
}

// --- index ---

TEST_CASE("segment: seek is right from every offset across many 4 KiB index intervals",
          "[segment]") {
  SegmentTest t;
  const uint64_t base = 1'000'000;
  const size_t n = 1500;  // about 500 KiB: over a hundred index entries
  auto s = t.create(base);
  t.append(
      *s, base, n, [](uint64_t o) { return int64_t(o); }, 3);
  REQUIRE(s->size() > 100 * lf::kIndexInterval);

  SECTION("the segment being written") {
    check_reads_from_every_offset(*s, base, base + n);
  }
  SECTION("sealed, with its index file") {
    REQUIRE(s->write_indexes());
    s.reset();
    auto sealed = t.open_sealed(base, base + n);
    check_reads_from_every_offset(*sealed, base, base + n);
  }
  SECTION("sealed, index rebuilt by a scan") {
    s.reset();
    auto sealed = t.open_sealed(base, base + n);
    check_reads_from_every_offset(*sealed, base, base + n);
  }
  SECTION("recovered") {
    s.reset();
    uint64_t cut = 1;
    auto recovered = t.recover(base, true, cut);
    CHECK(cut == 0);
    check_reads_from_every_offset(*recovered, base, base + n);
  }
}

TEST_CASE("segment: the index file has the first record, one per 4 KiB, and the last",
          "[segment]") {
  SegmentTest t;
  std::mt19937 rng(11);
  std::vector<int64_t> ts;
  auto s = t.create(0);
  const size_t n = 700;
  auto written = t.append(*s, 0, n, [&](uint64_t) {
    ts.push_back(1000 + rng() % 5000);
    return ts.back();
  });
  REQUIRE(s->write_indexes());
  auto entries = parse_index(t.fs.contents(t.idx_path(0)));
  REQUIRE(entries.size() > 20);

  CHECK(entries.front().relative_offset == 0);
  CHECK(entries.front().position == lf::kHeaderSize);
  CHECK(entries.back().relative_offset == n - 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    const RawIndexEntry& e = entries[i];
    INFO("entry " << i << " (relative offset " << e.relative_offset << ")");
    REQUIRE(e.relative_offset < n);
    CHECK(e.position == written[e.relative_offset].position);
    CHECK(e.max_ts == *std::max_element(ts.begin(), ts.begin() + e.relative_offset + 1));
    if (i + 1 < entries.size()) {
      // No record goes unindexed for 4 KiB or more.
      const RawIndexEntry& next = entries[i + 1];
      for (uint32_t r = e.relative_offset + 1; r < next.relative_offset; ++r)
        CHECK(written[r].position - e.position < lf::kIndexInterval);
    }
  }
}

TEST_CASE("segment: the index file of an empty segment is not written", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  REQUIRE(s->write_indexes());
  CHECK_FALSE(t.fs.has_file(t.idx_path(0)));
}

TEST_CASE("segment: write_indexes twice rewrites the index file", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 10);
  REQUIRE(s->write_indexes());
  t.append(*s, 10, 10);
  REQUIRE(s->write_indexes());
  auto entries = parse_index(t.fs.contents(t.idx_path(0)));
  CHECK(entries.back().relative_offset == 19);
}

// --- offset_for_time ---

// The first offset from `base` whose ts is >= target, or base + ts.size().
uint64_t brute_offset_for_time(const std::vector<int64_t>& ts, uint64_t base, int64_t target) {
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i] >= target) return base + i;
  return base + ts.size();
}

void check_offset_for_time(Segment& s, const std::vector<int64_t>& ts, uint64_t base) {
  std::vector<int64_t> targets = {0, INT64_MIN, INT64_MAX};
  for (int64_t v : ts) {
    targets.push_back(v - 1);
    targets.push_back(v);
    targets.push_back(v + 1);
  }
  for (int64_t target : targets) {
    auto got = s.offset_for_time(target);
    INFO("ts " << target);
    REQUIRE(got.ok());
    REQUIRE(*got == brute_offset_for_time(ts, base, target));
  }
}

TEST_CASE("segment: offset_for_time with non-monotonic timestamps", "[segment]") {
  SegmentTest t;
  const uint64_t base = 500;
  std::mt19937 rng(7);
  std::vector<int64_t> ts;
  auto s = t.create(base);
  // Mostly rising with jitter, some publishers' clocks far behind or ahead.
  t.append(*s, base, 600, [&](uint64_t o) {
    int64_t v = 1'700'000'000'000 + int64_t(o) * 10 + int64_t(rng() % 200) - 100;
    if (rng() % 17 == 0) v -= 100'000;
    if (rng() % 53 == 0) v += 50'000;
    ts.push_back(v);
    return v;
  });
  REQUIRE(s->size() > 20 * lf::kIndexInterval);

  SECTION("the segment being written") {
    check_offset_for_time(*s, ts, base);
  }
  SECTION("sealed, with its index file") {
    REQUIRE(s->write_indexes());
    s.reset();
    auto sealed = t.open_sealed(base, base + ts.size());
    check_offset_for_time(*sealed, ts, base);
  }
  SECTION("sealed, index rebuilt by a scan") {
    s.reset();
    auto sealed = t.open_sealed(base, base + ts.size());
    check_offset_for_time(*sealed, ts, base);
  }
}

TEST_CASE("segment: a late record with the largest ts is found after every index entry",
          "[segment]") {
  SegmentTest t;
  std::vector<int64_t> ts;
  auto s = t.create(0);
  t.append(*s, 0, 200, [&](uint64_t o) {
    ts.push_back(o == 150 ? 9'000 : 1'000 + int64_t(o % 10));
    return ts.back();
  });
  check_offset_for_time(*s, ts, 0);
  CHECK(*s->offset_for_time(5'000) == 150);
}

TEST_CASE("segment: offset_for_time of an empty segment is its base", "[segment]") {
  SegmentTest t;
  auto s = t.create(42);
  auto got = s->offset_for_time(0);
  REQUIRE(got.ok());
  CHECK(*got == 42);
}

TEST_CASE("segment: max_ts is the largest ts, not the last", "[segment]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 3, [](uint64_t o) { return int64_t(o == 1 ? 900 : 100); });
  CHECK(*s->max_ts() == 900);
  REQUIRE(s->write_indexes());
  s.reset();
  auto sealed = t.open_sealed(0, 3);
  CHECK(*sealed->max_ts() == 900);
}

// --- recover: one test per way a tail goes bad ---

// A segment of `n` records, closed; returns where each record sits.
std::vector<Written> write_closed_segment(SegmentTest& t, uint64_t base, size_t n) {
  auto s = t.create(base);
  return t.append(*s, base, n);
}

TEST_CASE("segment recover: an intact segment keeps every record", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  std::string before = t.fs.contents(t.log_path(0));
  uint64_t cut = 99;
  auto s = t.recover(0, true, cut);
  CHECK(cut == 0);
  CHECK(s->next_offset() == 30);
  CHECK(t.fs.contents(t.log_path(0)) == before);
  CHECK(read_all_offsets(*s) == range(0, 30));
}

TEST_CASE("segment recover: truncated tail is cut at the last whole record", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  const Written& last = written.back();
  for (uint64_t keep : {last.position + 1, last.position + 16, last.position + last.size - 1}) {
    INFO("file cut to " << keep << " bytes");
    t.fs.truncate_file(t.log_path(0), keep);
    uint64_t cut = 0;
    auto s = t.recover(0, true, cut);
    CHECK(s->next_offset() == 29);
    CHECK(cut == keep - last.position);
    CHECK(t.fs.file_size(t.log_path(0)) == last.position);
    CHECK(read_all_offsets(*s) == range(0, 29));
    // Restore the last record for the next round.
    s.reset();
    auto again = Segment::recover(t.fs, kDir, 0, true, cut);
    REQUIRE(again.ok());
    t.append(**again, 29, 1);
  }
}

TEST_CASE("segment recover: bad CRC in the last record cuts that record", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  const Written& last = written.back();
  t.fs.corrupt(t.log_path(0), last.position + last.size - 1, 0x01);
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 29);
  CHECK(cut == last.size);
  CHECK(t.fs.file_size(t.log_path(0)) == last.position);
  CHECK(read_all_offsets(*s) == range(0, 29));
}

TEST_CASE("segment recover: bad CRC in a middle record cuts from there", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  t.fs.corrupt(t.log_path(0), written[12].position + 20, 0x40);
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 12);
  CHECK(t.fs.file_size(t.log_path(0)) == written[12].position);
  CHECK(read_all_offsets(*s) == range(0, 12));
}

TEST_CASE("segment recover: length 0 cuts the record", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  put_u32(t.fs, t.log_path(0), written[29].position, 0);
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 29);
  CHECK(cut == written[29].size);
  CHECK(read_all_offsets(*s) == range(0, 29));
}

TEST_CASE("segment recover: length over 64 MiB cuts the record", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  put_u32(t.fs, t.log_path(0), written[29].position, lf::kMaxRecordBody + 1);
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 29);
  CHECK(t.fs.file_size(t.log_path(0)) == written[29].position);
}

TEST_CASE("segment recover: length pointing past the end cuts the record", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  put_u32(t.fs, t.log_path(0), written[29].position, 1'000'000);
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 29);
  CHECK(t.fs.file_size(t.log_path(0)) == written[29].position);
}

TEST_CASE("segment recover: garbage after the last record is cut", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  uint64_t end = t.fs.file_size(t.log_path(0));
  std::mt19937 rng(5);
  std::string garbage(333, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  t.fs.append_bytes(t.log_path(0), garbage);
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 30);
  CHECK(cut == garbage.size());
  CHECK(t.fs.file_size(t.log_path(0)) == end);
  CHECK(read_all_offsets(*s) == range(0, 30));
}

TEST_CASE("segment recover: zeros after the last record are cut", "[segment][recover]") {
  // What a file system that extended the file before a crash leaves.
  SegmentTest t;
  write_closed_segment(t, 0, 30);
  uint64_t end = t.fs.file_size(t.log_path(0));
  t.fs.append_bytes(t.log_path(0), std::string(4096, '\0'));
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 30);
  CHECK(cut == 4096);
  CHECK(t.fs.file_size(t.log_path(0)) == end);
}

TEST_CASE("segment recover: torn record header is cut", "[segment][recover]") {
  SegmentTest t;
  write_closed_segment(t, 0, 30);
  uint64_t end = t.fs.file_size(t.log_path(0));
  std::string next_frame;
  RecordBatch b;
  b.add(envelope(30, 1));
  t.fs.append_bytes(t.log_path(0), b.data().substr(0, 10));
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  CHECK(s->next_offset() == 30);
  CHECK(cut == 10);
  CHECK(t.fs.file_size(t.log_path(0)) == end);
}

TEST_CASE("segment recover: torn segment header starts the segment empty", "[segment][recover]") {
  SegmentTest t;
  t.create(64);
  const std::string header = t.fs.contents(t.log_path(64));
  for (uint64_t torn : {0, 1, 8, 20, 31}) {
    INFO(torn << " bytes of header");
    t.fs.set_contents(t.log_path(64), header.substr(0, torn));
    uint64_t cut = 99;
    auto s = t.recover(64, true, cut);
    CHECK(cut == torn);
    CHECK(s->next_offset() == 64);
    CHECK(t.fs.contents(t.log_path(64)) == header);
    t.append(*s, 64, 2);
    CHECK(read_all_offsets(*s) == range(64, 66));
  }
}

TEST_CASE("segment recover: read-only, a torn segment header reads as empty",
          "[segment][recover]") {
  // A broker creates a segment and then writes its header: a reader (replay
  // --data) may see the file in between. Read-only recovery must not fail on
  // what it would cut when writable.
  SegmentTest t;
  t.create(64);
  for (uint64_t torn : {0, 20}) {
    INFO(torn << " bytes of header");
    std::string header = t.fs.contents(t.log_path(64)).substr(0, 32);
    t.fs.set_contents(t.log_path(64), header.substr(0, torn));
    uint64_t cut = 0;
    auto s = Segment::recover(t.fs, kDir, 64, false, cut);
    INFO((s ? std::string("ok") : s.error().message));
    REQUIRE(s.ok());
    CHECK((*s)->next_offset() == 64);
    CHECK(t.fs.file_size(t.log_path(64)) == torn);
    t.fs.set_contents(t.log_path(64), header);
  }
}

TEST_CASE("segment recover: read-only leaves a torn tail in place", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 30);
  t.fs.truncate_file(t.log_path(0), written.back().position + 20);
  std::string before = t.fs.contents(t.log_path(0));
  uint64_t cut = 0;
  auto s = t.recover(0, false, cut);
  CHECK(s->next_offset() == 29);
  CHECK(cut == 20);
  CHECK(t.fs.contents(t.log_path(0)) == before);
  CHECK(read_all_offsets(*s) == range(0, 29));
  CHECK_FALSE(s->append([] {
                 RecordBatch b;
                 b.add(envelope(29, 1));
                 return b;
               }())
                  .ok());
  CHECK(t.fs.contents(t.log_path(0)) == before);
}

TEST_CASE("segment recover: bad magic is a corruption error", "[segment][recover]") {
  SegmentTest t;
  write_closed_segment(t, 0, 3);
  t.fs.corrupt(t.log_path(0), 1);
  std::string before = t.fs.contents(t.log_path(0));
  uint64_t cut = 0;
  auto s = Segment::recover(t.fs, kDir, 0, true, cut);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kCorruption);
  CHECK_THAT(s.error().message, Catch::Contains(t.log_path(0)));
  CHECK(t.fs.contents(t.log_path(0)) == before);
}

TEST_CASE("segment recover: unknown format version is a corruption error", "[segment][recover]") {
  SegmentTest t;
  write_closed_segment(t, 0, 3);
  put_u32(t.fs, t.log_path(0), 8, 3);
  uint64_t cut = 0;
  auto s = Segment::recover(t.fs, kDir, 0, true, cut);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kCorruption);
  CHECK_THAT(s.error().message, Catch::Contains("version 3"));
}

TEST_CASE("segment recover: base offset that disagrees with the name is a corruption error",
          "[segment][recover]") {
  SegmentTest t;
  write_closed_segment(t, 0, 3);
  t.fs.set_contents(t.log_path(5), t.fs.contents(t.log_path(0)));
  uint64_t cut = 0;
  auto s = Segment::recover(t.fs, kDir, 5, true, cut);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kCorruption);
}

TEST_CASE("segment recover: a read error fails and cuts nothing", "[segment][recover]") {
  SegmentTest t;
  write_closed_segment(t, 0, 30);
  std::string before = t.fs.contents(t.log_path(0));
  t.fs.faults.read_error = true;
  uint64_t cut = 0;
  auto s = Segment::recover(t.fs, kDir, 0, true, cut);
  CHECK_FALSE(s.ok());
  CHECK(t.fs.contents(t.log_path(0)) == before);
}

TEST_CASE("segment recover: appends continue after the cut", "[segment][recover]") {
  SegmentTest t;
  auto written = write_closed_segment(t, 0, 10);
  t.fs.append_bytes(t.log_path(0), "torn");
  uint64_t cut = 0;
  auto s = t.recover(0, true, cut);
  t.append(*s, 10, 10);
  s.reset();
  auto again = t.recover(0, true, cut);
  CHECK(cut == 0);
  CHECK(read_all_offsets(*again) == range(0, 20));
}

// --- sealed segments: the index is a hint ---

// A sealed segment of `n` records at `base` with its index file written.
std::vector<Written> write_sealed_segment(SegmentTest& t, uint64_t base, size_t n) {
  auto s = t.create(base);
  auto written = t.append(*s, base, n);
  REQUIRE(s->write_indexes());
  return written;
}

TEST_CASE("segment sealed: missing index is rebuilt and reads are right", "[segment][index]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 400);
  REQUIRE(t.fs.remove(t.idx_path(0)));
  auto s = t.open_sealed(0, 400);
  check_reads_from_every_offset(*s, 0, 400);
  CHECK(*s->offset_for_time(1'000'000 + 250) == 250);
}

TEST_CASE("segment sealed: index cut mid-entry is rebuilt", "[segment][index]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 400);
  uint64_t size = t.fs.file_size(t.idx_path(0));
  t.fs.truncate_file(t.idx_path(0), size - 5);
  auto s = t.open_sealed(0, 400);
  check_reads_from_every_offset(*s, 0, 400);
}

TEST_CASE("segment sealed: index missing its last entries still reads right", "[segment][index]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 400);
  t.fs.truncate_file(t.idx_path(0), 2 * lf::kIndexEntrySize);
  auto s = t.open_sealed(0, 400);
  check_reads_from_every_offset(*s, 0, 400);
  CHECK(*s->max_ts() == 1'000'000 + 399);
}

TEST_CASE("segment sealed: empty index file is rebuilt", "[segment][index]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 100);
  t.fs.set_contents(t.idx_path(0), "");
  auto s = t.open_sealed(0, 100);
  check_reads_from_every_offset(*s, 0, 100);
}

TEST_CASE("segment sealed: index of another segment is rebuilt", "[segment][index]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 400);
  // Same base, different record sizes: every position after the first is wrong.
  FaultFileSystem other;
  REQUIRE(other.create_dirs(kDir));
  {
    auto s = Segment::create(other, kDir, 0);
    REQUIRE(s.ok());
    RecordBatch b;
    for (uint64_t o = 0; o < 400; ++o) {
      Envelope e = envelope(o, 5);
      e.payload += std::string(o % 13 * 7 + 3, 'x');
      b.add(e);
    }
    REQUIRE((*s)->append(b));
    REQUIRE((*s)->write_indexes());
  }
  t.fs.set_contents(t.idx_path(0), other.contents(t.idx_path(0)));
  auto s = t.open_sealed(0, 400);
  check_reads_from_every_offset(*s, 0, 400);
}

TEST_CASE("segment sealed: index whose last entry is wrong is rebuilt", "[segment][index]") {
  SegmentTest t;
  auto written = write_sealed_segment(t, 0, 400);
  auto entries = parse_index(t.fs.contents(t.idx_path(0)));
  REQUIRE(entries.size() >= 3);
  // Names the last record's position but the offset before it: the scan
  // after it finds one record too few.
  REQUIRE(entries.back().position == written[399].position);
  entries.back().relative_offset -= 1;
  t.fs.set_contents(t.idx_path(0), serialize_index(entries));
  auto s = t.open_sealed(0, 400);
  check_reads_from_every_offset(*s, 0, 400);
}

TEST_CASE("segment sealed: index with out-of-order entries is rebuilt", "[segment][index]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 400);
  auto entries = parse_index(t.fs.contents(t.idx_path(0)));
  REQUIRE(entries.size() >= 4);
  std::swap(entries[1], entries[2]);
  t.fs.set_contents(t.idx_path(0), serialize_index(entries));
  auto s = t.open_sealed(0, 400);
  check_reads_from_every_offset(*s, 0, 400);
}

TEST_CASE("segment sealed: index with a wrong middle entry is not trusted", "[segment][index]") {
  // An index entry that names a real record boundary, but of another record
  // (a stale or bit-flipped index): ordered, and its tail checks out.
  SegmentTest t;
  auto written = write_sealed_segment(t, 0, 400);
  auto entries = parse_index(t.fs.contents(t.idx_path(0)));
  REQUIRE(entries.size() >= 4);
  RawIndexEntry& e = entries[1];
  REQUIRE(entries[2].relative_offset > e.relative_offset + 1);
  e.position = static_cast<uint32_t>(written[e.relative_offset + 1].position);
  t.fs.set_contents(t.idx_path(0), serialize_index(entries));
  auto s = t.open_sealed(0, 400);
  check_reads_from_every_offset(*s, 0, 400);
}

TEST_CASE("segment sealed: a corrupt record gives a corruption error on read", "[segment][index]") {
  SegmentTest t;
  auto written = write_sealed_segment(t, 0, 400);
  t.fs.corrupt(t.log_path(0), written[200].position + 30, 0x04);
  SECTION("with its index") {}
  SECTION("without its index") {
    REQUIRE(t.fs.remove(t.idx_path(0)));
  }
  auto s = t.open_sealed(0, 400);
  std::string buffer;
  std::vector<StoredRecord> out;
  Status st = s->read(200, 10, SIZE_MAX, buffer, out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::kCorruption);
  CHECK_THAT(st.error().message, Catch::Contains(t.log_path(0)));
  CHECK_THAT(st.error().message, Catch::Contains(std::to_string(written[200].position)));
  CHECK(out.empty());
}

TEST_CASE("segment sealed: records before a corrupt one are read, then the error",
          "[segment][index]") {
  SegmentTest t;
  auto written = write_sealed_segment(t, 0, 400);
  t.fs.corrupt(t.log_path(0), written[200].position + 30, 0x04);
  SECTION("with its index") {}
  SECTION("without its index") {
    REQUIRE(t.fs.remove(t.idx_path(0)));
  }
  auto s = t.open_sealed(0, 400);
  std::string buffer;
  std::vector<StoredRecord> out;
  Status st = s->read(195, 10, SIZE_MAX, buffer, out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::kCorruption);
  REQUIRE(out.size() == 5);
  for (size_t i = 0; i < out.size(); ++i) check_record(out[i], 195 + i);
  // And the same again: what a first read finds does not change later reads.
  out.clear();
  st = s->read(195, 10, SIZE_MAX, buffer, out);
  CHECK_FALSE(st.ok());
  CHECK(out.size() == 5);
  // The records after it stay unreadable through this segment.
  out.clear();
  CHECK_FALSE(s->read(199, 10, SIZE_MAX, buffer, out).ok());
  CHECK(out.size() == 1);
}

TEST_CASE("segment sealed: a corrupt last record gives a corruption error on read",
          "[segment][index]") {
  SegmentTest t;
  auto written = write_sealed_segment(t, 0, 50);
  t.fs.corrupt(t.log_path(0), written[49].position + 8, 0x01);  // its ts
  auto s = t.open_sealed(0, 50);
  std::string buffer;
  std::vector<StoredRecord> out;
  Status st = s->read(49, 10, SIZE_MAX, buffer, out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::kCorruption);
}

TEST_CASE("segment sealed: a segment shorter than its offsets is a corruption error",
          "[segment][index]") {
  SegmentTest t;
  auto written = write_sealed_segment(t, 0, 50);
  t.fs.truncate_file(t.log_path(0), written[40].position);
  REQUIRE(t.fs.remove(t.idx_path(0)));
  auto s = t.open_sealed(0, 50);
  std::string buffer;
  std::vector<StoredRecord> out;
  Status st = s->read(45, 10, SIZE_MAX, buffer, out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::kCorruption);
  CHECK(s->next_offset() == 50);
}

TEST_CASE("segment sealed: open_sealed checks the header", "[segment][index]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 5);
  t.fs.corrupt(t.log_path(0), 0);
  auto s = Segment::open_sealed(t.fs, kDir, 0, 5);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::kCorruption);
}

TEST_CASE("segment: remove_files deletes the segment and its index", "[segment]") {
  SegmentTest t;
  write_sealed_segment(t, 0, 5);
  REQUIRE(t.fs.has_file(t.idx_path(0)));
  auto s = t.open_sealed(0, 5);
  REQUIRE(s->remove_files());
  CHECK_FALSE(t.fs.has_file(t.log_path(0)));
  CHECK_FALSE(t.fs.has_file(t.idx_path(0)));
}

// --- failed appends ---

RecordBatch make_batch(uint64_t first, size_t n) {
  RecordBatch b;
  for (uint64_t o = first; o < first + n; ++o) b.add(envelope(o, int64_t(1'000'000 + o)));
  return b;
}

TEST_CASE("segment append: a write error leaves the segment unchanged and readable",
          "[segment][faults]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 20);
  std::string before = t.fs.contents(t.log_path(0));
  uint64_t size = s->size();

  t.fs.faults.write_error = true;
  Status st = s->append(make_batch(20, 5));
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message, Catch::Contains("No space left"));
  CHECK(s->size() == size);
  CHECK(s->next_offset() == 20);
  CHECK(t.fs.contents(t.log_path(0)) == before);
  CHECK(read_all_offsets(*s) == range(0, 20));

  t.fs.faults = {};
  t.append(*s, 20, 5);
  CHECK(read_all_offsets(*s) == range(0, 25));
}

TEST_CASE("segment append: a short write is cut back and the segment stays readable",
          "[segment][faults]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 20);
  std::string before = t.fs.contents(t.log_path(0));
  uint64_t size = s->size();
  RecordBatch batch = make_batch(20, 5);

  for (size_t k : {size_t{1}, size_t{10}, size_t{16}, size_t{40}, batch.data().size() - 1}) {
    INFO("wrote " << k << " of " << batch.data().size() << " bytes");
    t.fs.faults.short_write = true;
    t.fs.faults.short_write_bytes = k;
    REQUIRE_FALSE(s->append(batch).ok());
    CHECK(s->size() == size);
    CHECK(s->next_offset() == 20);
    CHECK(t.fs.contents(t.log_path(0)) == before);
    t.fs.faults = {};
    CHECK(read_all_offsets(*s) == range(0, 20));
    CHECK(*s->offset_for_time(1'000'000 + 19) == 19);
  }

  REQUIRE(s->append(batch));
  CHECK(read_all_offsets(*s) == range(0, 25));
  s.reset();
  uint64_t cut = 1;
  auto recovered = t.recover(0, true, cut);
  CHECK(cut == 0);
  CHECK(read_all_offsets(*recovered) == range(0, 25));
}

TEST_CASE("segment append: a short write whose cut-back fails does not lose later records",
          "[segment][faults]") {
  // The write fails half-way and so does the truncate that should undo it.
  // Whatever append does next, a record it reports as stored must be readable
  // and must survive recovery.
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 10);
  t.fs.faults.short_write = true;
  t.fs.faults.short_write_bytes = 20;
  t.fs.faults.truncate_error = true;
  REQUIRE_FALSE(s->append(make_batch(10, 3)).ok());
  t.fs.faults = {};

  Status st = s->append(make_batch(10, 3));
  if (st.ok()) {
    std::string buffer;
    std::vector<StoredRecord> out;
    Status rd = s->read(10, 10, SIZE_MAX, buffer, out);
    INFO((rd ? std::string("read ok") : rd.error().message));
    CHECK(rd.ok());
    s.reset();
    uint64_t cut = 0;
    auto recovered = t.recover(0, true, cut);
    CHECK(recovered->next_offset() == 13);
  }
}

TEST_CASE("segment append: a sync failure does not undo the append", "[segment][faults]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 3);
  t.fs.sync_error = true;
  CHECK_FALSE(s->file()->sync().ok());
  CHECK(read_all_offsets(*s) == range(0, 3));
}

TEST_CASE("segment: a read error while reading is an error, not corruption", "[segment][faults]") {
  SegmentTest t;
  auto s = t.create(0);
  t.append(*s, 0, 10);
  t.fs.faults.read_error = true;
  std::string buffer;
  std::vector<StoredRecord> out;
  Status st = s->read(0, 10, SIZE_MAX, buffer, out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind != ErrorKind::kCorruption);
  CHECK(out.empty());
  t.fs.faults = {};
  CHECK(read_all_offsets(*s) == range(0, 10));
}

}  // namespace
}  // namespace eda::segment_test
