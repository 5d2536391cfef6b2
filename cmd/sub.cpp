// edatool sub: subscribes to topic patterns and prints their messages.
#include <fmt/format.h>

#include "cmd/broker_io.h"
#include "cmd/command.h"
#include "cmd/filter_option.h"
#include "cmd/output_options.h"
#include "cmd/recv.h"
#include "core/duration.h"
#include "core/topic.h"
#include "transport/admin_client.h"

namespace eda {
namespace {

struct SubOptions {
  std::vector<std::string> patterns;
  std::string from = "latest";
  int64_t count = -1;
  bool exit_at_end = false;
  std::string timeout;
  std::string filter;
  std::string group;
  OutputOptions output;
};

// `sub TOPIC --group NAME`: joins (or creates, reading from --from) the durable
// group and receives as `recv TOPIC:NAME` does.
int run_group_member(const SubOptions& o, const GlobalOptions& g) {
  // Kafka subscribes a group to a pattern as a regex; edatool's groups are per topic.
  bool kafka = uses_kafka(g);
  if (o.patterns.size() != 1 || (!kafka && has_wildcard(o.patterns[0])))
    return report(invalid_argument(kafka ? "--group takes one topic or pattern"
                                         : "--group takes one topic, without wildcards"));
  if (o.exit_at_end || !o.filter.empty() || !o.timeout.empty())
    return report(invalid_argument(
        "-e, --filter and --timeout do not apply with --group (see recv --wait, and "
        "subscription create for filtered groups)"));
  if (Status s = validate_pattern(o.patterns[0]); kafka && !s) return report(s.error());
  auto target = kafka ? Result<GroupRequest>(GroupRequest{o.patterns[0], o.group})
                      : parse_queue_name(o.patterns[0] + ":" + o.group);
  if (!target) return report(target.error());
  auto from = parse_position(o.from, now_ms());
  if (!from) return report(from.error());
  if (o.count == 0 || o.count < -1) return report(invalid_argument("-n must be a positive count"));
  if (!kafka) {
    auto connection = connect_broker(g);
    if (!connection) return report(connection.error());
    Status created =
        create_group(**connection, {*target, ConsumerGroupConfig{}, {}, *from}, kAdminTimeout);
    // A group that exists is joined as it is, whatever its settings.
    if (!created && created.error().kind != ErrorKind::kConflict) return report(created.error());
  }
  RecvConfig config;
  config.target = *target;
  config.group_start = *from;
  if (o.count > 0) config.count = static_cast<uint64_t>(o.count);
  return run_receive(config, o.output, g);
}

Result<SubscribeConfig> make_config(const SubOptions& o) {
  SubscribeConfig config;
  for (const std::string& p : o.patterns)
    if (Status s = validate_pattern(p); !s) return s.error();
  config.patterns = o.patterns;
  auto from = parse_position(o.from, now_ms());
  if (!from) return from.error();
  config.from = *from;
  if (auto filter = parse_filter_option(o.filter); !filter) return filter.error();
  config.filter = o.filter;
  if (o.count == 0 || o.count < -1) return invalid_argument("-n must be a positive count");
  if (o.count > 0) config.count = static_cast<uint64_t>(o.count);
  config.exit_at_end = o.exit_at_end;
  if (!o.timeout.empty()) {
    auto t = parse_duration(o.timeout);
    if (!t) return t.error();
    config.timeout = *t;
  }
  return config;
}

}  // namespace

int run_subscription(const SubscribeConfig& config, const OutputOptions& output,
                     const GlobalOptions& g) {
  auto sink = make_stdout_sink(output);
  if (!sink) return report(sink.error());
  const std::atomic<bool>& stop = install_stop_signals();
  auto end = subscribe_to_broker(g, config, **sink, stop);
  if (!end) return report(end.error());
  return kExitOk;
}

Runner setup_sub(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<SubOptions>();
  app.add_option("PATTERN", o->patterns, "topics or patterns: * matches one token, > the rest")
      ->required();
  app.add_option("--from", o->from,
                 "where to start: latest, earliest, N (offset), -N (last N), @TIME (RFC 3339 or "
                 "@-10m)")
      ->type_name("POS")
      ->capture_default_str();
  app.add_option("-n,--count", o->count, "exit after COUNT messages")->type_name("COUNT");
  app.add_flag("-e,--exit-at-end", o->exit_at_end, "exit once caught up with every matched topic");
  app.add_option("--timeout", o->timeout,
                 "stop after DUR; exit 3 if -n or -e was not satisfied by then")
      ->type_name("DUR");
  add_filter_option(app, o->filter);
  app.add_option("--group", o->group,
                 "join durable group NAME: its members split the messages, each completed once "
                 "printed")
      ->type_name("NAME");
  add_output_options(app, o->output);
  return [o, &global] {
    if (!o->group.empty()) return run_group_member(*o, global);
    auto config = make_config(*o);
    if (!config) return report(config.error());
    return run_subscription(*config, o->output, global);
  };
}

}  // namespace eda
