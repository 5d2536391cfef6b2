// Sending and receiving protocol messages on ZeroMQ sockets. With protocol.h,
// the only framing code; broker and clients both use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "core/result.h"
#include "transport/protocol.h"

namespace eda {

// One received ZeroMQ message, all parts. On a ROUTER the first part is the
// peer's routing id.
struct Incoming {
  std::vector<zmq::message_t> parts;
};

enum class SendResult { kSent, kWouldBlock, kUnreachable };

// Sends [routing_id?][header][body] without blocking; the header names `ns`
// (clients' requests). kWouldBlock: no peer is connected (DEALER with
// ZMQ_IMMEDIATE) or its queue is full; kUnreachable: the ROUTER peer is gone
// (ZMQ_ROUTER_MANDATORY).
SendResult send_message(zmq::socket_t& socket, const proto::Message& message,
                        std::string_view routing_id = {}, std::string_view ns = kDefaultNamespace);
// The same for a message the caller is done with: a large body is handed to
// ZeroMQ as it is instead of copied (the broker's DELIVER frames, up to
// 1 MiB each).
SendResult send_message(zmq::socket_t& socket, proto::Message&& message,
                        std::string_view routing_id = {}, std::string_view ns = kDefaultNamespace);

// Receives one whole message without blocking; nullopt when none is waiting.
std::optional<Incoming> receive_message(zmq::socket_t& socket);

// The header and body of a client-side message (no routing id): decoded header
// or an error describing the malformed frames.
struct Frames {
  proto::Command command;
  std::string_view ns;
  std::string_view body;
};
Result<Frames> split_frames(const Incoming& in, size_t first_part);

// Checks that `url` is a ZeroMQ endpoint edatool can use (tcp:// or ipc://);
// errors call it `what`.
Status validate_endpoint(std::string_view url, std::string_view what = "broker URL");

// Binds `socket` to every URL (each checked by validate_endpoint); returns the
// endpoints with wildcard ports resolved (tcp://127.0.0.1:* -> tcp://127.0.0.1:41234).
// A URL that cannot be bound is a runtime error naming it, and `flag` when
// given (e.g. "--tap": the URL alone would read like a --bind one).
Result<std::vector<std::string>> bind_endpoints(zmq::socket_t& socket,
                                                const std::vector<std::string>& urls,
                                                std::string_view flag = {});

}  // namespace eda
