// LatencyHistogram: counts of latencies in nanoseconds, in log-linear buckets
// (as HdrHistogram does), so percentiles come out within 1% of the recorded
// value whatever the range, in fixed memory (60 KB), without keeping samples.
// `edatool bench` keeps one per subscriber and merges them.
//
// Not thread-safe: one histogram per thread, merged afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace eda {

class LatencyHistogram {
 public:
  // 128 linear buckets per power of two: each bucket is at most 1/128 wide.
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  // Values below 2 * kSubBuckets get a bucket each; each power of two above
  // that up to 2^63 gets kSubBuckets.
  static constexpr size_t kBucketCount = (65 - kSubBucketBits) * kSubBuckets;

  void record(uint64_t ns);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }

  // The value at or below which `percent` (0..100] of the samples are: the
  // highest value of the bucket holding that sample, never above max(), so
  // percentiles never decrease as `percent` grows. 0 when empty.
  uint64_t percentile(double percent) const;

  // Which bucket `ns` falls in, and the values a bucket holds (inclusive).
  static size_t bucket_of(uint64_t ns);
  static uint64_t bucket_low(size_t bucket);
  static uint64_t bucket_high(size_t bucket);

  // The histogram regrouped for people: 1-2-5 steps (1 µs, 2 µs, 5 µs, 10 µs,
  // ...), from the step holding min() to the one holding max(), empty steps
  // between included. A fine bucket counts in the step its low value is in.
  struct Range {
    uint64_t low_ns;   // inclusive
    uint64_t high_ns;  // exclusive
    uint64_t count;
  };
  std::vector<Range> ranges() const;

 private:
  std::array<uint64_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  unsigned __int128 sum_ = 0;
};

// A latency for people: "850 ns", "12.3 µs", "1.25 ms", "2.50 s".
std::string format_latency(double ns);

// ranges() as text, one line per range: its bounds, count, share and a bar of
// '#' scaled so the largest range gets `bar_width`. Ends with a newline.
std::string render_histogram(const LatencyHistogram& histogram, int bar_width = 40);

}  // namespace eda
