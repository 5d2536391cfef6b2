#include "transport/broker_bridges.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <msgpack.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "tests/test_broker.h"

namespace eda::broker_bridges_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

BrokerConfig with_tap() {
  BrokerConfig c;
  c.taps = {"tcp://127.0.0.1:*"};
  return c;
}

BrokerConfig with_ingest() {
  BrokerConfig c;
  c.ingests = {"tcp://127.0.0.1:*"};
  return c;
}

// A plain SUB on the broker's tap, subscribed to `prefixes` and to "sync".
struct TapReader {
  TapReader(const TestBroker& broker, const std::vector<std::string>& prefixes, int rcvhwm = 1000)
      : sub(context, zmq::socket_type::sub) {
    sub.set(zmq::sockopt::rcvhwm, rcvhwm);
    sub.set(zmq::sockopt::linger, 0);
    for (const std::string& p : prefixes) sub.set(zmq::sockopt::subscribe, p);
    sub.set(zmq::sockopt::subscribe, "sync");
    sub.connect(broker.tap_endpoint());
    // The subscriptions reach the XPUB some time after connect(): publish to
    // "sync" until one comes through, so what follows is seen.
    auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      PublishReport report;
      REQUIRE(publish_to(broker, "sync", payloads(1, "sync"), report).ok());
      if (poll(100ms)) return;  // next() skips this and later sync messages
    }
    FAIL("the tap's SUB never received a sync message");
  }
  bool poll(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    return zmq::poll(&item, 1, timeout) > 0;
  }
  // The next message that is not a sync message, as "topic|payload"; "" after `timeout`.
  std::string next(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = Clock::now() + timeout;
    while (poll(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - Clock::now(), Clock::duration::zero())))) {
      std::vector<zmq::message_t> parts;
      (void)zmq::recv_multipart(sub, std::back_inserter(parts));
      if (parts.size() != 2) return "wrong frame count " + std::to_string(parts.size());
      if (parts[0].to_string_view() == "sync") continue;
      return parts[0].to_string() + "|" + parts[1].to_string();
    }
    return "";
  }
  zmq::context_t context;
  zmq::socket_t sub;
};

TEST_CASE("tap: a SUB gets each stored message of its prefix as [topic][payload], in order",
          "[broker_bridges]") {
  TestBroker broker({}, with_tap());
  TapReader reader(broker, {"orders."});
  PublishReport report;
  REQUIRE(publish_to(broker, "orders.eu", payloads(100, "eu"), report).ok());
  REQUIRE(publish_to(broker, "ordersx", payloads(10, "not mine"), report).ok());
  REQUIRE(publish_to(broker, "other.x", payloads(10, "not mine"), report).ok());
  REQUIRE(publish_to(broker, "orders.us.west", payloads(100, "us"), report).ok());
  std::vector<std::string> want;
  for (int i = 0; i < 100; ++i) want.push_back("orders.eu|eu" + std::to_string(i));
  for (int i = 0; i < 100; ++i) want.push_back("orders.us.west|us" + std::to_string(i));
  std::vector<std::string> got;
  for (size_t i = 0; i < want.size(); ++i) got.push_back(reader.next());
  CHECK(got == want);
  CHECK(reader.next(200ms) == "");
}

TEST_CASE("tap: a SUB that stops reading loses nothing and holds up no publisher",
          "[broker_bridges]") {
  TestBroker broker({}, with_tap());
  TapReader reader(broker, {"bulk"}, 100);
  // Far more than the SUB, the XPUB and the sockets between them can queue:
  // the tap has to stop and go on.
  constexpr int kCount = 30000;
  PublishReport report;
  // Confirmed within publish_to's deadline while the SUB reads nothing.
  REQUIRE(publish_to(broker, "bulk", payloads(kCount, "m", 1000), report).ok());
  CHECK(report.confirmed == kCount);
  int in_order = 0;
  for (int i = 0; i < kCount; ++i) {
    std::string m = reader.next();
    if (m != "bulk|m" + std::to_string(i) + std::string(1000, '.')) {
      FAIL_CHECK("message " << i << " was [" << m.substr(0, 40) << "]");
      break;
    }
    ++in_order;
  }
  CHECK(in_order == kCount);
}

TEST_CASE("tap: ZeroMQ's queue per SUB is 10000 messages, fewer for large ones",
          "[broker_bridges]") {
  CHECK(TapBridge::send_high_water_mark(100) == 10000);
  CHECK(TapBridge::send_high_water_mark(6u << 10) == 10000);
  CHECK(TapBridge::send_high_water_mark(16u << 10) == 4096);
  CHECK(TapBridge::send_high_water_mark(1u << 20) == 1000);
  CHECK(TapBridge::send_high_water_mark(32u << 20) == 1000);
}

std::string msgpack_headers() {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_map(2);
  pk.pack(std::string("source"));
  pk.pack(std::string("sensor"));
  pk.pack(std::string("n"));
  pk.pack(7);
  return std::string(b.data(), b.size());
}

TEST_CASE("ingest: PUSHed messages are stored, malformed ones counted and dropped",
          "[broker_bridges]") {
  EngineConfig engine;
  engine.max_message_bytes = 1000;
  TestBroker broker(engine, with_ingest());
  zmq::context_t context;
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 1000);
  push.connect(broker.ingest_endpoint());
  auto send = [&](const std::vector<std::string>& frames) {
    std::vector<zmq::const_buffer> buffers;
    for (const std::string& f : frames) buffers.push_back(zmq::buffer(f));
    REQUIRE(zmq::send_multipart(push, buffers));
  };
  send({"in.a", "first"});
  send({"in.a", "second", msgpack_headers()});
  send({"in.a"});                               // one frame
  send({"in.a", "x", msgpack_headers(), "x"});  // four frames
  send({"a..b", "x"});                          // bad topic
  send({"in.b", "x", "\xc1"});                  // headers not msgpack
  send({"in.b", std::string(1001, 'x')});       // over --max-message-bytes
  send({"in.b", "third"});
  send({"in.a", "fourth"});

  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"in.>"};
  config.from = {Position::Kind::kEarliest, 0};
  config.count = 4;
  auto end = subscribe_to(broker, config, sink);
  if (!end.ok()) FAIL("subscribe failed: " << end.error().message);
  std::map<std::string, std::vector<std::string>> by_topic;
  for (const Envelope& e : sink.envelopes) {
    by_topic[e.topic].push_back(e.payload);
    CHECK(e.id.size() == 26);
    CHECK(e.ts > 0);
    if (e.payload == "second")
      CHECK(e.headers == Headers{{"source", std::string("sensor")}, {"n", int64_t{7}}});
    else
      CHECK(e.headers.empty());
  }
  CHECK(by_topic["in.a"] == std::vector<std::string>{"first", "second", "fourth"});
  CHECK(by_topic["in.b"] == std::vector<std::string>{"third"});
  broker.stop();
  CHECK(broker.ingest_stored() == 4);
  CHECK(broker.ingest_dropped() == 5);
}

}  // namespace
}  // namespace eda::broker_bridges_test
