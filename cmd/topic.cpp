// edatool topic create|list|stats|delete: what topics a broker holds, and how
// each keeps its messages (by retention, or compacted: the newest per key).
#include "core/topic.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "core/duration.h"
#include "core/position.h"
#include "transport/admin_client.h"

namespace eda {
namespace {

struct TopicOptions {
  std::string pattern = ">";
  std::string name;
  bool json = false;
  bool compact = false;
  std::string tombstone_retention;
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* stats = nullptr;
  CLI::App* remove = nullptr;
};

std::string time_or_dash(int64_t ts) {
  return ts ? format_rfc3339(ts) : "-";
}

std::string policy_name(const TopicSettings& s) {
  return s.compact ? "compact" : "retention";
}

Result<TopicSettings> settings_from(const TopicOptions& o) {
  TopicSettings s;
  s.compact = o.compact;
  if (o.tombstone_retention.empty()) return s;
  if (!o.compact)
    return invalid_argument("--tombstone-retention applies to compacted topics; add --compact");
  auto d = parse_duration(o.tombstone_retention);
  if (!d) return d.error();
  s.tombstone_retention_ms = d->count();
  return s;
}

void print_stats(const std::vector<TopicInfo>& topics, bool json) {
  if (json) {
    for (const TopicInfo& t : topics) {
      nlohmann::ordered_json j{{"topic", t.name},
                               {"messages", t.next_offset - t.earliest_offset},
                               {"bytes", t.bytes},
                               {"first_offset", t.earliest_offset},
                               {"next_offset", t.next_offset},
                               {"first_ts", t.first_ts},
                               {"last_ts", t.last_ts},
                               {"policy", policy_name(t.settings)}};
      if (t.settings.compact) j["tombstone_retention_ms"] = t.settings.tombstone_retention_ms;
      fmt::print("{}\n", j.dump());
    }
    return;
  }
  fmt::print("{:<32} {:>12} {:>14} {:>12} {:>12}  {:<24} {:<24} {}\n", "TOPIC", "MESSAGES", "BYTES",
             "FIRST", "NEXT", "FIRST TIME", "LAST TIME", "POLICY");
  for (const TopicInfo& t : topics)
    fmt::print("{:<32} {:>12} {:>14} {:>12} {:>12}  {:<24} {:<24} {}\n", t.name,
               t.next_offset - t.earliest_offset, t.bytes, t.earliest_offset, t.next_offset,
               time_or_dash(t.first_ts), time_or_dash(t.last_ts), policy_name(t.settings));
}

int run_topic(const TopicOptions& o, const GlobalOptions& g) {
  auto settings = settings_from(o);
  if (!settings) return report(settings.error());
  auto connection = connect_broker(g);
  if (!connection) return report(connection.error());
  if (o.create->parsed()) {
    if (Status s = validate_topic(o.name); !s) return report(s.error());
    if (Status s = create_topic(**connection, o.name, *settings, kAdminTimeout); !s)
      return report(s.error());
    return kExitOk;
  }
  if (o.remove->parsed()) {
    if (Status s = validate_topic(o.name); !s) return report(s.error());
    if (Status s = delete_topic(**connection, o.name, kAdminTimeout); !s) return report(s.error());
    return kExitOk;
  }
  if (Status s = validate_pattern(o.pattern); !s) return report(s.error());
  auto topics = list_topics(**connection, o.pattern, kAdminTimeout);
  if (!topics) return report(topics.error());
  if (o.stats->parsed()) {
    print_stats(*topics, o.json);
  } else {
    for (const TopicInfo& t : *topics) fmt::print("{}\n", t.name);
  }
  return kExitOk;
}

}  // namespace

Runner setup_topic(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<TopicOptions>();
  app.require_subcommand(1);
  o->create = app.add_subcommand(
      "create", "make a topic; --compact keeps the newest message per key instead of by age/size");
  o->create->add_option("TOPIC", o->name, "topic to make")->required();
  o->create->add_flag("--compact", o->compact,
                      "compacted: keeps at least the newest message per key; every message "
                      "needs a key");
  o->create
      ->add_option("--tombstone-retention", o->tombstone_retention,
                   "how long a tombstone (-k KEY -H tombstone:=true, empty payload) stays before "
                   "compaction removes it with its key (default 1d)")
      ->type_name("DUR");
  o->list = app.add_subcommand("list", "topic names, one per line");
  o->list->add_option("PATTERN", o->pattern, "only topics matching PATTERN")->capture_default_str();
  o->stats = app.add_subcommand("stats", "messages, bytes, offsets and times per topic");
  o->stats->add_option("pattern", o->pattern, "only topics matching PATTERN")
      ->capture_default_str();
  o->stats->add_flag("--json", o->json, "one JSON object per topic");
  o->remove = app.add_subcommand("delete", "delete a topic and all its messages");
  o->remove->add_option("TOPIC", o->name, "topic to delete")->required();
  return [o, &global] { return run_topic(*o, global); };
}

}  // namespace eda
