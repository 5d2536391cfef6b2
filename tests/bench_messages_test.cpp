#include "cmd/bench_messages.h"

#include <poll.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "tests/envelope_copies.h"

namespace eda::bench_messages_test {
namespace {

uint64_t stamp_of(const Envelope& e) {
  uint64_t ns;
  std::memcpy(&ns, e.payload.data(), kBenchStampBytes);
  return ns;
}

Envelope at_offset(uint64_t offset, uint64_t stamp) {
  Envelope e;
  e.offset = offset;
  e.payload.assign(16, 'x');
  std::memcpy(e.payload.data(), &stamp, kBenchStampBytes);
  return e;
}

}  // namespace

TEST_CASE("bench source: unpaced, chunks of the asked size stamped now, then the end") {
  BenchSource source(2500, 100, 0);
  CHECK(source.fd() == -1);
  uint64_t before = bench_clock_ns();
  std::vector<Envelope> out;
  bool at_end = false;
  while (!at_end) REQUIRE(read_copies(source, out, at_end));
  REQUIRE(out.size() == 2500);
  for (const Envelope& e : out) {
    REQUIRE(e.payload.size() == 100);
    REQUIRE(stamp_of(e) >= before);
    REQUIRE(stamp_of(e) <= bench_clock_ns());
  }
}

TEST_CASE("bench source: paced, the first message at once, the rest as they fall due") {
  BenchSource source(3, 8, 10);  // one every 100 ms
  REQUIRE(source.fd() >= 0);
  std::vector<Envelope> out;
  bool at_end = false;
  REQUIRE(read_copies(source, out, at_end));
  CHECK(out.size() == 1);
  CHECK_FALSE(at_end);
  // The timer wakes the publisher; each message carries the time it was due.
  while (!at_end) {
    pollfd p{source.fd(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 1000) == 1);
    REQUIRE(read_copies(source, out, at_end));
  }
  REQUIRE(out.size() == 3);
  CHECK(stamp_of(out[1]) - stamp_of(out[0]) == 100'000'000);
  CHECK(stamp_of(out[2]) - stamp_of(out[0]) == 200'000'000);
}

TEST_CASE("bench sink: the warm-up makes it ready, then each message is counted and timed") {
  BenchSink sink(2);
  CHECK_FALSE(sink.ready());
  REQUIRE(sink.write(at_offset(7, 0)));
  CHECK(sink.ready());
  CHECK(sink.received() == 0);
  REQUIRE(sink.write(at_offset(8, bench_clock_ns())));
  CHECK_FALSE(sink.done());
  REQUIRE(sink.write(at_offset(9, bench_clock_ns())));
  CHECK(sink.done());
  CHECK(sink.latency().count() == 2);
  CHECK(sink.last_ns() > 0);
}

TEST_CASE("bench sink: a gap, a repeat or a payload without a time is an error") {
  // The warm-up at offset 0, then messages at `offsets`: the last write's status.
  auto feed = [](std::initializer_list<uint64_t> offsets) {
    BenchSink sink(10);
    Status s = sink.write(at_offset(0, 0));
    for (uint64_t offset : offsets) s = sink.write(at_offset(offset, bench_clock_ns()));
    return s;
  };
  Status gap = feed({1, 3});
  REQUIRE_FALSE(gap);
  CHECK(gap.error().message == "expected offset 2, got 3: messages were lost");
  Status repeat = feed({1, 1});
  REQUIRE_FALSE(repeat);
  CHECK(repeat.error().message == "expected offset 2, got 1: a message came twice");

  BenchSink sink(10);
  REQUIRE(sink.write(at_offset(0, 0)));
  Envelope tiny;
  tiny.offset = 1;
  tiny.payload = "tiny";
  CHECK_FALSE(sink.write(tiny));
}

}  // namespace eda::bench_messages_test
