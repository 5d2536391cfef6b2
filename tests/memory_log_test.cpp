#include "core/memory_log.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/envelope_codec.h"

namespace eda {
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
}  // namespace eda
