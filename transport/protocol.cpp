#include "transport/protocol.h"

#include <fmt/format.h>

#include "core/envelope_codec.h"
#include "transport/protocol_codec.h"

namespace eda::proto {

std::string_view command_name(Command c) {
  switch (c) {
    case Command::kHello:
      return "HELLO";
    case Command::kWelcome:
      return "WELCOME";
    case Command::kPing:
      return "PING";
    case Command::kPong:
      return "PONG";
    case Command::kPublish:
      return "PUBLISH";
    case Command::kConfirm:
      return "CONFIRM";
    case Command::kSubscribe:
      return "SUBSCRIBE";
    case Command::kOk:
      return "OK";
    case Command::kCredit:
      return "CREDIT";
    case Command::kDeliver:
      return "DELIVER";
    case Command::kEnd:
      return "END";
    case Command::kNotice:
      return "NOTICE";
    case Command::kUnsubscribe:
      return "UNSUBSCRIBE";
    case Command::kError:
      return "ERROR";
    case Command::kListTopics:
      return "LIST_TOPICS";
    case Command::kTopicList:
      return "TOPIC_LIST";
    case Command::kDeleteTopic:
      return "DELETE_TOPIC";
    case Command::kCreateTopic:
      return "CREATE_TOPIC";
    case Command::kStats:
      return "STATS";
    case Command::kStatsReply:
      return "STATS_REPLY";
    case Command::kReceive:
      return "RECEIVE";
    case Command::kReceived:
      return "RECEIVED";
    case Command::kSettle:
      return "SETTLE";
    case Command::kSettled:
      return "SETTLED";
    case Command::kPeek:
      return "PEEK";
    case Command::kCreateGroup:
      return "CREATE_GROUP";
    case Command::kDeleteGroup:
      return "DELETE_GROUP";
    case Command::kListGroups:
      return "LIST_GROUPS";
    case Command::kGroupList:
      return "GROUP_LIST";
    case Command::kCreateView:
      return "CREATE_VIEW";
    case Command::kDropView:
      return "DROP_VIEW";
    case Command::kRebuildView:
      return "REBUILD_VIEW";
    case Command::kViewGet:
      return "VIEW_GET";
    case Command::kViewValue:
      return "VIEW_VALUE";
    case Command::kViewList:
      return "VIEW_LIST";
    case Command::kViewRows:
      return "VIEW_ROWS";
    case Command::kViewStats:
      return "VIEW_STATS";
    case Command::kViewStatsList:
      return "VIEW_STATS_LIST";
  }
  return "UNKNOWN";
}

std::string encode_header(Command command, std::string_view ns) {
  std::string header{static_cast<char>(kVersion), static_cast<char>(command)};
  if (ns != kDefaultNamespace) header += ns;
  return header;
}

Result<Header> decode_header(std::string_view header) {
  if (header.size() < 2 || header.size() > 2 + kMaxNamespaceBytes)
    return invalid_argument(fmt::format(
        "header frame is {} bytes, expected 2 (version, command) plus at most {} of namespace",
        header.size(), kMaxNamespaceBytes));
  if (static_cast<uint8_t>(header[0]) != kVersion)
    return invalid_argument(fmt::format("protocol version {} is not supported (this is version {})",
                                        static_cast<uint8_t>(header[0]), kVersion));
  auto c = static_cast<Command>(header[1]);
  if (command_name(c) == "UNKNOWN")
    return invalid_argument(fmt::format("unknown command {}", static_cast<uint8_t>(header[1])));
  std::string_view ns = header.size() == 2 ? kDefaultNamespace : header.substr(2);
  if (Status s = validate_namespace(ns); !s) return s.error();
  return Header{c, ns};
}

template <>
Result<Hello> decode_fields(Reader& r) {
  Hello m;
  m.req_id = r.u64("req_id");
  m.client = r.str("client");
  return r.finish(std::move(m));
}
template <>
Result<Welcome> decode_fields(Reader& r) {
  Welcome m;
  m.req_id = r.u64("req_id");
  m.broker_version = r.str("broker_version");
  m.instance = r.u64("instance_id");
  m.max_message_bytes = r.u64("max_message_bytes");
  return r.finish(std::move(m));
}
template <>
Result<Ping> decode_fields(Reader& r) {
  Ping m;
  m.req_id = r.u64("req_id");
  return r.finish(m);
}
template <>
Result<Pong> decode_fields(Reader& r) {
  Pong m;
  m.req_id = r.u64("req_id");
  m.instance = r.u64("instance_id");
  return r.finish(m);
}
template <>
Result<Publish> decode_fields(Reader& r) {
  Publish m;
  m.req_id = r.u64(Publish::kIdField);
  m.envelopes = read_envelopes(r, "envelopes");
  return r.finish(std::move(m));
}
template <class M>
Result<typename BatchReader<M>::View> BatchReader<M>::read(std::string_view body) {
  zone_.clear();
  try {
    size_t offset = 0;
    Reader r(unpack_in_place(zone_, body, offset), M::kFields, command_name(M::kCommand));
    View view{r.u64(M::kIdField), {}};
    if (const msgpack::object* batch = r.array("envelopes")) {
      if (Status s = view_batch(*batch, envelopes_, headers_); !s)
        r.fail(s.error().message);
      else
        view.envelopes = envelopes_;
    }
    return r.finish(view);
  } catch (const std::exception& ex) {
    return invalid_argument(
        fmt::format("{} body is not valid msgpack: {}", command_name(M::kCommand), ex.what()));
  }
}
template class BatchReader<Publish>;
template class BatchReader<Deliver>;

template <>
Result<Confirm> decode_fields(Reader& r) {
  Confirm m;
  m.req_id = r.u64("req_id");
  if (const msgpack::object* a = r.array("offsets")) {
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      if (o.type != msgpack::type::POSITIVE_INTEGER) r.fail("an offset is not an unsigned integer");
      m.offsets.push_back(o.via.u64);
    }
  }
  if (const msgpack::object* a = r.array("duplicates")) {
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 >= m.offsets.size())
        r.fail("a duplicate is not an index of the batch");
      m.duplicates.push_back(static_cast<uint32_t>(o.via.u64));
    }
  }
  return r.finish(std::move(m));
}
template <>
Result<Subscribe> decode_fields(Reader& r) {
  Subscribe m;
  m.req_id = r.u64("req_id");
  m.sub_id = r.u64("sub_id");
  if (const msgpack::object* a = r.array("patterns")) {
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      if (o.type != msgpack::type::STR)
        r.fail("a pattern is not a string");
      else
        m.patterns.emplace_back(o.via.str.ptr, o.via.str.size);
    }
  }
  if (const msgpack::object* a = r.array("position")) {
    Reader pos(*a, 2, "position");
    auto kind = pos.u64("kind");
    m.from.value = pos.i64("value");
    if (kind > static_cast<uint64_t>(Position::Kind::kTime)) pos.fail("kind is out of range");
    m.from.kind = static_cast<Position::Kind>(kind);
    if (auto checked = pos.finish(0); !checked) r.fail(checked.error().message);
  }
  m.credit_messages = r.u64("credit_messages");
  m.credit_bytes = r.u64("credit_bytes");
  if (const msgpack::object* map = r.map("resume")) {
    for (const auto& kv : std::span(map->via.map.ptr, map->via.map.size)) {
      if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::POSITIVE_INTEGER)
        r.fail("resume must map topic strings to offsets");
      else
        m.resume.emplace(std::string(kv.key.via.str.ptr, kv.key.via.str.size), kv.val.via.u64);
    }
  }
  m.filter = r.str("filter");
  return r.finish(std::move(m));
}
template <>
Result<OkReply> decode_fields(Reader& r) {
  OkReply m;
  m.req_id = r.u64("req_id");
  return r.finish(m);
}
template <>
Result<Credit> decode_fields(Reader& r) {
  Credit m;
  m.sub_id = r.u64("sub_id");
  m.messages = r.u64("messages");
  m.bytes = r.u64("bytes");
  return r.finish(m);
}
template <>
Result<Deliver> decode_fields(Reader& r) {
  Deliver m;
  m.sub_id = r.u64(Deliver::kIdField);
  m.envelopes = read_envelopes(r, "envelopes");
  return r.finish(std::move(m));
}
template <>
Result<End> decode_fields(Reader& r) {
  End m;
  m.sub_id = r.u64("sub_id");
  return r.finish(m);
}
template <>
Result<Notice> decode_fields(Reader& r) {
  Notice m;
  m.sub_id = r.u64("sub_id");
  m.text = r.str("text");
  return r.finish(std::move(m));
}
template <>
Result<Unsubscribe> decode_fields(Reader& r) {
  Unsubscribe m;
  m.req_id = r.u64("req_id");
  m.sub_id = r.u64("sub_id");
  return r.finish(m);
}
template <>
Result<ErrorReply> decode_fields(Reader& r) {
  ErrorReply m;
  m.req_id = r.u64("req_id");
  m.code = static_cast<ErrorCode>(r.u64("code"));
  m.text = r.str("text");
  return r.finish(std::move(m));
}

template <>
Result<ListTopics> decode_fields(Reader& r) {
  ListTopics m;
  m.req_id = r.u64("req_id");
  m.pattern = r.str("pattern");
  return r.finish(std::move(m));
}
template <>
Result<Stats> decode_fields(Reader& r) {
  Stats m;
  m.req_id = r.u64("req_id");
  return r.finish(std::move(m));
}
template <>
Result<StatsReply> decode_fields(Reader& r) {
  StatsReply m;
  m.req_id = r.u64("req_id");
  if (const msgpack::object* map = r.map("counters")) {
    for (const auto& kv : std::span(map->via.map.ptr, map->via.map.size)) {
      if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::POSITIVE_INTEGER) {
        r.fail("counters: a name is not a string or a value not an unsigned integer");
        break;
      }
      m.counters.emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size), kv.val.via.u64);
    }
  }
  return r.finish(std::move(m));
}
namespace {
// [compact, tombstone_retention_ms], as TOPIC_LIST and CREATE_TOPIC carry settings.
void pack_topic_settings(Writer& w, const TopicSettings& s) {
  w.pk.pack(s.compact);
  w.pk.pack(static_cast<uint64_t>(s.tombstone_retention_ms));
}
TopicSettings read_topic_settings(Reader& r) {
  TopicSettings s;
  s.compact = r.boolean("compact");
  uint64_t retention = r.u64("tombstone_retention_ms");
  if (retention > uint64_t{INT64_MAX}) r.fail("tombstone_retention_ms is out of range");
  s.tombstone_retention_ms = static_cast<int64_t>(retention);
  return s;
}
}  // namespace
template <>
Result<TopicList> decode_fields(Reader& r) {
  TopicList m;
  m.req_id = r.u64("req_id");
  if (const msgpack::object* a = r.array("topics")) {
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      Reader t(o, 8, "topic");
      TopicInfo info;
      info.name = t.str("name");
      info.earliest_offset = t.u64("earliest");
      info.next_offset = t.u64("next");
      info.bytes = t.u64("bytes");
      info.first_ts = t.i64("first_ts");
      info.last_ts = t.i64("last_ts");
      info.settings = read_topic_settings(t);
      if (auto checked = t.finish(0); !checked) r.fail(checked.error().message);
      m.topics.push_back(std::move(info));
    }
  }
  return r.finish(std::move(m));
}
template <>
Result<DeleteTopic> decode_fields(Reader& r) {
  DeleteTopic m;
  m.req_id = r.u64("req_id");
  m.name = r.str("name");
  return r.finish(std::move(m));
}
template <>
Result<CreateTopic> decode_fields(Reader& r) {
  CreateTopic m;
  m.req_id = r.u64("req_id");
  m.name = r.str("name");
  m.settings = read_topic_settings(r);
  return r.finish(std::move(m));
}

template Result<Hello> decode(std::string_view);
template Result<Welcome> decode(std::string_view);
template Result<Ping> decode(std::string_view);
template Result<Pong> decode(std::string_view);
template Result<Publish> decode(std::string_view);
template Result<Confirm> decode(std::string_view);
template Result<Subscribe> decode(std::string_view);
template Result<OkReply> decode(std::string_view);
template Result<Credit> decode(std::string_view);
template Result<Deliver> decode(std::string_view);
template Result<End> decode(std::string_view);
template Result<Notice> decode(std::string_view);
template Result<Unsubscribe> decode(std::string_view);
template Result<ErrorReply> decode(std::string_view);
template Result<ListTopics> decode(std::string_view);
template Result<TopicList> decode(std::string_view);
template Result<Stats> decode(std::string_view);
template Result<StatsReply> decode(std::string_view);
template Result<DeleteTopic> decode(std::string_view);
template Result<CreateTopic> decode(std::string_view);

Message encode(const Hello& m) {
  Writer w(Hello::kCommand, Hello::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.client);
  return std::move(w.m);
}
Message encode(const Welcome& m) {
  Writer w(Welcome::kCommand, Welcome::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.broker_version);
  w.pk.pack(m.instance);
  w.pk.pack(m.max_message_bytes);
  return std::move(w.m);
}
Message encode(const Ping& m) {
  Writer w(Ping::kCommand, Ping::kFields);
  w.pk.pack(m.req_id);
  return std::move(w.m);
}
Message encode(const Pong& m) {
  Writer w(Pong::kCommand, Pong::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.instance);
  return std::move(w.m);
}
// The array headers and the id take at most this many bytes.
constexpr size_t kBatchFraming = 32;

Message encode_publish(uint64_t req_id, uint32_t count, std::string_view envelopes) {
  Writer w(Publish::kCommand, Publish::kFields, envelopes.size() + kBatchFraming);
  w.pk.pack(req_id);
  w.pk.pack_array(count);
  w.m.body.write(envelopes.data(), envelopes.size());
  return std::move(w.m);
}
Message encode_publish(uint64_t req_id, const std::vector<Envelope>& envelopes) {
  std::string encoded;
  StringStream stream{encoded};
  msgpack::packer<StringStream> pk(stream);
  for (const Envelope& e : envelopes) pack_envelope(pk, e);
  return encode_publish(req_id, static_cast<uint32_t>(envelopes.size()), encoded);
}
Message encode(const Confirm& m) {
  Writer w(Confirm::kCommand, Confirm::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.offsets);
  w.pk.pack(m.duplicates);
  return std::move(w.m);
}
Message encode(const Subscribe& m) {
  Writer w(Subscribe::kCommand, Subscribe::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.sub_id);
  w.pk.pack(m.patterns);
  w.pk.pack_array(2);
  w.pk.pack(static_cast<uint64_t>(m.from.kind));
  w.pk.pack(m.from.value);
  w.pk.pack(m.credit_messages);
  w.pk.pack(m.credit_bytes);
  w.pk.pack(m.resume);
  w.pk.pack(m.filter);
  return std::move(w.m);
}
Message encode(const OkReply& m) {
  Writer w(OkReply::kCommand, OkReply::kFields);
  w.pk.pack(m.req_id);
  return std::move(w.m);
}
Message encode(const Credit& m) {
  Writer w(Credit::kCommand, Credit::kFields);
  w.pk.pack(m.sub_id);
  w.pk.pack(m.messages);
  w.pk.pack(m.bytes);
  return std::move(w.m);
}
Message encode_deliver(uint64_t sub_id, const std::vector<StoredRecord>& records) {
  size_t bytes = kBatchFraming;
  for (const StoredRecord& r : records) bytes += r.body.size();
  Writer w(Deliver::kCommand, Deliver::kFields, bytes);
  w.pk.pack(sub_id);
  w.pk.pack_array(static_cast<uint32_t>(records.size()));
  for (const StoredRecord& r : records) w.m.body.write(r.body.data(), r.body.size());
  return std::move(w.m);
}
Message encode(const End& m) {
  Writer w(End::kCommand, End::kFields);
  w.pk.pack(m.sub_id);
  return std::move(w.m);
}
Message encode(const Notice& m) {
  Writer w(Notice::kCommand, Notice::kFields);
  w.pk.pack(m.sub_id);
  w.pk.pack(m.text);
  return std::move(w.m);
}
Message encode(const Unsubscribe& m) {
  Writer w(Unsubscribe::kCommand, Unsubscribe::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.sub_id);
  return std::move(w.m);
}
Message encode(const ErrorReply& m) {
  Writer w(ErrorReply::kCommand, ErrorReply::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(static_cast<uint64_t>(m.code));
  w.pk.pack(m.text);
  return std::move(w.m);
}

Message encode(const ListTopics& m) {
  Writer w(ListTopics::kCommand, ListTopics::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.pattern);
  return std::move(w.m);
}
Message encode(const Stats& m) {
  Writer w(Stats::kCommand, Stats::kFields);
  w.pk.pack(m.req_id);
  return std::move(w.m);
}
Message encode(const StatsReply& m) {
  Writer w(StatsReply::kCommand, StatsReply::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack_map(static_cast<uint32_t>(m.counters.size()));
  for (const auto& [name, value] : m.counters) {
    w.pk.pack(name);
    w.pk.pack(value);
  }
  return std::move(w.m);
}
Message encode(const TopicList& m) {
  Writer w(TopicList::kCommand, TopicList::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack_array(static_cast<uint32_t>(m.topics.size()));
  for (const TopicInfo& t : m.topics) {
    w.pk.pack_array(8);
    w.pk.pack(t.name);
    w.pk.pack(t.earliest_offset);
    w.pk.pack(t.next_offset);
    w.pk.pack(t.bytes);
    w.pk.pack(t.first_ts);
    w.pk.pack(t.last_ts);
    pack_topic_settings(w, t.settings);
  }
  return std::move(w.m);
}
Message encode(const DeleteTopic& m) {
  Writer w(DeleteTopic::kCommand, DeleteTopic::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.name);
  return std::move(w.m);
}
Message encode(const CreateTopic& m) {
  Writer w(CreateTopic::kCommand, CreateTopic::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.name);
  pack_topic_settings(w, m.settings);
  return std::move(w.m);
}

}  // namespace eda::proto
