#include "transport/broker_connection.h"

#include <fmt/format.h>

#include <atomic>
#include <cstring>

namespace eda {

BrokerConnection::BrokerConnection(std::string url)
    : url_(std::move(url)), context_(1), socket_(context_, zmq::socket_type::dealer) {
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
  if (zmq_socket_monitor(socket_.handle(), endpoint.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
    throw zmq::error_t();
  monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
  monitor_.connect(endpoint);
}

void BrokerConnection::read_monitor_events() {
  // Each event is two frames: [u16 event, u32 value] and the endpoint.
  while (auto event = receive_message(monitor_)) {
    uint16_t id = 0;
    if (!event->parts.empty() && event->parts[0].size() >= 2)
      std::memcpy(&id, event->parts[0].data(), 2);
    if (id == ZMQ_EVENT_DISCONNECTED) ++disconnects_;
  }
}

Result<std::unique_ptr<BrokerConnection>> BrokerConnection::open(const std::string& url) {
  if (Status s = validate_endpoint(url); !s) return s.error();
  std::unique_ptr<BrokerConnection> c(new BrokerConnection(url));
  try {
    c->socket_.connect(url);
  } catch (const zmq::error_t& e) {
    return invalid_argument(fmt::format("cannot use broker URL '{}': {}", url, e.what()));
  }
  return c;
}

Result<std::optional<Reply>> BrokerConnection::receive() {
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
  r.readable = items[0].revents & ZMQ_POLLIN;
  r.writable = items[0].revents & ZMQ_POLLOUT;
  r.fd_readable = fd >= 0 && (items[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR));
  return r;
}

}  // namespace eda
