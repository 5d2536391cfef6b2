#include "core/latency_histogram.h"

#include <catch2/catch.hpp>

namespace eda::latency_histogram_test {

TEST_CASE("latency histogram: bucket bounds hold their values and tile the range without gaps") {
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{257}, uint64_t{511},
        uint64_t{512}, uint64_t{1'000'000}, uint64_t{123'456'789}, uint64_t{1} << 62, UINT64_MAX}) {
    size_t b = LatencyHistogram::bucket_of(v);
    REQUIRE(b < LatencyHistogram::kBucketCount);
    CHECK(LatencyHistogram::bucket_low(b) <= v);
    CHECK(v <= LatencyHistogram::bucket_high(b));
  }
  for (size_t b = 0; b + 1 < LatencyHistogram::kBucketCount; ++b)
    REQUIRE(LatencyHistogram::bucket_high(b) + 1 == LatencyHistogram::bucket_low(b + 1));
  CHECK(LatencyHistogram::bucket_of(UINT64_MAX) == LatencyHistogram::kBucketCount - 1);
}

TEST_CASE("latency histogram: small values are exact; larger ones within 1/128") {
  CHECK(LatencyHistogram::bucket_high(LatencyHistogram::bucket_of(200)) == 200);
  uint64_t v = 987'654'321;
  size_t b = LatencyHistogram::bucket_of(v);
  uint64_t width = LatencyHistogram::bucket_high(b) - LatencyHistogram::bucket_low(b) + 1;
  CHECK(width * 128 <= v);
}

TEST_CASE("latency histogram: percentiles of 1..1000 µs") {
  LatencyHistogram h;
  for (uint64_t us = 1000; us >= 1; --us) h.record(us * 1000);
  CHECK(h.count() == 1000);
  CHECK(h.min() == 1000);
  CHECK(h.max() == 1'000'000);
  CHECK(h.mean() == Approx(500'500));
  CHECK(h.percentile(50) == Approx(500'000).epsilon(0.01));
  CHECK(h.percentile(90) == Approx(900'000).epsilon(0.01));
  CHECK(h.percentile(99) == Approx(990'000).epsilon(0.01));
  CHECK(h.percentile(99.9) == Approx(999'000).epsilon(0.01));
  CHECK(h.percentile(100) == 1'000'000);
  // Never decreasing, never above the maximum.
  uint64_t last = 0;
  for (double p : {0.1, 1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    CHECK(h.percentile(p) >= last);
    CHECK(h.percentile(p) <= h.max());
    last = h.percentile(p);
  }
}

TEST_CASE("latency histogram: one sample is every percentile; an empty histogram is all zeros") {
  LatencyHistogram h;
  CHECK(h.percentile(50) == 0);
  CHECK(h.min() == 0);
  CHECK(h.ranges().empty());
  CHECK(render_histogram(h).empty());
  h.record(123'456);
  CHECK(h.percentile(0.1) == 123'456);
  CHECK(h.percentile(99.9) == 123'456);
}

TEST_CASE("latency histogram: merge adds counts and keeps the extremes") {
  LatencyHistogram a, b;
  a.record(10);
  a.record(20);
  b.record(5);
  b.record(40'000);
  a.merge(b);
  CHECK(a.count() == 4);
  CHECK(a.min() == 5);
  CHECK(a.max() == 40'000);
  CHECK(a.percentile(50) == 10);
}

TEST_CASE(
    "latency histogram: ranges are 1-2-5 steps from the minimum's to the maximum's, gaps "
    "included") {
  LatencyHistogram h;
  h.record(1'500);  // 1 µs step
  h.record(1'900);
  h.record(60'000);  // 50 µs step
  auto r = h.ranges();
  REQUIRE(r.size() == 6);  // 1, 2, 5, 10, 20, 50 µs
  CHECK(r[0].low_ns == 1'000);
  CHECK(r[0].high_ns == 2'000);
  CHECK(r[0].count == 2);
  CHECK(r[1].low_ns == 2'000);
  CHECK(r[1].count == 0);
  CHECK(r[5].low_ns == 50'000);
  CHECK(r[5].high_ns == 100'000);
  CHECK(r[5].count == 1);
}

TEST_CASE(
    "latency histogram: render_histogram: a line per range with bounds, count, share and a bar") {
  LatencyHistogram h;
  for (int i = 0; i < 3; ++i) h.record(1'500);
  h.record(2'500);
  std::string text = render_histogram(h, 12);
  CHECK(text ==
        "    1 µs - 2 µs              3  75.00% ############\n"
        "    2 µs - 5 µs              1  25.00% ####\n");
}

TEST_CASE("latency histogram: format_latency picks the unit that keeps three digits") {
  CHECK(format_latency(850) == "850 ns");
  CHECK(format_latency(12'340) == "12.3 µs");
  CHECK(format_latency(999'700) == "1 ms");
  CHECK(format_latency(1'250'000) == "1.25 ms");
  CHECK(format_latency(2.5e9) == "2.5 s");
}

}  // namespace eda::latency_histogram_test
