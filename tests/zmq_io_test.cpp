#include "transport/zmq_io.h"

#include <catch2/catch.hpp>
#include <string>

namespace eda::zmq_io_test {
namespace {

// A connected PAIR of sockets in one process.
struct SocketPair {
  zmq::context_t context;
  zmq::socket_t sender{context, zmq::socket_type::pair};
  zmq::socket_t receiver{context, zmq::socket_type::pair};
  SocketPair() {
    receiver.bind("inproc://zmq-io-test");
    sender.connect("inproc://zmq-io-test");
  }
  // The next message's header and body, waiting for it.
  std::pair<proto::Command, std::string> receive() {
    zmq::pollitem_t item{receiver.handle(), 0, ZMQ_POLLIN, 0};
    REQUIRE(zmq::poll(&item, 1, std::chrono::milliseconds(5000)) == 1);
    auto in = receive_message(receiver);
    REQUIRE(in);
    auto frames = split_frames(*in, 0);
    REQUIRE(frames);
    CHECK(frames->ns == "orders");
    return {frames->command, std::string(frames->body)};
  }
};

proto::Message message_of(std::string_view body) {
  proto::Message m{proto::Command::kDeliver, {}};
  m.body.write(body.data(), body.size());
  return m;
}

std::string bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + i / 251);
  return s;
}

TEST_CASE("zmq io: a large body handed over arrives whole and leaves the message empty",
          "[zmq_io]") {
  SocketPair pair;
  std::string body = bytes(1u << 20);
  proto::Message m = message_of(body);
  REQUIRE(send_message(pair.sender, std::move(m), {}, "orders") == SendResult::kSent);
  CHECK(m.body.size() == 0);  // NOLINT(bugprone-use-after-move): the buffer went to ZeroMQ
  auto [command, received] = pair.receive();
  CHECK(command == proto::Command::kDeliver);
  CHECK(received == body);
}

TEST_CASE("zmq io: small bodies and kept messages are copied", "[zmq_io]") {
  SocketPair pair;
  for (size_t size : {size_t{0}, size_t{100}, size_t{64 * 1024 - 1}}) {
    std::string body = bytes(size);
    REQUIRE(send_message(pair.sender, message_of(body), {}, "orders") == SendResult::kSent);
    CHECK(pair.receive().second == body);
  }
  std::string body = bytes(200 * 1024);
  const proto::Message kept = message_of(body);
  REQUIRE(send_message(pair.sender, kept, {}, "orders") == SendResult::kSent);
  REQUIRE(send_message(pair.sender, kept, {}, "orders") == SendResult::kSent);
  CHECK(kept.body.size() == body.size());
  CHECK(pair.receive().second == body);
  CHECK(pair.receive().second == body);
}

TEST_CASE("zmq io: a body for a peer that is gone is not handed over", "[zmq_io]") {
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::router_mandatory, 1);
  router.bind("inproc://zmq-io-gone");
  std::string body = bytes(1u << 20);
  proto::Message m = message_of(body);
  CHECK(send_message(router, std::move(m), "no-such-peer", "orders") == SendResult::kUnreachable);
  CHECK(m.body.size() == body.size());  // NOLINT(bugprone-use-after-move): refused, so kept
}

}  // namespace
}  // namespace eda::zmq_io_test
