// The broker's bridges to plain ZeroMQ peers (DESIGN §8, docs/PROTOCOL.md
// "Bridges"): --tap, an XPUB that sends every stored message as
// [topic][payload], and --ingest, a PULL that stores what PUSH peers send.
// Both live on the broker's loop thread, which polls their sockets and hands
// them the engine; neither is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "core/broker_engine.h"
#include "core/envelope_view.h"
#include "core/log_throttle.h"
#include "core/result.h"

namespace eda {

// An engine subscription to every user topic (`>`, from latest: `$` topics
// are not sent) whose credit is granted only as the XPUB accepts sends. With
// ZMQ_XPUB_NODROP a SUB whose queue is full makes the send fail; the tap then
// keeps what it holds (at most its window) and retries, so a slow SUB slows
// only the tap, and the log, not memory, holds what it has yet to send.
class TapBridge {
 public:
  // Credit the tap holds: what it may have taken from the engine and not sent.
  static constexpr uint64_t kWindowMessages = 2000;
  static constexpr uint64_t kWindowBytes = 4u << 20;
  // How soon a blocked tap tries again: 1 ms while SUBs drain, doubling up
  // to 50 ms while none takes anything (a stalled SUB costs 20 wakeups a
  // second, not 1000).
  static constexpr std::chrono::milliseconds kFirstRetry{1};
  static constexpr std::chrono::milliseconds kLongestRetry{50};

  // Messages ZeroMQ may queue per SUB: 10000 keeps up with a fast publisher
  // (1000, ZeroMQ's default, halves the tap's rate), but a stalled SUB costs
  // that many messages of memory, so it is lowered to keep
  // kQueueBytes / max message bytes, and never below ZeroMQ's default.
  static constexpr uint64_t kQueueBytes = 64u << 20;
  static uint64_t send_high_water_mark(size_t max_message_bytes);

  TapBridge(zmq::context_t& context, size_t max_message_bytes);

  // Binds every URL; returns the endpoints with wildcard ports resolved.
  Result<std::vector<std::string>> bind(const std::vector<std::string>& urls);
  // Subscribes in `engine` and grants the window.
  Status start(BrokerEngine& engine);

  SubscriptionId subscription() const { return subscription_; }
  zmq::socket_t& socket() { return xpub_; }
  // Sends the delivery's records, holds what the XPUB refused, and grants the
  // engine credit for what went out. Notices (retention took records before
  // the tap sent them) are logged.
  void deliver(BrokerEngine& engine, const Delivery& delivery);
  // Retries what the XPUB refused before; grants credit for what goes out.
  void retry(BrokerEngine& engine);
  // True while the tap holds records the XPUB refused: the loop must call
  // retry() soon, since an XPUB never signals room to send.
  bool blocked() const { return !held_.empty(); }
  std::chrono::milliseconds retry_delay() const { return retry_delay_; }
  // Reads the (un)subscriptions SUB peers sent (XPUB queues them for the
  // application) and logs them at debug level.
  void read_subscriptions();
  uint64_t sent() const { return sent_; }

 private:
  struct Held {
    std::string topic;
    std::string payload;
    uint64_t record_bytes;  // the record's size as the engine counted its credit
  };
  // Sends one [topic][payload]; false when the XPUB refused it (a full SUB).
  bool send(std::string_view topic, std::string_view payload);

  zmq::socket_t xpub_;
  EnvelopeViewer viewer_;  // reads topic and payload out of stored records
  SubscriptionId subscription_ = 0;
  std::deque<Held> held_;
  std::chrono::milliseconds retry_delay_ = kFirstRetry;
  uint64_t sent_ = 0;
  uint64_t refused_ = 0;  // sends that met a full SUB, for the debug log
};

// A PULL socket whose messages are stored like `pub`'s, one engine batch per
// topic for what arrived together. Malformed messages (parse_ingest_message)
// and ones the engine refuses are counted and dropped with a log line (at
// most kLogBurst at once, then one a second, with how many were held back).
class IngestBridge {
 public:
  // At most this many messages per call to drain(), so the loop's other work
  // is not starved by a flood.
  static constexpr size_t kMaxDrain = 10000;
  static constexpr uint32_t kLogBurst = 10;

  IngestBridge(zmq::context_t& context, size_t max_message_bytes);

  Result<std::vector<std::string>> bind(const std::vector<std::string>& urls);
  zmq::socket_t& socket() { return pull_; }
  // Receives what is waiting (up to kMaxDrain messages) and stores it.
  void drain(BrokerEngine& engine);
  uint64_t stored() const { return stored_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void drop(uint64_t count, std::string_view why);

  zmq::socket_t pull_;
  size_t max_message_bytes_;
  uint64_t stored_ = 0;
  uint64_t dropped_ = 0;
  LogThrottle log_throttle_;
};

}  // namespace eda
