// edatool subscription create|list|delete: durable subscriptions on a topic,
// each a consumer group with an optional rule (a filter, and SET/REMOVE
// actions on the headers of the copy it delivers), read with `recv TOPIC:NAME`.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "cmd/filter_option.h"
#include "cmd/group_options.h"
#include "cmd/recv.h"
#include "core/position.h"
#include "core/topic.h"
#include "transport/admin_client.h"

namespace eda {
namespace {

struct SubscriptionOptions {
  std::string topic;
  std::string name;
  std::string pattern = ">";
  std::string filter;
  std::vector<std::string> set;
  std::vector<std::string> remove;
  GroupOptions settings;
  bool json = false;
  CLI::App* create = nullptr;
  CLI::App* remove_cmd = nullptr;
  CLI::App* list = nullptr;
};

Result<CreateGroupRequest> create_request(const SubscriptionOptions& o) {
  auto target = parse_queue_name(o.topic + ":" + o.name);
  if (!target) return target.error();
  if (auto filter = parse_filter_option(o.filter); !filter) return filter.error();
  for (const std::string& arg : o.set)
    if (auto header = parse_header_arg(arg); !header)
      return invalid_argument(fmt::format("--set '{}': {}", arg, header.error().message));
  auto config = group_config(o.settings);
  if (!config) return config.error();
  // Only messages published from now on (as a Service Bus subscription).
  return CreateGroupRequest{
      *target, *config, {o.filter, o.set, o.remove}, {Position::Kind::kLatest, 0}};
}

void print_list(const std::vector<GroupInfo>& groups, bool json) {
  for (const GroupInfo& g : groups) {
    if (json) {
      nlohmann::ordered_json j{{"topic", g.topic},
                               {"name", g.group},
                               {"filter", g.rule.filter},
                               {"set", g.rule.set},
                               {"remove", g.rule.remove},
                               {"pending", g.stats.pending},
                               {"locked", g.stats.locked},
                               {"completed", g.stats.completed},
                               {"dead_lettered", g.stats.dead_lettered}};
      fmt::print("{}\n", j.dump());
      continue;
    }
    std::string actions;
    for (const std::string& s : g.rule.set) actions += fmt::format(" --set {}", s);
    for (const std::string& r : g.rule.remove) actions += fmt::format(" --remove {}", r);
    fmt::print("{}:{}\t{}{}\n", g.topic, g.group,
               g.rule.filter.empty() ? "(every message)" : g.rule.filter, actions);
  }
}

int run_subscription_command(const SubscriptionOptions& o, const GlobalOptions& g) {
  std::optional<CreateGroupRequest> create;
  if (o.create->parsed()) {
    auto request = create_request(o);
    if (!request) return report(request.error());
    create = std::move(*request);
  } else if (o.remove_cmd->parsed()) {
    if (auto target = parse_queue_name(o.topic + ":" + o.name); !target)
      return report(target.error());
  } else if (Status s = validate_pattern(o.pattern); !s) {
    return report(s.error());
  }
  auto connection = connect_broker(g);
  if (!connection) return report(connection.error());
  if (create) {
    if (Status s = create_group(**connection, *create, kAdminTimeout); !s) return report(s.error());
    return kExitOk;
  }
  if (o.remove_cmd->parsed()) {
    if (Status s = delete_group(**connection, {o.topic, o.name}, kAdminTimeout); !s)
      return report(s.error());
    return kExitOk;
  }
  auto groups = list_groups(**connection, kAdminTimeout);
  if (!groups) return report(groups.error());
  std::erase_if(*groups, [&](const GroupInfo& gi) {
    return gi.group == kQueueGroup || !topic_matches(o.pattern, gi.topic);
  });
  print_list(*groups, o.json);
  return kExitOk;
}

}  // namespace

Runner setup_subscription(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<SubscriptionOptions>();
  app.require_subcommand(1);
  o->create = app.add_subcommand(
      "create", "a durable subscription: gets the topic's new messages its filter matches");
  o->create->add_option("TOPIC", o->topic, "topic to subscribe to")->required();
  o->create->add_option("NAME", o->name, "subscription name; read it with recv TOPIC:NAME")
      ->required();
  add_filter_option(*o->create, o->filter);
  o->create
      ->add_option("--set", o->set,
                   "set a header on each delivered copy: name=text, or name:=42 for a typed "
                   "value (repeatable)")
      ->type_name("NAME=VALUE");
  o->create->add_option("--remove", o->remove, "remove a header from each delivered copy")
      ->type_name("NAME");
  add_group_options(*o->create, o->settings);
  o->remove_cmd = app.add_subcommand("delete", "delete a durable subscription and its state");
  o->remove_cmd->add_option("TOPIC", o->topic, "its topic")->required();
  o->remove_cmd->add_option("NAME", o->name, "its name")->required();
  o->list =
      app.add_subcommand("list", "durable subscriptions (and sub --group groups), with rules");
  o->list->add_option("PATTERN", o->pattern, "only those on topics matching PATTERN")
      ->capture_default_str();
  o->list->add_flag("--json", o->json, "one JSON object per subscription, with counts");
  return [o, &global] { return run_subscription_command(*o, global); };
}

}  // namespace eda
