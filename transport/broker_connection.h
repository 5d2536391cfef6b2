// A client's connection to an edatool broker: one DEALER socket.
//
// ZMQ_IMMEDIATE is set, so nothing is queued while no broker is connected: a
// send then reports kWouldBlock and the caller decides to wait or give up. The
// socket reconnects by itself after a broker restart; a socket monitor counts
// lost connections, so callers know to resend or resubscribe (whatever was in
// flight on a lost connection is gone).
//
// With a ClientCurve the connection is encrypted and authenticated (CURVE).
// The monitor also watches the handshake: a broker that refuses this client
// (unknown key, or plaintext against CURVE) makes receive() report that as an
// error at once, instead of leaving the caller to wait for answers.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "core/result.h"
#include "transport/curve_keys.h"
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
  // Checks the URL and namespace and starts connecting (asynchronously;
  // nothing blocks here). Every request names namespace `ns`.
  static Result<std::unique_ptr<BrokerConnection>> open(
      const std::string& url, const ClientCurve& curve = {},
      const std::string& ns = std::string(kDefaultNamespace));

  SendResult send(const proto::Message& m) { return send_message(socket_, m, {}, ns_); }

  // The next message from the broker, if one is waiting. Malformed messages
  // from the broker, and a failed handshake (see handshake_failure), are
  // reported as errors.
  Result<std::optional<Reply>> receive();

  // Waits up to `timeout` for the socket to become readable (or, with
  // `want_send`, writable) or `fd` (if >= 0) readable. Returns false on EINTR.
  // A failed handshake counts as readable, so that the caller's receive()
  // reports it.
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

  // "cannot reach a broker at URL within DUR", with a hint when a connection
  // was made but no handshake ever completed (a CURVE mismatch).
  std::string cannot_reach(std::chrono::milliseconds within) const;

 private:
  BrokerConnection(std::string url, const ClientCurve& curve, std::string ns);
  void read_monitor_events();
  void on_handshake_failed(uint16_t event, uint32_t value);
  std::string url_;
  std::string ns_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  zmq::socket_t monitor_;
  uint64_t last_request_id_ = 0;
  uint64_t disconnects_ = 0;
  std::string curve_public_key_;            // empty: plaintext
  bool connected_ = false;                  // a TCP/IPC connection was made at least once
  bool handshaken_ = false;                 // a handshake completed at least once
  int unexplained_failures_ = 0;            // handshakes the broker ended without a reason
  std::optional<Error> handshake_failure_;  // the broker refused this client
};

}  // namespace eda
