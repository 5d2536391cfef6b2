// Receiving from a queue or durable group and settling what was received
// (docs/PROTOCOL.md §12a), over one connection with requests pipelined:
// request() and settle() send, poll() hands back what the broker answered.
//
// A lost connection (a broker restart) loses what was in flight: a pending
// receive is dropped (request again), and pending settlements come back with
// an error (their locks died with the broker; the messages will be delivered
// again). Nothing here blocks except poll().
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/broker_engine.h"
#include "core/envelope.h"
#include "core/result.h"
#include "transport/broker_connection.h"
#include "transport/protocol.h"

namespace eda {

struct ReceivedMessage {
  Envelope envelope;
  proto::Lock lock;
};

struct SettleOutcome {
  Settlement settlement;
  std::string error;     // "" when done (and durable)
  uint64_t request = 0;  // what settle() returned for its batch
  size_t index = 0;      // its place in that batch
};

class QueueClient {
 public:
  QueueClient(BrokerConnection& connection, GroupRequest target)
      : c_(connection), target_(std::move(target)), disconnects_(connection.disconnects()) {}

  // Asks for up to `max` messages; the broker waits up to `wait` for the
  // first. One request at a time: requesting() is true until it is answered.
  void request(size_t max, proto::ReceiveMode mode, std::chrono::milliseconds lock,
               std::chrono::milliseconds wait);
  bool requesting() const { return receive_req_ != 0; }

  // Sends settlements (complete, abandon, dead-letter, renew) as one request,
  // and returns its id (0 for an empty batch). The outcomes of a batch come
  // back from one poll(), together and in the batch's order.
  uint64_t settle(std::vector<Settlement> batch);
  size_t settling() const { return settling_; }
  // Whether a broker ever took a request: false while none is reachable.
  bool reached() const { return reached_; }

  struct Events {
    std::vector<ReceivedMessage> messages;
    std::vector<SettleOutcome> settled;
  };
  // Waits up to `timeout` for answers, or for `fd` (if >= 0) to be readable.
  // An error is the broker refusing the receive (no such group, a bad name).
  Result<Events> poll(std::chrono::milliseconds timeout, int fd = -1);

 private:
  void send_or_queue(proto::Message m);
  void flush_outbox();
  void on_disconnect(Events& events);
  Status handle(const Reply& r, Events& events);

  BrokerConnection& c_;
  GroupRequest target_;
  uint64_t disconnects_;
  std::deque<proto::Message> outbox_;  // not yet accepted by the socket (no broker yet)
  uint64_t receive_req_ = 0;
  std::chrono::steady_clock::time_point receive_deadline_;  // past it, the answer is lost
  std::map<uint64_t, std::vector<Settlement>> settles_;     // req_id -> what it settles
  size_t settling_ = 0;
  bool reached_ = false;
};

}  // namespace eda
