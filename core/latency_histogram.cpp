#include "core/latency_histogram.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace eda {
namespace {

// The 1-2-5 step that holds `ns`: the largest of 0, 1, 2, 5, 10, 20, 50, ... <= ns.
uint64_t step_floor(uint64_t ns) {
  if (ns == 0) return 0;
  uint64_t decade = 1;
  while (decade <= ns / 10) decade *= 10;
  return ns >= 5 * decade ? 5 * decade : ns >= 2 * decade ? 2 * decade : decade;
}

// The step after `step` (a value step_floor returns).
uint64_t step_next(uint64_t step) {
  if (step == 0) return 1;
  uint64_t decade = 1;
  while (decade <= step / 10) decade *= 10;
  uint64_t next = step == decade ? 2 * decade : step == 2 * decade ? 5 * decade : 10 * decade;
  return next > step ? next : UINT64_MAX;  // past the largest step: one open range
}

}  // namespace

size_t LatencyHistogram::bucket_of(uint64_t ns) {
  if (ns < 2 * kSubBuckets) return ns;
  int shift = std::bit_width(ns) - 1 - kSubBucketBits;
  return (shift + 1) * kSubBuckets + (ns >> shift) - kSubBuckets;
}

uint64_t LatencyHistogram::bucket_low(size_t bucket) {
  if (bucket < 2 * kSubBuckets) return bucket;
  int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  return (bucket % kSubBuckets + kSubBuckets) << shift;
}

uint64_t LatencyHistogram::bucket_high(size_t bucket) {
  if (bucket + 1 == kBucketCount) return UINT64_MAX;
  return bucket_low(bucket + 1) - 1;
}

void LatencyHistogram::record(uint64_t ns) {
  ++counts_[bucket_of(ns)];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
  sum_ += ns;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

uint64_t LatencyHistogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(percent / 100 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_high(i), max_);
  }
  return max_;
}

std::vector<LatencyHistogram::Range> LatencyHistogram::ranges() const {
  std::vector<Range> out;
  if (count_ == 0) return out;
  for (uint64_t low = step_floor(min_); low <= max_; low = step_next(low)) {
    out.push_back({low, step_next(low), 0});
    if (out.back().high_ns == UINT64_MAX) break;
  }
  for (size_t i = bucket_of(min_); i <= bucket_of(max_); ++i) {
    if (counts_[i] == 0) continue;
    uint64_t low = std::max(bucket_low(i), min_);
    auto range = std::upper_bound(out.begin(), out.end(), low,
                                  [](uint64_t v, const Range& r) { return v < r.high_ns; });
    range->count += counts_[i];
  }
  return out;
}

std::string format_latency(double ns) {
  static constexpr const char* kUnits[] = {"ns", "µs", "ms", "s"};
  size_t unit = 0;
  // Picked after rounding to 3 digits, so 999.7 µs reads "1 ms", not "1e+03 µs".
  while (unit + 1 < std::size(kUnits) && ns >= 999.5) ns /= 1000, ++unit;
  return fmt::format("{:.3g} {}", ns, kUnits[unit]);
}

std::string render_histogram(const LatencyHistogram& histogram, int bar_width) {
  std::vector<LatencyHistogram::Range> ranges = histogram.ranges();
  uint64_t largest = 0;
  for (const auto& r : ranges) largest = std::max(largest, r.count);
  std::string out;
  for (const auto& r : ranges) {
    // Rounded up, so a range with any sample shows at least one '#'.
    auto bar = static_cast<size_t>((r.count * bar_width + largest - 1) / largest);
    std::string high = r.high_ns == UINT64_MAX ? "" : format_latency(r.high_ns);
    double share = 100.0 * static_cast<double>(r.count) / static_cast<double>(histogram.count());
    std::string line = fmt::format("{:>8} - {:<8} {:>10} {:>6.2f}% {}", format_latency(r.low_ns),
                                   high, r.count, share, std::string(bar, '#'));
    out += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
  }
  return out;
}

}  // namespace eda
