#include "transport/broker_server.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "core/envelope_source.h"
#include "tests/temp_dir.h"
#include "tests/test_broker.h"
#include "transport/admin_client.h"
#include "transport/broker_connection.h"
#include "transport/curve_keys.h"
#include "transport/protocol.h"
#include "transport/publisher.h"
#include "transport/subscriber.h"

namespace eda::broker_server_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("broker server: published messages come back to a subscriber", "[broker_server]") {
  TestBroker broker;
  EnvelopeStamp stamp;
  stamp.key = "cust-1";
  stamp.headers = {{"source", std::string("test")}, {"n", int64_t{5}}};
  PublishReport report;
  Status s = publish_to(broker, "orders.eu", payloads(100, "message "), report, stamp);
  if (!s.ok()) FAIL("publish failed: " << s.error().message);
  CHECK(report.sent == 100);
  CHECK(report.confirmed == 100);

  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"orders.*"};
  config.from = {Position::Kind::kEarliest, 0};
  config.count = 100;
  auto end = subscribe_to(broker, config, sink);
  if (!end.ok()) FAIL("subscribe failed: " << end.error().message);
  CHECK(*end == SubscribeEnd::kCount);
  REQUIRE(sink.envelopes.size() == 100);
  CHECK(sink.flushes > 0);
  for (size_t i = 0; i < sink.envelopes.size(); ++i) {
    const Envelope& e = sink.envelopes[i];
    INFO("message " << i);
    CHECK(e.topic == "orders.eu");
    CHECK(e.offset == i);
    CHECK(e.payload == "message " + std::to_string(i));
    CHECK(e.key == std::optional<std::string>("cust-1"));
    CHECK(e.headers == stamp.headers);
    CHECK(e.id.size() == 26);
    CHECK(e.ts > 0);
  }
}

TEST_CASE("broker server: a subscriber that exits at the end gets everything stored",
          "[broker_server]") {
  TestBroker broker;
  PublishReport a, b;
  REQUIRE(publish_to(broker, "t.a", payloads(30, "a"), a).ok());
  REQUIRE(publish_to(broker, "t.b", payloads(20, "b"), b).ok());
  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"t.>"};
  config.from = {Position::Kind::kEarliest, 0};
  config.exit_at_end = true;
  auto end = subscribe_to(broker, config, sink);
  if (!end.ok()) FAIL("subscribe failed: " << end.error().message);
  CHECK(*end == SubscribeEnd::kCaughtUp);
  std::map<std::string, std::vector<uint64_t>> offsets;
  for (const Envelope& e : sink.envelopes) offsets[e.topic].push_back(e.offset);
  CHECK(offsets["t.a"].size() == 30);
  CHECK(offsets["t.b"].size() == 20);
  for (auto& [topic, list] : offsets) {
    INFO(topic);
    for (size_t i = 0; i < list.size(); ++i) CHECK(list[i] == i);
  }
}

TEST_CASE("broker server: many messages in many batches", "[broker_server]") {
  TestBroker broker;
  PublishReport report;
  REQUIRE(publish_to(broker, "bulk", payloads(5000, "m", 100), report).ok());
  CHECK(report.confirmed == 5000);
  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"bulk"};
  config.from = {Position::Kind::kEarliest, 0};
  config.count = 5000;
  auto end = subscribe_to(broker, config, sink);
  if (!end.ok()) FAIL("subscribe failed: " << end.error().message);
  REQUIRE(sink.envelopes.size() == 5000);
  for (size_t i = 0; i < sink.envelopes.size(); ++i)
    if (sink.envelopes[i].offset != i) FAIL("offset " << sink.envelopes[i].offset << " at " << i);
}

TEST_CASE("broker server: a subscriber with a small byte window still gets everything",
          "[broker_server]") {
  // Credit is granted back as messages arrive; the window must not shrink as
  // it goes, whatever the messages' sizes.
  TestBroker broker;
  PublishReport report;
  REQUIRE(publish_to(broker, "small", payloads(600, "x"), report).ok());
  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"small"};
  config.from = {Position::Kind::kEarliest, 0};
  config.count = 600;
  config.credit_messages = 100;
  config.credit_bytes = 4096;
  config.timeout = 5s;
  auto end = subscribe_to(broker, config, sink);
  INFO("received " << sink.envelopes.size() << " of 600");
  if (!end.ok()) FAIL("subscribe failed: " << end.error().message);
  CHECK(sink.envelopes.size() == 600);
}

TEST_CASE("broker server: a publish to an invalid topic gets an error", "[broker_server]") {
  TestBroker broker;
  for (const char* topic : {"bad topic", "a..b", "$sys.stats", "orders.*"}) {
    INFO(topic);
    PublishReport report;
    Status s = publish_to(broker, topic, payloads(3, "x"), report);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kRuntime);
    CHECK_THAT(s.error().message, Catch::Contains("rejected"));
    CHECK(report.confirmed == 0);
  }
  // The broker still takes valid messages, and stored none of the rejected ones.
  PublishReport report;
  REQUIRE(publish_to(broker, "good", payloads(2, "y"), report).ok());
  CHECK(report.confirmed == 2);
  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {">"};
  config.from = {Position::Kind::kEarliest, 0};
  config.exit_at_end = true;
  REQUIRE(subscribe_to(broker, config, sink).ok());
  REQUIRE(sink.envelopes.size() == 2);
  CHECK(sink.envelopes[0].topic == "good");
}

TEST_CASE("broker server: a subscription with an invalid pattern is refused", "[broker_server]") {
  TestBroker broker;
  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"a.>.b"};
  auto end = subscribe_to(broker, config, sink);
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().kind == ErrorKind::kInvalidArgument);
}

// A plain DEALER that sends whatever frames it is given.
class RawClient {
 public:
  explicit RawClient(const std::string& endpoint) : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }

  void send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      REQUIRE(socket_.send(zmq::buffer(frames[i]), flags));
    }
  }

  // The next reply as [header, body], or an empty vector at the deadline.
  std::vector<std::string> receive(std::chrono::milliseconds timeout = 5000ms) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return {};
    std::vector<std::string> frames;
    for (bool more = true; more;) {
      zmq::message_t part;
      REQUIRE(socket_.recv(part, zmq::recv_flags::none));
      frames.push_back(part.to_string());
      more = part.more();
    }
    return frames;
  }

  // Sends and expects an ERROR reply; returns it.
  proto::ErrorReply expect_error(const std::vector<std::string>& frames) {
    send(frames);
    auto reply = receive();
    REQUIRE(reply.size() == 2);
    auto command = proto::decode_header(reply[0]);
    REQUIRE(command.ok());
    REQUIRE(command->command == proto::Command::kError);
    auto error = proto::decode<proto::ErrorReply>(reply[1]);
    REQUIRE(error.ok());
    return *error;
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
};

std::string header(uint8_t version, proto::Command c) {
  return {static_cast<char>(version), static_cast<char>(c)};
}
std::string body(const proto::Message& m) {
  return std::string(m.body.data(), m.body.size());
}

TEST_CASE("broker server: garbage from a raw DEALER gets ERROR replies", "[broker_server]") {
  TestBroker broker;
  RawClient raw(broker.endpoint());
  const std::string ping = body(proto::encode(proto::Ping{1}));
  const std::string version = header(proto::kVersion, proto::Command::kPing);
  int sent_bad = 0;

  SECTION("one frame of garbage") {
    auto e = raw.expect_error({"\xde\xad\xbe\xef garbage"});
    CHECK(e.code == proto::ErrorCode::kBadFrame);
    CHECK(e.req_id == 0);
    CHECK_FALSE(e.text.empty());
    ++sent_bad;
  }
  SECTION("three frames") {
    CHECK(raw.expect_error({version, ping, "extra"}).code == proto::ErrorCode::kBadFrame);
    ++sent_bad;
  }
  SECTION("a header of the wrong size") {
    CHECK(raw.expect_error({"\x01", ping}).code == proto::ErrorCode::kBadFrame);
    CHECK(raw.expect_error({"\x01\x03\x03", ping}).code == proto::ErrorCode::kBadFrame);
    sent_bad += 2;
  }
  SECTION("another protocol version") {
    auto e = raw.expect_error({header(2, proto::Command::kPing), ping});
    CHECK(e.code == proto::ErrorCode::kUnsupportedVersion);
    CHECK_THAT(e.text, Catch::Contains("version"));
    ++sent_bad;
  }
  SECTION("an unknown command") {
    CHECK(raw.expect_error({std::string("\x01\x0e", 2), ping}).code == proto::ErrorCode::kBadFrame);
    CHECK(raw.expect_error({std::string("\x01\xff", 2), ping}).code == proto::ErrorCode::kBadFrame);
    sent_bad += 2;
  }
  SECTION("a command only the broker sends") {
    auto e = raw.expect_error(
        {header(proto::kVersion, proto::Command::kDeliver), body(proto::encode(proto::End{1}))});
    CHECK(e.code == proto::ErrorCode::kBadFrame);
    ++sent_bad;
  }
  SECTION("bodies that do not fit their command") {
    for (proto::Command c :
         {proto::Command::kPing, proto::Command::kHello, proto::Command::kPublish,
          proto::Command::kSubscribe, proto::Command::kCredit, proto::Command::kUnsubscribe,
          proto::Command::kListTopics, proto::Command::kDeleteTopic}) {
      INFO(proto::command_name(c));
      CHECK(raw.expect_error({header(proto::kVersion, c), "\xc1\xc1"}).code ==
            proto::ErrorCode::kBadFrame);
      CHECK(raw.expect_error({header(proto::kVersion, c), std::string("\x90", 1)}).code ==
            proto::ErrorCode::kBadFrame);
      CHECK(raw.expect_error({header(proto::kVersion, c), std::string()}).code ==
            proto::ErrorCode::kBadFrame);
      sent_bad += 3;
    }
  }
  SECTION("a publish holding a malformed envelope") {
    // [req_id 9, [[1, 2, 3]]]
    auto e = raw.expect_error({header(proto::kVersion, proto::Command::kPublish),
                               std::string("\x92\x09\x91\x93\x01\x02\x03", 7)});
    CHECK(e.code == proto::ErrorCode::kBadFrame);
    ++sent_bad;
  }
  SECTION("an empty message part") {
    CHECK(raw.expect_error({""}).code == proto::ErrorCode::kBadFrame);
    ++sent_bad;
  }

  // The same connection is still served.
  raw.send({version, body(proto::encode(proto::Ping{77}))});
  auto reply = raw.receive();
  REQUIRE(reply.size() == 2);
  REQUIRE(proto::decode_header(reply[0])->command == proto::Command::kPong);
  auto pong = proto::decode<proto::Pong>(reply[1]);
  REQUIRE(pong.ok());
  CHECK(pong->req_id == 77);

  // And so is everyone else.
  PublishReport report;
  REQUIRE(publish_to(broker, "after.garbage", payloads(3, "z"), report).ok());
  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"after.garbage"};
  config.from = {Position::Kind::kEarliest, 0};
  config.count = 3;
  REQUIRE(subscribe_to(broker, config, sink).ok());
  CHECK(sink.envelopes.size() == 3);

  broker.stop();
  CHECK(broker.malformed_frames() == static_cast<uint64_t>(sent_bad));
}

TEST_CASE("broker server: a rejected publish from a raw client names its request",
          "[broker_server]") {
  TestBroker broker;
  RawClient raw(broker.endpoint());
  Envelope e;
  e.topic = "no spaces allowed";
  e.payload = "x";
  raw.send(
      {header(proto::kVersion, proto::Command::kPublish), body(proto::encode_publish(42, {e}))});
  auto reply = raw.receive();
  REQUIRE(reply.size() == 2);
  REQUIRE(proto::decode_header(reply[0])->command == proto::Command::kError);
  auto error = proto::decode<proto::ErrorReply>(reply[1]);
  REQUIRE(error.ok());
  CHECK(error->req_id == 42);
  CHECK(error->code == proto::ErrorCode::kRejected);
  CHECK_THAT(error->text, Catch::Contains("no spaces allowed"));
  broker.stop();
  CHECK(broker.malformed_frames() == 0);  // well-formed, only refused
}

TEST_CASE("broker server: a raw client can publish and is confirmed", "[broker_server]") {
  TestBroker broker;
  RawClient raw(broker.endpoint());
  std::vector<Envelope> batch(3);
  for (Envelope& e : batch) {
    e.topic = "raw.topic";
    e.payload = "p";
  }
  for (uint64_t req : {uint64_t{5}, uint64_t{6}}) {
    raw.send({header(proto::kVersion, proto::Command::kPublish),
              body(proto::encode_publish(req, batch))});
    auto reply = raw.receive();
    REQUIRE(reply.size() == 2);
    REQUIRE(proto::decode_header(reply[0])->command == proto::Command::kConfirm);
    auto confirm = proto::decode<proto::Confirm>(reply[1]);
    REQUIRE(confirm.ok());
    CHECK(confirm->req_id == req);
    uint64_t first = req == 5 ? 0 : 3;
    CHECK(confirm->offsets == std::vector<uint64_t>{first, first + 1, first + 2});
  }
}

// The next OK or ERROR reply for `req_id` (deliveries and ENDs on the way are skipped).
std::pair<proto::Command, std::string> answer_to(RawClient& raw, uint64_t req_id) {
  for (;;) {
    auto reply = raw.receive();
    REQUIRE(reply.size() == 2);
    proto::Command c = proto::decode_header(reply[0])->command;
    if (c == proto::Command::kOk && proto::decode<proto::OkReply>(reply[1])->req_id == req_id)
      return {c, ""};
    if (c == proto::Command::kError) {
      auto e = proto::decode<proto::ErrorReply>(reply[1]);
      REQUIRE(e.ok());
      if (e->req_id == req_id) return {c, e->text};
    }
  }
}

proto::Counters stats_of(RawClient& raw) {
  raw.send(
      {header(proto::kVersion, proto::Command::kStats), body(proto::encode(proto::Stats{99}))});
  auto reply = raw.receive();
  REQUIRE(reply.size() == 2);
  REQUIRE(proto::decode_header(reply[0])->command == proto::Command::kStatsReply);
  auto stats = proto::decode<proto::StatsReply>(reply[1]);
  REQUIRE(stats.ok());
  return stats->counters;
}

uint64_t counter(const proto::Counters& counters, const std::string& name) {
  for (const auto& [n, value] : counters)
    if (n == name) return value;
  FAIL("no counter " << name);
  return 0;
}

TEST_CASE("broker server: per-client limits refuse the request and keep the connection",
          "[broker_server]") {
  BrokerConfig config;
  config.max_subscriptions_per_client = 2;
  config.max_in_flight_per_client = 2;
  TestBroker broker({}, config);
  RawClient raw(broker.endpoint());
  auto subscribe = [&](uint64_t req_id, uint64_t sub_id) {
    proto::Subscribe m;
    m.req_id = req_id;
    m.sub_id = sub_id;
    m.patterns = {"a.>"};
    raw.send({header(proto::kVersion, proto::Command::kSubscribe), body(proto::encode(m))});
    return answer_to(raw, req_id);
  };
  CHECK(subscribe(1, 1).first == proto::Command::kOk);
  CHECK(subscribe(2, 2).first == proto::Command::kOk);
  auto third = subscribe(3, 3);
  CHECK(third.first == proto::Command::kError);
  CHECK_THAT(third.second, Catch::Contains("holds 2 subscriptions"));
  CHECK(subscribe(4, 1).first == proto::Command::kOk);  // replacing one is no new one

  // Receives waiting for a message count as requests in flight.
  auto receive = [&](uint64_t req_id) {
    proto::Receive m{req_id, "jobs", "$queue", 1, 0, proto::ReceiveMode::kPeekLock, 10000};
    raw.send({header(proto::kVersion, proto::Command::kReceive), body(proto::encode(m))});
  };
  receive(10);
  receive(11);
  receive(12);
  auto refused = answer_to(raw, 12);
  CHECK(refused.first == proto::Command::kError);
  CHECK_THAT(refused.second, Catch::Contains("2 requests waiting for an answer"));

  proto::Counters counters = stats_of(raw);  // still served
  CHECK(counter(counters, "refused_over_limit") == 2);
  CHECK(counter(counters, "receives_waiting") == 2);
  CHECK(counter(counters, "subscriptions") == 2);
  CHECK(counter(counters, "clients") == 1);
  CHECK(counter(counters, "malformed_frames") == 0);
}

TEST_CASE("broker server: a confirmed publish no longer counts as in flight", "[broker_server]") {
  TempDir dir;
  EngineConfig engine;
  engine.data_dir = dir.path();  // confirms wait for group commit: the publish is held
  BrokerConfig config;
  config.max_in_flight_per_client = 2;
  TestBroker broker(engine, config);
  RawClient raw(broker.endpoint());
  Envelope e;
  e.topic = "held";
  e.payload = "p";
  for (uint64_t req = 1; req <= 6; ++req) {  // one at a time: never more than one held
    raw.send(
        {header(proto::kVersion, proto::Command::kPublish), body(proto::encode_publish(req, {e}))});
    auto reply = raw.receive();
    REQUIRE(reply.size() == 2);
    INFO("publish " << req);
    CHECK(proto::decode_header(reply[0])->command == proto::Command::kConfirm);
  }
  CHECK(counter(stats_of(raw), "refused_over_limit") == 0);
}

TEST_CASE("broker server: STATS counts traffic and malformed frames", "[broker_server]") {
  TestBroker broker;
  PublishReport report;
  REQUIRE(publish_to(broker, "counted", payloads(5, "c"), report).ok());
  CollectingSink sink;
  SubscribeConfig config;
  config.patterns = {"counted"};
  config.from = {Position::Kind::kEarliest, 0};
  config.count = 5;
  REQUIRE(subscribe_to(broker, config, sink).ok());
  RawClient raw(broker.endpoint());
  raw.expect_error({"garbage"});
  proto::Counters counters = stats_of(raw);
  CHECK(counter(counters, "messages_published") == 5);
  CHECK(counter(counters, "messages_delivered") == 5);
  CHECK(counter(counters, "malformed_frames") == 1);
  CHECK(counter(counters, "topics") == 1);
}

TEST_CASE("broker server: CURVE admits listed keys and holds them to their rights",
          "[broker_server][curve]") {
  auto broker_keys = generate_curve_key_pair();
  auto alice = generate_curve_key_pair();
  auto mallory = generate_curve_key_pair();
  REQUIRE((broker_keys && alice && mallory));
  auto listed = AuthorizedKeys::parse(alice->public_key + " pub=orders.> sub=orders.*\n", "keys");
  REQUIRE(listed);
  BrokerConfig config;
  config.curve = CurveServerConfig{broker_keys->secret_key, "keys", std::move(*listed)};
  TestBroker broker({}, config);
  ClientCurve as_alice{*alice, broker_keys->public_key};
  ClientCurve as_mallory{*mallory, broker_keys->public_key};

  PublishReport report;
  Status allowed = publish_to(broker, "orders.eu", payloads(3, "m"), report, {}, as_alice);
  if (!allowed) FAIL("publish within pub=orders.> failed: " << allowed.error().message);
  CHECK(report.confirmed == 3);

  Status denied = publish_to(broker, "billing.eu", payloads(1, "m"), report, {}, as_alice);
  REQUIRE_FALSE(denied);
  CHECK_THAT(denied.error().message, Catch::Contains("permission denied: key " + alice->public_key +
                                                     " may not publish to 'billing.eu'"));

  CollectingSink sink;
  SubscribeConfig sub;
  sub.patterns = {"orders.*"};
  sub.from = {Position::Kind::kEarliest, 0};
  sub.count = 3;
  auto got = subscribe_to(broker, sub, sink, as_alice);
  if (!got) FAIL("subscribe within sub=orders.* failed: " << got.error().message);
  CHECK(sink.envelopes.size() == 3);
  sub.patterns = {"orders.>"};
  auto wider = subscribe_to(broker, sub, sink, as_alice);
  REQUIRE_FALSE(wider);
  CHECK_THAT(wider.error().message, Catch::Contains("may not subscribe"));

  auto admin = list_topics(*connect(broker, as_alice), ">", 5s);
  REQUIRE_FALSE(admin);
  CHECK_THAT(admin.error().message, Catch::Contains("lacks the admin right"));

  auto refused = list_topics(*connect(broker, as_mallory), ">", 5s);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("authentication failed"));
  CHECK_THAT(refused.error().message, Catch::Contains(mallory->public_key));

  auto plaintext = list_topics(*connect(broker), ">", 5s);
  REQUIRE_FALSE(plaintext);
  CHECK_THAT(plaintext.error().message, Catch::Contains("CURVE"));
}

}  // namespace
}  // namespace eda::broker_server_test
