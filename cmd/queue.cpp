// edatool queue create|delete|list|stats: a broker's queues (docs/QUEUES.md).
// A queue is a topic with the broker's "$queue" group on it.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "cmd/group_options.h"
#include "core/duration.h"
#include "core/position.h"
#include "core/topic.h"
#include "transport/admin_client.h"

namespace eda {
namespace {

struct QueueOptions {
  std::string name;
  std::string pattern = ">";
  GroupOptions settings;
  bool json = false;
  CLI::App* create = nullptr;
  CLI::App* remove = nullptr;
  CLI::App* list = nullptr;
  CLI::App* stats = nullptr;
};

// The queues (groups named "$queue") on topics matching `pattern`.
Result<std::vector<GroupInfo>> list_queues(BrokerConnection& c, const std::string& pattern) {
  auto groups = list_groups(c, kAdminTimeout);
  if (!groups) return groups.error();
  std::erase_if(*groups, [&](const GroupInfo& g) {
    return g.group != kQueueGroup || !topic_matches(pattern, g.topic);
  });
  return groups;
}

// An age for people: the largest unit that fits, rounded down ("90s", "5m", "3d").
std::string age_text(int64_t ms) {
  if (ms < 1000) return fmt::format("{}ms", ms);
  int64_t s = ms / 1000;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 120 * 60) return fmt::format("{}m", s / 60);
  if (s < 48 * 3600) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

void print_stats(const std::vector<GroupInfo>& queues, bool json) {
  int64_t now = now_ms();
  auto age_ms = [now](const GroupInfo& q) -> int64_t {
    return q.oldest_pending_ts ? std::max<int64_t>(0, now - q.oldest_pending_ts) : 0;
  };
  if (json) {
    for (const GroupInfo& q : queues) {
      nlohmann::ordered_json j{{"queue", q.topic},
                               {"pending", q.stats.pending},
                               {"locked", q.stats.locked},
                               {"completed", q.stats.completed},
                               {"dead_lettered", q.stats.dead_lettered},
                               {"delivered", q.stats.delivered},
                               {"lost", q.stats.lost},
                               {"oldest_pending_age_ms", age_ms(q)},
                               {"lock_ms", q.config.lock_ms},
                               {"max_deliveries", q.config.max_deliveries},
                               {"ttl_ms", nullptr}};
      if (q.config.ttl_ms) j["ttl_ms"] = *q.config.ttl_ms;
      fmt::print("{}\n", j.dump());
    }
    return;
  }
  constexpr auto kRow = "{:<32} {:>10} {:>8} {:>12} {:>12} {:>12}  {}\n";
  fmt::print(kRow, "QUEUE", "PENDING", "LOCKED", "COMPLETED", "DEADLETTERED", "DELIVERED",
             "OLDEST-PENDING-AGE");
  for (const GroupInfo& q : queues)
    fmt::print(kRow, q.topic, q.stats.pending, q.stats.locked, q.stats.completed,
               q.stats.dead_lettered, q.stats.delivered,
               q.oldest_pending_ts ? age_text(age_ms(q)) : "-");
}

// Deletes the queue's topic (its groups go with it) and its dead-letter queue.
int delete_queue(BrokerConnection& c, const QueueOptions& o) {
  auto queues = list_queues(c, o.name);
  if (!queues) return report(queues.error());
  if (std::none_of(queues->begin(), queues->end(),
                   [&](const GroupInfo& q) { return q.topic == o.name; }))
    return report({ErrorKind::kNotFound, fmt::format("no queue {}", o.name)});
  if (Status s = delete_topic(c, o.name, kAdminTimeout); !s) return report(s.error());
  // delete_topic does not tell "no such topic" apart from other failures, so
  // look first: a queue that never dead-lettered has no dead-letter topic.
  std::string dlq = dead_letter_topic(o.name);
  auto topics = list_topics(c, dlq, kAdminTimeout);
  if (!topics) return report(topics.error());
  if (!topics->empty())
    if (Status s = delete_topic(c, dlq, kAdminTimeout); !s) return report(s.error());
  return kExitOk;
}

int run_queue(const QueueOptions& o, const GlobalOptions& g) {
  bool named = o.create->parsed() || o.remove->parsed();
  if (named) {
    // Deleting works on dead-letter queues too ("$dlq.jobs"); creating does not.
    Status s = o.create->parsed() ? validate_topic(o.name) : validate_system_topic(o.name);
    if (!s) return report(s.error());
  } else if (Status s = validate_pattern(o.pattern); !s) {
    return report(s.error());
  }
  auto config = group_config(o.settings);
  if (!config) return report(config.error());
  auto connection = connect_broker(g);
  if (!connection) return report(connection.error());
  BrokerConnection& c = **connection;
  if (o.create->parsed()) {
    // Same settings as an existing queue: fine; other settings: kConflict.
    // A queue holds every message of its topic, from the earliest.
    CreateGroupRequest request{
        {o.name, std::string(kQueueGroup)}, *config, {}, {Position::Kind::kEarliest, 0}};
    if (Status s = create_group(c, request, kAdminTimeout); !s) return report(s.error());
    return kExitOk;
  }
  if (o.remove->parsed()) return delete_queue(c, o);
  auto queues = list_queues(c, o.pattern);
  if (!queues) return report(queues.error());
  if (o.stats->parsed()) {
    print_stats(*queues, o.json);
  } else {
    for (const GroupInfo& q : *queues) fmt::print("{}\n", q.topic);
  }
  return kExitOk;
}

}  // namespace

Runner setup_queue(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<QueueOptions>();
  app.require_subcommand(1);
  o->create = app.add_subcommand("create", "create a queue (and its topic)");
  o->create->add_option("NAME", o->name, "queue name (a topic name)")->required();
  add_group_options(*o->create, o->settings);
  o->remove = app.add_subcommand("delete", "delete a queue, its topic and its dead-letter queue");
  o->remove->add_option("NAME", o->name, "queue to delete")->required();
  o->list = app.add_subcommand("list", "queue names, one per line");
  o->list->add_option("PATTERN", o->pattern, "only queues matching PATTERN")->capture_default_str();
  o->stats = app.add_subcommand("stats", "pending, locked, completed and dead-lettered per queue");
  o->stats->add_option("PATTERN", o->pattern, "only queues matching PATTERN")
      ->capture_default_str();
  o->stats->add_flag("--json", o->json, "one JSON object per queue");
  return [o, &global] { return run_queue(*o, global); };
}

}  // namespace eda
