// Receiving a subscription's messages with credit-based flow control: the
// broker sends at most what this side granted, and credit is granted back only
// as messages are handed to the sink, so a slow sink slows the broker's sending
// to it instead of filling memory (DESIGN §5).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_output.h"
#include "core/position.h"
#include "core/result.h"
#include "transport/broker_connection.h"

namespace eda {

struct SubscribeConfig {
  std::vector<std::string> patterns;
  Position from;
  std::optional<uint64_t> count;  // -n: stop after this many
  bool exit_at_end = false;       // -e: stop when caught up
  std::string filter;             // evaluated by the broker; empty: every message
  std::optional<std::chrono::milliseconds> timeout;
  std::chrono::milliseconds unreachable_after{5000};
  uint64_t credit_messages = 20000;  // the window granted to the broker
  uint64_t credit_bytes = 16u << 20;
};

enum class SubscribeEnd {
  kCount,     // -n reached
  kCaughtUp,  // -e and every matched topic was caught up
  kTimedOut,  // --timeout ran out (an error only if -n or -e was asked)
  kSinkDone,  // the sink wanted no more (replay --to)
};

// Subscribes and feeds `sink` until a stop condition. Errors: kInvalidArgument
// for a pattern or position the broker refused; kRuntime for an unreachable
// broker or a sink failure; kTimeout when --timeout ran out before -n or -e
// was satisfied; kInterrupted when `stop` was set.
Result<SubscribeEnd> subscribe(BrokerConnection& connection, const SubscribeConfig& config,
                               EnvelopeSink& sink, const std::atomic<bool>& stop);

// How a subscription whose --timeout ran out ends: kTimedOut, or, when -n
// or -e was asked, a kTimeout error saying what was missing
// ("timed out after 5s: received 3 of 10 messages").
Result<SubscribeEnd> subscribe_timeout_end(const SubscribeConfig& config, uint64_t received);

}  // namespace eda
