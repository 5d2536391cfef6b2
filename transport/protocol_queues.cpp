// Bodies of the queue and group commands (RECEIVE ... GROUP_LIST).
#include "transport/protocol.h"
#include "transport/protocol_codec.h"

namespace eda::proto {
namespace {

constexpr uint32_t kLockFields = 3;
constexpr uint32_t kSettlementFields = 4;
constexpr uint32_t kGroupInfoFields = 15;

void read_target(Reader& r, GroupRequest& target) {
  target.topic = r.str("topic");
  target.group = r.str("group");
}

std::vector<std::string> read_strings(Reader& r, std::string_view field) {
  std::vector<std::string> out;
  if (const msgpack::object* a = r.array(field)) {
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      if (o.type != msgpack::type::STR)
        r.fail(fmt::format("an element of {} is not a string", field));
      else
        out.emplace_back(o.via.str.ptr, o.via.str.size);
    }
  }
  return out;
}

void read_rule(Reader& r, GroupRule& rule) {
  rule.filter = r.str("filter");
  rule.set = read_strings(r, "set");
  rule.remove = read_strings(r, "remove");
}

void pack_rule(Packer& pk, const GroupRule& rule) {
  pk.pack(rule.filter);
  pk.pack(rule.set);
  pk.pack(rule.remove);
}

void pack_target(Packer& pk, const GroupRequest& target) {
  pk.pack(target.topic);
  pk.pack(target.group);
}

// Each element of the array field `field`, read by `read_one` with its own Reader.
template <class T, class F>
std::vector<T> read_list(Reader& r, std::string_view field, uint32_t fields,
                         std::string_view element, F read_one) {
  std::vector<T> out;
  const msgpack::object* a = r.array(field);
  if (!a) return out;
  for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
    Reader item(o, fields, element);
    out.push_back(read_one(item));
    if (auto checked = item.finish(0); !checked) r.fail(checked.error().message);
  }
  return out;
}

void pack_locks(Packer& pk, const std::vector<Lock>& locks) {
  pk.pack_array(static_cast<uint32_t>(locks.size()));
  for (const Lock& l : locks) {
    pk.pack_array(kLockFields);
    pk.pack(l.token);
    pk.pack(l.delivery_count);
    pk.pack(l.expiry_ms);
  }
}

}  // namespace

template <>
Result<Receive> decode_fields(Reader& r) {
  Receive m;
  m.req_id = r.u64("req_id");
  m.topic = r.str("topic");
  m.group = r.str("group");
  m.max = r.u64("max");
  m.lock_ms = r.u64("lock_ms");
  uint64_t mode = r.u64("mode");
  if (mode > static_cast<uint64_t>(ReceiveMode::kReceiveAndDelete)) r.fail("mode is out of range");
  m.mode = static_cast<ReceiveMode>(mode);
  m.wait_ms = r.u64("wait_ms");
  return r.finish(std::move(m));
}
Message encode(const Receive& m) {
  Writer w(Receive::kCommand, Receive::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.topic);
  w.pk.pack(m.group);
  w.pk.pack(m.max);
  w.pk.pack(m.lock_ms);
  w.pk.pack(static_cast<uint64_t>(m.mode));
  w.pk.pack(m.wait_ms);
  return std::move(w.m);
}

template <>
Result<Received> decode_fields(Reader& r) {
  Received m;
  m.req_id = r.u64("req_id");
  m.envelopes = read_envelopes(r, "envelopes");
  m.locks = read_list<Lock>(r, "locks", kLockFields, "lock", [](Reader& l) {
    Lock lock;
    lock.token = l.u64("lock_token");
    uint64_t count = l.u64("delivery_count");
    if (count > UINT32_MAX) l.fail("delivery_count is out of range");
    lock.delivery_count = static_cast<uint32_t>(count);
    lock.expiry_ms = l.i64("lock_expiry");
    return lock;
  });
  if (m.locks.size() != m.envelopes.size()) r.fail("locks and envelopes differ in number");
  return r.finish(std::move(m));
}
Message encode(const Received& m) {
  Writer w(Received::kCommand, Received::kFields);
  w.pk.pack(m.req_id);
  pack_batch(w.pk, std::span(m.envelopes));
  pack_locks(w.pk, m.locks);
  return std::move(w.m);
}
Message encode_received(uint64_t req_id, const std::vector<StoredRecord>& records,
                        const std::vector<Lock>& locks) {
  Writer w(Received::kCommand, Received::kFields);
  w.pk.pack(req_id);
  w.pk.pack_array(static_cast<uint32_t>(records.size()));
  for (const StoredRecord& r : records) w.m.body.write(r.body.data(), r.body.size());
  pack_locks(w.pk, locks);
  return std::move(w.m);
}

template <>
Result<Settle> decode_fields(Reader& r) {
  Settle m;
  m.req_id = r.u64("req_id");
  m.topic = r.str("topic");
  m.group = r.str("group");
  m.settlements =
      read_list<Settlement>(r, "settlements", kSettlementFields, "settlement", [](Reader& s) {
        Settlement one;
        one.token = s.u64("lock_token");
        uint64_t action = s.u64("action");
        if (action < static_cast<uint64_t>(SettleAction::kComplete) ||
            action > static_cast<uint64_t>(SettleAction::kRenew))
          s.fail("action is out of range");
        one.action = static_cast<SettleAction>(action);
        one.reason = s.str("reason");
        one.description = s.str("description");
        return one;
      });
  return r.finish(std::move(m));
}
Message encode(const Settle& m) {
  Writer w(Settle::kCommand, Settle::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.topic);
  w.pk.pack(m.group);
  w.pk.pack_array(static_cast<uint32_t>(m.settlements.size()));
  for (const Settlement& s : m.settlements) {
    w.pk.pack_array(kSettlementFields);
    w.pk.pack(s.token);
    w.pk.pack(static_cast<uint64_t>(s.action));
    w.pk.pack(s.reason);
    w.pk.pack(s.description);
  }
  return std::move(w.m);
}

template <>
Result<Settled> decode_fields(Reader& r) {
  Settled m;
  m.req_id = r.u64("req_id");
  if (const msgpack::object* a = r.array("errors")) {
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      if (o.type != msgpack::type::STR)
        r.fail("an error is not a string");
      else
        m.errors.emplace_back(o.via.str.ptr, o.via.str.size);
    }
  }
  return r.finish(std::move(m));
}
Message encode(const Settled& m) {
  Writer w(Settled::kCommand, Settled::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.errors);
  return std::move(w.m);
}

template <>
Result<Peek> decode_fields(Reader& r) {
  Peek m;
  m.req_id = r.u64("req_id");
  m.topic = r.str("topic");
  m.group = r.str("group");
  m.max = r.u64("max");
  return r.finish(std::move(m));
}
Message encode(const Peek& m) {
  Writer w(Peek::kCommand, Peek::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.topic);
  w.pk.pack(m.group);
  w.pk.pack(m.max);
  return std::move(w.m);
}

template <>
Result<CreateGroup> decode_fields(Reader& r) {
  CreateGroup m;
  m.req_id = r.u64("req_id");
  read_target(r, m.request.target);
  ConsumerGroupConfig& c = m.request.config;
  c.lock_ms = r.i64("lock_ms");
  uint64_t max_deliveries = r.u64("max_deliveries");
  if (max_deliveries > UINT32_MAX) r.fail("max_deliveries is out of range");
  c.max_deliveries = static_cast<uint32_t>(max_deliveries);
  if (int64_t ttl = r.i64("ttl_ms"); ttl != 0) c.ttl_ms = ttl;
  if (const msgpack::object* a = r.array("position")) {
    Reader pos(*a, 2, "position");
    auto kind = pos.u64("kind");
    m.request.start.value = pos.i64("value");
    if (kind > static_cast<uint64_t>(Position::Kind::kTime)) pos.fail("kind is out of range");
    m.request.start.kind = static_cast<Position::Kind>(kind);
    if (auto checked = pos.finish(0); !checked) r.fail(checked.error().message);
  }
  read_rule(r, m.request.rule);
  return r.finish(std::move(m));
}
Message encode(const CreateGroup& m) {
  Writer w(CreateGroup::kCommand, CreateGroup::kFields);
  w.pk.pack(m.req_id);
  pack_target(w.pk, m.request.target);
  const ConsumerGroupConfig& c = m.request.config;
  w.pk.pack(c.lock_ms);
  w.pk.pack(c.max_deliveries);
  w.pk.pack(c.ttl_ms.value_or(0));
  w.pk.pack_array(2);
  w.pk.pack(static_cast<uint64_t>(m.request.start.kind));
  w.pk.pack(m.request.start.value);
  pack_rule(w.pk, m.request.rule);
  return std::move(w.m);
}

template <>
Result<DeleteGroup> decode_fields(Reader& r) {
  DeleteGroup m;
  m.req_id = r.u64("req_id");
  read_target(r, m.target);
  return r.finish(std::move(m));
}
Message encode(const DeleteGroup& m) {
  Writer w(DeleteGroup::kCommand, DeleteGroup::kFields);
  w.pk.pack(m.req_id);
  pack_target(w.pk, m.target);
  return std::move(w.m);
}

template <>
Result<ListGroups> decode_fields(Reader& r) {
  ListGroups m;
  m.req_id = r.u64("req_id");
  return r.finish(m);
}
Message encode(const ListGroups& m) {
  Writer w(ListGroups::kCommand, ListGroups::kFields);
  w.pk.pack(m.req_id);
  return std::move(w.m);
}

template <>
Result<GroupList> decode_fields(Reader& r) {
  GroupList m;
  m.req_id = r.u64("req_id");
  m.groups = read_list<GroupInfo>(r, "groups", kGroupInfoFields, "group", [](Reader& g) {
    GroupInfo info;
    info.topic = g.str("topic");
    info.group = g.str("group");
    info.config.lock_ms = g.i64("lock_ms");
    uint64_t max_deliveries = g.u64("max_deliveries");
    if (max_deliveries > UINT32_MAX) g.fail("max_deliveries is out of range");
    info.config.max_deliveries = static_cast<uint32_t>(max_deliveries);
    if (int64_t ttl = g.i64("ttl_ms"); ttl != 0) info.config.ttl_ms = ttl;
    info.stats.pending = g.u64("pending");
    info.stats.locked = g.u64("locked");
    info.stats.completed = g.u64("completed");
    info.stats.dead_lettered = g.u64("dead_lettered");
    info.stats.delivered = g.u64("delivered");
    info.stats.lost = g.u64("lost");
    info.oldest_pending_ts = g.i64("oldest_pending_ts");
    read_rule(g, info.rule);
    return info;
  });
  return r.finish(std::move(m));
}
Message encode(const GroupList& m) {
  Writer w(GroupList::kCommand, GroupList::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack_array(static_cast<uint32_t>(m.groups.size()));
  for (const GroupInfo& g : m.groups) {
    w.pk.pack_array(kGroupInfoFields);
    w.pk.pack(g.topic);
    w.pk.pack(g.group);
    w.pk.pack(g.config.lock_ms);
    w.pk.pack(g.config.max_deliveries);
    w.pk.pack(g.config.ttl_ms.value_or(0));
    w.pk.pack(g.stats.pending);
    w.pk.pack(g.stats.locked);
    w.pk.pack(g.stats.completed);
    w.pk.pack(g.stats.dead_lettered);
    w.pk.pack(g.stats.delivered);
    w.pk.pack(g.stats.lost);
    w.pk.pack(g.oldest_pending_ts);
    pack_rule(w.pk, g.rule);
  }
  return std::move(w.m);
}

template Result<Receive> decode(std::string_view);
template Result<Received> decode(std::string_view);
template Result<Settle> decode(std::string_view);
template Result<Settled> decode(std::string_view);
template Result<Peek> decode(std::string_view);
template Result<CreateGroup> decode(std::string_view);
template Result<DeleteGroup> decode(std::string_view);
template Result<ListGroups> decode(std::string_view);
template Result<GroupList> decode(std::string_view);

}  // namespace eda::proto
