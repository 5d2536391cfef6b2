#include "core/memory_log.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/envelope_codec.h"

namespace eda::memory_log_test {
namespace {

Envelope envelope(uint64_t offset, int64_t ts, size_t payload_bytes = 10) {
  Envelope e;
  e.id = fmt::format("id-{}", offset);
  e.topic = "orders";
  e.ts = ts;
  e.payload = std::string(payload_bytes, static_cast<char>('a' + offset % 26));
  e.offset = offset;
  return e;
}

// Appends one batch of records with the given timestamps at next_offset().
void append(MemoryLog& log, const std::vector<int64_t>& ts, size_t payload_bytes = 10) {
  RecordBatch batch;
  for (size_t i = 0; i < ts.size(); ++i)
    batch.add(envelope(log.next_offset() + i, ts[i], payload_bytes));
  REQUIRE(log.append(batch));
}

struct ReadResult {
  std::vector<StoredRecord> records;
  uint64_t next;
};

ReadResult read(MemoryLog& log, uint64_t offset, size_t max_records, size_t max_bytes = SIZE_MAX) {
  ReadResult r;
  std::string skipped;
  auto next = log.read(offset, max_records, max_bytes, r.records, skipped);
  REQUIRE(next.ok());
  CHECK(skipped.empty());
  r.next = *next;
  return r;
}

size_t body_size(uint64_t offset, int64_t ts, size_t payload_bytes = 10) {
  return encode_envelope(envelope(offset, ts, payload_bytes)).size();
}

TEST_CASE("memory log: starts empty", "[memory_log]") {
  MemoryLog log;
  CHECK(log.earliest_offset() == 0);
  CHECK(log.next_offset() == 0);
  CHECK(log.bytes() == 0);
  CHECK(log.last_ts() == 0);
  CHECK(read(log, 0, 10).records.empty());
}

TEST_CASE("memory log: append and read round trip", "[memory_log]") {
  MemoryLog log;
  append(log, {10, 20, 30});
  append(log, {40});
  CHECK(log.next_offset() == 4);
  auto r = read(log, 0, 100);
  REQUIRE(r.records.size() == 4);
  CHECK(r.next == 4);
  for (uint64_t o = 0; o < 4; ++o) {
    CHECK(r.records[o].offset == o);
    CHECK(r.records[o].ts == int64_t(10 * (o + 1)));
    auto e = decode_envelope(r.records[o].body);
    REQUIRE(e.ok());
    CHECK(*e == envelope(o, 10 * (o + 1)));
  }
  CHECK(log.bytes() == body_size(0, 10) + body_size(1, 20) + body_size(2, 30) + body_size(3, 40));
}

TEST_CASE("memory log: read from the middle", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3, 4, 5});
  auto r = read(log, 3, 100);
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[0].offset == 3);
  CHECK(r.next == 5);
}

TEST_CASE("memory log: read stops at max_records", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3, 4, 5});
  auto r = read(log, 1, 2);
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[1].offset == 2);
  CHECK(r.next == 3);
}

TEST_CASE("memory log: read stops once max_bytes is reached, with at least one record",
          "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3, 4, 5}, 100);
  auto one = read(log, 0, 100, 1);
  CHECK(one.records.size() == 1);
  CHECK(one.next == 1);
  // Exactly two bodies' worth: two records, not a third.
  size_t two = one.records[0].body.size() * 2;
  auto r = read(log, 0, 100, two);
  CHECK(r.records.size() == 2);
  CHECK(r.next == 2);
}

TEST_CASE("memory log: read with max_records 0 returns nothing and skips nothing", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3, 4, 5});
  auto r = read(log, 2, 0);
  CHECK(r.records.empty());
  CHECK(r.next == 2);
}

TEST_CASE("memory log: read below the earliest offset starts at it", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3, 4, 5}, 100);
  REQUIRE(log.enforce_retention({1, 0}, 0));
  REQUIRE(log.earliest_offset() == 4);
  auto r = read(log, 0, 100);
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0].offset == 4);
}

TEST_CASE("memory log: read at or past the end returns nothing", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2});
  auto r = read(log, 2, 100);
  CHECK(r.records.empty());
  CHECK(r.next == 2);
  CHECK(read(log, 50, 100).records.empty());
}

TEST_CASE("memory log: offset_for_time finds the first record at or after a ts", "[memory_log]") {
  MemoryLog log;
  // Not monotonic: publishers' clocks differ.
  append(log, {100, 300, 200, 500, 400});
  CHECK(*log.offset_for_time(0) == 0);
  CHECK(*log.offset_for_time(100) == 0);
  CHECK(*log.offset_for_time(101) == 1);
  CHECK(*log.offset_for_time(300) == 1);
  CHECK(*log.offset_for_time(301) == 3);
  CHECK(*log.offset_for_time(450) == 3);
  CHECK(*log.offset_for_time(501) == 5);
}

TEST_CASE("memory log: offset_for_time counts from the earliest retained offset", "[memory_log]") {
  MemoryLog log;
  append(log, {100, 200, 300, 400});
  REQUIRE(log.enforce_retention({0, 150}, 400));  // drops ts < 250
  REQUIRE(log.earliest_offset() == 2);
  CHECK(*log.offset_for_time(0) == 2);
  CHECK(*log.offset_for_time(350) == 3);
  CHECK(*log.offset_for_time(1000) == 4);
}

TEST_CASE("memory log: retention by bytes drops the oldest records", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3, 4, 5, 6}, 50);
  uint64_t one = body_size(0, 1, 50);
  REQUIRE(log.enforce_retention({3 * one, 0}, 0));
  CHECK(log.earliest_offset() == 3);
  CHECK(log.next_offset() == 6);
  CHECK(log.bytes() <= 3 * one);
  auto r = read(log, 0, 100);
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[0].offset == 3);
}

TEST_CASE("memory log: bodies packed into chunks read back whole and retention frees the chunks",
          "[memory_log]") {
  MemoryLog log;
  // About 4 MiB in 1 KiB bodies (several chunks), then one body bigger than a chunk.
  for (int i = 0; i < 40; ++i) append(log, std::vector<int64_t>(100, 1), 1000);
  append(log, {2}, 3u << 20);
  append(log, std::vector<int64_t>(100, 3), 1000);
  const uint64_t end = log.next_offset();
  CHECK(log.held_bytes() >= log.bytes());
  CHECK(log.held_bytes() < log.bytes() + (3u << 20));

  auto check_bodies = [&] {
    auto r = read(log, 0, end);
    REQUIRE(r.records.size() == end - log.earliest_offset());
    for (const StoredRecord& rec : r.records) {
      auto e = decode_envelope(rec.body);
      REQUIRE(e.ok());
      CHECK(*e == envelope(rec.offset, rec.ts, rec.ts == 2 ? 3u << 20 : 1000));
    }
  };
  check_bodies();
  // The 1 KiB bodies took chunks growing to 1 MiB; the big one its own 3 MiB.
  CHECK(log.held_bytes() > (7u << 20));
  // Down to the big body and the 100 records after it: the chunks before go,
  // all but the one that was open when the big body came and the one after.
  uint64_t first_4000 = 0;
  for (uint64_t o = 0; o < 4000; ++o) first_4000 += body_size(o, 1, 1000);
  REQUIRE(log.enforce_retention({log.bytes() - first_4000, 0}, 0));
  CHECK(log.earliest_offset() == 4000);
  CHECK(log.held_bytes() < (5u << 20) + 4096);
  check_bodies();
  // Down to the newest record: only its chunk stays.
  REQUIRE(log.enforce_retention({1, 0}, 0));
  CHECK(log.earliest_offset() == end - 1);
  CHECK(log.held_bytes() <= (1u << 20));
  check_bodies();
  append(log, {4, 4}, 1000);
  CHECK(log.next_offset() == end + 2);
  REQUIRE(log.destroy());
  CHECK(log.held_bytes() == 0);
}

TEST_CASE("memory log: a quiet log holds a small chunk", "[memory_log]") {
  MemoryLog log;
  append(log, {1});
  CHECK(log.held_bytes() <= (16u << 10));
}

TEST_CASE("memory log: compaction gives back the memory of what it removed", "[memory_log]") {
  MemoryLog log;
  RecordBatch batch;
  for (uint64_t o = 0; o < 3000; ++o) {
    Envelope e = envelope(o, 1, 1000);
    e.key = "the-key";
    batch.add(e);
  }
  REQUIRE(log.append(batch));
  REQUIRE(log.held_bytes() > (2u << 20));
  CompactionResult r = log.compact_in_place(0, 0);
  CHECK(r.records_removed == 2999);
  CHECK(log.held_bytes() <= (1u << 20));
  // New chunks (likely where the freed ones were) must not touch the survivor.
  append(log, std::vector<int64_t>(3000, 2), 1000);
  auto read_back = read(log, 0, 2);
  REQUIRE(read_back.records.size() == 2);
  Envelope survivor = envelope(2999, 1, 1000);
  survivor.key = "the-key";
  CHECK(decode_envelope(read_back.records[0].body).value() == survivor);
  CHECK(decode_envelope(read_back.records[1].body).value() == envelope(3000, 2, 1000));
}

TEST_CASE("memory log: retention by bytes keeps the newest record", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3}, 50);
  REQUIRE(log.enforce_retention({1, 0}, 0));
  CHECK(log.earliest_offset() == 2);
  CHECK(log.next_offset() == 3);
  CHECK(log.bytes() == body_size(2, 3, 50));
}

TEST_CASE("memory log: retention by age drops records older than the cut-off", "[memory_log]") {
  MemoryLog log;
  append(log, {1000, 2000, 3000, 4000});
  REQUIRE(log.enforce_retention({0, 1500}, 4000));  // cut-off 2500
  CHECK(log.earliest_offset() == 2);
  REQUIRE(log.enforce_retention({0, 1500}, 4000));
  CHECK(log.earliest_offset() == 2);
}

TEST_CASE("memory log: retention by age keeps a record exactly max_age old", "[memory_log]") {
  MemoryLog log;
  append(log, {1000, 2000, 3000});
  REQUIRE(log.enforce_retention({0, 1000}, 2000));  // cut-off 1000: nothing older
  CHECK(log.earliest_offset() == 0);
  REQUIRE(log.enforce_retention({0, 1000}, 2001));
  CHECK(log.earliest_offset() == 1);
}

TEST_CASE("memory log: retention by age keeps the newest record however old", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3});
  REQUIRE(log.enforce_retention({0, 1}, 1'000'000));
  CHECK(log.earliest_offset() == 2);
  CHECK(log.next_offset() == 3);
  append(log, {4});
  CHECK(log.next_offset() == 4);
}

TEST_CASE("memory log: no policy keeps everything", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3});
  REQUIRE(log.enforce_retention({0, 0}, 1'000'000));
  CHECK(log.earliest_offset() == 0);
}

TEST_CASE("memory log: retention of an empty log does nothing", "[memory_log]") {
  MemoryLog log;
  REQUIRE(log.enforce_retention({1, 1}, 1'000'000));
  CHECK(log.next_offset() == 0);
}

TEST_CASE("memory log: last_ts is the largest ts", "[memory_log]") {
  MemoryLog log;
  append(log, {300, 100});
  CHECK(log.last_ts() == 300);
}

TEST_CASE("memory log: destroy keeps the next offset", "[memory_log]") {
  MemoryLog log;
  append(log, {1, 2, 3});
  REQUIRE(log.destroy());
  CHECK(log.bytes() == 0);
  CHECK(log.earliest_offset() == 3);
  CHECK(log.next_offset() == 3);
  CHECK(read(log, 0, 10).records.empty());
}

}  // namespace
}  // namespace eda::memory_log_test
