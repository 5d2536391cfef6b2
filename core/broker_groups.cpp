// BrokerEngine's queues and durable consumer groups (docs/QUEUES.md): each
// group is a ConsumerGroup over its topic's log, journaled by a GroupStore
// in the topic's directory; dead letters are copied to the dead-letter topic.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/broker_engine.h"
#include "core/broker_state.h"
#include "core/envelope_codec.h"
#include "core/filter.h"
#include "core/log.h"

namespace eda {
namespace {

Status validate_group_name(std::string_view name) {
  if (valid_group_name(name)) return ok_status();
  return invalid_argument(
      fmt::format("invalid group name '{}': use 1 to 200 characters of A-Z a-z 0-9 _ -", name));
}

// Queues live on user topics and on dead-letter topics (so that `dlq` can
// work one); other broker topics are the broker's own.
Status validate_queue_topic(std::string_view topic) {
  if (topic.starts_with("$dlq")) return validate_system_topic(topic);
  return validate_topic(topic);
}

std::string describe(const ConsumerGroupConfig& c) {
  return fmt::format("lock {} ms, max deliveries {}, ttl {}", c.lock_ms, c.max_deliveries,
                     c.ttl_ms ? fmt::format("{} ms", *c.ttl_ms) : "none");
}

std::string group_label(const GroupRequest& g) {
  if (g.group == kQueueGroup) return fmt::format("queue {}", g.topic);
  return fmt::format("group {} on {}", g.group, g.topic);
}

// A rule is parsed once, when its group is made.
Status parse_rule(const GroupRule& rule, std::optional<Filter>& filter, Headers& set) {
  if (!rule.filter.empty()) {
    auto parsed = Filter::parse(rule.filter);
    if (!parsed) return parsed.error();
    filter = std::move(*parsed);
  }
  for (const std::string& arg : rule.set) {
    auto header = parse_header_arg(arg);
    if (!header) return header.error();
    set.push_back(std::move(*header));
  }
  for (const std::string& name : rule.remove)
    if (name.empty()) return invalid_argument("a header name to remove is empty");
  return ok_status();
}

// `<dir>/<group>.rule`: the rule as JSON, written before the group's own
// files, so that a group never exists without its rule.
std::string rule_path(const std::string& dir, const std::string& group) {
  return fmt::format("{}/{}.rule", dir, group);
}

Status write_rule(FileSystem& fs, const std::string& dir, const std::string& group,
                  const GroupRule& rule) {
  nlohmann::json j{{"filter", rule.filter}, {"set", rule.set}, {"remove", rule.remove}};
  std::string path = rule_path(dir, group), tmp = path + ".tmp";
  auto file = fs.open(tmp, OpenMode::kCreate);
  if (!file) return file.error();
  if (Status s = (*file)->rewrite(j.dump() + "\n"); !s) return s;
  if (Status s = (*file)->sync(); !s) return s;
  if (Status s = fs.rename(tmp, path); !s) return s;
  return fs.sync_dir(dir);
}

Result<GroupRule> read_rule(FileSystem& fs, const std::string& path) {
  auto file = fs.open(path, OpenMode::kReadOnly);
  if (!file) return file.error();
  std::string text((*file)->size(), '\0');
  auto n = (*file)->read_at(0, text.data(), text.size());
  if (!n) return n.error();
  try {
    auto j = nlohmann::json::parse(text);
    return GroupRule{j.at("filter").get<std::string>(), j.at("set").get<std::vector<std::string>>(),
                     j.at("remove").get<std::vector<std::string>>()};
  } catch (const std::exception& e) {
    return Error{ErrorKind::kCorruption,
                 fmt::format("{}: not a subscription rule: {}", path, e.what())};
  }
}

// The copy a rule delivers: REMOVE, then SET (replacing headers of that name).
void apply_actions(Envelope& e, const GroupRule& rule, const Headers& set) {
  std::erase_if(e.headers, [&](const auto& h) {
    return std::find(rule.remove.begin(), rule.remove.end(), h.first) != rule.remove.end() ||
           std::any_of(set.begin(), set.end(), [&](const auto& s) { return s.first == h.first; });
  });
  e.headers.insert(e.headers.end(), set.begin(), set.end());
}

}  // namespace

std::string dead_letter_topic(std::string_view topic) {
  if (is_system_topic(topic)) return fmt::format("$dlq-{}", topic.substr(1));
  return fmt::format("$dlq.{}", topic);
}

Status BrokerEngine::recover_groups(Topic& topic, std::vector<std::string>& notes) {
  std::string dir = topic_dir(topic);
  auto recovered = GroupStore::open_all(posix_file_system(), dir, committer_.get(), notes);
  if (!recovered) return recovered.error();
  for (RecoveredGroup& r : *recovered) {
    auto group = std::make_unique<Group>(
        Group{&topic, r.name, std::move(r.group), std::move(r.store), {}, {}, {}});
    if (std::string path = rule_path(dir, r.name); posix_file_system().exists(path)) {
      auto rule = read_rule(posix_file_system(), path);
      if (!rule) return rule.error();
      if (Status s = parse_rule(*rule, group->filter, group->set); !s)
        return Error{ErrorKind::kCorruption, fmt::format("{}: {}", path, s.error().message)};
      group->rule = std::move(*rule);
    }
    topic.groups.emplace(r.name, std::move(group));
  }
  return ok_status();
}

Result<BrokerEngine::Group*> BrokerEngine::add_group(Topic& topic, const std::string& name,
                                                     const ConsumerGroupConfig& config,
                                                     uint64_t start, const GroupRule& rule) {
  std::optional<Filter> filter;
  Headers set;
  if (Status s = parse_rule(rule, filter, set); !s) return s.error();
  ConsumerGroup state(config, start);
  std::unique_ptr<GroupStore> store;
  if (data_dir_) {
    std::string dir = topic_dir(topic);
    if (!rule.empty())
      if (Status s = write_rule(posix_file_system(), dir, name, rule); !s) return s.error();
    auto created =
        GroupStore::create(posix_file_system(), dir, name, config, state, committer_.get());
    if (!created) return created.error();
    store = std::move(*created);
  }
  auto group = std::make_unique<Group>(Group{&topic, name, std::move(state), std::move(store), rule,
                                             std::move(filter), std::move(set)});
  Group* g = group.get();
  topic.groups.emplace(name, std::move(group));
  return g;
}

Result<BrokerEngine::Group*> BrokerEngine::find_group(const GroupRequest& target,
                                                      bool create_queue) {
  if (Status s = validate_queue_topic(target.topic); !s) return s.error();
  if (Status s = validate_group_name(target.group); !s) return s.error();
  Topic* topic = find_topic(target.ns, target.topic);
  if (topic) {
    if (auto g = topic->groups.find(target.group); g != topic->groups.end()) return g->second.get();
  }
  if (!create_queue || target.group != kQueueGroup)
    return Error{ErrorKind::kNotFound, fmt::format("no {}", group_label(target))};
  if (!topic) {
    auto created = topic_for_publish(target.ns, target.topic);
    if (!created) return created.error();
    topic = *created;
  }
  return add_group(*topic, target.group, ConsumerGroupConfig{}, topic->log->earliest_offset());
}

Status BrokerEngine::create_group(const CreateGroupRequest& request) {
  const GroupRequest& target = request.target;
  if (Status s = validate_queue_topic(target.topic); !s) return s;
  if (Status s = validate_group_name(target.group); !s) return s;
  if (request.config.lock_ms <= 0 || request.config.max_deliveries == 0 ||
      (request.config.ttl_ms && *request.config.ttl_ms <= 0))
    return invalid_argument("lock, max deliveries and ttl must be positive");
  auto topic = topic_for_publish(target.ns, target.topic);
  if (!topic) return topic.error();
  Topic& t = **topic;
  if (auto it = t.groups.find(target.group); it != t.groups.end()) {
    const ConsumerGroupConfig& existing = it->second->state.config();
    if (same_group_config(existing, request.config) && it->second->rule == request.rule)
      return ok_status();
    return Error{ErrorKind::kConflict,
                 fmt::format("{} exists with other settings ({}); delete it first to change them",
                             group_label(target), describe(existing))};
  }
  uint64_t start = resolve_position(*t.log, request.start, t.visible);
  auto group = add_group(t, target.group, request.config, start, request.rule);
  if (!group) return group.error();
  return ok_status();
}

Status BrokerEngine::delete_group(const GroupRequest& target) {
  auto group = find_group(target, false);
  if (!group) return group.error();
  Group& g = **group;
  Status s = g.store ? g.store->destroy() : ok_status();
  if (data_dir_ && !g.rule.empty())
    if (Status r = posix_file_system().remove(rule_path(topic_dir(*g.topic), g.name)); !r && s)
      s = r;
  g.topic->groups.erase(g.name);
  ++receive_epoch_;  // parked receives on it find out
  return s;
}

std::vector<GroupInfo> BrokerEngine::groups(std::string_view ns) {
  std::vector<GroupInfo> out;
  for (auto& [key, t] : topics_) {
    if (t->ns != ns) continue;
    for (auto& [group_name, g] : t->groups) {
      g->state.skip_to(t->log->earliest_offset());
      (void)persist(*g);
      GroupInfo info{t->name, group_name, g->state.config(), g->rule, g->state.stats(t->visible),
                     0};
      if (info.stats.oldest_pending) {
        auto records = read_offsets(*t, {*info.stats.oldest_pending});
        if (!records.empty()) info.oldest_pending_ts = records.front().ts;
      }
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const GroupInfo& a, const GroupInfo& b) {
    return std::tie(a.topic, a.group) < std::tie(b.topic, b.group);
  });
  return out;
}

std::vector<StoredRecord> BrokerEngine::read_offsets(Topic& t,
                                                     const std::vector<uint64_t>& offsets) {
  // Views of one read() stay valid only until the next, so runs are copied
  // into `held_` and the views are made when every run is in.
  held_.clear();
  std::vector<std::pair<size_t, size_t>> spans;  // (start in held_, size), per record kept
  std::vector<StoredRecord> kept;
  std::vector<StoredRecord> run;
  std::string skipped;
  for (size_t i = 0; i < offsets.size();) {
    size_t j = i + 1;
    while (j < offsets.size() && offsets[j] == offsets[j - 1] + 1) ++j;
    // One read returns records of one segment at most: read on until the run is in.
    uint64_t from = offsets[i], end = offsets[i] + (j - i);
    while (from < end) {
      run.clear();
      auto next = t.log->read(from, end - from, SIZE_MAX, run, skipped);
      if (!next || *next <= from) break;
      for (const StoredRecord& r : run) {
        if (r.offset < from || r.offset >= end) continue;
        spans.emplace_back(held_.size(), r.body.size());
        held_.append(r.body);
        kept.push_back(r);
      }
      from = *next;
    }
    i = j;
  }
  for (size_t k = 0; k < kept.size(); ++k)
    kept[k].body = std::string_view(held_).substr(spans[k].first, spans[k].second);
  return kept;
}

Result<uint64_t> BrokerEngine::persist(Group& g) {
  std::vector<GroupEvent> events = g.state.take_events();
  if (!g.store || events.empty()) return uint64_t{0};
  // A snapshot holds every event taken so far: it replaces a journal grown
  // too big, and one that refuses appends after a failed write.
  Status s = g.store->wants_snapshot() ? g.store->write_snapshot(g.state) : g.store->append(events);
  if (s && g.store->wants_snapshot()) s = g.store->write_snapshot(g.state);
  if (!s) return s.error();
  return committer_->commit();
}

// Every group, listed first: dead-lettering may create a topic, and with it
// rehash topics_, under a loop over it.
std::vector<BrokerEngine::Group*> BrokerEngine::all_groups() {
  std::vector<Group*> all;
  for (auto& [key, t] : topics_)
    for (auto& [group_name, g] : t->groups) all.push_back(g.get());
  return all;
}

void BrokerEngine::move_to_dead_letters(Group& g, const std::vector<DeadLetter>& dead,
                                        int64_t now_ms) {
  if (dead.empty()) return;
  Topic& source = *g.topic;
  std::vector<uint64_t> offsets;
  for (const DeadLetter& d : dead) offsets.push_back(d.offset);
  std::vector<StoredRecord> records = read_offsets(source, offsets);
  std::vector<Envelope> copies;
  size_t k = 0;
  for (const DeadLetter& d : dead) {
    while (k < records.size() && records[k].offset < d.offset) ++k;
    if (k == records.size() || records[k].offset != d.offset) continue;  // gone by retention
    auto e = decode_envelope(records[k].body);
    if (!e) {
      log_error("{}: offset {} cannot be dead-lettered: {}", source.name, d.offset,
                e.error().message);
      continue;
    }
    e->topic = dead_letter_topic(source.name);
    e->offset = kNoOffset;
    e->headers.emplace_back("dlq.reason", d.reason);
    e->headers.emplace_back("dlq.description", d.description);
    e->headers.emplace_back("dlq.delivery_count", int64_t{d.delivery_count});
    e->headers.emplace_back("dlq.offset", static_cast<int64_t>(d.offset));
    e->headers.emplace_back("dlq.group", g.name);
    copies.push_back(std::move(*e));
  }
  if (copies.empty()) return;
  auto target = topic_for_publish(source.ns, copies.front().topic);
  if (!target) {
    log_error("{}: cannot create its dead-letter topic: {}", source.name, target.error().message);
    return;
  }
  // Copies keep their ids: the dedup index is not consulted, so a message
  // dead-lettered twice is kept twice.
  std::vector<HeaderField> headers;
  if (auto stored = store_batch(**target, view_envelopes(copies, headers), now_ms, false); !stored)
    log_error("{}: cannot store dead letters: {}", source.name, stored.error().message);
}

Result<ReceiveResult> BrokerEngine::receive(const ReceiveRequest& r, int64_t now_ms) {
  auto group = find_group(r.target, r.create_queue);
  if (!group) return group.error();
  Group& g = **group;
  Topic& t = *g.topic;
  g.state.skip_to(t.log->earliest_offset());
  MessageTime ts_of;
  if (g.state.config().ttl_ms)
    ts_of = [&](uint64_t offset) {
      auto records = read_offsets(t, {offset});
      return records.empty() ? now_ms : records.front().ts;
    };
  MessageWanted wanted;
  RecordFilter accepts = accepted_by(g.filter, t);
  // Offsets compaction removed are passed over like messages a rule does not want.
  if (accepts || t.settings.compact)
    wanted = [&](uint64_t offset) {
      auto records = read_offsets(t, {offset});
      return !records.empty() && (!accepts || accepts(records.front()));
    };
  ReceiveResult out;
  // Passing what a rule does not want is bounded per receive, so that one
  // call does not stall the broker on a long run of other messages.
  size_t passes_left = 16 * ConsumerGroup::kMaxPassesPerTake;
  while (out.deliveries.size() < r.max) {
    size_t want = r.max - out.deliveries.size();
    TakeResult taken =
        r.delete_on_receive
            ? g.state.receive_and_delete(r.consumer, want, t.visible, now_ms, ts_of, wanted)
            : g.state.take(r.consumer, want, t.visible, now_ms, ts_of, r.lock_ms, wanted);
    move_to_dead_letters(g, taken.dead_letters, now_ms);
    out.deliveries.insert(out.deliveries.end(), taken.deliveries.begin(), taken.deliveries.end());
    bool cut_short = taken.dead_letters.size() >= ConsumerGroup::kMaxDeadLettersPerTake ||
                     taken.passed >= ConsumerGroup::kMaxPassesPerTake;
    if (!cut_short) break;
    passes_left -= std::min(passes_left, taken.passed);
    if (passes_left == 0) {
      ++receive_epoch_;  // more to examine: a waiting receive tries again soon
      break;
    }
  }
  std::vector<uint64_t> offsets;
  for (const GroupDelivery& d : out.deliveries) offsets.push_back(d.offset);
  out.records = read_offsets(t, offsets);
  if (out.records.size() != out.deliveries.size()) {
    // On a compacted topic a missing record was superseded by a newer one of
    // its key: it is settled as done. Elsewhere a record that cannot be read
    // (corrupt) stays leased until its lock expires.
    std::erase_if(out.deliveries, [&](const GroupDelivery& d) {
      bool missing = std::none_of(out.records.begin(), out.records.end(),
                                  [&](const StoredRecord& rec) { return rec.offset == d.offset; });
      if (missing && t.settings.compact) (void)g.state.complete(d.token);
      return missing;
    });
  }
  if (!g.rule.set.empty() || !g.rule.remove.empty()) rewrite_for_rule(g, out.records);
  auto ticket = persist(g);
  if (!ticket) return ticket.error();
  if (r.delete_on_receive) out.ticket = *ticket;
  return out;
}

void BrokerEngine::rewrite_for_rule(const Group& g, std::vector<StoredRecord>& records) {
  rewritten_.clear();
  std::vector<std::pair<size_t, size_t>> spans;
  msgpack::sbuffer buffer;
  for (const StoredRecord& r : records) {
    auto e = decode_envelope(r.body);
    size_t start = rewritten_.size();
    if (e) {
      apply_actions(*e, g.rule, g.set);
      buffer.clear();
      msgpack::packer<msgpack::sbuffer> pk(buffer);
      pack_envelope(pk, *e);
      rewritten_.append(buffer.data(), buffer.size());
    } else {
      rewritten_.append(r.body);  // delivered as stored; the reader reports it
    }
    spans.emplace_back(start, rewritten_.size() - start);
  }
  for (size_t i = 0; i < records.size(); ++i)
    records[i].body = std::string_view(rewritten_).substr(spans[i].first, spans[i].second);
}

Result<std::vector<StoredRecord>> BrokerEngine::peek(const GroupRequest& target, size_t max) {
  auto group = find_group(target, false);
  if (!group) {
    // A queue not created yet reads as a new one would: the topic from its start.
    if (group.error().kind != ErrorKind::kNotFound || target.group != kQueueGroup)
      return group.error();
    Topic* topic = find_topic(target.ns, target.topic);
    if (!topic) return std::vector<StoredRecord>{};
    Topic& t = *topic;
    ConsumerGroup fresh(ConsumerGroupConfig{}, t.log->earliest_offset());
    return read_offsets(t, fresh.peek(max, t.visible));
  }
  Group& g = **group;
  g.state.skip_to(g.topic->log->earliest_offset());
  (void)persist(g);
  std::vector<StoredRecord> records = read_offsets(*g.topic, g.state.peek(max, g.topic->visible));
  // As the group's readers would get them: what its rule passes, as it changes them.
  RecordFilter accepts = accepted_by(g.filter, *g.topic);
  std::erase_if(records, [&](const StoredRecord& r) {
    return accepts && r.offset >= g.state.cursor() && !accepts(r);
  });
  if (!g.rule.set.empty() || !g.rule.remove.empty()) rewrite_for_rule(g, records);
  return records;
}

Result<SettleReceipt> BrokerEngine::settle(const GroupRequest& target,
                                           const std::vector<Settlement>& batch, int64_t now_ms) {
  auto group = find_group(target, false);
  if (!group) return group.error();
  Group& g = **group;
  SettleReceipt receipt;
  std::vector<DeadLetter> dead;
  for (const Settlement& s : batch) {
    Status done = ok_status();
    switch (s.action) {
      case SettleAction::kComplete:
        done = g.state.complete(s.token);
        break;
      case SettleAction::kAbandon: {
        auto abandoned = g.state.abandon(s.token);
        if (!abandoned)
          done = abandoned.error();
        else if (*abandoned)
          dead.push_back(std::move(**abandoned));
        break;
      }
      case SettleAction::kDeadLetter: {
        auto moved = g.state.dead_letter(s.token, s.reason, s.description);
        if (!moved)
          done = moved.error();
        else
          dead.push_back(std::move(*moved));
        break;
      }
      case SettleAction::kRenew:
        if (auto renewed = g.state.renew(s.token, now_ms); !renewed) done = renewed.error();
        break;
    }
    receipt.errors.push_back(done ? std::string() : done.error().message);
  }
  move_to_dead_letters(g, dead, now_ms);
  auto ticket = persist(g);
  if (!ticket) return ticket.error();
  receipt.ticket = *ticket;
  ++receive_epoch_;  // an abandon makes a message available again
  return receipt;
}

void BrokerEngine::release_consumer(ConsumerId consumer) {
  if (consumer == 0) return;
  int64_t now = now_ms();
  for (Group* g : all_groups()) {
    move_to_dead_letters(*g, g->state.release(consumer), now);
    if (auto s = persist(*g); !s) log_error("{}: {}", g->topic->name, s.error().message);
  }
  ++receive_epoch_;
}

void BrokerEngine::expire_locks(int64_t now_ms) {
  for (Group* g : all_groups()) {
    auto due = g->state.next_lock_expiry();
    if (!due || *due > now_ms) continue;
    move_to_dead_letters(*g, g->state.expire(now_ms), now_ms);
    if (auto s = persist(*g); !s) log_error("{}: {}", g->topic->name, s.error().message);
    ++receive_epoch_;
  }
}

std::optional<int64_t> BrokerEngine::next_lock_expiry() const {
  std::optional<int64_t> next;
  for (const auto& [key, t] : topics_)
    for (const auto& [group_name, g] : t->groups)
      if (auto due = g->state.next_lock_expiry(); due && (!next || *due < *next)) next = due;
  return next;
}

}  // namespace eda
