// edatool view create|get|list|stats|drop|rebuild|build: materialized views,
// key -> value tables the broker folds from topics (README "Views").
#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "cmd/filter_option.h"
#include "core/duration.h"
#include "core/topic.h"
#include "core/view_offline.h"
#include "transport/admin_client.h"

namespace eda {
namespace {

struct ViewOptions {
  ViewSpec spec;
  std::string reduce = "last";
  std::string key;  // get KEY
  std::string prefix;
  std::string format = "text";
  std::string after;  // TOPIC:OFFSET
  std::string timeout = "5s";
  std::string data;
  bool json = false;
  CLI::App* create = nullptr;
  CLI::App* get = nullptr;
  CLI::App* list = nullptr;
  CLI::App* stats = nullptr;
  CLI::App* drop = nullptr;
  CLI::App* rebuild = nullptr;
  CLI::App* build = nullptr;
};

// The spec as given, checked here so that a bad expression is a usage error
// with its caret before any broker is asked.
Result<ViewSpec> checked_spec(const ViewOptions& o) {
  ViewSpec spec = o.spec;
  auto reduce = parse_reducer(o.reduce);
  if (!reduce) return reduce.error();
  spec.reduce = *reduce;
  if (auto view = View::create(spec); !view) return view.error();
  return spec;
}

// --after TOPIC:OFFSET
Status parse_after(const std::string& text, proto::ViewGet& request) {
  size_t colon = text.rfind(':');
  auto bad = [&] {
    return invalid_argument(
        fmt::format("--after '{}' is not TOPIC:OFFSET (pub --print-offsets prints them)", text));
  };
  if (colon == std::string::npos) return bad();
  request.after_topic = text.substr(0, colon);
  if (Status s = validate_topic(request.after_topic); !s) return s.error();
  std::string_view digits = std::string_view(text).substr(colon + 1);
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), request.after_offset);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return bad();
  return ok_status();
}

void print_rows(const std::vector<std::pair<std::string, ViewValue>>& rows, bool json) {
  for (const auto& [key, value] : rows) {
    if (json) {
      nlohmann::json k = key;
      fmt::print("{{\"key\":{},\"value\":{}}}\n",
                 k.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                 view_value_json(value));
    } else {
      fmt::print("{}\t{}\n", key, format_view_value(value));
    }
  }
}

void print_stats(const std::vector<ViewStats>& views, bool json) {
  constexpr auto kRow = "{:<24} {:<6} {:>10} {:>12} {:>10}  {:<24} {}\n";
  if (!json) fmt::print(kRow, "VIEW", "REDUCE", "KEYS", "FOLDED", "LAG", "FROM", "NEXT-OFFSETS");
  for (const ViewStats& s : views) {
    if (json) {
      nlohmann::ordered_json j{{"view", s.spec.name},   {"from", s.spec.from},
                               {"key", s.spec.key},     {"filter", s.spec.filter},
                               {"value", s.spec.value}, {"reduce", reducer_name(s.spec.reduce)},
                               {"keys", s.keys},        {"folded", s.folded},
                               {"lag", s.lag},          {"next_offsets", s.offsets}};
      fmt::print("{}\n", j.dump());
      continue;
    }
    std::vector<std::string> offsets;
    for (const auto& [topic, next] : s.offsets)
      offsets.push_back(fmt::format("{}:{}", topic, next));
    fmt::print(kRow, s.spec.name, reducer_name(s.spec.reduce), s.keys, s.folded, s.lag, s.spec.from,
               offsets.empty() ? "-" : fmt::format("{}", fmt::join(offsets, ",")));
  }
}

int run_build(ViewOptions o, const GlobalOptions& g) {
  o.spec.name = "offline";  // a view needs a name; this one is never stored
  auto spec = checked_spec(o);
  if (!spec) return report(spec.error());
  auto view = build_view_offline(o.data, g.ns, *spec, install_stop_signals());
  if (!view) return report(view.error());
  print_rows(view->list(o.prefix), o.format == "json");
  return kExitOk;
}

int run_get(BrokerConnection& c, const ViewOptions& o) {
  proto::ViewGet request;
  request.name = o.spec.name;
  request.key = o.key;
  auto timeout = parse_duration(o.timeout);
  if (!timeout) return report(timeout.error());
  if (!o.after.empty())
    if (Status s = parse_after(o.after, request); !s) return report(s.error());
  // The broker waits at most 20 s per request: ask again until --timeout ends.
  auto deadline = std::chrono::steady_clock::now() + *timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!o.after.empty())
      request.wait_ms = static_cast<uint64_t>(std::max<int64_t>(left.count(), 0));
    auto value = view_get(c, request, left + kAdminTimeout);
    if (value) {
      fmt::print("{}\n", format_view_value(*value));
      return kExitOk;
    }
    bool waited_too_little = value.error().kind == ErrorKind::kTimeout && !o.after.empty() &&
                             std::chrono::steady_clock::now() < deadline;
    if (!waited_too_little) return report(value.error());
  }
}

int run_view(const ViewOptions& o, const GlobalOptions& g) {
  if (o.build->parsed()) return run_build(o, g);
  if (!o.stats->parsed() || !o.spec.name.empty())
    if (Status s = validate_topic(o.spec.name); !s)
      return report(invalid_argument(fmt::format("bad view name: {}", s.error().message)));
  std::optional<ViewSpec> spec;
  if (o.create->parsed()) {
    auto checked = checked_spec(o);
    if (!checked) return report(checked.error());
    spec = std::move(*checked);
  }
  auto connection = connect_broker(g);
  if (!connection) return report(connection.error());
  BrokerConnection& c = **connection;
  Status done = ok_status();
  if (spec) {
    done = create_view(c, *spec, kAdminTimeout);
  } else if (o.get->parsed()) {
    return run_get(c, o);
  } else if (o.list->parsed()) {
    auto rows = view_list(c, o.spec.name, o.prefix, kAdminTimeout);
    if (!rows) return report(rows.error());
    print_rows(*rows, o.format == "json");
  } else if (o.stats->parsed()) {
    auto stats = view_stats(c, o.spec.name, kAdminTimeout);
    if (!stats) return report(stats.error());
    print_stats(*stats, o.json);
  } else if (o.drop->parsed()) {
    done = drop_view(c, o.spec.name, kAdminTimeout);
  } else {
    done = rebuild_view(c, o.spec.name, kAdminTimeout);
  }
  return done ? kExitOk : report(done.error());
}

void add_definition(CLI::App& app, ViewOptions& o) {
  app.add_option("--from", o.spec.from, "topics to fold: a topic or a pattern (orders.*, >)")
      ->type_name("PATTERN")
      ->required();
  app.add_option("--key", o.spec.key,
                 "the key of each message: an expression such as sys.key or payload.user.id")
      ->type_name("EXPR")
      ->required();
  add_filter_option(app, o.spec.filter);
  app.add_option("--value", o.spec.value,
                 "the value folded: an expression such as payload.amount (default: the payload)")
      ->type_name("EXPR");
  app.add_option("--reduce", o.reduce, "how values of one key combine")
      ->check(CLI::IsMember({"last", "count", "sum", "min", "max", "merge"}))
      ->capture_default_str();
}

void add_list_output(CLI::App& app, ViewOptions& o) {
  app.add_option("--prefix", o.prefix, "only keys starting with P")->type_name("P");
  app.add_option("--format", o.format, "text (KEY<tab>VALUE) or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

}  // namespace

Runner setup_view(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<ViewOptions>();
  app.require_subcommand(1);
  o->create = app.add_subcommand("create", "create a view; the broker folds the log into it");
  o->create->add_option("NAME", o->spec.name, "view name")->required();
  add_definition(*o->create, *o);
  o->get = app.add_subcommand("get", "print one key's value (exit 1 when absent)");
  o->get->add_option("NAME", o->spec.name, "view name")->required();
  o->get->add_option("KEY", o->key, "the key")->required();
  o->get
      ->add_option("--after", o->after,
                   "first wait until the view folded this offset (from pub --print-offsets)")
      ->type_name("TOPIC:OFFSET");
  o->get->add_option("--timeout", o->timeout, "longest --after waits (then exit 3)")
      ->type_name("DUR")
      ->capture_default_str();
  o->list = app.add_subcommand("list", "print the table, in key order");
  o->list->add_option("NAME", o->spec.name, "view name")->required();
  add_list_output(*o->list, *o);
  o->stats = app.add_subcommand("stats", "keys, messages folded, lag and offsets per view");
  o->stats->add_option("NAME", o->spec.name, "only this view");
  o->stats->add_flag("--json", o->json, "one JSON object per view");
  o->drop = app.add_subcommand("drop", "delete a view (the topics stay)");
  o->drop->add_option("NAME", o->spec.name, "view name")->required();
  o->rebuild = app.add_subcommand("rebuild", "forget the table and fold the whole log again");
  o->rebuild->add_option("NAME", o->spec.name, "view name")->required();
  o->build = app.add_subcommand("build", "fold a data directory offline and print the table");
  o->build->add_option("--data", o->data, "a broker's data directory")
      ->type_name("DIR")
      ->required();
  add_definition(*o->build, *o);
  add_list_output(*o->build, *o);
  return [o, &global] { return run_view(*o, global); };
}

}  // namespace eda
