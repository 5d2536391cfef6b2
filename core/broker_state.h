// The state behind BrokerEngine, shared by its source files (broker_engine.cpp
// for topics and subscriptions, broker_groups.cpp for queues and groups).
// Internal to the engine: nothing else includes it.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/broker_engine.h"
#include "core/consumer_group.h"
#include "core/group_store.h"
#include "core/record_filter.h"
#include "core/topic.h"
#include "core/topic_settings.h"

namespace eda {

// topics_ is keyed by namespace and name together.
inline std::string topic_key(std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append(1, '/').append(name);
  return key;
}

struct BrokerEngine::Topic {
  Topic(const EngineConfig& c) : dedup(c.dedup_window_ms, c.dedup_max_ids) {}
  std::string ns;
  std::string name;
  uint64_t serial = 0;  // never reused, unlike the name: a deleted topic made again gets another
  std::unique_ptr<TopicLog> log;
  DedupIndex dedup;
  uint64_t visible = 0;  // records below this offset are durable and may be delivered
  std::vector<SubscriptionId> watchers;
  std::map<std::string, std::unique_ptr<Group>> groups;  // by group name
  TopicSettings settings;
  // Where compaction stands (compacted topics; broker_compaction.cpp).
  struct Compaction {
    uint64_t clean_end = 0;                   // what the last pass covered: offsets below it
    uint64_t clean_bytes = 0;                 // and what that left, in bytes
    uint64_t running_end = 0;                 // the pass running covers offsets below this
    std::optional<int64_t> tombstone_expiry;  // when a kept tombstone may go
    int64_t not_before_ms = 0;                // after a failed pass: when to try again
  } compaction;
};

struct BrokerEngine::Subscription {
  struct Cursor {
    Topic* topic;
    uint64_t next;
  };
  std::string ns;  // sees only this namespace's topics
  std::vector<std::string> patterns;
  std::optional<Filter> filter;  // none: every record
  std::vector<Cursor> cursors;
  size_t rotation = 0;  // where the next delivery starts, for fairness across topics
  uint64_t credit_messages = 0;
  uint64_t credit_bytes = 0;
  bool end_reported = false;
  bool ready = false;
  std::vector<std::string> pending_notices;  // sent with the next delivery

  bool matches(const Topic& topic) const {
    return topic.ns == ns && std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) {
             return topic_matches(p, topic.name);
           });
  }
};

struct BrokerEngine::Group {
  Topic* topic = nullptr;
  std::string name;
  ConsumerGroup state;
  std::unique_ptr<GroupStore> store;  // null when nothing is persisted
  GroupRule rule;
  std::optional<Filter> filter;  // the rule's; none: every message
  Headers set;                   // the rule's SET actions, parsed
};

}  // namespace eda
