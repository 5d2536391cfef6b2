#include "core/broker_engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/broker_state.h"
#include "core/compactor.h"
#include "core/disk_log.h"
#include "core/envelope_codec.h"
#include "core/log.h"
#include "core/memory_log.h"
#include "core/record_filter.h"
#include "core/topic.h"
#include "core/view_set.h"

namespace eda {
namespace {

// Keeps the records of records[from...] that `wanted` accepts, at most `room`
// of them and about `byte_room` bytes; returns the offset after the last
// record it looked at (`read_up_to` when it looked at all).
uint64_t keep_matching(const RecordFilter& wanted, std::vector<StoredRecord>& records, size_t from,
                       size_t room, size_t byte_room, uint64_t read_up_to) {
  size_t kept = from;
  size_t bytes = 0;
  for (size_t i = from; i < records.size(); ++i) {
    if (kept - from == room || bytes >= byte_room) {
      read_up_to = records[i].offset;
      break;
    }
    if (!wanted(records[i])) continue;
    bytes += records[i].body.size();
    records[kept++] = records[i];
  }
  records.resize(kept);
  return read_up_to;
}

}  // namespace

BrokerEngine::BrokerEngine(const EngineConfig& config)
    : config_(config),
      batch_(config.data_dir ? RecordBatch::Reader::kDiskLog : RecordBatch::Reader::kMemoryLog) {}
BrokerEngine::~BrokerEngine() = default;

Result<std::unique_ptr<BrokerEngine>> BrokerEngine::open(const EngineConfig& config,
                                                         std::vector<std::string>& notes) {
  std::unique_ptr<BrokerEngine> engine(new BrokerEngine(config));
  if (!config.data_dir) {
    if (Status s = engine->open_views(notes); !s) return s.error();
    return engine;
  }
  auto dir = DataDir::lock(*config.data_dir);
  if (!dir) return dir.error();
  engine->data_dir_.emplace(std::move(*dir));
  engine->committer_ = std::make_unique<GroupCommitter>(posix_file_system(), config.fsync);
  auto namespaces = engine->data_dir_->namespaces();
  if (!namespaces) return namespaces.error();
  DiskLogOptions options{config.segment_bytes, true, engine->committer_.get()};
  for (const std::string& ns : *namespaces) {
    auto names = engine->data_dir_->topics(posix_file_system(), ns);
    if (!names) return names.error();
    for (const std::string& name : *names) {
      std::string dir = engine->data_dir_->topic_dir(ns, name);
      auto settings = load_topic_settings(posix_file_system(), dir);
      if (!settings) return settings.error();
      auto log = DiskLog::open(posix_file_system(), dir, options, notes);
      if (!log) return log.error();
      Topic& topic = engine->add_topic(ns, name, std::move(*log));
      topic.settings = *settings;
      engine->rebuild_dedup(topic, now_ms());
      if (Status s = engine->recover_groups(topic, notes); !s) return s.error();
    }
  }
  if (Status s = engine->open_views(notes); !s) return s.error();
  return engine;
}

void BrokerEngine::rebuild_dedup(Topic& t, int64_t now) {
  // The ids stored within the window (by their ts), at most the index's size.
  uint64_t end = t.log->next_offset();
  uint64_t start =
      resolve_position(*t.log, {Position::Kind::kTime, now - config_.dedup_window_ms}, end);
  start = std::max(start, end - std::min<uint64_t>(end, config_.dedup_max_ids));
  std::vector<StoredRecord> records;
  std::string skipped;
  while (start < end) {
    records.clear();
    auto next = t.log->read(start, 10000, 16u << 20, records, skipped);
    if (!next) break;
    for (const StoredRecord& r : records) t.dedup.add(envelope_id(r.body), r.offset, r.ts);
    start = *next;
  }
}

BrokerEngine::Topic& BrokerEngine::add_topic(std::string_view ns, const std::string& name,
                                             std::unique_ptr<TopicLog> log) {
  auto topic = std::make_unique<Topic>(config_);
  topic->ns = ns;
  topic->name = name;
  topic->serial = ++topics_made_;
  topic->visible = log->next_offset();
  topic->log = std::move(log);
  Topic& t = *topic;
  topics_.emplace(topic_key(ns, name), std::move(topic));
  return t;
}

BrokerEngine::Topic* BrokerEngine::find_topic(std::string_view ns, std::string_view name) {
  auto it = topics_.find(topic_key(ns, name));
  return it == topics_.end() ? nullptr : it->second.get();
}

std::string BrokerEngine::topic_dir(const Topic& topic) const {
  return data_dir_->topic_dir(topic.ns, topic.name);
}

Result<BrokerEngine::Topic*> BrokerEngine::topic_for_publish(std::string_view ns,
                                                             const std::string& name) {
  if (Topic* t = find_topic(ns, name)) return t;
  return make_topic(ns, name, TopicSettings{});
}

Result<BrokerEngine::Topic*> BrokerEngine::make_topic(std::string_view ns, const std::string& name,
                                                      const TopicSettings& settings) {
  std::unique_ptr<TopicLog> log;
  if (data_dir_) {
    FileSystem& fs = posix_file_system();
    std::string dir = data_dir_->topic_dir(std::string(ns), name);
    // Settings before the first segment: a crash in between leaves a topic
    // with its settings and no segment, which starts empty.
    if (settings != TopicSettings{}) {
      if (Status s = fs.create_dirs(dir); !s) return s.error();
      if (Status s = save_topic_settings(fs, dir, settings); !s) return s.error();
      // The topic's own entry too, before `topic create` answers.
      if (Status s = fs.sync_dir(dir.substr(0, dir.rfind('/'))); !s) return s.error();
    }
    DiskLogOptions options{config_.segment_bytes, true, committer_.get()};
    auto disk = DiskLog::create(fs, dir, options);
    if (!disk) return disk.error();
    log = std::move(*disk);
  } else {
    log = std::make_unique<MemoryLog>();
  }
  Topic& topic = add_topic(ns, name, std::move(log));
  topic.settings = settings;
  // Subscriptions made before the topic existed see all of it.
  for (auto& [id, sub] : subs_)
    if (sub->matches(topic)) watch(*sub, id, topic, 0);
  return &topic;
}

void BrokerEngine::watch(Subscription& sub, SubscriptionId id, Topic& topic, uint64_t start) {
  sub.cursors.push_back({&topic, start});
  topic.watchers.push_back(id);
}

Result<PublishReceipt> BrokerEngine::publish(const std::vector<Envelope>& batch, int64_t now_ms,
                                             std::string_view ns) {
  std::vector<HeaderField> headers;
  return publish(view_envelopes(batch, headers), now_ms, ns);
}

Result<PublishReceipt> BrokerEngine::publish(std::span<const EnvelopeView> batch, int64_t now_ms,
                                             std::string_view ns) {
  if (batch.empty()) return PublishReceipt{};
  if (batch.size() > kMaxBatchMessages)
    return invalid_argument(fmt::format("a publish batch of {} messages is over the limit of {}",
                                        batch.size(), kMaxBatchMessages));
  // Every message names the first one's topic, so one check of it serves all.
  if (Status s = validate_topic(batch[0].topic); !s) return s.error();
  for (size_t i = 0; i < batch.size(); ++i) {
    const EnvelopeView& e = batch[i];
    if (e.topic != batch[0].topic)
      return invalid_argument("a publish batch must hold one topic; send one batch per topic");
    if (Status s = check_message_limits(e, config_.max_message_bytes); !s)
      return invalid_argument(fmt::format("message {} of the batch {}", i + 1, s.error().message));
  }
  Topic* topic = find_topic(ns, batch[0].topic);
  if (!topic) {
    auto made = topic_for_publish(ns, std::string(batch[0].topic));
    if (!made) return made.error();
    topic = *made;
  }
  if (topic->settings.compact)
    for (size_t i = 0; i < batch.size(); ++i)
      if (!batch[i].key)
        return invalid_argument(fmt::format(
            "message {} of the batch has no key, and topic {} is compacted (it keeps the newest "
            "message per key); give each message a key (pub -k KEY)",
            i + 1, topic->name));
  return store_batch(*topic, batch, now_ms, true);
}

Result<PublishReceipt> BrokerEngine::store_batch(Topic& t, std::span<const EnvelopeView> batch,
                                                 int64_t now_ms, bool dedup) {
  PublishReceipt receipt;
  receipt.offsets.reserve(batch.size());
  batch_.clear();
  // All keys first, so that the index's cache misses for the batch overlap.
  dedup_keys_.assign(batch.size(), DedupIndex::kNoKey);
  if (dedup)
    for (size_t i = 0; i < batch.size(); ++i) {
      dedup_keys_[i] = DedupIndex::key_of(batch[i].id);
      t.dedup.prefetch(dedup_keys_[i]);
    }
  size_t remembered = 0;  // ids added to the dedup index for this batch
  uint64_t offset = t.log->next_offset();
  for (uint32_t i = 0; i < batch.size(); ++i) {
    EnvelopeView e = batch[i];
    // Also finds a repeat within this batch: ids are remembered as they are taken.
    std::optional<uint64_t> prior = t.dedup.find(dedup_keys_[i], now_ms);
    if (prior) {
      receipt.offsets.push_back(*prior);
      receipt.duplicates.push_back(i);
      continue;
    }
    if (e.ts == 0) e.ts = now_ms;
    e.offset = offset++;
    std::string assigned_id;  // lives until add() below has encoded it
    if (e.id.empty()) {
      assigned_id = ids_.next(now_ms);
      e.id = assigned_id;
    } else if (dedup) {
      t.dedup.add(dedup_keys_[i], e.offset, now_ms);
      ++remembered;
    }
    receipt.offsets.push_back(e.offset);
    batch_.add(e);
  }
  if (Status s = t.log->append(batch_); !s) {
    t.dedup.forget_newest(remembered);
    return runtime_error(
        fmt::format("cannot store messages for {}: {}", t.name, s.error().message));
  }
  if (!data_dir_) {
    if (!t.settings.compact) (void)t.log->enforce_retention(config_.retention, now_ms);
    make_visible(t, offset);
    return receipt;
  }
  auto ticket = committer_->commit();
  if (!ticket) {
    make_visible(t, offset);
    return runtime_error(
        fmt::format("cannot sync messages for {}: {}", t.name, ticket.error().message));
  }
  receipt.ticket = *ticket;
  if (receipt.ticket == 0)
    make_visible(t, offset);
  else
    pending_commits_.push_back({receipt.ticket, topic_key(t.ns, t.name), offset});
  return receipt;
}

int BrokerEngine::commit_fd() const {
  return committer_ ? committer_->notify_fd() : -1;
}

std::vector<GroupCommitter::Completion> BrokerEngine::take_commits() {
  if (!committer_) return {};
  auto completions = committer_->take_completions();
  if (completions.empty()) return completions;
  uint64_t through = completions.back().through;
  size_t done = 0;
  for (; done < pending_commits_.size() && pending_commits_[done].ticket <= through; ++done) {
    auto it = topics_.find(pending_commits_[done].topic);
    if (it != topics_.end()) make_visible(*it->second, pending_commits_[done].next_offset);
  }
  pending_commits_.erase(pending_commits_.begin(), pending_commits_.begin() + done);
  return completions;
}

void BrokerEngine::make_visible(Topic& t, uint64_t next) {
  if (next <= t.visible) return;
  t.visible = next;
  view_set_->notify();
  if (!t.groups.empty()) ++receive_epoch_;
  for (SubscriptionId id : t.watchers) mark_ready(id, *subs_.at(id));
}

Result<SubscriptionId> BrokerEngine::subscribe(const SubscribeRequest& request) {
  if (request.patterns.empty()) return invalid_argument("subscribe needs at least one pattern");
  for (const std::string& p : request.patterns)
    if (Status s = validate_pattern(p); !s) return s.error();
  auto sub = std::make_unique<Subscription>();
  if (!request.filter.empty()) {
    auto filter = Filter::parse(request.filter);
    if (!filter) return filter.error();
    sub->filter = std::move(*filter);
  }
  SubscriptionId id = next_sub_id_++;
  sub->ns = request.ns;
  sub->patterns = request.patterns;
  for (auto& [key, topic] : topics_) {
    if (!sub->matches(*topic)) continue;
    const std::string& name = topic->name;
    auto resumed = request.resume.find(name);
    RecordFilter wanted = accepted_by(sub->filter, *topic);
    // "The last N" counts messages, not offsets, where compaction left gaps.
    if (!wanted && topic->settings.compact) wanted = [](const StoredRecord&) { return true; };
    uint64_t start = resolve_position(*topic->log, request.from, topic->visible, wanted);
    if (resumed != request.resume.end()) {
      // Below the earliest offset: next_delivery says what retention took.
      start = resumed->second;
      if (start > topic->visible) {
        // Past the end: this broker lost what the subscriber saw. In memory the
        // broker restarted and everything it holds is new; on disk a torn tail
        // was cut and only what follows is new.
        start = data_dir_ ? topic->visible : topic->log->earliest_offset();
        sub->pending_notices.push_back(fmt::format(
            "topic {}: the broker holds fewer messages than this subscriber had read (offset {} "
            "> {}); starting again at offset {}",
            name, resumed->second, topic->visible, start));
      }
    }
    watch(*sub, id, *topic, start);
  }
  mark_ready(id, *sub);
  subs_.emplace(id, std::move(sub));
  return id;
}

void BrokerEngine::unsubscribe(SubscriptionId id) {
  auto it = subs_.find(id);
  if (it == subs_.end()) return;
  for (auto& c : it->second->cursors) std::erase(c.topic->watchers, id);
  subs_.erase(it);
}

bool BrokerEngine::has_subscription(SubscriptionId id) const {
  return subs_.count(id) > 0;
}

void BrokerEngine::grant(SubscriptionId id, uint64_t messages, uint64_t bytes) {
  auto it = subs_.find(id);
  if (it == subs_.end()) return;
  Subscription& sub = *it->second;
  // Saturating: a grant near 2^64 must not wrap around.
  auto add = [](uint64_t held, uint64_t more, uint64_t cap) {
    return std::min(cap, more > cap - std::min(held, cap) ? cap : held + more);
  };
  sub.credit_messages = add(sub.credit_messages, messages, config_.max_credit_messages);
  sub.credit_bytes = add(sub.credit_bytes, bytes, config_.max_credit_bytes);
  mark_ready(id, sub);
}

void BrokerEngine::mark_ready(SubscriptionId id, Subscription& sub) {
  if (sub.ready || sub.credit_messages == 0 || sub.credit_bytes == 0) return;
  sub.ready = true;
  ready_.push_back(id);
}

const std::vector<SubscriptionId>& BrokerEngine::take_ready() {
  taken_ready_.clear();
  taken_ready_.swap(ready_);  // both keep their capacity: no allocation per call
  for (SubscriptionId id : taken_ready_)
    if (auto it = subs_.find(id); it != subs_.end()) it->second->ready = false;
  return taken_ready_;
}

bool BrokerEngine::has_backlog(const Subscription& sub) const {
  return std::any_of(sub.cursors.begin(), sub.cursors.end(),
                     [](const Subscription::Cursor& c) { return c.next < c.topic->visible; });
}

Delivery BrokerEngine::next_delivery(SubscriptionId id) {
  Delivery d;
  auto it = subs_.find(id);
  if (it == subs_.end()) return d;
  Subscription& sub = *it->second;
  d.notices = std::exchange(sub.pending_notices, {});
  size_t n = sub.cursors.size();
  size_t delivered_bytes = 0;
  for (size_t k = 0; k < n; ++k) {
    size_t room =
        std::min<uint64_t>(sub.credit_messages, config_.delivery_messages - d.records.size());
    size_t byte_room =
        std::min<uint64_t>(sub.credit_bytes, config_.delivery_bytes -
                                                 std::min(delivered_bytes, config_.delivery_bytes));
    if (room == 0 || byte_room == 0) break;
    auto& c = sub.cursors[(sub.rotation + k) % n];
    Topic& t = *c.topic;
    if (c.next < t.log->earliest_offset()) {
      d.notices.push_back(fmt::format(
          "topic {}: offsets {}..{} were removed by retention before this subscriber read them; "
          "resuming at {}",
          t.name, c.next, t.log->earliest_offset() - 1, t.log->earliest_offset()));
      c.next = t.log->earliest_offset();
    }
    if (c.next >= t.visible) continue;
    size_t before = d.records.size();
    std::string skipped;
    // A filtered subscription reads up to a whole delivery and keeps what matches.
    size_t scan = sub.filter ? config_.delivery_messages : room;
    size_t scan_bytes =
        sub.filter ? config_.delivery_bytes - std::min(delivered_bytes, config_.delivery_bytes)
                   : byte_room;
    auto next = t.log->read(c.next, std::min<uint64_t>(scan, t.visible - c.next), scan_bytes,
                            d.records, skipped);
    if (!skipped.empty()) d.notices.push_back(fmt::format("topic {}: {}", t.name, skipped));
    if (!next) {
      d.notices.push_back(fmt::format("topic {}: {}", t.name, next.error().message));
      continue;
    }
    if (sub.filter)
      *next = keep_matching(accepted_by(sub.filter, t), d.records, before, room, byte_room, *next);
    c.next = std::min(*next, t.visible);
    size_t bytes = 0;
    for (size_t i = before; i < d.records.size(); ++i) bytes += d.records[i].body.size();
    // A delivery may overshoot the byte credit by its last record, never more.
    sub.credit_messages -= d.records.size() - before;
    sub.credit_bytes -= std::min<uint64_t>(sub.credit_bytes, bytes);
    delivered_bytes += bytes;
  }
  if (n) sub.rotation = (sub.rotation + 1) % n;
  if (has_backlog(sub)) {
    mark_ready(id, sub);
  } else if (!sub.end_reported) {
    sub.end_reported = true;
    d.reached_end = true;
  }
  return d;
}

RecordFilter BrokerEngine::accepted_by(const std::optional<Filter>& filter, const Topic& topic) {
  if (!filter) return {};
  if (!views_) views_ = std::make_unique<RecordViews>();
  return record_filter(*filter, *views_, topic.serial);
}

void BrokerEngine::maintain_logs(int64_t now_ms) {
  finish_compactions(now_ms);
  for (auto& [key, t] : topics_) {
    if (t->settings.compact) {
      compact(*t, now_ms);
    } else if (Status s = t->log->enforce_retention(config_.retention, now_ms); !s) {
      log_error("topic {}: retention: {}", key, s.error().message);
    }
  }
}

Status BrokerEngine::create_topic(const std::string& name, const TopicSettings& settings,
                                  std::string_view ns) {
  if (Status s = validate_topic(name); !s) return s;
  if (Topic* t = find_topic(ns, name)) {
    if (t->settings == settings) return ok_status();
    std::string now = t->settings.compact ? fmt::format("compacted, tombstones kept {} ms",
                                                        t->settings.tombstone_retention_ms)
                                          : "not compacted";
    return Error{ErrorKind::kConflict,
                 fmt::format("topic {} exists already with other settings ({}); delete it first "
                             "to make it again",
                             name, now)};
  }
  auto made = make_topic(ns, name, settings);
  return made ? ok_status() : Status(made.error());
}

size_t BrokerEngine::topic_count(std::string_view ns) const {
  return std::count_if(topics_.begin(), topics_.end(),
                       [&](const auto& entry) { return entry.second->ns == ns; });
}

std::vector<TopicInfo> BrokerEngine::topics(std::string_view ns) {
  std::vector<TopicInfo> out;
  for (auto& [key, t] : topics_) {
    if (t->ns != ns) continue;
    TopicInfo info{t->name, t->log->earliest_offset(), t->visible, t->log->bytes(),
                   0,       t->log->last_ts(),         t->settings};
    std::vector<StoredRecord> first;
    std::string skipped;
    if (info.earliest_offset < info.next_offset &&
        t->log->read(info.earliest_offset, 1, 1, first, skipped) && !first.empty())
      info.first_ts = first.front().ts;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Status BrokerEngine::delete_topic(const std::string& name, std::string_view ns) {
  auto it = topics_.find(topic_key(ns, name));
  if (it == topics_.end())
    return Error{ErrorKind::kNotFound, fmt::format("no topic named '{}'", name)};
  Topic* t = it->second.get();
  for (auto& [id, sub] : subs_)
    std::erase_if(sub->cursors, [&](const Subscription::Cursor& c) { return c.topic == t; });
  std::erase_if(pending_commits_, [&](const PendingCommit& p) { return p.topic == it->first; });
  if (compactor_) compactor_->forget(t->serial);  // no pass may write into the directory
  Status s = t->log->destroy();
  topics_.erase(it);
  if (ns == kDefaultNamespace) view_set_->topic_deleted(name);  // views read the default one
  return s;
}

Status BrokerEngine::checkpoint() {
  if (Status s = save_views(now_ms(), true); !s) return s;
  for (auto& [name, t] : topics_) {
    if (Status s = t->log->checkpoint(); !s) return s;
    for (auto& [group_name, g] : t->groups)
      if (g->store)
        if (Status s = g->store->write_snapshot(g->state); !s) return s;
  }
  return ok_status();
}

}  // namespace eda
