// Publishing with confirmations: batches in flight under a window, resent
// with the same ids when unconfirmed, and an exact account of what the broker
// confirmed (DESIGN §4 `pub`, §5).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "core/envelope.h"
#include "core/envelope_source.h"
#include "core/result.h"
#include "core/ulid.h"
#include "transport/broker_connection.h"

namespace eda {

using std::chrono::milliseconds;

struct PublishConfig {
  bool confirm = true;                   // false: --no-confirm, fire and forget
  std::optional<milliseconds> timeout;   // whole run; kTimeout when it runs out
  double rate = 0;                       // messages per second; 0 = as fast as possible
  milliseconds unreachable_after{5000};  // no answer this long (without --timeout): give up
  milliseconds resend_after{3000};       // unconfirmed this long: send again, same ids
  size_t batch_messages = 1000;
  size_t batch_bytes = 256 * 1024;
  size_t window_batches = 32;  // batches awaiting confirmation at once
};

// What every envelope gets before it is sent. Fields already set by the
// source (JSON input) are kept, except topic, which `topic` always sets.
struct EnvelopeStamp {
  std::string topic;
  std::optional<std::string> key;
  Headers headers;                // appended to the source's headers
  std::optional<std::string> id;  // --id: only for a single message
};

struct PublishReport {
  uint64_t sent = 0;        // messages handed to the broker at least once
  uint64_t confirmed = 0;   // messages the broker confirmed as stored
  uint64_t duplicates = 0;  // of those, already stored before (a retry or a reused id)
};

// Publishes all of `source`. On success every message was confirmed (or, with
// confirm=false, sent). Errors say how many messages were not confirmed and why;
// `report` holds the counts either way.
Status publish(BrokerConnection& connection, EnvelopeSource& source, const EnvelopeStamp& stamp,
               const PublishConfig& config, const std::atomic<bool>& stop, PublishReport& report);

}  // namespace eda
