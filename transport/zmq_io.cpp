#include "transport/zmq_io.h"

#include <fmt/format.h>

#include <cstdlib>

namespace eda {

namespace {

// Below this a copy costs less than ZeroMQ's bookkeeping for a buffer it does not own.
constexpr size_t kZeroCopyBytes = 64 * 1024;

zmq::message_t copy_body(const proto::Message& m) {
  return zmq::message_t(m.body.data(), m.body.size());
}

zmq::message_t take_body(proto::Message&& m) {
  size_t size = m.body.size();
  if (size < kZeroCopyBytes) return copy_body(m);
  // sbuffer's memory comes from malloc; ZeroMQ frees it once sent.
  return zmq::message_t(m.body.release(), size, [](void* data, void*) { std::free(data); });
}

// `body` makes the body's ZeroMQ message, only once the parts before it are queued.
template <class MakeBody>
SendResult send_parts(zmq::socket_t& socket, proto::Command command, MakeBody&& body,
                      std::string_view routing_id, std::string_view ns) {
  std::string header = proto::encode_header(command, ns);
  try {
    if (!routing_id.empty()) {
      if (!socket.send(zmq::buffer(routing_id.data(), routing_id.size()),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return SendResult::kWouldBlock;
    }
    if (!socket.send(zmq::buffer(header), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return SendResult::kWouldBlock;
    // Once the first part is queued the rest of the message is accepted atomically.
    socket.send(body(), zmq::send_flags::none);
    return SendResult::kSent;
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return SendResult::kUnreachable;
    throw;
  }
}

}  // namespace

SendResult send_message(zmq::socket_t& socket, const proto::Message& message,
                        std::string_view routing_id, std::string_view ns) {
  return send_parts(
      socket, message.command, [&] { return copy_body(message); }, routing_id, ns);
}

SendResult send_message(zmq::socket_t& socket, proto::Message&& message,
                        std::string_view routing_id, std::string_view ns) {
  return send_parts(
      socket, message.command, [&] { return take_body(std::move(message)); }, routing_id, ns);
}

std::optional<Incoming> receive_message(zmq::socket_t& socket) {
  Incoming in;
  zmq::message_t part;
  if (!socket.recv(part, zmq::recv_flags::dontwait)) return std::nullopt;
  bool more = part.more();
  in.parts.push_back(std::move(part));
  while (more) {
    zmq::message_t next;
    (void)socket.recv(next, zmq::recv_flags::none);
    more = next.more();
    in.parts.push_back(std::move(next));
  }
  return in;
}

Result<Frames> split_frames(const Incoming& in, size_t first_part) {
  if (in.parts.size() != first_part + 2)
    return invalid_argument(fmt::format("expected 2 frames (header, body), got {}",
                                        in.parts.size() - std::min(first_part, in.parts.size())));
  auto header = proto::decode_header(in.parts[first_part].to_string_view());
  if (!header) return header.error();
  return Frames{header->command, header->ns, in.parts[first_part + 1].to_string_view()};
}

Status validate_endpoint(std::string_view url, std::string_view what) {
  auto scheme_end = url.find("://");
  std::string_view scheme = scheme_end == std::string_view::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "tcp" && scheme != "ipc")
    return invalid_argument(fmt::format("{} '{}' is not tcp://HOST:PORT or ipc://PATH", what, url));
  if (url.size() == scheme_end + 3)
    return invalid_argument(fmt::format("{} '{}' has no address after '://'", what, url));
  if (scheme == "tcp" && url.rfind(':') <= scheme_end + 2)
    return invalid_argument(fmt::format("{} '{}' has no port (tcp://HOST:PORT)", what, url));
  return ok_status();
}

Result<std::vector<std::string>> bind_endpoints(zmq::socket_t& socket,
                                                const std::vector<std::string>& urls,
                                                std::string_view flag) {
  std::string what = flag.empty() ? "broker URL" : fmt::format("{} URL", flag);
  std::string prefix = flag.empty() ? "" : fmt::format("{}: ", flag);
  std::vector<std::string> endpoints;
  for (const std::string& url : urls) {
    if (Status s = validate_endpoint(url, what); !s) return s.error();
    try {
      socket.bind(url);
    } catch (const zmq::error_t& e) {
      std::string hint = e.num() == EADDRINUSE ? " (is another broker running there?)" : "";
      return runtime_error(fmt::format("{}cannot listen on {}: {}{}", prefix, url, e.what(), hint));
    }
    endpoints.push_back(socket.get(zmq::sockopt::last_endpoint));
  }
  return endpoints;
}

}  // namespace eda
