// A client's connection to an edatool broker: one DEALER socket.
//
// ZMQ_IMMEDIATE is set, so nothing is queued while no broker is connected: a
// send then reports kWouldBlock and the caller decides to wait or give up. The
// socket reconnects by itself after a broker restart; a socket monitor counts
// lost connections, so callers know to resend or resubscribe (whatever was in
// flight on a lost connection is gone).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "core/result.h"
#include "transport/zmq_io.h"

namespace eda {

// A decoded message from the broker.
struct Reply {
  proto::Command command;
  Incoming raw;
  // A view into `raw`; recomputed on use because small ZeroMQ messages keep
  // their bytes inline and move with the Reply.
  std::string_view body() const { return raw.parts[1].to_string_view(); }
};

class BrokerConnection {
 public:
  // Checks the URL and starts connecting (asynchronously; nothing blocks here).
  static Result<std::unique_ptr<BrokerConnection>> open(const std::string& url);

  SendResult send(const proto::Message& m) { return send_message(socket_, m); }

  // The next message from the broker, if one is waiting. Malformed messages
  // from the broker are reported as errors.
  Result<std::optional<Reply>> receive();

  // Waits up to `timeout` for the socket to become readable (or, with
  // `want_send`, writable) or `fd` (if >= 0) readable. Returns false on EINTR.
  struct Ready {
    bool readable = false;
    bool writable = false;
    bool fd_readable = false;
  };
  Ready wait(std::chrono::milliseconds timeout, bool want_send = false, int fd = -1);

  uint64_t next_request_id() { return ++last_request_id_; }
  // Connections lost so far; changes when whatever was in flight may be lost.
  uint64_t disconnects() const { return disconnects_; }
  const std::string& url() const { return url_; }

 private:
  BrokerConnection(std::string url);
  void read_monitor_events();
  std::string url_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  zmq::socket_t monitor_;
  uint64_t last_request_id_ = 0;
  uint64_t disconnects_ = 0;
};

}  // namespace eda
