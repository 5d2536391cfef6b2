// BrokerEngine's queues and durable groups (core/broker_groups.cpp,
// docs/QUEUES.md): leasing, settling, dead letters, locks, TTL, retention,
// and what survives a restart on a data directory.
#include <poll.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/broker_engine.h"
#include "core/envelope_codec.h"
#include "tests/temp_dir.h"

namespace eda::broker_groups_test {
namespace {

constexpr int64_t kNow = 1'714'564'800'000;

std::unique_ptr<BrokerEngine> make_engine(EngineConfig config = {}) {
  std::vector<std::string> notes;
  auto engine = BrokerEngine::open(config, notes);
  for (const std::string& note : notes) UNSCOPED_INFO("note: " << note);
  if (!engine.ok()) FAIL("cannot open engine: " << engine.error().message);
  CHECK(notes.empty());
  return std::move(*engine);
}

EngineConfig on_disk(const TempDir& dir) {
  EngineConfig config;
  config.data_dir = dir.path();
  config.fsync = FsyncPolicy::kBatch;
  return config;
}

// Polls the engine's commit fd until every ticket up to `ticket` completed,
// as the broker's loop does; completed tickets make their messages visible.
void wait_for_commit(BrokerEngine& engine, uint64_t ticket) {
  if (ticket == 0) return;
  REQUIRE(engine.commit_fd() >= 0);
  for (int round = 0; round < 600; ++round) {
    pollfd p{engine.commit_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 100);
    for (const GroupCommitter::Completion& c : engine.take_commits()) {
      if (!c.status) FAIL("sync failed: " << c.status.error().message);
      if (c.through >= ticket) return;
    }
  }
  FAIL("ticket " << ticket << " never completed");
}

// Polls the commit fd until `topic` shows its messages below `next`: dead
// letters a receive moved are group-committed without a ticket to wait on.
void wait_until_visible(BrokerEngine& engine, const std::string& topic, uint64_t next) {
  REQUIRE(engine.commit_fd() >= 0);
  for (int round = 0; round < 600; ++round) {
    (void)engine.take_commits();
    for (const TopicInfo& t : engine.topics())
      if (t.name == topic && t.next_offset >= next) return;
    pollfd p{engine.commit_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 100);
  }
  FAIL(topic << " never reached offset " << next);
}

// Publishes `n` messages to `topic` ("<prefix><i>" payloads, key "k<i>")
// and waits until they are visible; returns their offsets.
std::vector<uint64_t> publish(BrokerEngine& engine, const std::string& topic, int n,
                              const std::string& prefix = "p", int64_t ts = 0) {
  std::vector<Envelope> batch;
  for (int i = 0; i < n; ++i) {
    Envelope e;
    e.topic = topic;
    e.key = "k" + std::to_string(i);
    e.payload = prefix + std::to_string(i);
    e.ts = ts;
    batch.push_back(std::move(e));
  }
  auto receipt = engine.publish(std::move(batch), kNow);
  if (!receipt.ok()) FAIL("publish failed: " << receipt.error().message);
  wait_for_commit(engine, receipt->ticket);
  return receipt->offsets;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {  // [from, to)
  std::vector<uint64_t> v;
  for (uint64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

GroupRequest queue(const std::string& topic) {
  return {topic, std::string(kQueueGroup)};
}

ReceiveRequest receive_request(const std::string& topic, size_t max, ConsumerId consumer = 0,
                               int64_t lock_ms = 0) {
  ReceiveRequest r;
  r.target = queue(topic);
  r.consumer = consumer;
  r.max = max;
  r.lock_ms = lock_ms;
  return r;
}

// A receive with its records decoded (record views die with the next engine call).
struct Got {
  std::vector<GroupDelivery> deliveries;
  std::vector<Envelope> messages;  // one per delivery, same order

  std::vector<uint64_t> offsets() const {
    std::vector<uint64_t> out;
    for (const GroupDelivery& d : deliveries) out.push_back(d.offset);
    return out;
  }
  std::vector<uint32_t> counts() const {
    std::vector<uint32_t> out;
    for (const GroupDelivery& d : deliveries) out.push_back(d.delivery_count);
    return out;
  }
  std::vector<LockToken> tokens() const {
    std::vector<LockToken> out;
    for (const GroupDelivery& d : deliveries) out.push_back(d.token);
    return out;
  }
};

std::vector<Envelope> decode_all(const std::vector<StoredRecord>& records) {
  std::vector<Envelope> out;
  for (const StoredRecord& r : records) {
    auto e = decode_envelope(r.body);
    if (!e.ok()) FAIL("stored record does not decode: " << e.error().message);
    CHECK(e->offset == r.offset);
    out.push_back(std::move(*e));
  }
  return out;
}

Got receive(BrokerEngine& engine, const ReceiveRequest& request, int64_t now_ms = kNow) {
  auto received = engine.receive(request, now_ms);
  if (!received.ok()) FAIL("receive failed: " << received.error().message);
  Got got{received->deliveries, decode_all(received->records)};
  REQUIRE(got.messages.size() == got.deliveries.size());
  for (size_t i = 0; i < got.deliveries.size(); ++i)
    CHECK(got.messages[i].offset == got.deliveries[i].offset);
  return got;
}

Got receive(BrokerEngine& engine, const std::string& topic, size_t max, int64_t now_ms = kNow) {
  return receive(engine, receive_request(topic, max), now_ms);
}

std::vector<Envelope> peek(BrokerEngine& engine, const GroupRequest& target, size_t max = 1000) {
  auto records = engine.peek(target, max);
  if (!records.ok()) FAIL("peek failed: " << records.error().message);
  return decode_all(*records);
}

std::vector<uint64_t> offsets_of(const std::vector<Envelope>& messages) {
  std::vector<uint64_t> out;
  for (const Envelope& e : messages) out.push_back(e.offset);
  return out;
}

// Settles every token with `action`; each must succeed. Returns the receipt's ticket.
uint64_t settle_all(BrokerEngine& engine, const std::string& topic,
                    const std::vector<LockToken>& tokens, SettleAction action,
                    int64_t now_ms = kNow) {
  std::vector<Settlement> batch;
  for (LockToken token : tokens) batch.push_back({token, action, "", ""});
  auto receipt = engine.settle(queue(topic), batch, now_ms);
  if (!receipt.ok()) FAIL("settle failed: " << receipt.error().message);
  REQUIRE(receipt->errors.size() == tokens.size());
  for (const std::string& error : receipt->errors) CHECK(error.empty());
  return receipt->ticket;
}

std::optional<GroupInfo> group_info(BrokerEngine& engine, const std::string& topic,
                                    std::string_view group = kQueueGroup) {
  for (GroupInfo& info : engine.groups())
    if (info.topic == topic && info.group == group) return info;
  return std::nullopt;
}

GroupStats stats_of(BrokerEngine& engine, const std::string& topic) {
  auto info = group_info(engine, topic);
  if (!info) FAIL("no queue " << topic);
  return info->stats;
}

std::string header_text(const Envelope& e, std::string_view name) {
  const HeaderValue* value = find_header(e.headers, name);
  if (!value) FAIL("no header " << name << " on offset " << e.offset);
  return header_value_text(*value);
}

// Creates the group reading from the topic's earliest message (the default).
Status create(BrokerEngine& engine, const std::string& topic, ConsumerGroupConfig config,
              std::string_view group = kQueueGroup) {
  CreateGroupRequest request;
  request.target = {topic, std::string(group)};
  request.config = config;
  return engine.create_group(request);
}

ConsumerGroupConfig group_config(int64_t lock_ms, uint32_t max_deliveries,
                                 std::optional<int64_t> ttl_ms = std::nullopt) {
  return {lock_ms, max_deliveries, ttl_ms};
}

// --- leasing and settling ---

TEST_CASE("broker groups: receive leases in order and settle completes", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 10);
  CHECK(engine->groups().empty());  // publishing creates no queue

  Got first = receive(*engine, "jobs", 4);
  CHECK(first.offsets() == range(0, 4));
  CHECK(first.counts() == std::vector<uint32_t>(4, 1));
  std::vector<LockToken> tokens = first.tokens();
  CHECK(std::set<LockToken>(tokens.begin(), tokens.end()).size() == 4);
  CHECK(first.messages[2].payload == "p2");
  CHECK(first.messages[2].key == "k2");
  for (const GroupDelivery& d : first.deliveries)
    CHECK(d.lock_expiry_ms == kNow + ConsumerGroupConfig{}.lock_ms);

  // The first receive created the queue with the defaults.
  auto info = group_info(*engine, "jobs");
  REQUIRE(info);
  CHECK(info->config.lock_ms == ConsumerGroupConfig{}.lock_ms);
  CHECK(info->config.max_deliveries == ConsumerGroupConfig{}.max_deliveries);
  CHECK(info->stats.pending == 6);
  CHECK(info->stats.locked == 4);
  CHECK(info->stats.delivered == 4);

  Got second = receive(*engine, "jobs", 4);
  CHECK(second.offsets() == range(4, 8));
  GroupStats mid = stats_of(*engine, "jobs");
  CHECK(mid.pending == 2);
  CHECK(mid.locked == 8);
  CHECK(mid.completed == 0);
  CHECK(mid.oldest_pending == 8);

  CHECK(settle_all(*engine, "jobs", first.tokens(), SettleAction::kComplete) == 0);
  CHECK(settle_all(*engine, "jobs", second.tokens(), SettleAction::kComplete) == 0);
  GroupStats done = stats_of(*engine, "jobs");
  CHECK(done.completed == 8);
  CHECK(done.pending == 2);
  CHECK(done.locked == 0);
  CHECK(done.dead_lettered == 0);
  CHECK(done.delivered == 8);

  Got last = receive(*engine, "jobs", 10);
  CHECK(last.offsets() == range(8, 10));
  settle_all(*engine, "jobs", last.tokens(), SettleAction::kComplete);
  CHECK(receive(*engine, "jobs", 10).deliveries.empty());
  GroupStats drained = stats_of(*engine, "jobs");
  CHECK(drained.completed == 10);
  CHECK(drained.pending == 0);
  CHECK_FALSE(drained.oldest_pending);
}

TEST_CASE("broker groups: receive on a missing topic creates topic and queue", "[engine_groups]") {
  auto engine = make_engine();
  CHECK(receive(*engine, "later", 5).deliveries.empty());
  REQUIRE(engine->topics().size() == 1);
  CHECK(engine->topics()[0].name == "later");
  REQUIRE(group_info(*engine, "later"));
  publish(*engine, "later", 2);
  CHECK(receive(*engine, "later", 5).offsets() == range(0, 2));
}

TEST_CASE("broker groups: an abandoned message comes back with its count + 1", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 3);
  Got first = receive(*engine, "jobs", 3);
  settle_all(*engine, "jobs", {first.tokens()[1]}, SettleAction::kAbandon);
  CHECK(stats_of(*engine, "jobs").pending == 1);
  Got again = receive(*engine, "jobs", 3);
  CHECK(again.offsets() == std::vector<uint64_t>{1});
  CHECK(again.counts() == std::vector<uint32_t>{2});
  CHECK(again.tokens()[0] != first.tokens()[1]);
  CHECK(again.messages[0].payload == "p1");
}

TEST_CASE("broker groups: at max deliveries an abandon dead-letters to $dlq.<topic>",
          "[engine_groups]") {
  auto engine = make_engine();
  CHECK(dead_letter_topic("jobs") == "$dlq.jobs");
  REQUIRE(create(*engine, "jobs", group_config(30000, 3)));
  publish(*engine, "jobs", 2);

  Envelope original;
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    Got got = receive(*engine, receive_request("jobs", 1));
    REQUIRE(got.offsets() == std::vector<uint64_t>{0});
    CHECK(got.counts() == std::vector<uint32_t>{attempt});
    original = got.messages[0];
    settle_all(*engine, "jobs", got.tokens(), SettleAction::kAbandon);
  }
  // The third abandon reached the limit: offset 0 is gone from the queue.
  CHECK(receive(*engine, "jobs", 5).offsets() == std::vector<uint64_t>{1});
  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.dead_lettered == 1);
  CHECK(s.delivered == 4);

  std::vector<Envelope> dead = peek(*engine, queue("$dlq.jobs"));
  REQUIRE(dead.size() == 1);
  const Envelope& d = dead[0];
  CHECK(d.topic == "$dlq.jobs");
  CHECK(d.offset == 0);
  CHECK(d.id == original.id);
  CHECK(d.key == original.key);
  CHECK(d.payload == original.payload);
  CHECK(d.payload == "p0");
  CHECK(header_text(d, "dlq.reason") == "MaxDeliveryCountExceeded");
  CHECK(header_text(d, "dlq.delivery_count") == "3");
  CHECK(header_text(d, "dlq.offset") == "0");
  CHECK(header_text(d, "dlq.group") == kQueueGroup);
  CHECK_FALSE(header_text(d, "dlq.description").empty());

  // The dead-letter topic is an ordinary topic: a subscription reads it too.
  auto id = engine->subscribe({{"$dlq.jobs"}, {Position::Kind::kEarliest, 0}, {}, {}});
  REQUIRE(id.ok());
  engine->grant(*id, 100, 1u << 20);
  std::vector<Envelope> seen = decode_all(engine->next_delivery(*id).records);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].id == original.id);
}

TEST_CASE("broker groups: a dead-letter settlement carries reason and description",
          "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 2);
  Got got = receive(*engine, "jobs", 2);
  auto receipt = engine->settle(
      queue("jobs"), {{got.tokens()[1], SettleAction::kDeadLetter, "BadInput", "no such sku"}},
      kNow);
  REQUIRE(receipt.ok());
  CHECK(receipt->errors == std::vector<std::string>{""});

  std::vector<Envelope> dead = peek(*engine, queue("$dlq.jobs"));
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].payload == "p1");
  CHECK(dead[0].id == got.messages[1].id);
  CHECK(header_text(dead[0], "dlq.reason") == "BadInput");
  CHECK(header_text(dead[0], "dlq.description") == "no such sku");
  CHECK(header_text(dead[0], "dlq.delivery_count") == "1");
  CHECK(header_text(dead[0], "dlq.offset") == "1");
  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.dead_lettered == 1);
  CHECK(s.locked == 1);
  // The dead-lettered message is settled: an abandon of offset 0 brings back only it.
  settle_all(*engine, "jobs", {got.tokens()[0]}, SettleAction::kAbandon);
  CHECK(receive(*engine, "jobs", 5).offsets() == std::vector<uint64_t>{0});
}

TEST_CASE("broker groups: a named group dead-letters to its topic's DLQ, naming itself",
          "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "orders", 1);
  REQUIRE(create(*engine, "orders", group_config(1000, 1), "billing"));
  ReceiveRequest r = receive_request("orders", 1);
  r.target.group = "billing";
  Got got = receive(*engine, r);
  REQUIRE(got.offsets() == std::vector<uint64_t>{0});
  auto receipt = engine->settle({"orders", "billing"},
                                {{got.tokens()[0], SettleAction::kAbandon, "", ""}}, kNow);
  REQUIRE(receipt.ok());
  std::vector<Envelope> dead = peek(*engine, queue("$dlq.orders"));
  REQUIRE(dead.size() == 1);
  CHECK(header_text(dead[0], "dlq.group") == "billing");
  // The topic's own queue is another group: it still has the message.
  CHECK(receive(*engine, "orders", 5).offsets() == std::vector<uint64_t>{0});
}

TEST_CASE("broker groups: a settle batch reports each unknown token and does the rest",
          "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 3);
  Got got = receive(*engine, "jobs", 3);
  const LockToken unknown = 0x0123456789abcdefULL;
  std::vector<LockToken> tokens = got.tokens();
  REQUIRE(std::find(tokens.begin(), tokens.end(), unknown) == tokens.end());
  auto receipt = engine->settle(queue("jobs"),
                                {{got.tokens()[0], SettleAction::kComplete, "", ""},
                                 {unknown, SettleAction::kComplete, "", ""},
                                 {got.tokens()[1], SettleAction::kAbandon, "", ""},
                                 {got.tokens()[0], SettleAction::kComplete, "", ""},
                                 {got.tokens()[2], SettleAction::kRenew, "", ""}},
                                kNow + 1000);
  REQUIRE(receipt.ok());
  REQUIRE(receipt->errors.size() == 5);
  CHECK(receipt->errors[0].empty());
  CHECK_THAT(receipt->errors[1], Catch::Contains("0123456789abcdef"));
  CHECK(receipt->errors[2].empty());
  // Settling twice is an error too, naming the token.
  CHECK_THAT(receipt->errors[3], Catch::Contains(lock_token_text(got.tokens()[0])));
  CHECK(receipt->errors[4].empty());
  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.completed == 1);
  CHECK(s.pending == 1);  // offset 1, abandoned
  CHECK(s.locked == 1);   // offset 2, renewed
  CHECK(engine->next_lock_expiry() == kNow + 1000 + ConsumerGroupConfig{}.lock_ms);
}

TEST_CASE("broker groups: settle on a missing group is kNotFound", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 1);
  auto receipt = engine->settle(queue("jobs"), {{1, SettleAction::kComplete, "", ""}}, kNow);
  REQUIRE_FALSE(receipt.ok());
  CHECK(receipt.error().kind == ErrorKind::kNotFound);
  CHECK(engine->groups().empty());  // settle creates no queue
}

// --- locks and consumers ---

TEST_CASE("broker groups: an expired lock is redelivered with count 2", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 2);
  CHECK_FALSE(engine->next_lock_expiry());
  const int64_t t = kNow;
  Got got = receive(*engine, receive_request("jobs", 1, 0, 50), t);
  REQUIRE(got.offsets() == std::vector<uint64_t>{0});
  CHECK(got.deliveries[0].lock_expiry_ms == t + 50);
  CHECK(engine->next_lock_expiry() == t + 50);

  uint64_t epoch = engine->receive_epoch();
  engine->expire_locks(t + 49);  // not due yet
  CHECK(stats_of(*engine, "jobs").locked == 1);
  engine->expire_locks(t + 100);
  CHECK(engine->receive_epoch() > epoch);
  CHECK_FALSE(engine->next_lock_expiry());
  CHECK(stats_of(*engine, "jobs").locked == 0);

  Got again = receive(*engine, receive_request("jobs", 2), t + 100);
  CHECK(again.offsets() == std::vector<uint64_t>{0, 1});
  CHECK(again.counts() == std::vector<uint32_t>{2, 1});
  // The expired token no longer settles anything.
  auto late =
      engine->settle(queue("jobs"), {{got.tokens()[0], SettleAction::kComplete, "", ""}}, t + 100);
  REQUIRE(late.ok());
  CHECK_THAT(late->errors[0], Catch::Contains(lock_token_text(got.tokens()[0])));
}

TEST_CASE("broker groups: a lock that ran out of deliveries dead-letters on expiry",
          "[engine_groups]") {
  auto engine = make_engine();
  REQUIRE(create(*engine, "jobs", group_config(50, 1)));
  publish(*engine, "jobs", 1);
  REQUIRE(receive(*engine, "jobs", 1).offsets() == std::vector<uint64_t>{0});
  engine->expire_locks(kNow + 50);
  CHECK(stats_of(*engine, "jobs").dead_lettered == 1);
  std::vector<Envelope> dead = peek(*engine, queue("$dlq.jobs"));
  REQUIRE(dead.size() == 1);
  CHECK(header_text(dead[0], "dlq.reason") == "MaxDeliveryCountExceeded");
  CHECK(header_text(dead[0], "dlq.delivery_count") == "1");
}

// expire_locks() and release_consumer() walk every topic's groups while
// moving dead letters, and a first dead letter creates its "$dlq.<topic>":
// the walk must still reach every group (the new topic is inserted into the
// topic map, which may rehash under a loop over it).
TEST_CASE("broker groups: expiring locks on many queues dead-letters each of them",
          "[engine_groups]") {
  auto engine = make_engine();
  const int kQueues = 40;
  for (int i = 0; i < kQueues; ++i) {
    std::string topic = "q" + std::to_string(i);
    REQUIRE(create(*engine, topic, group_config(50, 1)));
    publish(*engine, topic, 1);
    REQUIRE(receive(*engine, topic, 1).deliveries.size() == 1);
  }
  engine->expire_locks(kNow + 50);
  CHECK_FALSE(engine->next_lock_expiry());
  int dead_lettered = 0;
  for (const GroupInfo& info : engine->groups()) dead_lettered += info.stats.dead_lettered;
  CHECK(dead_lettered == kQueues);
}

TEST_CASE("broker groups: releasing consumers on many queues dead-letters each of them",
          "[engine_groups]") {
  auto engine = make_engine();
  const int kQueues = 40;
  for (int i = 0; i < kQueues; ++i) {
    std::string topic = "q" + std::to_string(i);
    REQUIRE(create(*engine, topic, group_config(30000, 1)));
    publish(*engine, topic, 1);
    REQUIRE(receive(*engine, receive_request(topic, 1, 7)).deliveries.size() == 1);
  }
  engine->release_consumer(7);
  CHECK_FALSE(engine->next_lock_expiry());
  int dead_lettered = 0;
  for (const GroupInfo& info : engine->groups()) dead_lettered += info.stats.dead_lettered;
  CHECK(dead_lettered == kQueues);
}

TEST_CASE("broker groups: release_consumer frees that consumer's leases only", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 6);
  Got alice = receive(*engine, receive_request("jobs", 2, 1));
  Got bob = receive(*engine, receive_request("jobs", 2, 2));
  Got anonymous = receive(*engine, receive_request("jobs", 2, 0));
  REQUIRE(alice.offsets() == std::vector<uint64_t>{0, 1});
  REQUIRE(bob.offsets() == std::vector<uint64_t>{2, 3});
  REQUIRE(anonymous.offsets() == std::vector<uint64_t>{4, 5});

  engine->release_consumer(1);
  CHECK(stats_of(*engine, "jobs").locked == 4);
  engine->release_consumer(0);  // consumer 0 is nobody: its leases stay
  CHECK(stats_of(*engine, "jobs").locked == 4);
  engine->release_consumer(99);  // unknown: nothing happens
  CHECK(stats_of(*engine, "jobs").locked == 4);

  Got carol = receive(*engine, receive_request("jobs", 10, 3));
  CHECK(carol.offsets() == std::vector<uint64_t>{0, 1});
  CHECK(carol.counts() == std::vector<uint32_t>{2, 2});
  // Bob's tokens still settle; Alice's do not.
  settle_all(*engine, "jobs", bob.tokens(), SettleAction::kComplete);
  auto stale =
      engine->settle(queue("jobs"), {{alice.tokens()[0], SettleAction::kComplete, "", ""}}, kNow);
  REQUIRE(stale.ok());
  CHECK_FALSE(stale->errors[0].empty());
}

TEST_CASE("broker groups: receive-and-delete completes at once, never redelivers",
          "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 5);
  ReceiveRequest r = receive_request("jobs", 3, 1);
  r.delete_on_receive = true;
  Got got = receive(*engine, r);
  CHECK(got.offsets() == range(0, 3));
  CHECK(got.counts() == std::vector<uint32_t>(3, 1));
  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.completed == 3);
  CHECK(s.locked == 0);
  CHECK(s.pending == 2);
  CHECK_FALSE(engine->next_lock_expiry());

  engine->release_consumer(1);
  engine->expire_locks(kNow + 1'000'000);
  CHECK(receive(*engine, "jobs", 10, kNow + 1'000'000).offsets() == range(3, 5));
  // Its tokens came settled.
  auto late =
      engine->settle(queue("jobs"), {{got.tokens()[0], SettleAction::kAbandon, "", ""}}, kNow);
  REQUIRE(late.ok());
  CHECK_FALSE(late->errors[0].empty());
}

// --- TTL ---

TEST_CASE("broker groups: a message older than the TTL is dead-lettered, TTLExpired",
          "[engine_groups]") {
  auto engine = make_engine();
  REQUIRE(create(*engine, "jobs", group_config(30000, 10, 60000)));
  publish(*engine, "jobs", 2, "old", kNow - 120000);
  publish(*engine, "jobs", 1, "new", kNow - 1000);

  Got got = receive(*engine, "jobs", 10);
  CHECK(got.offsets() == std::vector<uint64_t>{2});
  CHECK(got.messages[0].payload == "new0");
  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.dead_lettered == 2);
  CHECK(s.delivered == 1);

  std::vector<Envelope> dead = peek(*engine, queue("$dlq.jobs"));
  REQUIRE(dead.size() == 2);
  CHECK(dead[0].payload == "old0");
  CHECK(dead[1].payload == "old1");
  CHECK(dead[0].ts == kNow - 120000);  // the copy keeps the original's ts
  CHECK(header_text(dead[0], "dlq.reason") == "TTLExpired");
  CHECK(header_text(dead[0], "dlq.delivery_count") == "0");
  CHECK(header_text(dead[1], "dlq.offset") == "1");
}

TEST_CASE("broker groups: the TTL is checked again at redelivery", "[engine_groups]") {
  auto engine = make_engine();
  REQUIRE(create(*engine, "jobs", group_config(30000, 10, 60000)));
  publish(*engine, "jobs", 1, "p", kNow);
  Got got = receive(*engine, "jobs", 1);
  REQUIRE(got.offsets() == std::vector<uint64_t>{0});
  settle_all(*engine, "jobs", got.tokens(), SettleAction::kAbandon);
  CHECK(receive(*engine, "jobs", 1, kNow + 60001).deliveries.empty());
  std::vector<Envelope> dead = peek(*engine, queue("$dlq.jobs"));
  REQUIRE(dead.size() == 1);
  CHECK(header_text(dead[0], "dlq.reason") == "TTLExpired");
  CHECK(header_text(dead[0], "dlq.delivery_count") == "1");
}

// --- creating and deleting ---

TEST_CASE("broker groups: create_group is idempotent for the same config only", "[engine_groups]") {
  auto engine = make_engine();
  REQUIRE(create(*engine, "jobs", group_config(1000, 3, 5000)));
  CHECK(create(*engine, "jobs", group_config(1000, 3, 5000)));
  for (const ConsumerGroupConfig& other : {group_config(2000, 3, 5000), group_config(1000, 4, 5000),
                                           group_config(1000, 3), group_config(1000, 3, 6000)}) {
    Status s = create(*engine, "jobs", other);
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == ErrorKind::kConflict);
    CHECK_THAT(s.error().message, Catch::Contains("delete it first"));
  }
  auto info = group_info(*engine, "jobs");
  REQUIRE(info);
  CHECK(info->config.lock_ms == 1000);
  CHECK(info->config.max_deliveries == 3);
  CHECK(info->config.ttl_ms == 5000);
  // A queue created by receive has the defaults: creating it with them again is fine.
  (void)receive(*engine, "implicit", 1);
  CHECK(create(*engine, "implicit", ConsumerGroupConfig{}));
  CHECK_FALSE(create(*engine, "implicit", group_config(1000, 3)));
}

TEST_CASE("broker groups: create_group refuses bad settings, names and topics", "[engine_groups]") {
  auto engine = make_engine();
  for (const ConsumerGroupConfig& bad :
       {group_config(0, 3), group_config(-1, 3), group_config(1000, 0), group_config(1000, 3, 0),
        group_config(1000, 3, -5)}) {
    Status s = create(*engine, "jobs", bad);
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
  }
  for (const std::string& name : std::vector<std::string>{"", "has space", "a/b", "a.b", "$other",
                                                          "dollar$", std::string(201, 'g')}) {
    INFO("group '" << name << "'");
    Status s = create(*engine, "jobs", ConsumerGroupConfig{}, name);
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
    ReceiveRequest r = receive_request("jobs", 1);
    r.target.group = name;
    auto received = engine->receive(r, kNow);
    REQUIRE_FALSE(received.ok());
    CHECK(received.error().kind == ErrorKind::kInvalidArgument);
  }
  CHECK(create(*engine, "jobs", ConsumerGroupConfig{}, std::string(200, 'g')));
  CHECK(create(*engine, "jobs", ConsumerGroupConfig{}, "Az09_-"));
  for (const char* topic : {"", "bad topic", "a.*", "$sys.stats"}) {
    INFO("topic '" << topic << "'");
    Status s = create(*engine, topic, ConsumerGroupConfig{});
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
  }
  CHECK(engine->groups().size() == 2);
}

TEST_CASE("broker groups: delete_group removes one group; the topic stays", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "orders", 3);
  REQUIRE(create(*engine, "orders", ConsumerGroupConfig{}, "billing"));
  ReceiveRequest billing = receive_request("orders", 2);
  billing.target.group = "billing";
  REQUIRE(receive(*engine, billing).offsets() == range(0, 2));
  REQUIRE(receive(*engine, "orders", 1).offsets() == range(0, 1));

  uint64_t epoch = engine->receive_epoch();
  REQUIRE(engine->delete_group({"orders", "billing"}));
  CHECK(engine->receive_epoch() > epoch);
  auto gone = engine->receive(billing, kNow);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ErrorKind::kNotFound);
  CHECK_THAT(gone.error().message, Catch::Contains("billing"));
  auto again = engine->delete_group({"orders", "billing"});
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::kNotFound);
  auto peeked = engine->peek({"orders", "billing"}, 10);
  REQUIRE_FALSE(peeked.ok());
  CHECK(peeked.error().kind == ErrorKind::kNotFound);

  // The topic and its queue are untouched.
  REQUIRE(engine->topics().size() == 1);
  CHECK(engine->topics()[0].next_offset == 3);
  CHECK(stats_of(*engine, "orders").locked == 1);
  REQUIRE(engine->groups().size() == 1);

  // A re-created group starts afresh.
  REQUIRE(create(*engine, "orders", ConsumerGroupConfig{}, "billing"));
  Got fresh = receive(*engine, billing);
  CHECK(fresh.offsets() == range(0, 2));
  CHECK(fresh.counts() == std::vector<uint32_t>{1, 1});

  // Deleting the queue, then receiving, makes a new one.
  REQUIRE(engine->delete_group(queue("orders")));
  CHECK(receive(*engine, "orders", 5).offsets() == range(0, 3));
}

TEST_CASE("broker groups: a named group is never created by receive", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "orders", 1);
  ReceiveRequest r = receive_request("orders", 1);
  r.target.group = "nobody";
  auto received = engine->receive(r, kNow);
  REQUIRE_FALSE(received.ok());
  CHECK(received.error().kind == ErrorKind::kNotFound);
  CHECK(engine->groups().empty());
}

TEST_CASE("broker groups: create_group starts where it is told", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "orders", 4);
  CreateGroupRequest request{
      {"orders", "late"}, ConsumerGroupConfig{}, {}, {Position::Kind::kLatest, 0}};
  REQUIRE(engine->create_group(request));
  publish(*engine, "orders", 2);
  ReceiveRequest r = receive_request("orders", 10);
  r.target.group = "late";
  CHECK(receive(*engine, r).offsets() == range(4, 6));
}

// --- peek ---

TEST_CASE("broker groups: peek shows what is pending without locking it", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 5);
  Got held = receive(*engine, "jobs", 3);
  settle_all(*engine, "jobs", {held.tokens()[1]}, SettleAction::kAbandon);
  settle_all(*engine, "jobs", {held.tokens()[0]}, SettleAction::kComplete);

  // Available again first, then unread; offset 2 is locked and not shown.
  CHECK(offsets_of(peek(*engine, queue("jobs"))) == std::vector<uint64_t>{1, 3, 4});
  CHECK(offsets_of(peek(*engine, queue("jobs"), 2)) == std::vector<uint64_t>{1, 3});
  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.locked == 1);
  CHECK(s.pending == 3);
  CHECK(s.delivered == 3);

  Got got = receive(*engine, "jobs", 10);
  CHECK(got.offsets() == std::vector<uint64_t>{1, 3, 4});
  CHECK(got.counts() == std::vector<uint32_t>{2, 1, 1});
}

TEST_CASE("broker groups: peek on a queue not created yet reads the topic from its start",
          "[engine_groups]") {
  auto engine = make_engine();
  CHECK(peek(*engine, queue("nothing")).empty());
  publish(*engine, "jobs", 4);
  std::vector<Envelope> seen = peek(*engine, queue("jobs"), 3);
  CHECK(offsets_of(seen) == range(0, 3));
  CHECK(seen[0].payload == "p0");
  CHECK(engine->groups().empty());  // peeking creates no queue
  Got got = receive(*engine, "jobs", 10);
  CHECK(got.offsets() == range(0, 4));
  CHECK(got.counts() == std::vector<uint32_t>(4, 1));
}

TEST_CASE("broker groups: peek on a missing named group is kNotFound", "[engine_groups]") {
  auto engine = make_engine();
  publish(*engine, "jobs", 1);
  auto peeked = engine->peek({"jobs", "nobody"}, 10);
  REQUIRE_FALSE(peeked.ok());
  CHECK(peeked.error().kind == ErrorKind::kNotFound);
}

// --- retention ---

TEST_CASE("broker groups: a queue behind retention skips what was lost", "[engine_groups]") {
  EngineConfig config;
  config.retention.max_bytes = 1000;
  auto engine = make_engine(config);
  REQUIRE(create(*engine, "jobs", ConsumerGroupConfig{}));
  publish(*engine, "jobs", 1, std::string(100, 'x'));
  Got early = receive(*engine, "jobs", 1);
  REQUIRE(early.offsets() == std::vector<uint64_t>{0});
  publish(*engine, "jobs", 50, std::string(100, 'x'));
  uint64_t earliest = engine->topics().at(0).earliest_offset;
  REQUIRE(earliest > 1);

  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.lost == earliest);  // the leased offset 0 and 1..earliest-1
  CHECK(s.locked == 0);
  CHECK(s.pending == 51 - earliest);
  CHECK(s.oldest_pending == earliest);
  CHECK(offsets_of(peek(*engine, queue("jobs"), 1)) == std::vector<uint64_t>{earliest});

  Got got = receive(*engine, "jobs", 1000);
  CHECK(got.offsets() == range(earliest, 51));
  // The lease on a lost message ended with it.
  auto late =
      engine->settle(queue("jobs"), {{early.tokens()[0], SettleAction::kComplete, "", ""}}, kNow);
  REQUIRE(late.ok());
  CHECK_FALSE(late->errors[0].empty());
}

// --- on a data directory ---

TEST_CASE("broker groups: settles are group-committed on a data directory", "[engine_groups]") {
  TempDir dir;
  auto engine = make_engine(on_disk(dir));
  std::vector<Envelope> batch(3);
  for (Envelope& e : batch) e.topic = "jobs";
  auto published = engine->publish(std::move(batch), kNow);
  REQUIRE(published.ok());
  CHECK(published->ticket != 0);
  // Not visible to a queue until its commit completed.
  CHECK(receive(*engine, "jobs", 10).deliveries.empty());
  wait_for_commit(*engine, published->ticket);

  Got got = receive(*engine, "jobs", 10);
  REQUIRE(got.offsets() == range(0, 3));
  uint64_t ticket = settle_all(*engine, "jobs", got.tokens(), SettleAction::kComplete);
  CHECK(ticket > published->ticket);
  wait_for_commit(*engine, ticket);
  CHECK(stats_of(*engine, "jobs").completed == 3);

  // A batch of only errors changes nothing, so there is nothing to wait for.
  auto nothing =
      engine->settle(queue("jobs"), {{got.tokens()[0], SettleAction::kComplete, "", ""}}, kNow);
  REQUIRE(nothing.ok());
  CHECK_FALSE(nothing->errors[0].empty());
  CHECK(nothing->ticket == 0);
}

// Receives everything and returns offset -> delivery count, leaving it all leased.
std::map<uint64_t, uint32_t> receive_counts(BrokerEngine& engine, const std::string& topic) {
  std::map<uint64_t, uint32_t> out;
  Got got = receive(engine, topic, 1000);
  for (const GroupDelivery& d : got.deliveries) out[d.offset] = d.delivery_count;
  return out;
}

TEST_CASE("broker groups: after a restart completed messages stay completed", "[engine_groups]") {
  TempDir dir;
  {
    auto engine = make_engine(on_disk(dir));
    REQUIRE(create(*engine, "jobs", group_config(30000, 10)));
    publish(*engine, "jobs", 8);
    Got got = receive(*engine, "jobs", 6);
    REQUIRE(got.offsets() == range(0, 6));
    wait_for_commit(*engine, settle_all(*engine, "jobs", {got.tokens()[0], got.tokens()[1]},
                                        SettleAction::kComplete));
    settle_all(*engine, "jobs", {got.tokens()[2], got.tokens()[3]}, SettleAction::kAbandon);
    Got again = receive(*engine, "jobs", 2);
    REQUIRE(again.offsets() == std::vector<uint64_t>{2, 3});
    REQUIRE(again.counts() == std::vector<uint32_t>{2, 2});
    settle_all(*engine, "jobs", again.tokens(), SettleAction::kAbandon);
    // Offsets 4 and 5 stay leased by a receiver the restart loses; 6 and 7 were never delivered.
  }  // closed without a checkpoint

  {
    auto engine = make_engine(on_disk(dir));
    auto info = group_info(*engine, "jobs");
    REQUIRE(info);
    CHECK(info->config.lock_ms == 30000);
    CHECK(info->stats.completed == 2);
    CHECK(info->stats.pending == 6);
    CHECK(info->stats.locked == 0);
    std::map<uint64_t, uint32_t> counts = receive_counts(*engine, "jobs");
    CHECK(counts == std::map<uint64_t, uint32_t>{{2, 3}, {3, 3}, {4, 2}, {5, 2}, {6, 1}, {7, 1}});
    // All leased now; they come back when this engine closes too.
    Got none = receive(*engine, "jobs", 10);
    CHECK(none.deliveries.empty());
  }

  {
    auto engine = make_engine(on_disk(dir));
    Got got = receive(*engine, "jobs", 1000);
    REQUIRE(got.offsets() == range(2, 8));
    CHECK(got.counts() == std::vector<uint32_t>{4, 4, 3, 3, 2, 2});
    std::vector<LockToken> done = {got.tokens()[0], got.tokens()[2], got.tokens()[4]};
    wait_for_commit(*engine, settle_all(*engine, "jobs", done, SettleAction::kComplete));
    REQUIRE(engine->checkpoint());
  }

  {
    auto engine = make_engine(on_disk(dir));
    CHECK(stats_of(*engine, "jobs").completed == 5);
    std::map<uint64_t, uint32_t> counts = receive_counts(*engine, "jobs");
    CHECK(counts == std::map<uint64_t, uint32_t>{{3, 5}, {5, 4}, {7, 3}});
  }
}

TEST_CASE("broker groups: dead letters and named groups survive a restart", "[engine_groups]") {
  TempDir dir;
  {
    auto engine = make_engine(on_disk(dir));
    REQUIRE(create(*engine, "jobs", group_config(30000, 1)));
    REQUIRE(create(*engine, "jobs", group_config(5000, 2), "audit"));
    publish(*engine, "jobs", 3);
    Got got = receive(*engine, "jobs", 3);
    REQUIRE(got.offsets() == range(0, 3));
    auto receipt = engine->settle(queue("jobs"),
                                  {{got.tokens()[0], SettleAction::kAbandon, "", ""},
                                   {got.tokens()[1], SettleAction::kDeadLetter, "Bad", "why"}},
                                  kNow);
    REQUIRE(receipt.ok());
    CHECK(receipt->ticket != 0);
    wait_for_commit(*engine, receipt->ticket);
  }
  auto engine = make_engine(on_disk(dir));
  auto audit = group_info(*engine, "jobs", "audit");
  REQUIRE(audit);
  CHECK(audit->config.lock_ms == 5000);
  CHECK(audit->config.max_deliveries == 2);
  CHECK(audit->stats.pending == 3);
  GroupStats s = stats_of(*engine, "jobs");
  CHECK(s.dead_lettered == 2);
  // Offset 2 was leased at its only allowed delivery: it is dead-lettered
  // instead of delivered again.
  CHECK(receive(*engine, "jobs", 10).deliveries.empty());
  CHECK(stats_of(*engine, "jobs").dead_lettered == 3);
  wait_until_visible(*engine, "$dlq.jobs", 3);
  std::vector<Envelope> dead = peek(*engine, queue("$dlq.jobs"));
  REQUIRE(dead.size() == 3);
  CHECK(header_text(dead[0], "dlq.reason") == "MaxDeliveryCountExceeded");
  CHECK(header_text(dead[0], "dlq.offset") == "0");
  CHECK(header_text(dead[1], "dlq.reason") == "Bad");
  CHECK(header_text(dead[1], "dlq.offset") == "1");
  CHECK(header_text(dead[2], "dlq.offset") == "2");
}

}  // namespace
TEST_CASE("broker groups: a receive across segment boundaries hands out every record it leased",
          "[engine_groups]") {
  TempDir dir;
  EngineConfig config = on_disk(dir);
  config.segment_bytes = 1024;  // a few records per segment
  auto engine = make_engine(config);
  for (int round = 0; round < 10; ++round)
    publish(*engine, "jobs", 10, "r" + std::to_string(round));
  Got got = receive(*engine, "jobs", 100);
  REQUIRE(got.offsets() == range(0, 100));
  REQUIRE(got.messages.size() == 100);
  for (size_t i = 0; i < got.messages.size(); ++i) CHECK(got.messages[i].offset == i);
}

TEST_CASE("broker groups: queues of two namespaces are apart, also after a restart",
          "[broker_groups]") {
  TempDir dir;
  auto publish_in = [](BrokerEngine& engine, std::string_view ns, const std::string& payload) {
    Envelope e;
    e.topic = "jobs";
    e.payload = payload;
    auto receipt = engine.publish({std::move(e)}, kNow, ns);
    REQUIRE(receipt.ok());
    wait_for_commit(engine, receipt->ticket);
  };
  auto in = [](std::string_view ns) {
    ReceiveRequest r = receive_request("jobs", 10);
    r.target.ns = ns;
    return r;
  };
  {
    auto engine = make_engine(on_disk(dir));
    publish_in(*engine, "a", "a0");
    publish_in(*engine, "b", "b0");
    publish_in(*engine, "b", "b1");
    Got got = receive(*engine, in("a"));
    REQUIRE(got.messages.size() == 1);
    CHECK(got.messages[0].payload == "a0");
    auto settled =
        engine->settle({"jobs", std::string(kQueueGroup), "a"},
                       {{got.deliveries[0].token, SettleAction::kComplete, "", ""}}, kNow);
    REQUIRE(settled.ok());
    wait_for_commit(*engine, settled->ticket);
    CHECK(engine->groups("a").size() == 1);
    CHECK(engine->groups("b").empty());  // b's queue is made on its first receive
    CHECK(engine->groups().empty());
  }
  // A directory per namespace, each recovered into its own namespace.
  CHECK(std::filesystem::is_directory(dir.path() + "/a/jobs"));
  CHECK(std::filesystem::is_directory(dir.path() + "/b/jobs"));
  auto engine = make_engine(on_disk(dir));
  CHECK(receive(*engine, in("a")).messages.empty());  // a0 was completed
  Got b = receive(*engine, in("b"));
  REQUIRE(b.messages.size() == 2);
  CHECK(b.messages[0].payload == "b0");
  CHECK(b.messages[1].payload == "b1");
  CHECK(engine->topics("a").at(0).next_offset == 1);
  CHECK(engine->topics().empty());
}

}  // namespace eda::broker_groups_test
