#include "transport/protocol.h"

#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/envelope_codec.h"

namespace eda::proto::protocol_test {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;
using Field = std::function<void(Packer&)>;

std::string_view body_of(const Message& m) {
  return {m.body.data(), m.body.size()};
}

template <class T>
T round_trip(const Message& m) {
  REQUIRE(m.command == T::kCommand);
  auto decoded = decode<T>(body_of(m));
  if (!decoded.ok()) FAIL("unexpected error: " << decoded.error().message);
  return std::move(*decoded);
}

template <class T>
Error decode_error(std::string_view body) {
  Result<T> r = T{};
  REQUIRE_NOTHROW(r = decode<T>(body));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(r.error().message, Catch::Contains(std::string(command_name(T::kCommand))));
  return r.error();
}

std::string pack_array(const std::vector<Field>& fields) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_array(static_cast<uint32_t>(fields.size()));
  for (const Field& f : fields) f(pk);
  return std::string(buf.data(), buf.size());
}

// Every malformed form of a position field is refused, naming what is wrong;
// `with_position` packs a whole body around the given position.
template <class T>
void check_position_errors(const std::function<std::string(Field)>& with_position) {
  auto position = [](auto kind, auto value) -> Field {
    return [=](Packer& p) {
      p.pack_array(2);
      p.pack(kind);
      p.pack(value);
    };
  };
  auto error_of = [&](Field f) { return decode_error<T>(with_position(std::move(f))).message; };
  for (uint64_t kind : {uint64_t{5}, UINT64_MAX})
    CHECK_THAT(error_of(position(kind, int64_t{0})), Catch::Contains("kind is out of range"));
  const Field one_element = [](Packer& p) {
    p.pack_array(1);
    p.pack(uint64_t{0});
  };
  CHECK_THAT(error_of(one_element), Catch::Contains("position"));
  CHECK_THAT(error_of(position(std::string("earliest"), int64_t{0})), Catch::Contains("kind"));
  CHECK_THAT(error_of(position(uint64_t{2}, std::string("5"))), Catch::Contains("value"));
  CHECK_THAT(error_of(position(uint64_t{2}, uint64_t{INT64_MAX} + 1)), Catch::Contains("value"));
}

Envelope sample_envelope(int i) {
  Envelope e;
  e.id = "01HXZ5M8Q3J6W7Y8Z9A0B1C2D" + std::to_string(i);
  e.topic = "orders.eu";
  if (i % 2 == 0) e.key = "key" + std::to_string(i);
  e.headers = {{"s", std::string("v")}, {"n", int64_t{-i}}, {"f", 0.5}, {"b", true}};
  e.ts = 1'714'564'800'000 + i;
  e.payload = std::string("p\0\xff", 3) + std::to_string(i);
  e.offset = i % 3 == 0 ? kNoOffset : static_cast<uint64_t>(i);
  return e;
}

// --- round trips ---

TEST_CASE("protocol: HELLO round trip", "[protocol]") {
  Hello m = round_trip<Hello>(encode(Hello{7, "edatool pub"}));
  CHECK(m.req_id == 7);
  CHECK(m.client == "edatool pub");
  Hello big = round_trip<Hello>(encode(Hello{UINT64_MAX, ""}));
  CHECK(big.req_id == UINT64_MAX);
  CHECK(big.client.empty());
}

TEST_CASE("protocol: WELCOME round trip", "[protocol]") {
  Welcome m = round_trip<Welcome>(encode(Welcome{3, "0.1.0", 0xfeedfacecafebeef, 1u << 20}));
  CHECK(m.req_id == 3);
  CHECK(m.broker_version == "0.1.0");
  CHECK(m.instance == 0xfeedfacecafebeef);
  CHECK(m.max_message_bytes == 1u << 20);
}

TEST_CASE("protocol: PING and PONG round trip", "[protocol]") {
  CHECK(round_trip<Ping>(encode(Ping{0})).req_id == 0);
  CHECK(round_trip<Ping>(encode(Ping{123456789012})).req_id == 123456789012);
  Pong p = round_trip<Pong>(encode(Pong{9, UINT64_MAX}));
  CHECK(p.req_id == 9);
  CHECK(p.instance == UINT64_MAX);
}

TEST_CASE("protocol: PUBLISH round trip", "[protocol]") {
  std::vector<Envelope> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(sample_envelope(i));
  Publish m = round_trip<Publish>(encode_publish(42, batch));
  CHECK(m.req_id == 42);
  CHECK(m.envelopes == batch);
  Publish empty = round_trip<Publish>(encode_publish(0, {}));
  CHECK(empty.req_id == 0);
  CHECK(empty.envelopes.empty());
}

// A BatchReader reads `body` (a batch of `batch` with id `id`) in place, as
// decode<M> does, and refuses what it refuses with the same message.
template <class M>
void check_batch_reader(const std::string& body, uint64_t id, const std::vector<Envelope>& batch) {
  BatchReader<M> reader;
  for (int round = 0; round < 2; ++round) {  // the reader's memory is reused
    auto view = reader.read(body);
    REQUIRE(view.ok());
    CHECK(view->id == id);
    REQUIRE(view->envelopes.size() == batch.size());
    for (size_t i = 0; i < batch.size(); ++i) CHECK(copy_envelope(view->envelopes[i]) == batch[i]);
  }
  // Every truncation, a bad id and a bad envelope are refused with decode<M>'s message.
  for (size_t cut = 0; cut < body.size(); ++cut) {
    INFO(cut);
    auto view = reader.read(body.substr(0, cut));
    REQUIRE_FALSE(view.ok());
    CHECK(view.error().message == decode<M>(body.substr(0, cut)).error().message);
  }
  std::string bad_envelope("\x92\x09\x91\x93\x01\x02\x03", 7);
  CHECK(reader.read(bad_envelope).error().message == decode<M>(bad_envelope).error().message);
  std::string bad_id("\x92\xa1x\x90", 4);  // ["x", []]
  CHECK(reader.read(bad_id).error().message == decode<M>(bad_id).error().message);
}

TEST_CASE("protocol: PublishReader reads PUBLISH in place as decode<Publish> does", "[protocol]") {
  std::vector<Envelope> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(sample_envelope(i));
  Message m = encode_publish(42, batch);
  check_batch_reader<Publish>(std::string(m.body.data(), m.body.size()), 42, batch);
}

TEST_CASE("protocol: CONFIRM round trip", "[protocol]") {
  Confirm c;
  c.req_id = 5;
  c.offsets = {0, 1, 2, 1u << 31, UINT64_MAX - 1};
  c.duplicates = {1, 4};
  Confirm m = round_trip<Confirm>(encode(c));
  CHECK(m.req_id == 5);
  CHECK(m.offsets == c.offsets);
  CHECK(m.duplicates == c.duplicates);
  Confirm empty = round_trip<Confirm>(encode(Confirm{6, {}, {}}));
  CHECK(empty.offsets.empty());
  CHECK(empty.duplicates.empty());
}

TEST_CASE("protocol: SUBSCRIBE round trip with every position kind", "[protocol]") {
  using K = Position::Kind;
  const Position positions[] = {{K::kEarliest, 0}, {K::kLatest, 0},
                                {K::kOffset, 17},  {K::kOffset, INT64_MAX},
                                {K::kLast, 10},    {K::kTime, 1'714'564'800'000},
                                {K::kTime, -1'000}};
  for (const Position& pos : positions) {
    INFO(describe_position(pos));
    Subscribe s;
    s.req_id = 11;
    s.sub_id = 2;
    s.patterns = {"orders.*", "payments.>", "$sys.stats"};
    s.from = pos;
    s.credit_messages = 20000;
    s.credit_bytes = 16u << 20;
    s.resume = {{"orders.eu", 5}, {"orders.us", 0}, {"payments.x", UINT64_MAX}};
    s.filter = "payload.items[0].sku LIKE 'X%' AND [my header] <> 'é'";
    Subscribe m = round_trip<Subscribe>(encode(s));
    CHECK(m.req_id == s.req_id);
    CHECK(m.sub_id == s.sub_id);
    CHECK(m.patterns == s.patterns);
    CHECK(m.from == s.from);
    CHECK(m.credit_messages == s.credit_messages);
    CHECK(m.credit_bytes == s.credit_bytes);
    CHECK(m.resume == s.resume);
    CHECK(m.filter == s.filter);
  }
}

TEST_CASE("protocol: SUBSCRIBE round trip with empty lists", "[protocol]") {
  Subscribe m = round_trip<Subscribe>(encode(Subscribe{}));
  CHECK(m.patterns.empty());
  CHECK(m.resume.empty());
  CHECK(m.filter.empty());
  CHECK(m.from == Position{});
}

TEST_CASE("protocol: OK, CREDIT, END, NOTICE, UNSUBSCRIBE round trip", "[protocol]") {
  CHECK(round_trip<OkReply>(encode(OkReply{77})).req_id == 77);
  Credit c = round_trip<Credit>(encode(Credit{3, 1000, UINT64_MAX}));
  CHECK(c.sub_id == 3);
  CHECK(c.messages == 1000);
  CHECK(c.bytes == UINT64_MAX);
  CHECK(round_trip<End>(encode(End{4})).sub_id == 4);
  Notice n = round_trip<Notice>(encode(Notice{5, "topic t: offsets 0..3 were dropped"}));
  CHECK(n.sub_id == 5);
  CHECK(n.text == "topic t: offsets 0..3 were dropped");
  Unsubscribe u = round_trip<Unsubscribe>(encode(Unsubscribe{8, 9}));
  CHECK(u.req_id == 8);
  CHECK(u.sub_id == 9);
}

TEST_CASE("protocol: DELIVER round trip, and DeliverReader reads it as decode<Deliver> does",
          "[protocol]") {
  std::vector<Envelope> stored;
  for (int i = 1; i <= 4; ++i) stored.push_back(sample_envelope(i));
  std::vector<std::string> bodies;
  for (const Envelope& e : stored) bodies.push_back(encode_envelope(e));
  std::vector<StoredRecord> records;
  for (size_t i = 0; i < stored.size(); ++i)
    records.push_back({stored[i].offset, stored[i].ts, bodies[i]});
  Message encoded = encode_deliver(12, records);
  Deliver m = round_trip<Deliver>(encoded);
  CHECK(m.sub_id == 12);
  CHECK(m.envelopes == stored);
  check_batch_reader<Deliver>(std::string(encoded.body.data(), encoded.body.size()), 12, stored);
  CHECK(round_trip<Deliver>(encode_deliver(1, {})).envelopes.empty());
}

TEST_CASE("protocol: LIST_TOPICS, TOPIC_LIST and DELETE_TOPIC round trip", "[protocol]") {
  ListTopics l = round_trip<ListTopics>(encode(ListTopics{4, "orders.>"}));
  CHECK(l.req_id == 4);
  CHECK(l.pattern == "orders.>");
  TopicList t;
  t.req_id = 5;
  t.topics = {{"a", 0, 10, 1234, 1'714'564'800'000, 1'714'564'900'000, {}},
              {"b.c", 7, 7, 0, 0, 0, {true, 5000}},
              {"neg", 1, 2, 3, -5, -1, {false, 0}}};
  TopicList back = round_trip<TopicList>(encode(t));
  CHECK(back.req_id == 5);
  REQUIRE(back.topics.size() == t.topics.size());
  for (size_t i = 0; i < t.topics.size(); ++i) {
    INFO(t.topics[i].name);
    CHECK(back.topics[i].name == t.topics[i].name);
    CHECK(back.topics[i].earliest_offset == t.topics[i].earliest_offset);
    CHECK(back.topics[i].next_offset == t.topics[i].next_offset);
    CHECK(back.topics[i].bytes == t.topics[i].bytes);
    CHECK(back.topics[i].first_ts == t.topics[i].first_ts);
    CHECK(back.topics[i].last_ts == t.topics[i].last_ts);
    CHECK(back.topics[i].settings == t.topics[i].settings);
  }
  CHECK(round_trip<TopicList>(encode(TopicList{6, {}})).topics.empty());
  DeleteTopic d = round_trip<DeleteTopic>(encode(DeleteTopic{9, "orders.eu"}));
  CHECK(d.req_id == 9);
  CHECK(d.name == "orders.eu");
  CreateTopic c = round_trip<CreateTopic>(encode(CreateTopic{10, "customers", {true, 60'000}}));
  CHECK(c.req_id == 10);
  CHECK(c.name == "customers");
  CHECK(c.settings.compact);
  CHECK(c.settings.tombstone_retention_ms == 60'000);
  CHECK_FALSE(round_trip<CreateTopic>(encode(CreateTopic{11, "plain", {}})).settings.compact);
}

TEST_CASE("protocol: STATS and STATS_REPLY round trip, counters in order", "[protocol]") {
  CHECK(round_trip<Stats>(encode(Stats{12})).req_id == 12);
  StatsReply r{13, {{"clients", 2}, {"malformed_frames", 0}, {"big", UINT64_MAX}}};
  StatsReply back = round_trip<StatsReply>(encode(r));
  CHECK(back.req_id == 13);
  CHECK(back.counters == r.counters);
  CHECK(round_trip<StatsReply>(encode(StatsReply{14, {}})).counters.empty());
}

TEST_CASE("protocol: ERROR round trip with every code", "[protocol]") {
  for (ErrorCode code : {ErrorCode::kBadFrame, ErrorCode::kUnsupportedVersion, ErrorCode::kRejected,
                         ErrorCode::kUnknownSubscription, ErrorCode::kInternal, ErrorCode::kStorage,
                         ErrorCode::kNotFound, ErrorCode::kConflict}) {
    INFO(static_cast<int>(code));
    ErrorReply m = round_trip<ErrorReply>(encode(ErrorReply{21, code, "why it failed"}));
    CHECK(m.req_id == 21);
    CHECK(m.code == code);
    CHECK(m.text == "why it failed");
  }
}

// --- queues and groups ---

// Every field of a RECEIVED's locks, since Lock has no operator==.
void check_locks(const std::vector<Lock>& got, const std::vector<Lock>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("lock " << i);
    CHECK(got[i].token == want[i].token);
    CHECK(got[i].delivery_count == want[i].delivery_count);
    CHECK(got[i].expiry_ms == want[i].expiry_ms);
  }
}

TEST_CASE("protocol: RECEIVE round trip with every mode", "[protocol][queues]") {
  for (ReceiveMode mode :
       {ReceiveMode::kPeekLock, ReceiveMode::kPeekLockDetached, ReceiveMode::kReceiveAndDelete}) {
    INFO("mode " << static_cast<int>(mode));
    Receive r{31, "jobs.eu", "$queue", 500, 60000, mode, 30000};
    Receive m = round_trip<Receive>(encode(r));
    CHECK(m.req_id == 31);
    CHECK(m.topic == "jobs.eu");
    CHECK(m.group == "$queue");
    CHECK(m.max == 500);
    CHECK(m.lock_ms == 60000);
    CHECK(m.mode == mode);
    CHECK(m.wait_ms == 30000);
  }
  Receive big = round_trip<Receive>(encode(
      Receive{UINT64_MAX, "", "g", UINT64_MAX, UINT64_MAX, ReceiveMode::kPeekLock, UINT64_MAX}));
  CHECK(big.req_id == UINT64_MAX);
  CHECK(big.topic.empty());
  CHECK(big.group == "g");
  CHECK(big.max == UINT64_MAX);
  CHECK(big.lock_ms == UINT64_MAX);
  CHECK(big.wait_ms == UINT64_MAX);
  Receive zero = round_trip<Receive>(encode(Receive{1, "t", "g", 0, 0, ReceiveMode::kPeekLock, 0}));
  CHECK(zero.max == 0);
  CHECK(zero.lock_ms == 0);
  CHECK(zero.wait_ms == 0);
}

const std::vector<Lock> kSampleLocks = {{0x0123456789abcdef, 1, 1'714'564'830'000},
                                        {UINT64_MAX, UINT32_MAX, INT64_MAX},
                                        {0, 0, 0},
                                        {1, 2, -5}};

TEST_CASE("protocol: RECEIVED round trip", "[protocol][queues]") {
  Received r;
  r.req_id = 8;
  for (int i = 0; i < 4; ++i) r.envelopes.push_back(sample_envelope(i));
  r.locks = kSampleLocks;
  Received m = round_trip<Received>(encode(r));
  CHECK(m.req_id == 8);
  CHECK(m.envelopes == r.envelopes);
  check_locks(m.locks, r.locks);
  Received empty = round_trip<Received>(encode(Received{9, {}, {}}));
  CHECK(empty.req_id == 9);
  CHECK(empty.envelopes.empty());
  CHECK(empty.locks.empty());
}

TEST_CASE("protocol: RECEIVED from stored records round trip", "[protocol][queues]") {
  std::vector<Envelope> stored;
  for (int i = 1; i <= 4; ++i) stored.push_back(sample_envelope(i));
  std::vector<std::string> bodies;
  for (const Envelope& e : stored) bodies.push_back(encode_envelope(e));
  std::vector<StoredRecord> records;
  for (size_t i = 0; i < stored.size(); ++i)
    records.push_back({stored[i].offset, stored[i].ts, bodies[i]});
  Received m = round_trip<Received>(encode_received(14, records, kSampleLocks));
  CHECK(m.req_id == 14);
  CHECK(m.envelopes == stored);
  check_locks(m.locks, kSampleLocks);
  // A PEEK answer: the same layout, every lock zero.
  Received peeked = round_trip<Received>(encode_received(15, records, std::vector<Lock>(4)));
  CHECK(peeked.envelopes == stored);
  check_locks(peeked.locks, std::vector<Lock>(4));
  Received none = round_trip<Received>(encode_received(16, {}, {}));
  CHECK(none.req_id == 16);
  CHECK(none.envelopes.empty());
  CHECK(none.locks.empty());
}

TEST_CASE("protocol: SETTLE round trip with every action", "[protocol][queues]") {
  Settle s;
  s.req_id = 40;
  s.topic = "jobs";
  s.group = "workers";
  s.settlements = {{0x0123456789abcdef, SettleAction::kComplete, "", ""},
                   {UINT64_MAX, SettleAction::kAbandon, "", ""},
                   {7, SettleAction::kDeadLetter, "BadInput", "field 'é' is missing"},
                   {0, SettleAction::kRenew, "", ""}};
  Settle m = round_trip<Settle>(encode(s));
  CHECK(m.req_id == 40);
  CHECK(m.topic == "jobs");
  CHECK(m.group == "workers");
  REQUIRE(m.settlements.size() == s.settlements.size());
  for (size_t i = 0; i < s.settlements.size(); ++i) {
    INFO("settlement " << i);
    CHECK(m.settlements[i].token == s.settlements[i].token);
    CHECK(m.settlements[i].action == s.settlements[i].action);
    CHECK(m.settlements[i].reason == s.settlements[i].reason);
    CHECK(m.settlements[i].description == s.settlements[i].description);
  }
  Settle empty = round_trip<Settle>(encode(Settle{41, "t", "g", {}}));
  CHECK(empty.req_id == 41);
  CHECK(empty.settlements.empty());
}

TEST_CASE("protocol: SETTLED round trip", "[protocol][queues]") {
  Settled s{42, {"", "lock token 0000000000000007 is not held: it expired or was settled", ""}};
  Settled m = round_trip<Settled>(encode(s));
  CHECK(m.req_id == 42);
  CHECK(m.errors == s.errors);
  Settled empty = round_trip<Settled>(encode(Settled{43, {}}));
  CHECK(empty.req_id == 43);
  CHECK(empty.errors.empty());
}

TEST_CASE("protocol: PEEK round trip", "[protocol][queues]") {
  Peek m = round_trip<Peek>(encode(Peek{50, "jobs", "$queue", 100}));
  CHECK(m.req_id == 50);
  CHECK(m.topic == "jobs");
  CHECK(m.group == "$queue");
  CHECK(m.max == 100);
  Peek big = round_trip<Peek>(encode(Peek{UINT64_MAX, "", "", UINT64_MAX}));
  CHECK(big.req_id == UINT64_MAX);
  CHECK(big.max == UINT64_MAX);
}

void check_rule(const GroupRule& got, const GroupRule& want) {
  CHECK(got.filter == want.filter);
  CHECK(got.set == want.set);
  CHECK(got.remove == want.remove);
}

const GroupRule kSampleRule{
    "region = 'eu' AND amount > 100", {"team=audit", "n:=42"}, {"internal", "trace-id"}};

TEST_CASE("protocol: CREATE_GROUP round trip with and without ttl, every position kind",
          "[protocol][queues]") {
  using K = Position::Kind;
  const Position positions[] = {{K::kEarliest, 0},
                                {K::kLatest, 0},
                                {K::kOffset, 17},
                                {K::kOffset, INT64_MAX},
                                {K::kLast, 10},
                                {K::kTime, -1'000},
                                {K::kTime, 1'714'564'800'000}};
  for (std::optional<int64_t> ttl : {std::optional<int64_t>(), std::optional<int64_t>(86'400'000),
                                     std::optional<int64_t>(INT64_MAX)}) {
    for (const Position& pos : positions) {
      INFO(describe_position(pos) << ", ttl " << ttl.value_or(0));
      CreateGroup c;
      c.req_id = 60;
      c.request.target = {"orders.eu", "billing"};
      c.request.config = {45'000, 7, ttl};
      c.request.start = pos;
      c.request.rule = kSampleRule;
      CreateGroup m = round_trip<CreateGroup>(encode(c));
      CHECK(m.req_id == 60);
      CHECK(m.request.target.topic == "orders.eu");
      CHECK(m.request.target.group == "billing");
      CHECK(m.request.config.lock_ms == 45'000);
      CHECK(m.request.config.max_deliveries == 7);
      CHECK(m.request.config.ttl_ms == ttl);
      CHECK(m.request.start == pos);
      check_rule(m.request.rule, kSampleRule);
    }
  }
  CreateGroup big;
  big.req_id = UINT64_MAX;
  big.request.config = {INT64_MAX, UINT32_MAX, std::nullopt};
  CreateGroup m = round_trip<CreateGroup>(encode(big));
  CHECK(m.req_id == UINT64_MAX);
  CHECK(m.request.target.topic.empty());
  CHECK(m.request.target.group == kQueueGroup);
  CHECK(m.request.config.lock_ms == INT64_MAX);
  CHECK(m.request.config.max_deliveries == UINT32_MAX);
  CHECK_FALSE(m.request.config.ttl_ms.has_value());
  CHECK(m.request.start == Position{K::kEarliest, 0});
  check_rule(m.request.rule, GroupRule{});
  CHECK(m.request.rule.empty());
}

TEST_CASE("protocol: CREATE_GROUP sends no ttl as 0, so a ttl of 0 reads back as none",
          "[protocol][queues]") {
  CreateGroup c;
  c.request.config.ttl_ms = 0;
  CHECK_FALSE(round_trip<CreateGroup>(encode(c)).request.config.ttl_ms.has_value());
}

TEST_CASE("protocol: DELETE_GROUP and LIST_GROUPS round trip", "[protocol][queues]") {
  DeleteGroup d = round_trip<DeleteGroup>(encode(DeleteGroup{70, {"jobs", "$queue"}}));
  CHECK(d.req_id == 70);
  CHECK(d.target.topic == "jobs");
  CHECK(d.target.group == "$queue");
  DeleteGroup other = round_trip<DeleteGroup>(encode(DeleteGroup{UINT64_MAX, {"$dlq.jobs", "g"}}));
  CHECK(other.req_id == UINT64_MAX);
  CHECK(other.target.topic == "$dlq.jobs");
  CHECK(other.target.group == "g");
  CHECK(round_trip<ListGroups>(encode(ListGroups{71})).req_id == 71);
  CHECK(round_trip<ListGroups>(encode(ListGroups{UINT64_MAX})).req_id == UINT64_MAX);
}

TEST_CASE("protocol: GROUP_LIST round trip", "[protocol][queues]") {
  GroupList g;
  g.req_id = 72;
  GroupInfo a;
  a.topic = "jobs";
  a.group = "$queue";
  a.config = {30'000, 10, std::nullopt};
  a.stats.pending = 5;
  a.stats.locked = 2;
  a.stats.completed = 100;
  a.stats.dead_lettered = 3;
  a.stats.delivered = 120;
  a.stats.lost = 1;
  a.oldest_pending_ts = 1'714'564'800'000;
  GroupInfo b;
  b.topic = "orders.eu";
  b.group = "billing";
  b.config = {INT64_MAX, UINT32_MAX, 60'000};
  b.oldest_pending_ts = -1;
  b.rule = kSampleRule;
  b.stats.pending = UINT64_MAX;
  b.stats.locked = UINT64_MAX - 1;
  b.stats.completed = UINT64_MAX - 2;
  b.stats.dead_lettered = UINT64_MAX - 3;
  b.stats.delivered = UINT64_MAX - 4;
  b.stats.lost = UINT64_MAX - 5;
  g.groups = {a, b};
  GroupList m = round_trip<GroupList>(encode(g));
  CHECK(m.req_id == 72);
  REQUIRE(m.groups.size() == 2);
  for (size_t i = 0; i < g.groups.size(); ++i) {
    const GroupInfo& want = g.groups[i];
    const GroupInfo& got = m.groups[i];
    INFO(want.topic << ":" << want.group);
    CHECK(got.topic == want.topic);
    CHECK(got.group == want.group);
    CHECK(got.config.lock_ms == want.config.lock_ms);
    CHECK(got.config.max_deliveries == want.config.max_deliveries);
    CHECK(got.config.ttl_ms == want.config.ttl_ms);
    CHECK(got.stats.pending == want.stats.pending);
    CHECK(got.stats.locked == want.stats.locked);
    CHECK(got.stats.completed == want.stats.completed);
    CHECK(got.stats.dead_lettered == want.stats.dead_lettered);
    CHECK(got.stats.delivered == want.stats.delivered);
    CHECK(got.stats.lost == want.stats.lost);
    CHECK(got.oldest_pending_ts == want.oldest_pending_ts);
    check_rule(got.rule, want.rule);
  }
  GroupList empty = round_trip<GroupList>(encode(GroupList{73, {}}));
  CHECK(empty.req_id == 73);
  CHECK(empty.groups.empty());
}

TEST_CASE("protocol: each message carries its own command", "[protocol]") {
  CHECK(encode(Hello{}).command == Command::kHello);
  CHECK(encode(Welcome{}).command == Command::kWelcome);
  CHECK(encode(Ping{}).command == Command::kPing);
  CHECK(encode(Pong{}).command == Command::kPong);
  CHECK(encode_publish(1, {}).command == Command::kPublish);
  CHECK(encode(Confirm{}).command == Command::kConfirm);
  CHECK(encode(Subscribe{}).command == Command::kSubscribe);
  CHECK(encode(OkReply{}).command == Command::kOk);
  CHECK(encode(Credit{}).command == Command::kCredit);
  CHECK(encode_deliver(1, {}).command == Command::kDeliver);
  CHECK(encode(End{}).command == Command::kEnd);
  CHECK(encode(Notice{}).command == Command::kNotice);
  CHECK(encode(Unsubscribe{}).command == Command::kUnsubscribe);
  CHECK(encode(ErrorReply{}).command == Command::kError);
  CHECK(encode(ListTopics{}).command == Command::kListTopics);
  CHECK(encode(TopicList{}).command == Command::kTopicList);
  CHECK(encode(DeleteTopic{}).command == Command::kDeleteTopic);
  CHECK(encode(CreateTopic{}).command == Command::kCreateTopic);
  CHECK(encode(Receive{}).command == Command::kReceive);
  CHECK(encode(Received{}).command == Command::kReceived);
  CHECK(encode_received(1, {}, {}).command == Command::kReceived);
  CHECK(encode(Settle{}).command == Command::kSettle);
  CHECK(encode(Settled{}).command == Command::kSettled);
  CHECK(encode(Peek{}).command == Command::kPeek);
  CHECK(encode(CreateGroup{}).command == Command::kCreateGroup);
  CHECK(encode(DeleteGroup{}).command == Command::kDeleteGroup);
  CHECK(encode(ListGroups{}).command == Command::kListGroups);
  CHECK(encode(GroupList{}).command == Command::kGroupList);
  CHECK(encode(Stats{}).command == Command::kStats);
  CHECK(encode(StatsReply{}).command == Command::kStatsReply);
  CHECK(encode(CreateView{}).command == Command::kCreateView);
  CHECK(encode(DropView{}).command == Command::kDropView);
  CHECK(encode(RebuildView{}).command == Command::kRebuildView);
  CHECK(encode(ViewGet{}).command == Command::kViewGet);
  CHECK(encode(ViewValueReply{}).command == Command::kViewValue);
  CHECK(encode(ViewList{}).command == Command::kViewList);
  CHECK(encode(ViewRows{}).command == Command::kViewRows);
  CHECK(encode(ViewStatsRequest{}).command == Command::kViewStats);
  CHECK(encode(ViewStatsList{}).command == Command::kViewStatsList);
}

TEST_CASE("protocol: view commands round trip", "[protocol][views]") {
  ViewSpec spec{"balances", "pay.>", "payload.account", "amount > 0", "amount", Reducer::kSum};
  auto create = round_trip<CreateView>(encode(CreateView{7, spec}));
  CHECK(create.req_id == 7);
  CHECK(create.spec == spec);
  auto drop = round_trip<DropView>(encode(DropView{8, "balances"}));
  CHECK(drop.name == "balances");
  auto rebuild = round_trip<RebuildView>(encode(RebuildView{9, "balances"}));
  CHECK(rebuild.name == "balances");
  auto get = round_trip<ViewGet>(encode(ViewGet{10, "balances", "acct-1", "pay.eu", 42, 500}));
  CHECK(get.key == "acct-1");
  CHECK(get.after_topic == "pay.eu");
  CHECK(get.after_offset == 42);
  CHECK(get.wait_ms == 500);
  std::vector<ViewValue> values{{},
                                {ViewValue::Type::kBool, true, 0, 0, {}},
                                {ViewValue::Type::kInt, false, -5, 0, {}},
                                {ViewValue::Type::kDouble, false, 0, 2.5, {}},
                                {ViewValue::Type::kString, false, 0, 0, std::string("a\0b", 3)},
                                {ViewValue::Type::kJson, false, 0, 0, R"({"x":1})"}};
  for (const ViewValue& v : values) {
    auto value = round_trip<ViewValueReply>(encode(ViewValueReply{11, v}));
    CHECK(value.value == v);
  }
  auto list = round_trip<ViewList>(encode(ViewList{12, "balances", "acct-"}));
  CHECK(list.prefix == "acct-");
  ViewRows rows{13, {{"a", values[2]}, {"b", values[5]}}};
  auto rows_back = round_trip<ViewRows>(encode(rows));
  CHECK(rows_back.rows == rows.rows);
  auto stats_request = round_trip<ViewStatsRequest>(encode(ViewStatsRequest{14, ""}));
  CHECK(stats_request.name.empty());
  ViewStatsList stats{15, {{spec, 3, 10, {{"pay.eu", 12}}, 2}}};
  auto stats_back = round_trip<ViewStatsList>(encode(stats));
  REQUIRE(stats_back.views.size() == 1);
  CHECK(stats_back.views[0].spec == spec);
  CHECK(stats_back.views[0].keys == 3);
  CHECK(stats_back.views[0].folded == 10);
  CHECK(stats_back.views[0].lag == 2);
  CHECK(stats_back.views[0].offsets == std::map<std::string, uint64_t>{{"pay.eu", 12}});
  CHECK_FALSE(decode<CreateView>(body_of(encode(CreateView{1, spec})).substr(0, 5)));
}

// --- headers ---

const Command kAllCommands[] = {
    Command::kHello,       Command::kWelcome,     Command::kPing,          Command::kPong,
    Command::kPublish,     Command::kConfirm,     Command::kSubscribe,     Command::kOk,
    Command::kCredit,      Command::kDeliver,     Command::kEnd,           Command::kNotice,
    Command::kUnsubscribe, Command::kError,       Command::kListTopics,    Command::kTopicList,
    Command::kDeleteTopic, Command::kReceive,     Command::kReceived,      Command::kSettle,
    Command::kSettled,     Command::kPeek,        Command::kCreateGroup,   Command::kDeleteGroup,
    Command::kListGroups,  Command::kGroupList,   Command::kCreateView,    Command::kDropView,
    Command::kRebuildView, Command::kViewGet,     Command::kViewValue,     Command::kViewList,
    Command::kViewRows,    Command::kViewStats,   Command::kViewStatsList, Command::kStats,
    Command::kStatsReply,  Command::kCreateTopic,
};

std::string header(uint8_t version, uint8_t command) {
  return std::string{static_cast<char>(version), static_cast<char>(command)};
}

TEST_CASE("protocol: decode_header accepts every command of this version", "[protocol]") {
  std::set<std::string_view> names;
  for (Command c : kAllCommands) {
    auto decoded = decode_header(header(kVersion, static_cast<uint8_t>(c)));
    REQUIRE(decoded.ok());
    CHECK(decoded->command == c);
    CHECK(decoded->ns == "default");
    CHECK(command_name(c) != "UNKNOWN");
    names.insert(command_name(c));
  }
  CHECK(names.size() == std::size(kAllCommands));
}

TEST_CASE("protocol: a header names its namespace after the command", "[protocol]") {
  for (std::string ns : {std::string("shop"), std::string("a"), std::string("billing-eu_2"),
                         std::string(kMaxNamespaceBytes, 'n')}) {
    INFO(ns);
    std::string h = encode_header(Command::kPublish, ns);
    CHECK(h.size() == 2 + ns.size());
    auto decoded = decode_header(h);
    REQUIRE(decoded.ok());
    CHECK(decoded->command == Command::kPublish);
    CHECK(decoded->ns == ns);
  }
  // The default namespace is the plain 2-byte header, and spelling it out means the same.
  CHECK(encode_header(Command::kPing, "default") == header(kVersion, uint8_t(Command::kPing)));
  CHECK(decode_header(header(kVersion, uint8_t(Command::kPing)) + "default")->ns == "default");
}

TEST_CASE("protocol: decode_header rejects a header of the wrong size", "[protocol]") {
  for (std::string h : {std::string(), std::string("\x01"),
                        header(kVersion, uint8_t(Command::kPing)) + std::string(65, 'n')}) {
    INFO(h.size() << " bytes");
    auto r = decode_header(h);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("expected 2"));
  }
}

TEST_CASE("protocol: decode_header rejects a namespace that is not a name", "[protocol]") {
  for (std::string ns : {std::string("\x00", 1), std::string("\x03\x03"), std::string("a.b"),
                         std::string("../etc"), std::string("a/b"), std::string("sp ace")}) {
    INFO(ns);
    auto r = decode_header(header(kVersion, uint8_t(Command::kPing)) + ns);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("namespace"));
  }
}

TEST_CASE("protocol: decode_header rejects other protocol versions", "[protocol]") {
  for (uint8_t version : {uint8_t{0}, uint8_t{2}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
    INFO(int(version));
    auto r = decode_header(header(version, static_cast<uint8_t>(Command::kPing)));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("version " + std::to_string(version)));
  }
}

TEST_CASE("protocol: decode_header rejects unknown commands", "[protocol]") {
  for (int c = 0; c < 256; ++c) {
    bool known = false;
    for (Command k : kAllCommands) known = known || static_cast<int>(k) == c;
    if (known) continue;
    INFO(c);
    auto r = decode_header(header(kVersion, static_cast<uint8_t>(c)));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("unknown command " + std::to_string(c)));
  }
}

// --- malformed bodies ---

// For each message type: a valid value for every field, and a value of the
// wrong type for it.
struct FieldSpec {
  const char* name;
  Field good;
  Field bad;
};

Field uint_field(uint64_t v) {
  return [v](Packer& p) { p.pack(v); };
}
Field str_field(std::string s) {
  return [s](Packer& p) { p.pack(s); };
}
Field bool_field(bool b) {
  return [b](Packer& p) { p.pack(b); };
}
const Field kString = str_field("text");
const Field kNegative = [](Packer& p) { p.pack(int64_t{-1}); };
const Field kNil = [](Packer& p) { p.pack_nil(); };
const Field kFloat = [](Packer& p) { p.pack(1.5); };
const Field kEmptyMap = [](Packer& p) { p.pack_map(0); };
const Field kEmptyArray = [](Packer& p) { p.pack_array(0); };

const Field kGoodEnvelopes = [](Packer& p) {
  std::vector<Envelope> batch = {sample_envelope(1)};
  pack_batch(p, std::span<const Envelope>(batch));
};
const Field kBadEnvelopes = [](Packer& p) {
  p.pack_array(1);
  p.pack_array(3);  // an envelope of 3 fields
  p.pack(std::string("a"));
  p.pack(std::string("b"));
  p.pack(std::string("c"));
};

template <class T>
void check_field_errors(const std::vector<FieldSpec>& specs) {
  REQUIRE(specs.size() == T::kFields);
  std::vector<Field> good;
  for (const FieldSpec& s : specs) good.push_back(s.good);
  {
    INFO("every field valid");
    auto r = decode<T>(pack_array(good));
    if (!r.ok()) FAIL("unexpected error: " << r.error().message);
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    INFO(command_name(T::kCommand) << " field " << specs[i].name << " of the wrong type");
    std::vector<Field> fields = good;
    fields[i] = specs[i].bad;
    Error e = decode_error<T>(pack_array(fields));
    CHECK_THAT(e.message, Catch::Contains(specs[i].name));
  }
  for (size_t n = 0; n < specs.size(); ++n) {
    INFO(command_name(T::kCommand) << " with only " << n << " fields");
    decode_error<T>(pack_array(std::vector<Field>(good.begin(), good.begin() + n)));
  }
  for (const Field& not_array : {kNil, kString, kEmptyMap, uint_field(1)}) {
    INFO(command_name(T::kCommand) << " body that is not an array");
    msgpack::sbuffer buf;
    Packer pk(buf);
    not_array(pk);
    Error e = decode_error<T>(std::string_view(buf.data(), buf.size()));
    CHECK_THAT(e.message, Catch::Contains("array of " + std::to_string(T::kFields) + " fields"));
  }
}

TEST_CASE("protocol: HELLO body with wrong fields", "[protocol]") {
  check_field_errors<Hello>(
      {{"req_id", uint_field(1), kString}, {"client", kString, uint_field(1)}});
}

TEST_CASE("protocol: WELCOME body with wrong fields", "[protocol]") {
  check_field_errors<Welcome>({{"req_id", uint_field(1), kNegative},
                               {"broker_version", kString, kNil},
                               {"instance_id", uint_field(2), kString},
                               {"max_message_bytes", uint_field(3), kFloat}});
}

TEST_CASE("protocol: PING body with wrong fields", "[protocol]") {
  check_field_errors<Ping>({{"req_id", uint_field(1), kString}});
  check_field_errors<Ping>({{"req_id", uint_field(1), kNegative}});
}

TEST_CASE("protocol: PONG body with wrong fields", "[protocol]") {
  check_field_errors<Pong>(
      {{"req_id", uint_field(1), kNil}, {"instance_id", uint_field(2), kFloat}});
}

TEST_CASE("protocol: PUBLISH body with wrong fields", "[protocol]") {
  check_field_errors<Publish>(
      {{"req_id", uint_field(1), kString}, {"envelopes", kGoodEnvelopes, kEmptyMap}});
  // An array holding a malformed envelope is rejected too.
  Error e = decode_error<Publish>(pack_array({uint_field(1), kBadEnvelopes}));
  CHECK_THAT(e.message, Catch::Contains("malformed envelope"));
}

TEST_CASE("protocol: CONFIRM body with wrong fields", "[protocol]") {
  const Field offsets = [](Packer& p) { p.pack(std::vector<uint64_t>{1, 2}); };
  const Field duplicates = [](Packer& p) { p.pack(std::vector<uint64_t>{1}); };
  check_field_errors<Confirm>({{"req_id", uint_field(1), kString},
                               {"offsets", offsets, kNil},
                               {"duplicates", duplicates, kEmptyMap}});
  for (const Field& bad_offset : {kNegative, kString, kFloat, kNil}) {
    const Field list = [&](Packer& p) {
      p.pack_array(3);
      p.pack(uint64_t{1});
      bad_offset(p);
      p.pack(uint64_t{3});
    };
    CHECK_THAT(decode_error<Confirm>(pack_array({uint_field(1), list, kEmptyArray})).message,
               Catch::Contains("offset"));
  }
  // A duplicate must be the index of a message of the batch.
  for (const Field& bad_index : {uint_field(2), uint_field(UINT64_MAX), kNegative, kString}) {
    const Field list = [&](Packer& p) {
      p.pack_array(1);
      bad_index(p);
    };
    CHECK_THAT(decode_error<Confirm>(pack_array({uint_field(1), offsets, list})).message,
               Catch::Contains("duplicate"));
  }
}

TEST_CASE("protocol: SUBSCRIBE body with wrong fields", "[protocol]") {
  const Field patterns = [](Packer& p) { p.pack(std::vector<std::string>{"a.*"}); };
  const Field position = [](Packer& p) {
    p.pack_array(2);
    p.pack(uint64_t{0});
    p.pack(int64_t{0});
  };
  const Field resume = [](Packer& p) { p.pack(std::map<std::string, uint64_t>{{"a.b", 3}}); };
  check_field_errors<Subscribe>({{"req_id", uint_field(1), kString},
                                 {"sub_id", uint_field(1), kNegative},
                                 {"patterns", patterns, kString},
                                 {"position", position, kEmptyMap},
                                 {"credit_messages", uint_field(10), kNil},
                                 {"credit_bytes", uint_field(10), kFloat},
                                 {"resume", resume, kEmptyArray},
                                 {"filter", str_field("n > 1"), uint_field(1)}});

  auto with = [&](int index, Field f) {
    std::vector<Field> fields = {uint_field(1),  uint_field(1),  patterns, position,
                                 uint_field(10), uint_field(10), resume,   str_field("")};
    fields[static_cast<size_t>(index)] = std::move(f);
    return pack_array(fields);
  };
  SECTION("a pattern that is not a string") {
    const Field bad = [](Packer& p) {
      p.pack_array(2);
      p.pack(std::string("a"));
      p.pack(uint64_t{5});
    };
    CHECK_THAT(decode_error<Subscribe>(with(2, bad)).message, Catch::Contains("pattern"));
  }
  SECTION("a malformed position") {
    check_position_errors<Subscribe>([&](Field f) { return with(3, std::move(f)); });
  }
  SECTION("a resume entry that is not topic -> offset") {
    const Field bad_value = [](Packer& p) {
      p.pack_map(1);
      p.pack(std::string("a.b"));
      p.pack(int64_t{-3});
    };
    CHECK_THAT(decode_error<Subscribe>(with(6, bad_value)).message, Catch::Contains("resume"));
    const Field bad_key = [](Packer& p) {
      p.pack_map(1);
      p.pack(uint64_t{1});
      p.pack(uint64_t{3});
    };
    CHECK_THAT(decode_error<Subscribe>(with(6, bad_key)).message, Catch::Contains("resume"));
  }
}

TEST_CASE("protocol: OK body with wrong fields", "[protocol]") {
  check_field_errors<OkReply>({{"req_id", uint_field(1), kEmptyArray}});
}

TEST_CASE("protocol: CREDIT body with wrong fields", "[protocol]") {
  check_field_errors<Credit>({{"sub_id", uint_field(1), kString},
                              {"messages", uint_field(100), kNegative},
                              {"bytes", uint_field(100), kFloat}});
}

TEST_CASE("protocol: DELIVER body with wrong fields", "[protocol]") {
  check_field_errors<Deliver>(
      {{"sub_id", uint_field(1), kNil}, {"envelopes", kGoodEnvelopes, kString}});
  Error e = decode_error<Deliver>(pack_array({uint_field(1), kBadEnvelopes}));
  CHECK_THAT(e.message, Catch::Contains("malformed envelope"));
}

TEST_CASE("protocol: END body with wrong fields", "[protocol]") {
  check_field_errors<End>({{"sub_id", uint_field(1), kString}});
}

TEST_CASE("protocol: NOTICE body with wrong fields", "[protocol]") {
  check_field_errors<Notice>({{"sub_id", uint_field(1), kNegative}, {"text", kString, kEmptyMap}});
}

TEST_CASE("protocol: UNSUBSCRIBE body with wrong fields", "[protocol]") {
  check_field_errors<Unsubscribe>(
      {{"req_id", uint_field(1), kString}, {"sub_id", uint_field(1), kNil}});
}

TEST_CASE("protocol: ERROR body with wrong fields", "[protocol]") {
  check_field_errors<ErrorReply>({{"req_id", uint_field(0), kString},
                                  {"code", uint_field(3), kString},
                                  {"text", kString, uint_field(7)}});
}

TEST_CASE("protocol: LIST_TOPICS body with wrong fields", "[protocol]") {
  check_field_errors<ListTopics>(
      {{"req_id", uint_field(1), kString}, {"pattern", str_field(">"), kNil}});
}

TEST_CASE("protocol: TOPIC_LIST body with wrong fields", "[protocol]") {
  const Field topics = [](Packer& p) {
    p.pack_array(1);
    p.pack_array(8);
    p.pack(std::string("a"));
    p.pack(uint64_t{0});
    p.pack(uint64_t{1});
    p.pack(uint64_t{2});
    p.pack(int64_t{3});
    p.pack(int64_t{4});
    p.pack(true);
    p.pack(uint64_t{5});
  };
  check_field_errors<TopicList>({{"req_id", uint_field(1), kNil}, {"topics", topics, kEmptyMap}});
  struct Case {
    const char* field;
    int index;
    Field bad;
  };
  const std::vector<Case> cases = {
      {"name", 0, uint_field(1)},    {"earliest", 1, kNegative},
      {"next", 2, kString},          {"bytes", 3, kFloat},
      {"first_ts", 4, kString},      {"last_ts", 5, kNil},
      {"compact", 6, uint_field(1)}, {"tombstone_retention_ms", 7, kNegative}};
  for (const Case& c : cases) {
    INFO("topic entry field " << c.field);
    const Field entry = [&](Packer& p) {
      p.pack_array(1);
      p.pack_array(8);
      const Field fields[] = {str_field("a"), uint_field(0), uint_field(1),     uint_field(2),
                              uint_field(3),  uint_field(4), bool_field(false), uint_field(5)};
      for (int i = 0; i < 8; ++i) (i == c.index ? c.bad : fields[i])(p);
    };
    CHECK_THAT(decode_error<TopicList>(pack_array({uint_field(1), entry})).message,
               Catch::Contains(c.field));
  }
  const Field short_entry = [](Packer& p) {
    p.pack_array(1);
    p.pack_array(2);
    p.pack(std::string("a"));
    p.pack(uint64_t{0});
  };
  decode_error<TopicList>(pack_array({uint_field(1), short_entry}));
}

TEST_CASE("protocol: DELETE_TOPIC body with wrong fields", "[protocol]") {
  check_field_errors<DeleteTopic>(
      {{"req_id", uint_field(1), kNegative}, {"name", str_field("a"), kEmptyArray}});
}

TEST_CASE("protocol: CREATE_TOPIC body with wrong fields", "[protocol]") {
  check_field_errors<CreateTopic>({{"req_id", uint_field(1), kNegative},
                                   {"name", str_field("a"), kEmptyArray},
                                   {"compact", bool_field(true), uint_field(1)},
                                   {"tombstone_retention_ms", uint_field(5), kNegative}});
}

// --- malformed queue and group bodies ---

// One well-formed element of a list field: a lock, a settlement, a group entry.
Field one_array(std::vector<Field> fields) {
  return [fields = std::move(fields)](Packer& p) {
    p.pack_array(1);
    p.pack_array(static_cast<uint32_t>(fields.size()));
    for (const Field& f : fields) f(p);
  };
}

const Field kGoodLocks = one_array({uint_field(0xabcdef), uint_field(1), uint_field(1000)});

TEST_CASE("protocol: RECEIVE body with wrong fields", "[protocol][queues]") {
  check_field_errors<Receive>({{"req_id", uint_field(1), kString},
                               {"topic", str_field("jobs"), uint_field(1)},
                               {"group", str_field("$queue"), kNil},
                               {"max", uint_field(10), kNegative},
                               {"lock_ms", uint_field(0), kFloat},
                               {"mode", uint_field(0), kString},
                               {"wait_ms", uint_field(0), kEmptyArray}});
}

TEST_CASE("protocol: RECEIVE with a mode out of range", "[protocol][queues]") {
  for (uint64_t mode : {uint64_t{3}, uint64_t{7}, uint64_t{255}, uint64_t{256}, UINT64_MAX}) {
    INFO("mode " << mode);
    Error e = decode_error<Receive>(pack_array({uint_field(1), kString, kString, uint_field(1),
                                                uint_field(0), uint_field(mode), uint_field(0)}));
    CHECK_THAT(e.message, Catch::Contains("mode is out of range"));
  }
}

TEST_CASE("protocol: RECEIVED body with wrong fields", "[protocol][queues]") {
  check_field_errors<Received>({{"req_id", uint_field(1), kNegative},
                                {"envelopes", kGoodEnvelopes, kEmptyMap},
                                {"locks", kGoodLocks, kString}});
  Error e = decode_error<Received>(pack_array({uint_field(1), kBadEnvelopes, kGoodLocks}));
  CHECK_THAT(e.message, Catch::Contains("malformed envelope"));
}

TEST_CASE("protocol: RECEIVED with a lock of the wrong shape", "[protocol][queues]") {
  struct Case {
    const char* field;
    Field lock;
  };
  const std::vector<Case> cases = {
      {"lock_token", one_array({kString, uint_field(1), uint_field(1000)})},
      {"lock_token", one_array({kNegative, uint_field(1), uint_field(1000)})},
      {"delivery_count", one_array({uint_field(1), kNegative, uint_field(1000)})},
      {"delivery_count", one_array({uint_field(1), kFloat, uint_field(1000)})},
      {"lock_expiry", one_array({uint_field(1), uint_field(1), kString})},
      {"lock_expiry",
       one_array({uint_field(1), uint_field(1), uint_field(uint64_t{INT64_MAX} + 1)})},
      {"lock", one_array({uint_field(1), uint_field(1)})},  // 2 of 3 fields
      {"lock", [](Packer& p) {                              // an element that is not an array
         p.pack_array(1);
         p.pack(uint64_t{1});
       }}};
  for (const Case& c : cases) {
    INFO("a lock with a bad " << c.field);
    Error e = decode_error<Received>(pack_array({uint_field(1), kGoodEnvelopes, c.lock}));
    CHECK_THAT(e.message, Catch::Contains(c.field));
  }
}

TEST_CASE("protocol: RECEIVED with as many locks as envelopes only", "[protocol][queues]") {
  const Field two_locks = [](Packer& p) {
    p.pack_array(2);
    for (uint64_t token : {1, 2}) {
      p.pack_array(3);
      p.pack(token);
      p.pack(uint64_t{1});
      p.pack(int64_t{1000});
    }
  };
  for (const auto& [envelopes, locks, what] : std::vector<std::tuple<Field, Field, const char*>>{
           {kGoodEnvelopes, kEmptyArray, "1 envelope, no lock"},
           {kEmptyArray, kGoodLocks, "no envelope, 1 lock"},
           {kGoodEnvelopes, two_locks, "1 envelope, 2 locks"}}) {
    INFO(what);
    Error e = decode_error<Received>(pack_array({uint_field(1), envelopes, locks}));
    CHECK_THAT(e.message, Catch::Contains("locks and envelopes differ in number"));
  }
}

TEST_CASE("protocol: a delivery count above 32 bits is rejected, not truncated",
          "[protocol][queues]") {
  // Lock::delivery_count is 32 bits; the decoder casts the u64 it reads.
  const Field lock = one_array({uint_field(1), uint_field(uint64_t{1} << 32), uint_field(1000)});
  auto r = decode<Received>(pack_array({uint_field(1), kGoodEnvelopes, lock}));
  if (r.ok()) FAIL("accepted, delivery_count read as " << r->locks.at(0).delivery_count);
  CHECK_THAT(r.error().message, Catch::Contains("delivery_count"));
}

const Field kGoodSettlements =
    one_array({uint_field(0xabcdef), uint_field(1), str_field(""), str_field("")});

TEST_CASE("protocol: SETTLE body with wrong fields", "[protocol][queues]") {
  check_field_errors<Settle>({{"req_id", uint_field(1), kString},
                              {"topic", str_field("jobs"), kNil},
                              {"group", str_field("$queue"), uint_field(3)},
                              {"settlements", kGoodSettlements, kEmptyMap}});
}

TEST_CASE("protocol: SETTLE with a settlement of the wrong shape", "[protocol][queues]") {
  struct Case {
    const char* field;
    Field settlement;
  };
  const std::vector<Case> cases = {
      {"lock_token", one_array({kString, uint_field(1), kString, kString})},
      {"action", one_array({uint_field(1), kNegative, kString, kString})},
      {"action", one_array({uint_field(1), kString, kString, kString})},
      {"reason", one_array({uint_field(1), uint_field(3), kNil, kString})},
      {"description", one_array({uint_field(1), uint_field(3), kString, uint_field(1)})},
      {"settlement", one_array({uint_field(1), uint_field(1), kString})},  // 3 of 4 fields
      {"settlement", [](Packer& p) {
         p.pack_array(1);
         p.pack(std::string("complete"));
       }}};
  for (const Case& c : cases) {
    INFO("a settlement with a bad " << c.field);
    Error e = decode_error<Settle>(pack_array({uint_field(1), kString, kString, c.settlement}));
    CHECK_THAT(e.message, Catch::Contains(c.field));
  }
}

TEST_CASE("protocol: SETTLE with an action out of range", "[protocol][queues]") {
  for (uint64_t action : {uint64_t{0}, uint64_t{5}, uint64_t{255}, uint64_t{256}, UINT64_MAX}) {
    INFO("action " << action);
    const Field settlement = one_array({uint_field(1), uint_field(action), kString, kString});
    Error e = decode_error<Settle>(pack_array({uint_field(1), kString, kString, settlement}));
    CHECK_THAT(e.message, Catch::Contains("action is out of range"));
  }
}

TEST_CASE("protocol: SETTLED body with wrong fields", "[protocol][queues]") {
  const Field errors = [](Packer& p) { p.pack(std::vector<std::string>{"", "no"}); };
  check_field_errors<Settled>({{"req_id", uint_field(1), kFloat}, {"errors", errors, kString}});
  for (const Field& bad : {kNil, uint_field(0), kEmptyArray}) {
    const Field list = [&](Packer& p) {
      p.pack_array(2);
      p.pack(std::string(""));
      bad(p);
    };
    CHECK_THAT(decode_error<Settled>(pack_array({uint_field(1), list})).message,
               Catch::Contains("error is not a string"));
  }
}

TEST_CASE("protocol: PEEK body with wrong fields", "[protocol][queues]") {
  check_field_errors<Peek>({{"req_id", uint_field(1), kNil},
                            {"topic", str_field("jobs"), kEmptyArray},
                            {"group", str_field("$queue"), kFloat},
                            {"max", uint_field(10), kNegative}});
}

const Field kGoodStrings = [](Packer& p) { p.pack(std::vector<std::string>{"a=b", "n:=1"}); };
const Field kStringsWithNumber = [](Packer& p) {
  p.pack_array(2);
  p.pack(std::string("a"));
  p.pack(uint64_t{1});
};

const Field kGoodPosition = [](Packer& p) {
  p.pack_array(2);
  p.pack(uint64_t{0});
  p.pack(int64_t{0});
};

TEST_CASE("protocol: CREATE_GROUP body with wrong fields", "[protocol][queues]") {
  check_field_errors<CreateGroup>({{"req_id", uint_field(1), kString},
                                   {"topic", str_field("jobs"), kNil},
                                   {"group", str_field("$queue"), uint_field(1)},
                                   {"lock_ms", uint_field(30000), kString},
                                   {"max_deliveries", uint_field(10), kNegative},
                                   {"ttl_ms", uint_field(0), kFloat},
                                   {"position", kGoodPosition, kEmptyMap},
                                   {"filter", str_field("n > 1"), kNil},
                                   {"set", kGoodStrings, kString},
                                   {"remove", kGoodStrings, kEmptyMap}});
  auto with = [](int index, Field f) {
    std::vector<Field> fields = {uint_field(1),  kString,       kString,       uint_field(30000),
                                 uint_field(10), uint_field(0), kGoodPosition, str_field(""),
                                 kEmptyArray,    kEmptyArray};
    fields[static_cast<size_t>(index)] = std::move(f);
    return pack_array(fields);
  };
  SECTION("a header to set or remove that is not a string") {
    CHECK_THAT(decode_error<CreateGroup>(with(8, kStringsWithNumber)).message,
               Catch::Contains("an element of set is not a string"));
    CHECK_THAT(decode_error<CreateGroup>(with(9, kStringsWithNumber)).message,
               Catch::Contains("an element of remove is not a string"));
  }
  SECTION("max_deliveries above 32 bits") {
    CHECK_THAT(decode_error<CreateGroup>(with(4, uint_field(uint64_t{1} << 32))).message,
               Catch::Contains("max_deliveries is out of range"));
  }
  SECTION("lock_ms or ttl_ms above int64") {
    CHECK_THAT(decode_error<CreateGroup>(with(3, uint_field(uint64_t{INT64_MAX} + 1))).message,
               Catch::Contains("lock_ms"));
    CHECK_THAT(decode_error<CreateGroup>(with(5, uint_field(UINT64_MAX))).message,
               Catch::Contains("ttl_ms"));
  }
  SECTION("a malformed position") {
    check_position_errors<CreateGroup>([&](Field f) { return with(6, std::move(f)); });
  }
}

TEST_CASE("protocol: DELETE_GROUP and LIST_GROUPS bodies with wrong fields", "[protocol][queues]") {
  check_field_errors<DeleteGroup>({{"req_id", uint_field(1), kNegative},
                                   {"topic", str_field("jobs"), kEmptyMap},
                                   {"group", str_field("$queue"), kNil}});
  check_field_errors<ListGroups>({{"req_id", uint_field(1), kString}});
}

TEST_CASE("protocol: STATS and STATS_REPLY bodies with wrong fields", "[protocol]") {
  check_field_errors<Stats>({{"req_id", uint_field(1), kString}});
  const Field counters = [](Packer& p) {
    p.pack_map(1);
    p.pack(std::string("clients"));
    p.pack(uint64_t{3});
  };
  check_field_errors<StatsReply>(
      {{"req_id", uint_field(1), kNil}, {"counters", counters, kEmptyArray}});
  const Field negative = [](Packer& p) {
    p.pack_map(1);
    p.pack(std::string("clients"));
    p.pack(int64_t{-1});
  };
  const Field number_name = [](Packer& p) {
    p.pack_map(1);
    p.pack(uint64_t{1});
    p.pack(uint64_t{3});
  };
  for (const Field& bad : {negative, number_name})
    CHECK_THAT(decode_error<StatsReply>(pack_array({uint_field(1), bad})).message,
               Catch::Contains("counters"));
}

// A GROUP_LIST entry: [topic, group, lock_ms, max_deliveries, ttl_ms, pending,
// locked, completed, dead_lettered, delivered, lost, oldest_pending_ts, filter,
// set, remove].
std::vector<Field> good_group_entry() {
  return {str_field("jobs"), str_field("$queue"), uint_field(30000), uint_field(10), uint_field(0),
          uint_field(1),     uint_field(2),       uint_field(3),     uint_field(4),  uint_field(5),
          uint_field(6),     uint_field(7),       str_field(""),     kGoodStrings,   kEmptyArray};
}

TEST_CASE("protocol: GROUP_LIST body with wrong fields", "[protocol][queues]") {
  check_field_errors<GroupList>(
      {{"req_id", uint_field(1), kString}, {"groups", one_array(good_group_entry()), kEmptyMap}});
  const std::vector<std::pair<const char*, Field>> cases = {
      {"topic", uint_field(1)},      {"group", kNil},     {"lock_ms", kString},
      {"max_deliveries", kNegative}, {"ttl_ms", kFloat},  {"pending", kNegative},
      {"locked", kString},           {"completed", kNil}, {"dead_lettered", kFloat},
      {"delivered", kEmptyArray},    {"lost", kNegative}, {"oldest_pending_ts", kString},
      {"filter", uint_field(1)},     {"set", kNil},       {"remove", kStringsWithNumber}};
  REQUIRE(cases.size() == good_group_entry().size());
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("group entry field " << cases[i].first);
    std::vector<Field> entry = good_group_entry();
    entry[i] = cases[i].second;
    CHECK_THAT(decode_error<GroupList>(pack_array({uint_field(1), one_array(entry)})).message,
               Catch::Contains(cases[i].first));
  }
  std::vector<Field> short_entry = good_group_entry();
  short_entry.pop_back();
  CHECK_THAT(decode_error<GroupList>(pack_array({uint_field(1), one_array(short_entry)})).message,
             Catch::Contains("group"));
}

TEST_CASE("protocol: a GROUP_LIST max_deliveries above 32 bits is rejected, not truncated",
          "[protocol][queues]") {
  // CREATE_GROUP checks this range; GROUP_LIST casts the u64 it reads.
  std::vector<Field> entry = good_group_entry();
  entry[3] = uint_field(uint64_t{1} << 32);
  auto r = decode<GroupList>(pack_array({uint_field(1), one_array(entry)}));
  if (r.ok()) FAIL("accepted, max_deliveries read as " << r->groups.at(0).config.max_deliveries);
  CHECK_THAT(r.error().message, Catch::Contains("max_deliveries"));
}

using BodyTypes =
    std::tuple<Hello, Welcome, Ping, Pong, Publish, Confirm, Subscribe, OkReply, Credit, Deliver,
               End, Notice, Unsubscribe, ErrorReply, ListTopics, TopicList, DeleteTopic,
               CreateTopic, Receive, Received, Settle, Settled, Peek, CreateGroup, DeleteGroup,
               ListGroups, GroupList, Stats, StatsReply>;

// Applies `f` to a default-constructed value of every body type.
template <class F>
void for_each_body_type(F&& f) {
  std::apply([&](auto... t) { (f(t), ...); }, BodyTypes{});
}

TEST_CASE("protocol: every truncation of a valid body is rejected", "[protocol]") {
  Subscribe s;
  s.patterns = {"orders.>"};
  s.resume = {{"orders.eu", 3}};
  std::vector<Envelope> batch = {sample_envelope(1), sample_envelope(2)};
  std::vector<std::string> bodies = {encode_envelope(batch[0]), encode_envelope(batch[1])};
  std::vector<StoredRecord> records = {{1, 2, bodies[0]}, {2, 3, bodies[1]}};
  const std::vector<Message> messages = [&] {
    std::vector<Message> v;
    v.push_back(encode(Hello{1, "client"}));
    v.push_back(encode(Welcome{1, "0.1.0", 2, 3}));
    v.push_back(encode(Pong{1, 2}));
    v.push_back(encode_publish(1, batch));
    v.push_back(encode(Confirm{1, {1, 2, 3}, {0}}));
    v.push_back(encode(s));
    v.push_back(encode(Credit{1, 2, 3}));
    v.push_back(encode_deliver(1, records));
    v.push_back(encode(Notice{1, "text"}));
    v.push_back(encode(Unsubscribe{1, 2}));
    v.push_back(encode(ErrorReply{1, ErrorCode::kRejected, "no"}));
    v.push_back(encode(ListTopics{1, "a.*"}));
    v.push_back(encode(TopicList{1, {{"a", 0, 1, 2, 3, 4, {true, 5}}}}));
    v.push_back(encode(DeleteTopic{1, "a"}));
    v.push_back(encode(CreateTopic{1, "a", {true, 5}}));
    v.push_back(encode(Receive{1, "jobs", "$queue", 10, 1000, ReceiveMode::kPeekLock, 500}));
    v.push_back(encode_received(1, records, {{7, 1, 1000}, {8, 2, 2000}}));
    v.push_back(encode(Settle{1, "jobs", "$queue", {{7, SettleAction::kDeadLetter, "r", "d"}}}));
    v.push_back(encode(Settled{1, {"", "not held"}}));
    v.push_back(encode(Peek{1, "jobs", "$queue", 10}));
    v.push_back(encode(CreateGroup{1, {{"jobs", "g"}, {1000, 3, 5000}, {}}}));
    v.push_back(encode(DeleteGroup{1, {"jobs", "g"}}));
    GroupInfo info;
    info.topic = "jobs";
    info.group = "g";
    info.oldest_pending_ts = 5;
    v.push_back(encode(GroupList{1, {info}}));
    return v;
  }();
  for (const Message& m : messages) {
    std::string_view body = body_of(m);
    for (size_t n = 0; n < body.size(); ++n) {
      INFO(command_name(m.command) << " cut to " << n << " of " << body.size() << " bytes");
      std::string cut(body.substr(0, n));
      for_each_body_type([&](auto t) {
        using T = decltype(t);
        Result<T> r = T{};
        REQUIRE_NOTHROW(r = decode<T>(cut));
        CHECK_FALSE(r.ok());
      });
    }
  }
}

TEST_CASE("protocol: a tiny body declaring a huge array is rejected without allocating it",
          "[protocol]") {
  // 5 bytes that claim 2^32-1 elements must be refused by a size check, not
  // by the allocator failing (or, under a sanitizer, aborting).
  const std::string bodies[] = {
      std::string("\xdd\xff\xff\xff\xff", 5), std::string("\xdf\xff\xff\xff\xff", 5),
      std::string("\x92\x01\xdd\xff\xff\xff\xff", 7),  // PUBLISH [1, array32]
  };
  for (const std::string& body : bodies) {
    INFO(body.size() << "-byte body");
    Error e = decode_error<Publish>(body);
    CHECK_THAT(e.message, !Catch::Contains("bad_alloc"));
  }
}

TEST_CASE("protocol: random bytes into every decoder never throw", "[protocol]") {
  std::mt19937 rng(20240501);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 48);
  size_t accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string bytes(length(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    // Half the inputs look like a small array, so the field checks are reached.
    if (i % 2 && !bytes.empty()) bytes[0] = static_cast<char>(0x90 | (i / 2 % 8));
    for_each_body_type([&](auto t) {
      using T = decltype(t);
      try {
        if (decode<T>(bytes).ok()) ++accepted;
      } catch (...) {
        FAIL("decode<" << command_name(T::kCommand) << "> threw on iteration " << i);
      }
    });
  }
  // Some short inputs are valid by chance (e.g. [5] is a PING); most are not.
  CHECK(accepted < 10000 * std::tuple_size_v<BodyTypes> / 2);
}

}  // namespace
}  // namespace eda::proto::protocol_test
