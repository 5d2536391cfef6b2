#include "transport/protocol.h"

#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/envelope_codec.h"

namespace eda::proto {
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

TEST_CASE("protocol: DELIVER round trip", "[protocol]") {
  std::vector<Envelope> stored;
  for (int i = 1; i <= 4; ++i) stored.push_back(sample_envelope(i));
  std::vector<std::string> bodies;
  for (const Envelope& e : stored) bodies.push_back(encode_envelope(e));
  std::vector<StoredRecord> records;
  for (size_t i = 0; i < stored.size(); ++i)
    records.push_back({stored[i].offset, stored[i].ts, bodies[i]});
  Deliver m = round_trip<Deliver>(encode_deliver(12, records));
  CHECK(m.sub_id == 12);
  CHECK(m.envelopes == stored);
  CHECK(round_trip<Deliver>(encode_deliver(1, {})).envelopes.empty());
}

TEST_CASE("protocol: LIST_TOPICS, TOPIC_LIST and DELETE_TOPIC round trip", "[protocol]") {
  ListTopics l = round_trip<ListTopics>(encode(ListTopics{4, "orders.>"}));
  CHECK(l.req_id == 4);
  CHECK(l.pattern == "orders.>");
  TopicList t;
  t.req_id = 5;
  t.topics = {{"a", 0, 10, 1234, 1'714'564'800'000, 1'714'564'900'000},
              {"b.c", 7, 7, 0, 0, 0},
              {"neg", 1, 2, 3, -5, -1}};
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
  }
  CHECK(round_trip<TopicList>(encode(TopicList{6, {}})).topics.empty());
  DeleteTopic d = round_trip<DeleteTopic>(encode(DeleteTopic{9, "orders.eu"}));
  CHECK(d.req_id == 9);
  CHECK(d.name == "orders.eu");
}

TEST_CASE("protocol: ERROR round trip with every code", "[protocol]") {
  for (ErrorCode code :
       {ErrorCode::kBadFrame, ErrorCode::kUnsupportedVersion, ErrorCode::kRejected,
        ErrorCode::kUnknownSubscription, ErrorCode::kInternal, ErrorCode::kStorage}) {
    INFO(static_cast<int>(code));
    ErrorReply m = round_trip<ErrorReply>(encode(ErrorReply{21, code, "why it failed"}));
    CHECK(m.req_id == 21);
    CHECK(m.code == code);
    CHECK(m.text == "why it failed");
  }
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
}

// --- headers ---

const Command kAllCommands[] = {
    Command::kHello,       Command::kWelcome, Command::kPing,       Command::kPong,
    Command::kPublish,     Command::kConfirm, Command::kSubscribe,  Command::kOk,
    Command::kCredit,      Command::kDeliver, Command::kEnd,        Command::kNotice,
    Command::kUnsubscribe, Command::kError,   Command::kListTopics, Command::kTopicList,
    Command::kDeleteTopic, Command::kReceive, Command::kReceived,   Command::kSettle,
    Command::kSettled,     Command::kPeek,    Command::kCreateGroup, Command::kDeleteGroup,
    Command::kListGroups,  Command::kGroupList,
};

std::string header(uint8_t version, uint8_t command) {
  return std::string{static_cast<char>(version), static_cast<char>(command)};
}

TEST_CASE("protocol: decode_header accepts every command of this version", "[protocol]") {
  std::set<std::string_view> names;
  for (Command c : kAllCommands) {
    auto decoded = decode_header(header(kVersion, static_cast<uint8_t>(c)));
    REQUIRE(decoded.ok());
    CHECK(*decoded == c);
    CHECK(command_name(c) != "UNKNOWN");
    names.insert(command_name(c));
  }
  CHECK(names.size() == std::size(kAllCommands));
}

TEST_CASE("protocol: decode_header rejects a header of the wrong size", "[protocol]") {
  for (std::string h : {std::string(), std::string("\x01"), std::string("\x01\x03\x00", 3),
                        std::string("\x01\x03\x03\x03")}) {
    INFO(h.size() << " bytes");
    auto r = decode_header(h);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("expected 2"));
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
  SECTION("a position kind out of range") {
    const Field bad = [](Packer& p) {
      p.pack_array(2);
      p.pack(uint64_t{5});
      p.pack(int64_t{0});
    };
    CHECK_THAT(decode_error<Subscribe>(with(3, bad)).message, Catch::Contains("kind"));
  }
  SECTION("a position of one element") {
    const Field bad = [](Packer& p) {
      p.pack_array(1);
      p.pack(uint64_t{0});
    };
    CHECK_THAT(decode_error<Subscribe>(with(3, bad)).message, Catch::Contains("position"));
  }
  SECTION("a position whose kind or value has the wrong type") {
    const Field bad_kind = [](Packer& p) {
      p.pack_array(2);
      p.pack(std::string("earliest"));
      p.pack(int64_t{0});
    };
    CHECK_THAT(decode_error<Subscribe>(with(3, bad_kind)).message, Catch::Contains("kind"));
    const Field bad_value = [](Packer& p) {
      p.pack_array(2);
      p.pack(uint64_t{2});
      p.pack(std::string("5"));
    };
    CHECK_THAT(decode_error<Subscribe>(with(3, bad_value)).message, Catch::Contains("value"));
    const Field too_big = [](Packer& p) {
      p.pack_array(2);
      p.pack(uint64_t{2});
      p.pack(uint64_t{INT64_MAX} + 1);
    };
    CHECK_THAT(decode_error<Subscribe>(with(3, too_big)).message, Catch::Contains("value"));
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
    p.pack_array(6);
    p.pack(std::string("a"));
    p.pack(uint64_t{0});
    p.pack(uint64_t{1});
    p.pack(uint64_t{2});
    p.pack(int64_t{3});
    p.pack(int64_t{4});
  };
  check_field_errors<TopicList>({{"req_id", uint_field(1), kNil}, {"topics", topics, kEmptyMap}});
  struct Case {
    const char* field;
    int index;
    Field bad;
  };
  const std::vector<Case> cases = {{"name", 0, uint_field(1)}, {"earliest", 1, kNegative},
                                   {"next", 2, kString},       {"bytes", 3, kFloat},
                                   {"first_ts", 4, kString},   {"last_ts", 5, kNil}};
  for (const Case& c : cases) {
    INFO("topic entry field " << c.field);
    const Field entry = [&](Packer& p) {
      p.pack_array(1);
      p.pack_array(6);
      const Field fields[] = {str_field("a"), uint_field(0), uint_field(1),
                              uint_field(2),  uint_field(3), uint_field(4)};
      for (int i = 0; i < 6; ++i) (i == c.index ? c.bad : fields[i])(p);
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

// Applies `f` to a default-constructed value of every body type.
template <class F>
void for_each_body_type(F&& f) {
  std::apply(
      [&](auto... t) { (f(t), ...); },
      std::tuple<Hello, Welcome, Ping, Pong, Publish, Confirm, Subscribe, OkReply, Credit, Deliver,
                 End, Notice, Unsubscribe, ErrorReply, ListTopics, TopicList, DeleteTopic>{});
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
    v.push_back(encode(TopicList{1, {{"a", 0, 1, 2, 3, 4}}}));
    v.push_back(encode(DeleteTopic{1, "a"}));
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
  CHECK(accepted < 10000 * 17 / 2);
}

}  // namespace
}  // namespace eda::proto
