// edatool tail: the last N messages of a topic, then (with -f) what follows.
#include "cmd/broker_io.h"
#include "cmd/command.h"
#include "cmd/filter_option.h"
#include "cmd/output_options.h"
#include "cmd/recv.h"
#include "core/topic.h"
#include "transport/admin_client.h"
#include "transport/subscriber.h"

namespace eda {
namespace {

struct TailOptions {
  std::string name;
  int64_t lines = 10;
  bool follow = false;
  std::string filter;
  OutputOptions output;
};

// The queue or group NAME stands for: TOPIC:GROUP, or a topic with a queue.
Result<std::optional<GroupRequest>> queue_named(BrokerConnection& c, const std::string& name) {
  if (name.find(':') != std::string::npos) {
    auto target = parse_queue_name(name);
    if (!target) return target.error();
    return std::optional<GroupRequest>(*target);
  }
  if (has_wildcard(name)) return std::optional<GroupRequest>();
  auto groups = list_groups(c, kAdminTimeout);
  if (!groups) return groups.error();
  for (const GroupInfo& g : *groups)
    if (g.topic == name && g.group == kQueueGroup)
      return std::optional<GroupRequest>({name, g.group});
  return std::optional<GroupRequest>();
}

// A queue's pending messages, the next to be delivered first, without
// locking them; then, with -f, its topic's new messages.
int tail_queue(const GroupRequest& target, const TailOptions& o, BrokerConnection& c,
               const GlobalOptions& g) {
  if (!o.filter.empty())
    return report(
        invalid_argument("--filter applies to topics; a queue's pending messages are "
                         "shown as they are"));
  auto sink = make_stdout_sink(o.output);
  if (!sink) return report(sink.error());
  auto pending = peek(c, target, static_cast<size_t>(o.lines), kAdminTimeout);
  if (!pending) return report(pending.error());
  for (const Envelope& e : *pending)
    if (Status s = (*sink)->write(e); !s) return report(s.error());
  if (Status s = (*sink)->flush(); !s) return report(s.error());
  if (!o.follow) return kExitOk;
  SubscribeConfig config;
  config.patterns = {target.topic};
  config.from = {Position::Kind::kLatest, 0};
  return run_subscription(config, o.output, g);
}

}  // namespace

Runner setup_tail(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<TailOptions>();
  app.add_option("NAME", o->name,
                 "topic (or pattern) to show; for a queue (or TOPIC:GROUP) its pending messages")
      ->required();
  app.add_option("-n,--lines", o->lines, "how many of the last messages to show")
      ->type_name("N")
      ->capture_default_str();
  app.add_flag("-f,--follow", o->follow, "keep printing new messages as they arrive");
  add_filter_option(app, o->filter);
  add_output_options(app, o->output);
  return [o, &global] {
    if (o->lines < 0) return report(invalid_argument("-n must be 0 or more"));
    if (o->name.find(':') == std::string::npos)
      if (Status s = validate_pattern(o->name); !s) return report(s.error());
    if (auto filter = parse_filter_option(o->filter); !filter) return report(filter.error());
    // A filter means a topic; without one, NAME may be a queue. Kafka has topics only.
    if (uses_kafka(global) && o->name.find(':') != std::string::npos)
      return report(invalid_argument("with Kafka, tail reads topics; TOPIC:GROUP is not one"));
    if (!uses_kafka(global) && (o->filter.empty() || o->name.find(':') != std::string::npos)) {
      auto connection = connect_broker(global);
      if (!connection) return report(connection.error());
      auto queue = queue_named(**connection, o->name);
      if (!queue) return report(queue.error());
      if (*queue) return tail_queue(**queue, *o, **connection, global);
    }
    SubscribeConfig config;
    config.patterns = {o->name};
    config.from = {Position::Kind::kLast, o->lines};
    config.exit_at_end = !o->follow;
    config.filter = o->filter;
    return run_subscription(config, o->output, global);
  };
}

}  // namespace eda
