// What `edatool bench` sends and how it checks what arrives: each payload
// starts with the steady clock (ns, 8 bytes, native byte order: both ends are
// in one process) at which the message was handed to the publisher.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/envelope_output.h"
#include "core/envelope_source.h"
#include "core/latency_histogram.h"

namespace eda {

inline constexpr size_t kBenchStampBytes = 8;

// Now, on the clock the payloads carry.
uint64_t bench_clock_ns();

// One publisher's `count` messages of `size` bytes (>= kBenchStampBytes).
// Unpaced (`rate` 0), read() gives up to 1000 at a time, stamped now. Paced,
// fd() is a timerfd that wakes the publisher, read() gives what is due by now
// (the first message at once, then `rate` per second), and each message
// carries the time it was due: a publisher that falls behind shows as
// latency instead of hiding it.
class BenchSource : public EnvelopeSource {
 public:
  BenchSource(uint64_t count, size_t size, double rate);
  ~BenchSource() override;
  BenchSource(const BenchSource&) = delete;
  BenchSource& operator=(const BenchSource&) = delete;

  int fd() const override { return timer_; }
  Status read(std::vector<EnvelopeView>& out, bool& at_end) override;

 private:
  std::string payloads_;  // the last read()'s, one after another
  uint64_t count_;
  size_t size_;
  double rate_;
  int timer_ = -1;
  uint64_t made_ = 0;
  uint64_t start_ns_ = 0;  // of the first read()
};

// One subscriber's end. The first message it gets is the warm-up (the
// topic's first message, sent before the clock starts) and only makes it
// ready(); after that, offsets must follow on without a gap or a repeat (an
// error says which), and each message's latency is recorded. done() once it
// has `expected` messages after the warm-up.
//
// write() runs on the subscriber's thread; ready() and received() may be read
// from any thread meanwhile, the rest once that thread has ended.
class BenchSink : public EnvelopeSink {
 public:
  explicit BenchSink(uint64_t expected) : expected_(expected) {}

  using EnvelopeSink::write;
  Status write(const EnvelopeView& v) override;
  Status flush() override { return ok_status(); }
  bool done() const override { return received() == expected_; }

  bool ready() const { return ready_; }
  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  uint64_t last_ns() const { return last_ns_; }  // when the last message came
  const LatencyHistogram& latency() const { return latency_; }

 private:
  uint64_t expected_;
  uint64_t next_offset_ = kNoOffset;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> received_{0};
  uint64_t last_ns_ = 0;
  LatencyHistogram latency_;
};

}  // namespace eda
