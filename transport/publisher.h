// Publishing with confirmations: batches in flight under a window, resent
// with the same ids when unconfirmed, and an exact account of what the broker
// confirmed (DESIGN §4 `pub`, §5).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_source.h"
#include "core/envelope_view.h"
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
  // Told of each confirmed batch: the 1-based number of its first message and
  // the stored offset of each of its messages. Batches may be confirmed out of order.
  std::function<void(uint64_t first, const std::vector<uint64_t>& offsets)> on_confirmed;
};

// What every envelope gets before it is sent. Fields already set by the
// source (JSON input) are kept, except topic, which `topic` always sets.
struct EnvelopeStamp {
  std::string topic;
  std::optional<std::string> key;
  Headers headers;                // appended to the source's headers
  std::optional<std::string> id;  // --id: only for a single message
};

// Applies an EnvelopeStamp to the messages a source gives, as publish()
// does before sending: topic, key, the extra headers, ts (now, unless set),
// id (--id, or a new ULID unless set). Reuses its memory: no allocation per
// message once warm.
class EnvelopeStamper {
 public:
  // Keeps a reference to `stamp`, which must outlive the stamper.
  explicit EnvelopeStamper(const EnvelopeStamp& stamp);
  EnvelopeStamper(EnvelopeStamp&&) = delete;
  // `v` stamped at `now_ms` (read once per batch of input: a clock read per
  // message showed in the profile). Borrows from `v`, the stamp and this
  // stamper until the next call.
  EnvelopeView stamp(const EnvelopeView& v, int64_t now_ms);

 private:
  const EnvelopeStamp& stamp_;
  std::vector<HeaderField> extra_headers_;  // the stamp's, as views
  std::vector<HeaderField> headers_;
  std::string id_;
  UlidGenerator ids_;
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

// Which batch `publish` sends next: the part of it that keeps one publisher's
// messages stored in the order they were published (DESIGN §5), also across a
// lost connection or a broker restart. No I/O, so tests drive it directly.
// Batches are named by their req_id; every new batch has a larger one.
//
// - Batches go out oldest first, and at most `window` are unconfirmed at once.
//   On one connection the broker stores them in the order they arrive.
// - resend_all() is for when what is in flight may be lost: a lost connection,
//   a new broker instance, a batch unconfirmed too long. Nothing goes out until
//   resume(), which the caller calls once the broker has answered on a live
//   connection (sends in between could go into the connection that died).
//   Then every batch sent and not yet confirmed goes out again, oldest first
//   (the broker drops the ids it already has, so a copy that did arrive is not
//   stored twice), and no newer batch goes out until all of those are
//   confirmed or refused. So while recovering only the resent prefix is in
//   flight, and the recovery ends with nothing in flight.
class PublishOrder {
 public:
  explicit PublishOrder(size_t window) : window_(window) {}

  // Room for one more batch under the window.
  bool has_room() const { return owed_.size() < window_; }
  // A new batch, newer than all before it.
  void add(uint64_t req) { owed_.insert(req); }
  // The batch to send now, if any.
  std::optional<uint64_t> next() const;
  // next() was sent.
  void sent(uint64_t req);
  // Confirmed, or refused: no longer owed.
  void done(uint64_t req);
  // Whatever is in flight may be lost: send nothing until resume(), then all
  // of it again before anything newer.
  void resend_all();
  void resume() { paused_ = false; }
  bool paused() const { return paused_; }
  // Resent batches are not all confirmed yet: newer ones wait.
  bool recovering() const { return hold_through_ != 0; }
  // The oldest batch that is in flight (sent, and not due to be sent again).
  // If it stays unconfirmed too long, it is time for resend_all().
  std::optional<uint64_t> oldest_in_flight() const;
  bool empty() const { return owed_.empty(); }

 private:
  size_t window_;
  std::set<uint64_t> owed_;    // every unconfirmed batch, sent or not
  uint64_t cursor_ = 0;        // owed batches below it are sent (in this round)
  uint64_t sent_through_ = 0;  // the newest batch ever sent
  uint64_t hold_through_ = 0;  // recovering: the newest batch being resent; 0 if not
  bool paused_ = false;        // since resend_all(), until resume()
};

}  // namespace eda
