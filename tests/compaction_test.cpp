#include "core/compaction.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/disk_log.h"
#include "core/envelope_codec.h"
#include "core/log_format.h"
#include "core/memory_log.h"
#include "tests/fault_file_system.h"

namespace eda::compaction_test {
namespace {

namespace lf = log_format;
using testing::FaultFileSystem;

const std::string kDir = "/data/default/kv";
constexpr int64_t kRetention = 1000;

// One record of the model: what the log should hold at its offset.
struct Rec {
  std::optional<std::string> key;
  std::string payload;
  bool tombstone = false;
  int64_t ts = 0;
};

Envelope envelope_of(uint64_t offset, const Rec& r) {
  Envelope e;
  e.id = fmt::format("id-{}", offset);
  e.topic = "kv";
  e.key = r.key;
  e.ts = r.ts;
  e.payload = r.payload;
  e.offset = offset;
  if (r.tombstone) e.headers = {{"tombstone", true}};
  return e;
}

// Appends random keyed records (a few keyless, a few tombstones) to `log`
// and to `model`, in batches, with ts rising from `ts`.
void append_random(TopicLog& log, std::map<uint64_t, Rec>& model, std::mt19937& rng, size_t n,
                   int64_t ts) {
  std::uniform_int_distribution<int> key(0, 39), kind(0, 19), batch_size(1, 30);
  for (size_t done = 0; done < n;) {
    RecordBatch batch;
    for (int k = batch_size(rng); k > 0 && done < n; --k, ++done) {
      uint64_t offset = log.next_offset() + batch.entries().size();
      Rec r;
      int what = kind(rng);
      if (what != 0) r.key = fmt::format("key-{}", key(rng));
      r.tombstone = r.key && what == 1;
      if (!r.tombstone) r.payload = fmt::format("value-{}", offset) + std::string(offset % 50, 'v');
      r.ts = ts++;
      batch.add(envelope_of(offset, r));
      model[offset] = r;
    }
    REQUIRE(log.append(batch));
  }
}

// What a compaction pass over offsets below `end` leaves of `model`.
void compact_model(std::map<uint64_t, Rec>& model, uint64_t end, int64_t horizon) {
  std::map<std::string, uint64_t> latest;
  for (const auto& [offset, r] : model)
    if (offset < end && r.key) latest[*r.key] = offset;
  std::erase_if(model, [&](const auto& entry) {
    const auto& [offset, r] = entry;
    if (offset >= end || !r.key) return false;
    return latest.at(*r.key) != offset || (r.tombstone && r.ts < horizon);
  });
}

// Reads the whole log and checks it holds exactly the model, at the same offsets.
void check_log_equals(TopicLog& log, const std::map<uint64_t, Rec>& model) {
  std::vector<uint64_t> offsets;
  std::vector<StoredRecord> records;
  std::string skipped;
  for (uint64_t at = log.earliest_offset(); at < log.next_offset();) {
    records.clear();
    auto next = log.read(at, 7, 1u << 20, records, skipped);
    REQUIRE(next);
    REQUIRE(skipped.empty());
    REQUIRE(*next > at);
    for (const StoredRecord& r : records) {
      auto e = decode_envelope(r.body);
      REQUIRE(e);
      INFO("offset " << r.offset);
      REQUIRE(e->offset == r.offset);
      auto it = model.find(r.offset);
      REQUIRE(it != model.end());
      CHECK(e->key == it->second.key);
      CHECK(e->payload == it->second.payload);
      CHECK(r.ts == it->second.ts);
      offsets.push_back(r.offset);
    }
    at = *next;
  }
  std::vector<uint64_t> expected;
  for (const auto& [offset, r] : model) expected.push_back(offset);
  CHECK(offsets == expected);
}

// Runs one pass over every sealed segment and puts its files in place.
CompactionResult compact_disk_log(FaultFileSystem& fs, DiskLog& log, int64_t horizon,
                                  uint64_t target_bytes = 4096) {
  std::atomic<bool> cancel{false};
  CompactionJob job{kDir, log.sealed_segments(), horizon, kRetention, target_bytes};
  auto result = compact_segments(fs, job, cancel);
  REQUIRE(result);
  for (const CompactedFile& f : result->files) REQUIRE(log.replace_segments(f));
  return *result;
}

size_t files_ending_with(FaultFileSystem& fs, std::string_view suffix) {
  auto names = fs.list(kDir);
  REQUIRE(names);
  return std::count_if(names->begin(), names->end(),
                       [&](const std::string& n) { return n.ends_with(suffix); });
}

DiskLogOptions small_segments() {
  DiskLogOptions o;
  o.segment_bytes = 2048;
  return o;
}

// A disk log of small segments holding `n` random records (keyed, keyless,
// tombstones) from `seed`, stamped from ts 1 on, and the model of it.
struct RandomLog {
  FaultFileSystem fs;
  std::unique_ptr<DiskLog> log;
  std::map<uint64_t, Rec> model;

  RandomLog(uint32_t seed, size_t n) {
    auto created = DiskLog::create(fs, kDir, small_segments());
    REQUIRE(created);
    log = std::move(*created);
    std::mt19937 rng(seed);
    append_random(*log, model, rng, n, 1);
  }
};

TEST_CASE("compaction: keeps the newest record per key at its offset, over several passes",
          "[compaction]") {
  FaultFileSystem fs;
  auto log = DiskLog::create(fs, kDir, small_segments());
  REQUIRE(log);
  std::mt19937 rng(GENERATE(1u, 2u, 3u));
  std::map<uint64_t, Rec> model;
  int64_t ts = 10'000;
  for (int round = 0; round < 4; ++round) {
    INFO("round " << round);
    append_random(**log, model, rng, 400, ts);
    ts += 400;
    auto sealed = (*log)->sealed_segments();
    REQUIRE_FALSE(sealed.empty());
    int64_t horizon = ts - 300;  // tombstones of the last 300 ms stay
    CompactionResult r = compact_disk_log(fs, **log, horizon);
    compact_model(model, sealed.back().end, horizon);
    CHECK(r.records_removed > 0);
    check_log_equals(**log, model);
    CHECK(files_ending_with(fs, lf::kCompactedSuffix) == 0);
  }
  // What is on disk reads the same after a restart.
  std::vector<std::string> notes;
  auto reopened = DiskLog::open(fs, kDir, small_segments(), notes);
  REQUIRE(reopened);
  check_log_equals(**reopened, model);
  CHECK((*reopened)->next_offset() == (*log)->next_offset());
}

TEST_CASE(
    "compaction: merged segments are fewer, and a read inside a gap starts at the next record",
    "[compaction]") {
  FaultFileSystem fs;
  auto log = DiskLog::create(fs, kDir, small_segments());
  REQUIRE(log);
  std::map<uint64_t, Rec> model;
  // Ten keys updated over and over: a handful of records survive.
  for (uint64_t i = 0; i < 600; ++i) {
    RecordBatch b;
    Rec r{fmt::format("k{}", i % 10), fmt::format("v{}", i), false, int64_t(1000 + i)};
    b.add(envelope_of(i, r));
    model[i] = r;
    REQUIRE((*log)->append(b));
  }
  size_t before = (*log)->segment_count();
  uint64_t sealed_end = (*log)->sealed_segments().back().end;
  compact_disk_log(fs, **log, 0, 1u << 20);
  compact_model(model, sealed_end, 0);
  CHECK((*log)->segment_count() == 2);  // one merged, the active one
  CHECK(before > 2);
  check_log_equals(**log, model);
  // Offsets 0..(sealed_end - 11) were all superseded.
  std::vector<StoredRecord> out;
  std::string skipped;
  auto next = (*log)->read(3, 1, 1u << 20, out, skipped);
  REQUIRE(next);
  REQUIRE(out.size() == 1);
  CHECK(out[0].offset == model.begin()->first);
  CHECK(model.begin()->first > 3);
  // Time lookups land on kept records.
  auto at = (*log)->offset_for_time(1000);
  REQUIRE(at);
  CHECK(*at == model.begin()->first);
}

TEST_CASE("compaction: a tombstone goes after its retention, taking its key along",
          "[compaction]") {
  FaultFileSystem fs;
  auto log = DiskLog::create(fs, kDir, small_segments());
  REQUIRE(log);
  std::map<uint64_t, Rec> model;
  uint64_t offset = 0;
  auto add = [&](Rec r) {
    RecordBatch b;
    b.add(envelope_of(offset, r));
    model[offset++] = r;
    REQUIRE((*log)->append(b));
  };
  add({"gone", "first", false, 100});
  add({"kept", "value", false, 101});
  add({"gone", "", true, 102});
  for (int i = 0; i < 40; ++i)
    add({fmt::format("filler-{}", i), std::string(100, 'f'), false, 103});
  uint64_t end = (*log)->sealed_segments().back().end;
  REQUIRE(end > 3);

  CompactionResult fresh = compact_disk_log(fs, **log, 50);  // the tombstone is young
  compact_model(model, end, 50);
  CHECK(model.count(2) == 1);
  CHECK(model.count(0) == 0);
  REQUIRE(fresh.next_tombstone_expiry);
  CHECK(*fresh.next_tombstone_expiry == 102 + kRetention + 1);
  check_log_equals(**log, model);

  CompactionResult expired = compact_disk_log(fs, **log, 103);  // now it is older than that
  compact_model(model, end, 103);
  CHECK(model.count(2) == 0);
  CHECK(model.count(1) == 1);
  CHECK_FALSE(expired.next_tombstone_expiry);
  check_log_equals(**log, model);
}

TEST_CASE("compaction: an empty payload without tombstone:=true is a value", "[compaction]") {
  LatestOffsets latest;
  Rec empty{"k", "", false, 5};
  std::string body = encode_envelope(envelope_of(0, empty));
  StoredRecord r{0, 5, body};
  latest.add(r);
  CHECK(latest.keeps(r, 1'000'000));
  CHECK_FALSE(latest.next_tombstone_expiry(10));
  Rec tomb{"k", "", true, 5};
  std::string tomb_body = encode_envelope(envelope_of(1, tomb));
  StoredRecord t{1, 5, tomb_body};
  latest.add(t);
  CHECK_FALSE(latest.keeps(r, 0));  // superseded
  CHECK(latest.keeps(t, 5));
  CHECK(latest.next_tombstone_expiry(10) == 16);
  CHECK_FALSE(latest.keeps(t, 6));
  CHECK(latest.keys() == 1);
}

TEST_CASE("compaction: a tombstone expiry that would overflow is never", "[compaction]") {
  LatestOffsets latest;
  Rec tomb{"k", "", true, INT64_MAX - 5};
  std::string body = encode_envelope(envelope_of(0, tomb));
  StoredRecord t{0, tomb.ts, body};
  latest.add(t);
  REQUIRE(latest.keeps(t, 0));
  CHECK_FALSE(latest.next_tombstone_expiry(10));
  CHECK_FALSE(latest.next_tombstone_expiry(INT64_MAX));
  CHECK(latest.next_tombstone_expiry(4) == INT64_MAX);
}

TEST_CASE("compaction: a merged file never spans more offsets than a segment can address",
          "[compaction]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  // Segment 0: one record, then a gap to 2^32 + 10 (as passes before may leave).
  const uint64_t far = (uint64_t{1} << 32) + 10;
  std::string first = segment_header(0, lf::kCompactedVersion);
  std::string body0 = encode_envelope(envelope_of(0, {"a", "kept", false, 1}));
  append_frame(first, 1, body0);
  append_gap_frame(first, far - 1);
  fs.set_contents(fmt::format("{}/{}.log", kDir, segment_name(0)), first);
  // Segment `far`: ten updates of key b; then the active segment.
  std::string second = segment_header(far, lf::kVersion);
  for (uint64_t i = 0; i < 10; ++i)
    append_frame(second, 1,
                 encode_envelope(envelope_of(far + i, {"b", fmt::format("b{}", i), false, 1})));
  fs.set_contents(fmt::format("{}/{}.log", kDir, segment_name(far)), second);
  fs.set_contents(fmt::format("{}/{}.log", kDir, segment_name(far + 10)),
                  segment_header(far + 10, lf::kVersion));
  std::vector<std::string> notes;
  auto log = DiskLog::open(fs, kDir, small_segments(), notes);
  REQUIRE(log);
  std::atomic<bool> cancel{false};
  auto result =
      compact_segments(fs, {kDir, (*log)->sealed_segments(), 0, kRetention, 1u << 30}, cancel);
  REQUIRE(result);
  for (const CompactedFile& f : result->files) {
    CHECK(f.end - f.base <= UINT32_MAX);
    REQUIRE((*log)->replace_segments(f));
  }
  std::map<uint64_t, Rec> model{{0, {"a", "kept", false, 1}}, {far + 9, {"b", "b9", false, 1}}};
  check_log_equals(**log, model);
}

TEST_CASE("compaction: a segment that would come out the same is left alone", "[compaction]") {
  FaultFileSystem fs;
  auto log = DiskLog::create(fs, kDir, small_segments());
  REQUIRE(log);
  for (uint64_t i = 0; i < 100; ++i) {
    RecordBatch b;
    b.add(envelope_of(i, {fmt::format("unique-{}", i), std::string(60, 'u'), false, 1}));
    REQUIRE((*log)->append(b));
  }
  std::atomic<bool> cancel{false};
  CompactionJob job{kDir, (*log)->sealed_segments(), 0, kRetention, 1};  // no merging
  auto result = compact_segments(fs, job, cancel);
  REQUIRE(result);
  CHECK(result->files.empty());
  CHECK(result->records_removed == 0);
  CHECK(files_ending_with(fs, lf::kCompactedSuffix) == 0);
}

TEST_CASE("compaction: a stopped pass or a damaged segment changes nothing", "[compaction]") {
  RandomLog random(7, 300);
  FaultFileSystem& fs = random.fs;
  auto sealed = random.log->sealed_segments();
  std::atomic<bool> cancel{true};
  auto stopped = compact_segments(fs, {kDir, sealed, 0, kRetention, 4096}, cancel);
  CHECK_FALSE(stopped);
  CHECK(files_ending_with(fs, lf::kCompactedSuffix) == 0);

  // A flipped byte in the second sealed segment: the pass fails, no file is left.
  std::string path = fmt::format("{}/{}.log", kDir, segment_name(sealed[1].base));
  std::string bytes = fs.contents(path);
  bytes[lf::kHeaderSize + 20] ^= 0x40;
  fs.set_contents(path, bytes);
  cancel = false;
  auto damaged = compact_segments(fs, {kDir, sealed, 0, kRetention, 4096}, cancel);
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().kind == ErrorKind::kCorruption);
  CHECK(files_ending_with(fs, lf::kCompactedSuffix) == 0);
}

TEST_CASE("compaction: files for segments that changed meanwhile are not used", "[compaction]") {
  RandomLog random(11, 300);
  std::atomic<bool> cancel{false};
  auto result = compact_segments(
      random.fs, {kDir, random.log->sealed_segments(), 0, kRetention, 1u << 20}, cancel);
  REQUIRE(result);
  REQUIRE(result->files.size() == 1);
  CompactedFile stale = result->files[0];
  stale.end += 1;  // as if another segment had been sealed in between
  CHECK_FALSE(random.log->replace_segments(stale));
  CHECK_FALSE(random.fs.exists(stale.path));
  check_log_equals(*random.log, random.model);  // nothing changed
}

TEST_CASE("compaction: debris of a stopped pass is removed when the log opens", "[compaction]") {
  RandomLog random(5, 100);
  random.log.reset();
  std::string debris = fmt::format("{}/{}.log{}", kDir, segment_name(0), lf::kCompactedSuffix);
  random.fs.set_contents(debris, "half a file");
  std::vector<std::string> notes;
  auto log = DiskLog::open(random.fs, kDir, small_segments(), notes);
  REQUIRE(log);
  CHECK_FALSE(random.fs.exists(debris));
}

TEST_CASE("compaction: a memory log compacts in place and reads past what it removed",
          "[compaction]") {
  MemoryLog log;
  std::mt19937 rng(GENERATE(21u, 22u));
  std::map<uint64_t, Rec> model;
  int64_t ts = 1;
  for (int round = 0; round < 3; ++round) {
    append_random(log, model, rng, 300, ts);
    ts += 300;
    CompactionResult r = log.compact_in_place(ts - 100, kRetention);
    compact_model(model, log.next_offset(), ts - 100);
    CHECK(r.records_removed > 0);
    check_log_equals(log, model);
  }
  // Reading from a removed offset starts at the next record.
  uint64_t removed = 0;
  while (model.count(removed)) ++removed;
  std::vector<StoredRecord> out;
  std::string skipped;
  auto next = log.read(removed, 1, 1u << 20, out, skipped);
  REQUIRE(next);
  REQUIRE(out.size() == 1);
  CHECK(out[0].offset == model.upper_bound(removed)->first);
}

}  // namespace
}  // namespace eda::compaction_test
