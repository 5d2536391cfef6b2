#include "transport/broker_connection.h"

#include <fmt/format.h>

#include <atomic>
#include <cstring>

#include "core/duration.h"
#include "core/log.h"

namespace eda {

BrokerConnection::BrokerConnection(std::string url, const ClientCurve& curve, std::string ns)
    : url_(std::move(url)),
      ns_(std::move(ns)),
      context_(1),
      socket_(context_, zmq::socket_type::dealer),
      curve_public_key_(curve.client.public_key) {
  if (curve.enabled()) {
    socket_.set(zmq::sockopt::curve_serverkey, curve.server_key);
    socket_.set(zmq::sockopt::curve_publickey, curve.client.public_key);
    socket_.set(zmq::sockopt::curve_secretkey, curve.client.secret_key);
  }
  socket_.set(zmq::sockopt::immediate, 1);
  socket_.set(zmq::sockopt::sndhwm, 0);
  socket_.set(zmq::sockopt::rcvhwm, 0);
  // Whatever was sent is given a moment to leave before the process exits.
  socket_.set(zmq::sockopt::linger, 2000);
  socket_.set(zmq::sockopt::reconnect_ivl, 100);
  socket_.set(zmq::sockopt::reconnect_ivl_max, 1000);
  socket_.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket_.set(zmq::sockopt::heartbeat_timeout, 5000);
  static std::atomic<uint64_t> monitors{0};
  std::string endpoint = fmt::format("inproc://edatool-monitor-{}", monitors++);
  int events = ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(socket_.handle(), endpoint.c_str(), events) != 0) throw zmq::error_t();
  monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
  monitor_.connect(endpoint);
}

void BrokerConnection::read_monitor_events() {
  // Each event is two frames: [u16 event, u32 value] and the endpoint.
  while (auto event = receive_message(monitor_)) {
    uint16_t id = 0;
    uint32_t value = 0;
    if (!event->parts.empty() && event->parts[0].size() >= 6) {
      std::memcpy(&id, event->parts[0].data(), 2);
      std::memcpy(&value, static_cast<const char*>(event->parts[0].data()) + 2, 4);
    }
    if (id == ZMQ_EVENT_DISCONNECTED) ++disconnects_;
    if (id == ZMQ_EVENT_CONNECTED) connected_ = true;
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) handshaken_ = true;
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
        id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
      on_handshake_failed(id, value);
  }
}

void BrokerConnection::on_handshake_failed(uint16_t event, uint32_t value) {
  if (handshake_failure_) return;  // the first one says it; reconnects repeat it
  log_debug("handshake with {} failed: monitor event {:#x}, value {:#x}", url_, event, value);
  std::string env = "(or EDATOOL_CURVE_KEY and EDATOOL_SERVER_KEY)";
  std::string why;
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    why = fmt::format(
        "the broker refused this client's CURVE key {} (ZAP status {}): check that it is "
        "listed in the broker's --authorized-keys file",
        curve_public_key_, value);
  else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH && curve_public_key_.empty())
    why = fmt::format("the broker uses CURVE: give --curve-key FILE and --server-key KEY {}", env);
  else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
    why = fmt::format("the broker does not use CURVE: drop --curve-key and --server-key {}", env);
  else if (curve_public_key_.empty() || ++unexplained_failures_ < 3)
    // The peer hung up without saying why (it found the mismatch first, or
    // could not decrypt our HELLO): a later attempt may tell more. A
    // plaintext client just keeps trying (cannot_reach gives the hint).
    return;
  else
    why =
        "the broker ended the CURVE handshake: check that --server-key is the broker's "
        "public key and that the broker uses CURVE (--curve-secret)";
  handshake_failure_ =
      runtime_error(fmt::format("authentication failed at the broker at {}: {}", url_, why));
}

std::string BrokerConnection::cannot_reach(std::chrono::milliseconds within) const {
  std::string hint;
  if (connected_ && !handshaken_)
    hint = curve_public_key_.empty()
               ? " (a connection was made but no handshake completed: is it a CURVE broker? "
                 "see --server-key and --curve-key)"
               : " (a connection was made but the CURVE handshake never completed: is "
                 "--server-key the broker's public key?)";
  return fmt::format("cannot reach a broker at {} within {}{}", url_, format_duration(within),
                     hint);
}

Result<std::unique_ptr<BrokerConnection>> BrokerConnection::open(const std::string& url,
                                                                 const ClientCurve& curve,
                                                                 const std::string& ns) {
  if (Status s = validate_endpoint(url); !s) return s.error();
  if (Status s = validate_namespace(ns); !s) return s.error();
  std::unique_ptr<BrokerConnection> c(new BrokerConnection(url, curve, ns));
  try {
    c->socket_.connect(url);
  } catch (const zmq::error_t& e) {
    return invalid_argument(fmt::format("cannot use broker URL '{}': {}", url, e.what()));
  }
  return c;
}

Result<std::optional<Reply>> BrokerConnection::receive() {
  if (handshake_failure_) return *handshake_failure_;
  auto in = receive_message(socket_);
  if (!in) return std::optional<Reply>{};
  auto frames = split_frames(*in, 0);
  if (!frames)
    return runtime_error(
        fmt::format("broker at {} sent a malformed message: {}", url_, frames.error().message));
  return std::optional<Reply>(Reply{frames->command, std::move(*in)});
}

BrokerConnection::Ready BrokerConnection::wait(std::chrono::milliseconds timeout, bool want_send,
                                               int fd) {
  zmq::pollitem_t items[3] = {
      {socket_.handle(), 0, static_cast<short>(ZMQ_POLLIN | (want_send ? ZMQ_POLLOUT : 0)), 0},
      {monitor_.handle(), 0, ZMQ_POLLIN, 0},
      {nullptr, fd, ZMQ_POLLIN, 0}};
  Ready r;
  try {
    zmq::poll(items, fd >= 0 ? 3 : 2, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return r;
    throw;
  }
  if (items[1].revents & ZMQ_POLLIN) read_monitor_events();
  r.readable = (items[0].revents & ZMQ_POLLIN) || handshake_failure_;
  r.writable = items[0].revents & ZMQ_POLLOUT;
  r.fd_readable = fd >= 0 && (items[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR));
  return r;
}

}  // namespace eda
