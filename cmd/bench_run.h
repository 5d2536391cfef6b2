// The measuring part of `edatool bench`: publishers and subscribers on their
// own threads and connections, against a broker at a URL or one started in
// this process, with every message checked and timed (cmd/bench.cpp parses
// the flags and prints the result).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/latency_histogram.h"
#include "core/result.h"
#include "transport/curve_keys.h"

namespace eda {

struct BenchConfig {
  std::optional<std::string> broker;  // nullopt: start an embedded broker
  ClientCurve curve;                  // for `broker`: --curve-key and --server-key
  bool stored = false;                // embedded broker: a temp data dir (else memory)
  uint64_t messages = 1'000'000;      // in all, split among the publishers
  size_t size = 100;                  // payload bytes, >= kBenchStampBytes
  int publishers = 1;
  int subscribers = 1;
  double rate = 0;  // messages per second, all publishers together; 0: as fast as possible
};

struct SubscriberResult {
  uint64_t received = 0;
  double seconds = 0;  // from the first publish to its last message
};

struct BenchResult {
  std::string broker;  // the URL used
  std::string topic;   // bench.<ulid>, fresh each run
  uint64_t published = 0;
  double publish_seconds = 0;  // from the first publish until every publisher was confirmed
  std::vector<SubscriberResult> subscribers;
  LatencyHistogram latency;  // publish to receive, every subscriber's messages
};

// Counts so far, for a progress line.
using BenchProgress = std::function<void(uint64_t received, uint64_t expected)>;

// Runs one benchmark. Fails with kRuntime when a publish failed, a subscriber
// saw a gap or a repeat, or messages stopped arriving before every subscriber
// had all of them (each subscriber's count is in the message); kInterrupted
// when `stop` was set.
Result<BenchResult> run_bench(const BenchConfig& config, const std::atomic<bool>& stop,
                              const BenchProgress& progress);

}  // namespace eda
