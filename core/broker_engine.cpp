#include "core/broker_engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/topic.h"
#include "core/ulid.h"

namespace eda {

// In-memory log of one topic: offsets base_offset .. base_offset + log.size() - 1.
struct BrokerEngine::Topic {
  std::string name;
  std::deque<Envelope> log;
  uint64_t base_offset = 0;
  size_t bytes = 0;
  std::vector<SubscriptionId> watchers;

  uint64_t next_offset() const { return base_offset + log.size(); }
  const Envelope& at(uint64_t offset) const { return log[offset - base_offset]; }

  uint64_t resolve(const Position& p) const {
    using K = Position::Kind;
    uint64_t next = next_offset();
    switch (p.kind) {
      case K::kEarliest:
        return base_offset;
      case K::kLatest:
        return next;
      case K::kOffset:
        return std::clamp<uint64_t>(static_cast<uint64_t>(p.value), base_offset, next);
      case K::kLast:
        return next - std::min<uint64_t>(static_cast<uint64_t>(p.value), log.size());
      case K::kTime: {
        auto it = std::find_if(log.begin(), log.end(),
                               [&](const Envelope& e) { return e.ts >= p.value; });
        return base_offset + static_cast<uint64_t>(it - log.begin());
      }
    }
    return next;
  }
};

struct BrokerEngine::Subscription {
  struct Cursor {
    Topic* topic;
    uint64_t next;
  };
  std::vector<std::string> patterns;
  std::vector<Cursor> cursors;
  size_t rotation = 0;  // where the next delivery starts, for fairness across topics
  uint64_t credit_messages = 0;
  uint64_t credit_bytes = 0;
  bool end_reported = false;
  bool ready = false;

  bool matches(const std::string& topic) const {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return topic_matches(p, topic); });
  }
};

namespace {

size_t envelope_bytes(const Envelope& e) {
  size_t n = e.payload.size() + (e.key ? e.key->size() : 0);
  for (const auto& [name, value] : e.headers)
    n += name.size() + std::visit(
                           [](const auto& v) -> size_t {
                             if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>)
                               return v.size();
                             else
                               return sizeof(v);
                           },
                           value);
  return n;
}

}  // namespace

BrokerEngine::BrokerEngine(EngineLimits limits) : limits_(limits) {}
BrokerEngine::~BrokerEngine() = default;

BrokerEngine::Topic& BrokerEngine::topic_for_publish(const std::string& name) {
  auto& slot = topics_[name];
  if (slot) return *slot;
  slot = std::make_unique<Topic>();
  slot->name = name;
  // Subscriptions made before the topic existed see all of it.
  for (auto& [id, sub] : subs_)
    if (sub->matches(name)) watch(*sub, id, *slot, 0);
  return *slot;
}

void BrokerEngine::watch(Subscription& sub, SubscriptionId id, Topic& topic, uint64_t start) {
  sub.cursors.push_back({&topic, start});
  topic.watchers.push_back(id);
}

Result<std::vector<uint64_t>> BrokerEngine::publish(std::vector<Envelope>&& batch, int64_t now_ms) {
  for (size_t i = 0; i < batch.size(); ++i) {
    const Envelope& e = batch[i];
    if (Status s = validate_topic(e.topic); !s)
      return invalid_argument(fmt::format("message {} of the batch: {}", i + 1, s.error().message));
    if (size_t n = envelope_bytes(e); n > limits_.max_message_bytes)
      return invalid_argument(
          fmt::format("message {} of the batch is {} bytes, over the broker's limit of {} bytes",
                      i + 1, n, limits_.max_message_bytes));
  }
  static thread_local UlidGenerator ids;
  std::vector<uint64_t> offsets;
  offsets.reserve(batch.size());
  Topic* topic = nullptr;
  for (Envelope& e : batch) {
    if (!topic || topic->name != e.topic) topic = &topic_for_publish(e.topic);
    if (e.ts == 0) e.ts = now_ms;
    if (e.id.empty()) e.id = ids.next(now_ms);
    e.offset = topic->next_offset();
    offsets.push_back(e.offset);
    topic->bytes += envelope_bytes(e);
    topic->log.push_back(std::move(e));
    while (topic->bytes > limits_.retention_bytes && topic->log.size() > 1) {
      topic->bytes -= envelope_bytes(topic->log.front());
      topic->log.pop_front();
      ++topic->base_offset;
    }
    for (SubscriptionId id : topic->watchers) mark_ready(id, *subs_.at(id));
  }
  return offsets;
}

Result<SubscriptionId> BrokerEngine::subscribe(const SubscribeRequest& request, int64_t) {
  if (request.patterns.empty()) return invalid_argument("subscribe needs at least one pattern");
  for (const std::string& p : request.patterns)
    if (Status s = validate_pattern(p); !s) return s.error();
  SubscriptionId id = next_sub_id_++;
  auto sub = std::make_unique<Subscription>();
  sub->patterns = request.patterns;
  for (auto& [name, topic] : topics_) {
    if (!sub->matches(name)) continue;
    auto resumed = request.resume.find(name);
    uint64_t start = resumed != request.resume.end()
                         ? std::clamp(resumed->second, topic->base_offset, topic->next_offset())
                         : topic->resolve(request.from);
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
  sub.credit_messages += messages;
  sub.credit_bytes += bytes;
  mark_ready(id, sub);
}

void BrokerEngine::mark_ready(SubscriptionId id, Subscription& sub) {
  if (sub.ready || sub.credit_messages == 0 || sub.credit_bytes == 0) return;
  sub.ready = true;
  ready_.push_back(id);
}

std::vector<SubscriptionId> BrokerEngine::take_ready() {
  std::vector<SubscriptionId> ready;
  ready.swap(ready_);
  for (SubscriptionId id : ready)
    if (auto it = subs_.find(id); it != subs_.end()) it->second->ready = false;
  return ready;
}

bool BrokerEngine::has_backlog(const Subscription& sub) const {
  return std::any_of(sub.cursors.begin(), sub.cursors.end(),
                     [](const Subscription::Cursor& c) { return c.next < c.topic->next_offset(); });
}

Delivery BrokerEngine::next_delivery(SubscriptionId id) {
  Delivery d;
  auto it = subs_.find(id);
  if (it == subs_.end()) return d;
  Subscription& sub = *it->second;
  size_t bytes = 0;
  auto within_limits = [&] {
    return sub.credit_messages > 0 && sub.credit_bytes > 0 &&
           d.messages.size() < limits_.delivery_messages && bytes < limits_.delivery_bytes;
  };
  size_t n = sub.cursors.size();
  for (size_t k = 0; k < n && within_limits(); ++k) {
    auto& c = sub.cursors[(sub.rotation + k) % n];
    if (c.next < c.topic->base_offset) {
      d.notices.push_back(fmt::format(
          "topic {}: offsets {}..{} were dropped by retention before delivery; resuming at {}",
          c.topic->name, c.next, c.topic->base_offset - 1, c.topic->base_offset));
      c.next = c.topic->base_offset;
    }
    for (; c.next < c.topic->next_offset() && within_limits(); ++c.next) {
      const Envelope& e = c.topic->at(c.next);
      d.messages.push_back(&e);
      size_t size = envelope_bytes(e);
      bytes += size;
      sub.credit_messages -= 1;
      sub.credit_bytes -= std::min<uint64_t>(sub.credit_bytes, size);
    }
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

std::vector<TopicInfo> BrokerEngine::topics() const {
  std::vector<TopicInfo> out;
  for (const auto& [name, t] : topics_)
    out.push_back({name, t->base_offset, t->next_offset(), t->bytes});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace eda
