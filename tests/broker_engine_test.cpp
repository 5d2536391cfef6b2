#include "core/broker_engine.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/envelope_codec.h"
#include "core/ulid.h"

namespace eda::broker_engine_test {
namespace {

using K = Position::Kind;

constexpr int64_t kNow = 1'714'564'800'000;
constexpr uint64_t kLots = uint64_t{1} << 40;

std::unique_ptr<BrokerEngine> make_engine(EngineConfig config = {}) {
  std::vector<std::string> notes;
  auto engine = BrokerEngine::open(config, notes);
  if (!engine.ok()) FAIL("cannot open engine: " << engine.error().message);
  CHECK(notes.empty());
  return std::move(*engine);
}

Envelope message(const std::string& topic, std::string payload, int64_t ts = 0) {
  Envelope e;
  e.topic = topic;
  e.payload = std::move(payload);
  e.ts = ts;
  return e;
}

// Publishes `n` messages to `topic` in one batch; returns their offsets.
std::vector<uint64_t> publish(BrokerEngine& engine, const std::string& topic, int n,
                              const std::string& payload = "p", int64_t ts = 0) {
  std::vector<Envelope> batch;
  for (int i = 0; i < n; ++i) batch.push_back(message(topic, payload + std::to_string(i), ts));
  auto receipt = engine.publish(std::move(batch), kNow);
  if (!receipt.ok()) FAIL("publish failed: " << receipt.error().message);
  CHECK(receipt->ticket == 0);  // memory mode: stored means visible
  return receipt->offsets;
}

SubscriptionId subscribe(BrokerEngine& engine, std::vector<std::string> patterns,
                         Position from = {K::kEarliest, 0},
                         std::map<std::string, uint64_t> resume = {}, std::string filter = {}) {
  auto id = engine.subscribe({std::move(patterns), from, std::move(resume), std::move(filter)});
  if (!id.ok()) FAIL("subscribe failed: " << id.error().message);
  return *id;
}

// A delivery with its records decoded (views die with the next engine call).
struct Received {
  std::vector<Envelope> messages;
  std::vector<size_t> body_sizes;
  bool reached_end = false;
  std::vector<std::string> notices;
};

Received take(BrokerEngine& engine, SubscriptionId id) {
  Delivery d = engine.next_delivery(id);
  Received r;
  r.reached_end = d.reached_end;
  r.notices = d.notices;
  for (const StoredRecord& rec : d.records) {
    auto e = decode_envelope(rec.body);
    if (!e.ok()) FAIL("stored record does not decode: " << e.error().message);
    CHECK(e->offset == rec.offset);
    CHECK(e->ts == rec.ts);
    r.messages.push_back(std::move(*e));
    r.body_sizes.push_back(rec.body.size());
  }
  return r;
}

// Takes deliveries until one brings nothing new; collects everything.
Received drain(BrokerEngine& engine, SubscriptionId id, int max_rounds = 10000) {
  Received all;
  for (int round = 0; round < max_rounds; ++round) {
    Received r = take(engine, id);
    all.reached_end = all.reached_end || r.reached_end;
    all.notices.insert(all.notices.end(), r.notices.begin(), r.notices.end());
    if (r.messages.empty() && r.notices.empty()) return all;
    for (size_t i = 0; i < r.messages.size(); ++i) {
      all.messages.push_back(std::move(r.messages[i]));
      all.body_sizes.push_back(r.body_sizes[i]);
    }
  }
  FAIL("deliveries never ran dry");
  return all;
}

std::vector<uint64_t> offsets_of(const std::vector<Envelope>& v, const std::string& topic) {
  std::vector<uint64_t> out;
  for (const Envelope& e : v)
    if (e.topic == topic) out.push_back(e.offset);
  return out;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {  // [from, to)
  std::vector<uint64_t> v;
  for (uint64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

const TopicInfo* find_topic(const std::vector<TopicInfo>& topics, const std::string& name) {
  for (const TopicInfo& t : topics)
    if (t.name == name) return &t;
  return nullptr;
}

// --- publishing ---

TEST_CASE("broker engine: offsets are gap-free from 0 per topic", "[broker_engine]") {
  auto engine = make_engine();
  CHECK(publish(*engine, "a", 3) == range(0, 3));
  CHECK(publish(*engine, "b", 2) == range(0, 2));
  CHECK(publish(*engine, "a", 4) == range(3, 7));
  CHECK(publish(*engine, "b", 1) == range(2, 3));
  CHECK(publish(*engine, "a", 1) == range(7, 8));

  auto topics = engine->topics();
  REQUIRE(topics.size() == 2);
  CHECK(topics[0].name == "a");
  CHECK(topics[0].earliest_offset == 0);
  CHECK(topics[0].next_offset == 8);
  CHECK(topics[1].name == "b");
  CHECK(topics[1].next_offset == 3);

  SubscriptionId id = subscribe(*engine, {"a", "b"});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  CHECK(offsets_of(r.messages, "a") == range(0, 8));
  CHECK(offsets_of(r.messages, "b") == range(0, 3));
  // Payloads come back in publish order.
  std::vector<std::string> a_payloads;
  for (const Envelope& e : r.messages)
    if (e.topic == "a") a_payloads.push_back(e.payload);
  CHECK(a_payloads == std::vector<std::string>{"p0", "p1", "p2", "p0", "p1", "p2", "p3", "p0"});
}

TEST_CASE("broker engine: an empty batch stores nothing", "[broker_engine]") {
  auto engine = make_engine();
  auto receipt = engine->publish(std::vector<Envelope>{}, kNow);
  REQUIRE(receipt.ok());
  CHECK(receipt->offsets.empty());
  CHECK(engine->topics().empty());
}

TEST_CASE("broker engine: a batch with one oversize message stores nothing", "[broker_engine]") {
  EngineConfig config;
  config.max_message_bytes = 100;
  auto engine = make_engine(config);
  publish(*engine, "t", 1);  // the topic exists with offset 0

  std::vector<Envelope> batch = {message("t", "ok"), message("t", std::string(100, 'x')),
                                 message("t", std::string(101, 'x')), message("t", "ok")};
  auto receipt = engine->publish(std::move(batch), kNow);
  REQUIRE_FALSE(receipt.ok());
  CHECK(receipt.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(receipt.error().message, Catch::Contains("message 3"));
  CHECK_THAT(receipt.error().message, Catch::Contains("100 bytes"));
  // Nothing of the batch was stored, not even the messages before the bad one.
  CHECK(engine->topics().at(0).next_offset == 1);
  CHECK(publish(*engine, "t", 1) == std::vector<uint64_t>{1});
}

TEST_CASE("broker engine: the size limit counts key and headers too", "[broker_engine]") {
  EngineConfig config;
  config.max_message_bytes = 10;
  auto engine = make_engine(config);
  Envelope keyed = message("t", "12345");
  keyed.key = "123456";  // 11 bytes with the payload
  CHECK_FALSE(engine->publish({keyed}, kNow).ok());
  Envelope headed = message("t", "12345");
  headed.headers = {{"abc", std::string("xyz")}};  // 11 bytes
  CHECK_FALSE(engine->publish({headed}, kNow).ok());
  CHECK(engine->topics().empty());
  Envelope fits = message("t", "12345");
  fits.key = "12345";
  CHECK(engine->publish({fits}, kNow).ok());
}

TEST_CASE("broker engine: header count, header name and batch size are bounded",
          "[broker_engine]") {
  auto engine = make_engine();
  auto refused = [&](std::vector<Envelope> batch, const std::string& needle) {
    auto receipt = engine->publish(std::move(batch), kNow);
    REQUIRE_FALSE(receipt.ok());
    CHECK(receipt.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(receipt.error().message, Catch::Contains(needle));
  };
  Envelope many = message("t", "x");
  for (size_t i = 0; i <= kMaxHeaders; ++i) many.headers.emplace_back("h", int64_t(i));
  refused({message("t", "fine"), many}, "message 2 of the batch has 257 headers");
  Envelope long_name = message("t", "x");
  long_name.headers.emplace_back(std::string(kMaxHeaderNameBytes + 1, 'n'), true);
  refused({long_name}, "header name of 256 bytes");
  refused(std::vector<Envelope>(kMaxBatchMessages + 1, message("t", "x")), "65537 messages");
  CHECK(engine->topics().empty());

  many.headers.pop_back();  // at the limits: stored
  long_name.headers.back().first.pop_back();
  CHECK(engine->publish({many, long_name}, kNow).ok());
}

TEST_CASE("broker engine: a batch with an invalid topic stores nothing", "[broker_engine]") {
  auto engine = make_engine();
  for (const char* topic : {"", "bad topic", "a..b", "a.*", "orders.>", "$sys.stats"}) {
    INFO("topic '" << topic << "'");
    std::vector<Envelope> batch = {message(topic, "x"), message(topic, "y")};
    auto receipt = engine->publish(std::move(batch), kNow);
    REQUIRE_FALSE(receipt.ok());
    CHECK(receipt.error().kind == ErrorKind::kInvalidArgument);
  }
  CHECK(engine->topics().empty());
}

TEST_CASE("broker engine: a batch mixing topics stores nothing", "[broker_engine]") {
  auto engine = make_engine();
  std::vector<Envelope> batch = {message("a", "1"), message("b", "2"), message("a", "3")};
  auto receipt = engine->publish(std::move(batch), kNow);
  REQUIRE_FALSE(receipt.ok());
  CHECK(engine->topics().empty());
}

TEST_CASE("broker engine: missing ids and timestamps are filled in", "[broker_engine]") {
  auto engine = make_engine();
  Envelope given = message("t", "given", 42);
  given.id = "my-own-id";
  std::vector<Envelope> batch = {message("t", "a"), message("t", "b"), given};
  REQUIRE(engine->publish(std::move(batch), kNow).ok());
  SubscriptionId id = subscribe(*engine, {"t"});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  REQUIRE(r.messages.size() == 3);
  for (int i = 0; i < 2; ++i) {
    INFO("message " << i);
    CHECK(r.messages[i].ts == kNow);
    CHECK(r.messages[i].id.size() == 26);
    CHECK(ulid_time_ms(r.messages[i].id) == kNow);
  }
  CHECK(r.messages[0].id != r.messages[1].id);
  CHECK(r.messages[0].id < r.messages[1].id);
  CHECK(r.messages[2].id == "my-own-id");
  CHECK(r.messages[2].ts == 42);
}

TEST_CASE("broker engine: stored envelopes keep key, headers and binary payload",
          "[broker_engine]") {
  auto engine = make_engine();
  Envelope e = message("t", std::string("\0\xff\x80", 3), 7);
  e.id = "id";
  e.key = "k";
  e.headers = {{"s", std::string("v")}, {"n", int64_t{-1}}, {"b", false}};
  REQUIRE(engine->publish({e}, kNow).ok());
  SubscriptionId id = subscribe(*engine, {"t"});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  REQUIRE(r.messages.size() == 1);
  e.offset = 0;
  CHECK(r.messages[0] == e);
}

TEST_CASE("broker engine: a message id stored before is confirmed, not stored again",
          "[broker_engine]") {
  auto engine = make_engine();
  auto with_id = [](std::string id, std::string payload) {
    Envelope e = message("t", std::move(payload));
    e.id = std::move(id);
    return e;
  };
  auto first = engine->publish({with_id("A", "1"), with_id("B", "2")}, kNow);
  REQUIRE(first.ok());
  CHECK(first->offsets == std::vector<uint64_t>{0, 1});
  CHECK(first->duplicates.empty());

  // A resend of B (same id) within the window, with a new message and a repeat inside the batch.
  auto second =
      engine->publish({with_id("C", "3"), with_id("B", "2 again"), with_id("C", "3")}, kNow + 1000);
  REQUIRE(second.ok());
  CHECK(second->offsets == std::vector<uint64_t>{2, 1, 2});
  CHECK(second->duplicates == std::vector<uint32_t>{1, 2});
  CHECK(engine->topics().at(0).next_offset == 3);

  SubscriptionId id = subscribe(*engine, {"t"});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  REQUIRE(r.messages.size() == 3);
  CHECK(r.messages[1].payload == "2");  // the first copy is the one kept
}

TEST_CASE("broker engine: ids are per topic and forgotten after the dedup window",
          "[broker_engine]") {
  EngineConfig config;
  config.dedup_window_ms = 1000;
  auto engine = make_engine(config);
  Envelope a = message("a", "x");
  a.id = "same";
  Envelope b = message("b", "x");
  b.id = "same";
  REQUIRE(engine->publish({a}, kNow).ok());
  auto other_topic = engine->publish({b}, kNow);
  REQUIRE(other_topic.ok());
  CHECK(other_topic->duplicates.empty());
  auto later = engine->publish({a}, kNow + 5000);
  REQUIRE(later.ok());
  CHECK(later->duplicates.empty());
  CHECK(later->offsets == std::vector<uint64_t>{1});
}

// --- subscribing ---

TEST_CASE("broker engine: subscribe rejects bad patterns", "[broker_engine]") {
  auto engine = make_engine();
  CHECK_FALSE(engine->subscribe({{}, {}, {}, {}}).ok());
  for (const char* p : {"", "a..b", "a.>.b", "bad topic"}) {
    INFO(p);
    auto id = engine->subscribe({{"ok", p}, {}, {}, {}});
    REQUIRE_FALSE(id.ok());
    CHECK(id.error().kind == ErrorKind::kInvalidArgument);
  }
}

TEST_CASE("broker engine: subscribe at each kind of position", "[broker_engine]") {
  auto engine = make_engine();
  // Offsets 0..9 with ts 1000..1009.
  for (int i = 0; i < 10; ++i) REQUIRE(engine->publish({message("t", "m", 1000 + i)}, kNow).ok());

  struct Case {
    Position from;
    std::vector<uint64_t> offsets;
  };
  const Case cases[] = {
      {{K::kEarliest, 0}, range(0, 10)},
      {{K::kLatest, 0}, {}},
      {{K::kOffset, 0}, range(0, 10)},
      {{K::kOffset, 4}, range(4, 10)},
      {{K::kOffset, 9}, {9}},
      {{K::kOffset, 10}, {}},
      {{K::kOffset, 1000}, {}},
      {{K::kLast, 3}, range(7, 10)},
      {{K::kLast, 1}, {9}},
      {{K::kLast, 0}, {}},
      {{K::kLast, 100}, range(0, 10)},
      {{K::kTime, 1005}, range(5, 10)},
      {{K::kTime, 0}, range(0, 10)},
      {{K::kTime, 1009}, {9}},
      {{K::kTime, 2000}, {}},
  };
  for (const Case& c : cases) {
    INFO(describe_position(c.from));
    SubscriptionId id = subscribe(*engine, {"t"}, c.from);
    engine->grant(id, kLots, kLots);
    Received r = drain(*engine, id);
    CHECK(offsets_of(r.messages, "t") == c.offsets);
    CHECK(r.reached_end);
    engine->unsubscribe(id);
  }
}

TEST_CASE("broker engine: latest sees only messages stored after subscribing", "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "t", 5);
  SubscriptionId id = subscribe(*engine, {"t"}, {K::kLatest, 0});
  engine->grant(id, kLots, kLots);
  CHECK(drain(*engine, id).messages.empty());
  publish(*engine, "t", 2);
  CHECK(offsets_of(drain(*engine, id).messages, "t") == range(5, 7));
}

TEST_CASE("broker engine: resume wins over the position for the topics it names",
          "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "a", 10);
  publish(*engine, "b", 10);
  publish(*engine, "c", 10);
  SubscriptionId id =
      subscribe(*engine, {"a", "b", "c"}, {K::kLast, 2}, {{"a", 7}, {"b", 0}, {"other", 3}});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  CHECK(offsets_of(r.messages, "a") == range(7, 10));
  CHECK(offsets_of(r.messages, "b") == range(0, 10));
  CHECK(offsets_of(r.messages, "c") == range(8, 10));
}

TEST_CASE("broker engine: resume past the end of a memory log starts again and says so",
          "[broker_engine]") {
  // A --memory broker restarted: what it holds now is new to the subscriber.
  auto engine = make_engine();
  publish(*engine, "a", 3);
  SubscriptionId id = subscribe(*engine, {"a"}, {K::kEarliest, 0}, {{"a", 50}});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  CHECK(offsets_of(r.messages, "a") == std::vector<uint64_t>{0, 1, 2});
  REQUIRE(r.notices.size() == 1);
  CHECK_THAT(r.notices[0], Catch::Contains("offset 50"));
}

TEST_CASE("broker engine: resume behind retention says what was lost", "[broker_engine]") {
  EngineConfig config;
  config.retention.max_bytes = 400;
  auto engine = make_engine(config);
  publish(*engine, "a", 20, std::string(100, 'x'));
  uint64_t earliest = engine->topics().at(0).earliest_offset;
  REQUIRE(earliest > 2);
  // A subscriber that had read offsets 0 and 1 comes back: 2..earliest-1 are gone.
  SubscriptionId id = subscribe(*engine, {"a"}, {K::kEarliest, 0}, {{"a", 2}});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  CHECK(offsets_of(r.messages, "a") == range(earliest, 20));
  REQUIRE(r.notices.size() == 1);
  CHECK_THAT(r.notices[0], Catch::Contains("a"));
  CHECK_THAT(r.notices[0], Catch::Contains(std::to_string(earliest)));
}

TEST_CASE("broker engine: a wildcard subscription sees topics created later from offset 0",
          "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "orders.old", 4);
  SubscriptionId id = subscribe(*engine, {"orders.>"}, {K::kLatest, 0});
  engine->grant(id, kLots, kLots);
  CHECK(drain(*engine, id).messages.empty());

  publish(*engine, "orders.eu", 3);
  publish(*engine, "payments.eu", 2);
  publish(*engine, "orders.us.east", 2);
  publish(*engine, "orders.old", 1);
  Received r = drain(*engine, id);
  CHECK(offsets_of(r.messages, "orders.eu") == range(0, 3));
  CHECK(offsets_of(r.messages, "orders.us.east") == range(0, 2));
  CHECK(offsets_of(r.messages, "orders.old") == std::vector<uint64_t>{4});
  CHECK(offsets_of(r.messages, "payments.eu").empty());
  CHECK(r.messages.size() == 6);
}

TEST_CASE("broker engine: a subscription made before its topic exists sees it all",
          "[broker_engine]") {
  auto engine = make_engine();
  SubscriptionId id = subscribe(*engine, {"t"}, {K::kLatest, 0});
  engine->grant(id, kLots, kLots);
  publish(*engine, "t", 2);
  publish(*engine, "t", 1);
  CHECK(offsets_of(drain(*engine, id).messages, "t") == range(0, 3));
}

// --- credit ---

TEST_CASE("broker engine: never delivers more messages than granted", "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "a", 30);
  publish(*engine, "b", 30);
  SubscriptionId id = subscribe(*engine, {"a", "b"});
  engine->grant(id, 5, kLots);
  Received first = drain(*engine, id);
  CHECK(first.messages.size() == 5);
  CHECK_FALSE(first.reached_end);

  engine->grant(id, 7, kLots);
  Received second = drain(*engine, id);
  CHECK(second.messages.size() == 7);

  engine->grant(id, kLots, kLots);
  Received rest = drain(*engine, id);
  CHECK(rest.messages.size() == 60 - 12);
  CHECK(rest.reached_end);
}

TEST_CASE("broker engine: no credit means no delivery", "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "a", 3);
  SubscriptionId id = subscribe(*engine, {"a"});
  CHECK(take(*engine, id).messages.empty());
  engine->grant(id, 10, 0);  // messages but no bytes
  CHECK(take(*engine, id).messages.empty());
  engine->grant(id, 0, 1u << 20);
  CHECK(take(*engine, id).messages.size() == 3);
}

TEST_CASE("broker engine: byte credit bounds a delivery", "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "a", 50, std::string(1000, 'x'));
  SubscriptionId probe = subscribe(*engine, {"a"});
  engine->grant(probe, 1, kLots);
  Received one = take(*engine, probe);
  REQUIRE(one.body_sizes.size() == 1);
  const size_t record = one.body_sizes[0];
  engine->unsubscribe(probe);

  SubscriptionId id = subscribe(*engine, {"a"});
  const uint64_t credit = 3 * record + record / 2;
  engine->grant(id, kLots, credit);
  Received r = drain(*engine, id);
  size_t bytes = 0;
  for (size_t s : r.body_sizes) bytes += s;
  // "About" the credit: at most one record beyond it, and at least one record.
  CHECK(r.messages.size() >= 3);
  CHECK(bytes <= credit + record);
  // Granting more bytes lets more through.
  engine->grant(id, 0, credit);
  CHECK_FALSE(drain(*engine, id).messages.empty());
}

TEST_CASE("broker engine: byte credit is shared by all topics of a subscription",
          "[broker_engine]") {
  auto engine = make_engine();
  const int kTopics = 8;
  for (int t = 0; t < kTopics; ++t)
    publish(*engine, "t." + std::to_string(t), 20, std::string(1000, 'x'));
  SubscriptionId probe = subscribe(*engine, {"t.0"});
  engine->grant(probe, 1, kLots);
  const size_t record = take(*engine, probe).body_sizes.at(0);
  engine->unsubscribe(probe);

  SubscriptionId id = subscribe(*engine, {"t.*"});
  const uint64_t credit = 2 * record;
  engine->grant(id, kLots, credit);
  Received r = drain(*engine, id);
  size_t bytes = 0;
  for (size_t s : r.body_sizes) bytes += s;
  INFO(r.messages.size() << " records of " << record << " bytes for a credit of " << credit);
  CHECK(bytes <= credit + record);
}

TEST_CASE("broker engine: credit is capped at the configured maximum", "[broker_engine]") {
  EngineConfig config;
  config.max_credit_messages = 10;
  auto engine = make_engine(config);
  publish(*engine, "a", 50);
  SubscriptionId id = subscribe(*engine, {"a"});
  engine->grant(id, 25, kLots);
  engine->grant(id, 25, kLots);
  CHECK(drain(*engine, id).messages.size() == 10);
}

TEST_CASE("broker engine: a grant never lowers the credit, even near the integer limit",
          "[broker_engine]") {
  auto engine = make_engine();
  const uint64_t max_messages = EngineConfig{}.max_credit_messages;
  const uint64_t max_bytes = EngineConfig{}.max_credit_bytes;
  publish(*engine, "a", 20);
  SubscriptionId id = subscribe(*engine, {"a"});
  engine->grant(id, max_messages, max_bytes);
  // A client may send any 64-bit amount; adding it must saturate, not wrap around.
  SECTION("messages") {
    engine->grant(id, UINT64_MAX - (max_messages - 1), 0);
  }
  SECTION("bytes") {
    engine->grant(id, 0, UINT64_MAX - (max_bytes - 1));
  }
  SECTION("both, twice") {
    engine->grant(id, UINT64_MAX, UINT64_MAX);
    engine->grant(id, UINT64_MAX, UINT64_MAX);
  }
  CHECK(drain(*engine, id).messages.size() == 20);
}

TEST_CASE("broker engine: a delivery holds at most delivery_messages", "[broker_engine]") {
  EngineConfig config;
  config.delivery_messages = 7;
  auto engine = make_engine(config);
  publish(*engine, "a", 30);
  SubscriptionId id = subscribe(*engine, {"a"});
  engine->grant(id, kLots, kLots);
  size_t total = 0;
  for (int i = 0; i < 10; ++i) {
    Received r = take(*engine, id);
    CHECK(r.messages.size() <= 7);
    total += r.messages.size();
  }
  CHECK(total == 30);
}

// --- readiness ---

TEST_CASE("broker engine: take_ready lists subscriptions with credit and data", "[broker_engine]") {
  EngineConfig config;
  config.delivery_messages = 2;
  auto engine = make_engine(config);
  publish(*engine, "a", 5);
  SubscriptionId id = subscribe(*engine, {"a"});
  // No credit yet: not ready.
  CHECK(engine->take_ready().empty());
  CHECK_FALSE(engine->has_ready());

  engine->grant(id, 100, kLots);
  engine->grant(id, 100, kLots);  // still listed once
  CHECK(engine->has_ready());
  CHECK(engine->take_ready() == std::vector<SubscriptionId>{id});
  CHECK_FALSE(engine->has_ready());
  CHECK(engine->take_ready().empty());

  // More waiting after a delivery: ready again.
  CHECK(take(*engine, id).messages.size() == 2);
  CHECK(engine->take_ready() == std::vector<SubscriptionId>{id});
  CHECK(take(*engine, id).messages.size() == 2);
  CHECK(engine->take_ready() == std::vector<SubscriptionId>{id});
  CHECK(take(*engine, id).messages.size() == 1);
  // Caught up: not ready until something new is stored.
  CHECK(engine->take_ready().empty());
  publish(*engine, "a", 1);
  CHECK(engine->take_ready() == std::vector<SubscriptionId>{id});
  // A publish to a topic it does not watch does not wake it.
  CHECK(take(*engine, id).messages.size() == 1);
  engine->take_ready();
  publish(*engine, "other", 1);
  CHECK(engine->take_ready().empty());
}

TEST_CASE("broker engine: out of credit is not ready until granted more", "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "a", 10);
  SubscriptionId id = subscribe(*engine, {"a"});
  engine->grant(id, 4, kLots);
  engine->take_ready();
  CHECK(take(*engine, id).messages.size() == 4);
  CHECK(engine->take_ready().empty());
  publish(*engine, "a", 1);
  CHECK(engine->take_ready().empty());
  engine->grant(id, 1, 0);
  CHECK(engine->take_ready() == std::vector<SubscriptionId>{id});
  CHECK(take(*engine, id).messages.size() == 1);
}

TEST_CASE("broker engine: reached_end is reported exactly once", "[broker_engine]") {
  EngineConfig config;
  config.delivery_messages = 2;
  auto engine = make_engine(config);
  publish(*engine, "a", 5);
  SubscriptionId id = subscribe(*engine, {"a"});
  engine->grant(id, kLots, kLots);
  std::vector<bool> ends;
  size_t received = 0;
  for (int i = 0; i < 5; ++i) {
    Received r = take(*engine, id);
    received += r.messages.size();
    ends.push_back(r.reached_end);
  }
  CHECK(received == 5);
  // 2 + 2 + 1: the end comes with the third delivery, and only then.
  CHECK(ends == std::vector<bool>{false, false, true, false, false});
  publish(*engine, "a", 3);
  int more_ends = 0;
  for (int i = 0; i < 5; ++i) more_ends += take(*engine, id).reached_end;
  CHECK(more_ends == 0);
}

TEST_CASE("broker engine: a subscription with nothing to read ends at once", "[broker_engine]") {
  auto engine = make_engine();
  SubscriptionId id = subscribe(*engine, {"nothing.here"});
  engine->grant(id, 10, 10);
  Received r = take(*engine, id);
  CHECK(r.messages.empty());
  CHECK(r.reached_end);
  CHECK_FALSE(take(*engine, id).reached_end);
}

// --- retention ---

TEST_CASE("broker engine: retention evicts the oldest messages", "[broker_engine]") {
  EngineConfig config;
  config.retention.max_bytes = 1000;
  auto engine = make_engine(config);
  publish(*engine, "a", 50, std::string(100, 'x'));
  TopicInfo info = engine->topics().at(0);
  CHECK(info.next_offset == 50);
  CHECK(info.earliest_offset > 0);
  CHECK(info.bytes <= 1000);
  // What is left is the newest, gap-free.
  SubscriptionId id = subscribe(*engine, {"a"});
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  CHECK(offsets_of(r.messages, "a") == range(info.earliest_offset, 50));
  CHECK(r.notices.empty());
}

TEST_CASE("broker engine: a lagging cursor gets a notice and resumes at the earliest",
          "[broker_engine]") {
  EngineConfig config;
  config.retention.max_bytes = 1000;
  auto engine = make_engine(config);
  publish(*engine, "a", 3, std::string(100, 'x'));
  SubscriptionId id = subscribe(*engine, {"a"});  // cursor at 0, no credit yet
  publish(*engine, "a", 50, std::string(100, 'x'));
  uint64_t earliest = engine->topics().at(0).earliest_offset;
  REQUIRE(earliest > 0);

  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  REQUIRE(r.notices.size() == 1);
  CHECK_THAT(r.notices[0], Catch::Contains("topic a"));
  CHECK_THAT(r.notices[0], Catch::Contains("retention"));
  CHECK_THAT(r.notices[0], Catch::Contains("resuming at " + std::to_string(earliest)));
  CHECK(offsets_of(r.messages, "a") == range(earliest, 53));
}

TEST_CASE("broker engine: a cursor that keeps up gets no retention notice", "[broker_engine]") {
  EngineConfig config;
  config.retention.max_bytes = 1000;
  auto engine = make_engine(config);
  SubscriptionId id = subscribe(*engine, {"a"});
  engine->grant(id, kLots, kLots);
  std::vector<Envelope> all;
  for (int i = 0; i < 30; ++i) {
    publish(*engine, "a", 1, std::string(100, 'x'));
    Received r = drain(*engine, id);
    CHECK(r.notices.empty());
    all.insert(all.end(), r.messages.begin(), r.messages.end());
  }
  CHECK(offsets_of(all, "a") == range(0, 30));
}

// --- unsubscribe ---

TEST_CASE("broker engine: unsubscribe stops delivery", "[broker_engine]") {
  auto engine = make_engine();
  publish(*engine, "a", 3);
  SubscriptionId id = subscribe(*engine, {"a", ">"});
  SubscriptionId other = subscribe(*engine, {"a"});
  engine->grant(id, kLots, kLots);
  engine->grant(other, kLots, kLots);
  engine->take_ready();
  CHECK(take(*engine, id).messages.size() == 3);
  CHECK(take(*engine, other).messages.size() == 3);

  CHECK(engine->has_subscription(id));
  engine->unsubscribe(id);
  CHECK_FALSE(engine->has_subscription(id));
  publish(*engine, "a", 2);
  publish(*engine, "new.topic", 2);
  std::vector<SubscriptionId> ready = engine->take_ready();
  CHECK(std::find(ready.begin(), ready.end(), id) == ready.end());
  CHECK(std::find(ready.begin(), ready.end(), other) != ready.end());
  Delivery d = engine->next_delivery(id);
  CHECK(d.records.empty());
  CHECK_FALSE(d.reached_end);
  // The other subscription is unaffected.
  CHECK(offsets_of(drain(*engine, other).messages, "a") == range(3, 5));
  // Unknown ids are ignored.
  engine->unsubscribe(id);
  engine->grant(id, 10, 10);
  CHECK_FALSE(engine->has_subscription(id));
}

// --- fairness ---

TEST_CASE("broker engine: a wildcard subscription with two busy topics gets both early",
          "[broker_engine]") {
  EngineConfig config;
  config.delivery_messages = 10;
  auto engine = make_engine(config);
  publish(*engine, "busy.a", 500);
  publish(*engine, "busy.b", 500);
  SubscriptionId id = subscribe(*engine, {"busy.*"});
  engine->grant(id, kLots, kLots);
  std::vector<Envelope> first;
  for (int i = 0; i < 2; ++i) {
    Received r = take(*engine, id);
    first.insert(first.end(), r.messages.begin(), r.messages.end());
  }
  CHECK_FALSE(offsets_of(first, "busy.a").empty());
  CHECK_FALSE(offsets_of(first, "busy.b").empty());
  // Over a longer run neither topic falls far behind.
  for (int i = 0; i < 18; ++i) {
    Received r = take(*engine, id);
    first.insert(first.end(), r.messages.begin(), r.messages.end());
  }
  size_t a = offsets_of(first, "busy.a").size();
  size_t b = offsets_of(first, "busy.b").size();
  CHECK(a + b == 200);
  CHECK(a >= 80);
  CHECK(b >= 80);
  // And each topic's messages are still in order without gaps.
  CHECK(offsets_of(first, "busy.a") == range(0, a));
  CHECK(offsets_of(first, "busy.b") == range(0, b));
}

TEST_CASE("broker engine: one busy topic does not starve a quiet one", "[broker_engine]") {
  EngineConfig config;
  config.delivery_messages = 10;
  auto engine = make_engine(config);
  publish(*engine, "x.busy", 1000);
  SubscriptionId id = subscribe(*engine, {"x.*"});
  engine->grant(id, kLots, kLots);
  take(*engine, id);
  publish(*engine, "x.quiet", 1);
  std::vector<Envelope> got;
  for (int i = 0; i < 3; ++i) {
    Received r = take(*engine, id);
    got.insert(got.end(), r.messages.begin(), r.messages.end());
  }
  CHECK(offsets_of(got, "x.quiet") == std::vector<uint64_t>{0});
}

// --- topics ---

TEST_CASE("broker engine: topics() reports offsets, bytes and timestamps", "[broker_engine]") {
  auto engine = make_engine();
  REQUIRE(engine->publish({message("b", "1", 500), message("b", "22", 600)}, kNow).ok());
  REQUIRE(engine->publish({message("a", "x", 100)}, kNow).ok());
  auto topics = engine->topics();
  REQUIRE(topics.size() == 2);
  const TopicInfo* b = find_topic(topics, "b");
  REQUIRE(b != nullptr);
  CHECK(b->earliest_offset == 0);
  CHECK(b->next_offset == 2);
  CHECK(b->bytes > 3);
  CHECK(b->first_ts == 500);
  CHECK(b->last_ts == 600);
  CHECK(topics[0].name == "a");  // sorted by name
}

}  // namespace

// --- filters ---

namespace {

// Publishes payloads prefix+"0".."n-1" to `topic`, each with a header n:=base+i.
void publish_numbered(BrokerEngine& engine, const std::string& topic, int n, int64_t base = 0,
                      const std::string& prefix = {}) {
  std::vector<Envelope> batch;
  for (int i = 0; i < n; ++i) {
    Envelope e = message(topic, prefix + std::to_string(i));
    e.headers.emplace_back("n", base + i);
    batch.push_back(std::move(e));
  }
  REQUIRE(engine.publish(std::move(batch), kNow).ok());
}

std::vector<std::string> payloads(const std::vector<Envelope>& v) {
  std::vector<std::string> out;
  for (const Envelope& e : v) out.push_back(e.payload);
  return out;
}

}  // namespace

TEST_CASE("broker engine: a filtered subscription gets exactly the matching messages, in order",
          "[broker_engine][filter]") {
  auto engine = make_engine();
  publish_numbered(*engine, "a", 50);
  SubscriptionId odd = subscribe(*engine, {"a"}, {K::kEarliest, 0}, {}, "n % 2 = 1 AND n > 40");
  SubscriptionId all = subscribe(*engine, {"a"}, {K::kEarliest, 0});
  engine->grant(odd, kLots, kLots);
  engine->grant(all, kLots, kLots);
  CHECK(payloads(drain(*engine, odd).messages) ==
        std::vector<std::string>{"41", "43", "45", "47", "49"});
  CHECK(drain(*engine, all).messages.size() == 50);
}

TEST_CASE("broker engine: a filter that matches nothing still reaches the end",
          "[broker_engine][filter]") {
  auto engine = make_engine();
  publish_numbered(*engine, "a", 30);
  SubscriptionId id = subscribe(*engine, {"a"}, {K::kEarliest, 0}, {}, "n > 1000");
  engine->grant(id, kLots, kLots);
  Received r = drain(*engine, id);
  CHECK(r.messages.empty());
  CHECK(r.reached_end);
}

TEST_CASE("broker engine: credit is spent only on matching messages", "[broker_engine][filter]") {
  EngineConfig config;
  config.delivery_messages = 10;
  auto engine = make_engine(config);
  publish_numbered(*engine, "a", 100);
  SubscriptionId id = subscribe(*engine, {"a"}, {K::kEarliest, 0}, {}, "n % 10 = 0");
  engine->grant(id, 3, kLots);
  CHECK(payloads(drain(*engine, id).messages) == std::vector<std::string>{"0", "10", "20"});
  // The cursor stopped right after the third match: nothing is skipped.
  engine->grant(id, kLots, kLots);
  CHECK(payloads(drain(*engine, id).messages) ==
        std::vector<std::string>{"30", "40", "50", "60", "70", "80", "90"});
}

TEST_CASE("broker engine: with a filter, the last N means the last N that match",
          "[broker_engine][filter]") {
  auto engine = make_engine();
  publish_numbered(*engine, "a", 10000);  // more than one backwards window
  SubscriptionId id = subscribe(*engine, {"a"}, {K::kLast, 3}, {}, "n % 1000 = 0");
  engine->grant(id, kLots, kLots);
  CHECK(payloads(drain(*engine, id).messages) == std::vector<std::string>{"7000", "8000", "9000"});
  SubscriptionId few = subscribe(*engine, {"a"}, {K::kLast, 50}, {}, "n < 2");
  engine->grant(few, kLots, kLots);
  CHECK(payloads(drain(*engine, few).messages) == std::vector<std::string>{"0", "1"});
  SubscriptionId none = subscribe(*engine, {"a"}, {K::kLast, 0}, {}, "n < 2");
  engine->grant(none, kLots, kLots);
  CHECK(drain(*engine, none).messages.empty());
}

TEST_CASE("broker engine: live messages are filtered too", "[broker_engine][filter]") {
  auto engine = make_engine();
  SubscriptionId id = subscribe(*engine, {"a.*"}, {K::kLatest, 0}, {}, "sys.topic = 'a.y'");
  engine->grant(id, kLots, kLots);
  drain(*engine, id);
  publish_numbered(*engine, "a.x", 5);
  publish_numbered(*engine, "a.y", 2);
  Received r = drain(*engine, id);
  CHECK(payloads(r.messages) == std::vector<std::string>{"0", "1"});
  CHECK(offsets_of(r.messages, "a.y") == range(0, 2));
}

TEST_CASE("broker engine: filters on topics at the same offsets each see their own records",
          "[broker_engine][filter]") {
  // Filters share decoded records; topics x and y hold different messages
  // at the same offsets.
  auto engine = make_engine();
  publish_numbered(*engine, "x", 20);
  publish_numbered(*engine, "y", 20, 100, "y");
  SubscriptionId low = subscribe(*engine, {"x"}, {K::kEarliest, 0}, {}, "n < 3");
  SubscriptionId high = subscribe(*engine, {"y"}, {K::kEarliest, 0}, {}, "n >= 118");
  SubscriptionId both = subscribe(*engine, {"*"}, {K::kEarliest, 0}, {}, "n % 10 = 9");
  for (SubscriptionId id : {low, high, both}) engine->grant(id, kLots, kLots);
  CHECK(payloads(drain(*engine, low).messages) == std::vector<std::string>{"0", "1", "2"});
  CHECK(payloads(drain(*engine, high).messages) == std::vector<std::string>{"y18", "y19"});
  std::vector<std::string> nines = payloads(drain(*engine, both).messages);
  std::sort(nines.begin(), nines.end());
  CHECK(nines == std::vector<std::string>{"19", "9", "y19", "y9"});
}

TEST_CASE("broker engine: a topic deleted and made again is filtered on its new messages",
          "[broker_engine][filter]") {
  auto engine = make_engine();
  publish_numbered(*engine, "a", 10);
  SubscriptionId first = subscribe(*engine, {"a"}, {K::kEarliest, 0}, {}, "n >= 5");
  engine->grant(first, kLots, kLots);
  CHECK(drain(*engine, first).messages.size() == 5);
  REQUIRE(engine->delete_topic("a").ok());
  publish_numbered(*engine, "a", 10, 3, "new");  // the same offsets, other messages
  SubscriptionId again = subscribe(*engine, {"a"}, {K::kEarliest, 0}, {}, "n >= 5");
  engine->grant(again, kLots, kLots);
  CHECK(payloads(drain(*engine, again).messages) ==
        std::vector<std::string>{"new2", "new3", "new4", "new5", "new6", "new7", "new8", "new9"});
}

TEST_CASE("broker engine: a bad filter is refused with the parser's message",
          "[broker_engine][filter]") {
  auto engine = make_engine();
  auto id = engine->subscribe({{"a"}, {}, {}, "n = "});
  REQUIRE_FALSE(id.ok());
  CHECK(id.error().kind == ErrorKind::kInvalidArgument);
  CHECK(id.error().message ==
        "filter: unexpected end of the filter; expected a value (column 5)\n"
        "  n = \n"
        "      ^");
}

// --- namespaces ---

TEST_CASE("broker engine: namespaces keep topics of the same name apart", "[broker_engine]") {
  auto engine = make_engine();
  auto store = [&](std::string_view ns, const std::string& payload) {
    auto receipt = engine->publish({message("orders", payload)}, kNow, ns);
    REQUIRE(receipt.ok());
    return receipt->offsets.at(0);
  };
  CHECK(store("shop", "s0") == 0);
  CHECK(store("billing", "b0") == 0);  // its own log: offsets start again
  CHECK(store("shop", "s1") == 1);

  auto in_shop = engine->subscribe({{">"}, {K::kEarliest, 0}, {}, {}, "shop"});
  REQUIRE(in_shop.ok());
  engine->grant(*in_shop, kLots, kLots);
  Received got = drain(*engine, *in_shop);
  REQUIRE(got.messages.size() == 2);
  CHECK(got.messages[0].payload == "s0");
  CHECK(got.messages[1].payload == "s1");

  // Live: a publish in another namespace wakes nothing here.
  store("billing", "b1");
  CHECK(drain(*engine, *in_shop).messages.empty());
  // A topic created later in this namespace is seen, one in another is not.
  REQUIRE(engine->publish({message("refunds", "elsewhere")}, kNow, "billing").ok());
  REQUIRE(engine->publish({message("refunds", "here")}, kNow, "shop").ok());
  got = drain(*engine, *in_shop);
  REQUIRE(got.messages.size() == 1);
  CHECK(got.messages[0].payload == "here");

  CHECK(engine->topics("shop").size() == 2);
  CHECK(engine->topic_count("shop") == 2);
  CHECK(engine->topic_count("nowhere") == 0);
  CHECK(engine->topics("billing").size() == 2);
  CHECK(engine->topics().empty());  // the default namespace holds nothing
  REQUIRE(engine->delete_topic("orders", "billing").ok());
  CHECK(engine->topics("billing").size() == 1);
  CHECK(engine->topics("shop").at(0).next_offset == 2);  // shop's orders untouched
  CHECK_FALSE(engine->delete_topic("orders").ok());      // none in the default namespace
}

}  // namespace eda::broker_engine_test
