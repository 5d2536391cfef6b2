#include "cmd/bench_messages.h"

#include <fmt/format.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace eda {

uint64_t bench_clock_ns() {
  // Steady: it cannot jump, and publishers and subscribers share this process.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {
constexpr uint64_t kChunk = 1000;  // messages per read() at most
}

BenchSource::BenchSource(uint64_t count, size_t size, double rate)
    : count_(count), size_(size), rate_(rate) {
  if (rate <= 0) return;
  timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  // Often enough to send each message on its own at 10k/s, rarely enough not
  // to spin at high rates (where messages go out in small batches).
  auto period = std::clamp<int64_t>(static_cast<int64_t>(1e9 / rate), 50'000, 10'000'000);
  itimerspec spec{};
  spec.it_interval.tv_nsec = spec.it_value.tv_nsec = period;
  if (timer_ >= 0) ::timerfd_settime(timer_, 0, &spec, nullptr);
}

BenchSource::~BenchSource() {
  if (timer_ >= 0) ::close(timer_);
}

Status BenchSource::read(std::vector<EnvelopeView>& out, bool& at_end) {
  if (rate_ > 0 && timer_ < 0) return runtime_error(fmt::format("timerfd: {}", strerror(errno)));
  uint64_t now = bench_clock_ns();
  if (timer_ >= 0) {
    uint64_t expirations;
    (void)!::read(timer_, &expirations, sizeof expirations);  // only clears readability
  }
  if (start_ns_ == 0) start_ns_ = now;
  uint64_t due = std::min(count_ - made_, kChunk);
  if (rate_ > 0) {
    auto by_now = static_cast<uint64_t>(static_cast<double>(now - start_ns_) * rate_ / 1e9) + 1;
    due = std::min(due, by_now > made_ ? by_now - made_ : 0);
  }
  payloads_.assign(due * size_, 'x');  // all written before any is viewed: no reallocation
  for (uint64_t i = 0; i < due; ++i, ++made_) {
    uint64_t stamp = rate_ > 0 ? start_ns_ + static_cast<uint64_t>(made_ * 1e9 / rate_) : now;
    char* payload = payloads_.data() + i * size_;
    std::memcpy(payload, &stamp, kBenchStampBytes);
    out.emplace_back().payload = std::string_view(payload, size_);
  }
  at_end = made_ == count_;
  return ok_status();
}

Status BenchSink::write(const EnvelopeView& e) {
  uint64_t now = bench_clock_ns();
  if (next_offset_ == kNoOffset) {
    next_offset_ = e.offset + 1;
    ready_ = true;
    return ok_status();
  }
  if (e.offset != next_offset_)
    return runtime_error(
        fmt::format("expected offset {}, got {}: {}", next_offset_, e.offset,
                    e.offset > next_offset_ ? "messages were lost" : "a message came twice"));
  ++next_offset_;
  if (e.payload.size() < kBenchStampBytes)
    return runtime_error(fmt::format("offset {} has no timestamp", e.offset));
  uint64_t sent;
  std::memcpy(&sent, e.payload.data(), kBenchStampBytes);
  latency_.record(now > sent ? now - sent : 0);
  last_ns_ = now;
  received_.store(received() + 1, std::memory_order_relaxed);  // one writer
  return ok_status();
}

}  // namespace eda
