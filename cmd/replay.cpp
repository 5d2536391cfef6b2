// edatool replay: reads a topic's stored log in order, to stdout or into
// another topic, from a broker or straight from its data directory.
#include "core/replay.h"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "cmd/broker_io.h"
#include "cmd/command.h"
#include "cmd/filter_option.h"
#include "cmd/output_options.h"
#include "cmd/progress.h"
#include "core/topic.h"

namespace eda {
namespace {

struct ReplayOptions {
  std::vector<std::string> names;
  std::string from = "earliest";
  std::string to;
  std::string speed = "max";
  std::string republish;
  std::string data;
  std::string filter;
  OutputOptions output;
};

struct ReplayPlan {
  Position from;
  std::optional<Position> to;
  ReplaySpeed speed;
  std::optional<Filter> filter;
};

Result<ReplayPlan> make_plan(const ReplayOptions& o) {
  ReplayPlan plan;
  for (const std::string& n : o.names)
    if (Status s = validate_pattern(n); !s) return s.error();
  auto from = parse_position(o.from, now_ms());
  if (!from) return from.error();
  plan.from = *from;
  if (!o.to.empty()) {
    auto to = parse_position(o.to, now_ms());
    if (!to) return to.error();
    if (Status s = validate_stop_position(*to); !s) return s.error();
    plan.to = *to;
  }
  auto speed = parse_speed(o.speed);
  if (!speed) return speed.error();
  plan.speed = *speed;
  auto filter = parse_filter_option(o.filter);
  if (!filter) return filter.error();
  plan.filter = std::move(*filter);
  if (!o.republish.empty()) {
    if (Status s = validate_topic(o.republish); !s) return s.error();
    for (const std::string& n : o.names)
      if (topic_matches(n, o.republish))
        return invalid_argument(
            fmt::format("--republish {} is one of the topics being replayed; choose another topic",
                        o.republish));
  }
  return plan;
}

// Reads the log (from the broker, or the data directory) into `sink`.
Status read_log(const ReplayOptions& o, const ReplayPlan& plan, EnvelopeSink& sink,
                const GlobalOptions& g, const std::atomic<bool>& stop) {
  ReplaySink paced(sink, plan.to, plan.speed, &stop);
  if (!o.data.empty())
    return read_offline({o.data, g.ns, o.names, plan.from, plan.filter}, paced, stop);
  SubscribeConfig config;
  config.patterns = o.names;
  config.from = plan.from;
  config.filter = o.filter;
  config.exit_at_end = true;
  auto end = subscribe_to_broker(g, config, paced, stop);
  if (!end) return end.error();
  return paced.flush();
}

// Replays into another topic: the log goes through a pipe, as msgpack
// envelopes, into the same publisher `pub --msgpack` uses, keeping ids,
// keys and headers.
int republish(const ReplayOptions& o, const ReplayPlan& plan, const GlobalOptions& g,
              const std::atomic<bool>& stop) {
  int fds[2];
  if (::pipe(fds) != 0) return report(runtime_error("cannot create a pipe"));
  // If the publisher stops early, writes into the pipe fail instead of killing us.
  std::signal(SIGPIPE, SIG_IGN);
  Status published = ok_status();
  PublishReport counts;
  std::thread publisher([&] {
    StreamSource source(fds[0],
                        MessageInput(InputFraming::kMsgpack, '\n', kDefaultMaxMessageBytes));
    published =
        publish_to_broker(g, source, {o.republish, {}, {}, {}}, PublishConfig{}, stop, counts);
    ::close(fds[0]);
  });
  Status read = ok_status();
  {
    FdSink sink(fds[1], OutputFormat::kMsgpack);
    read = read_log(o, plan, sink, g, stop);
  }
  ::close(fds[1]);
  publisher.join();
  if (!published) return report(published.error());
  if (!read) return report(read.error());
  return kExitOk;
}

int run_replay(const ReplayOptions& o, const GlobalOptions& g) {
  auto plan = make_plan(o);
  if (!plan) return report(plan.error());
  const std::atomic<bool>& stop = install_stop_signals();
  if (!o.republish.empty()) return republish(o, *plan, g, stop);
  auto sink = make_stdout_sink(o.output);
  if (!sink) return report(sink.error());
  std::optional<ProgressSink> progress;
  if (progress_wanted(g.quiet, true)) progress.emplace(**sink, "replay");
  EnvelopeSink& output = progress ? static_cast<EnvelopeSink&>(*progress) : **sink;
  if (Status s = read_log(o, *plan, output, g, stop); !s) return report(s.error());
  return stop ? report({ErrorKind::kInterrupted, "interrupted"}) : kExitOk;
}

}  // namespace

Runner setup_replay(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<ReplayOptions>();
  app.add_option("NAME", o->names, "topics (or patterns) to replay")->required();
  app.add_option("--from", o->from, "first message: earliest, N, -N, @TIME")
      ->type_name("POS")
      ->capture_default_str();
  app.add_option("--to", o->to, "last message, inclusive: N or @TIME (default: the end)")
      ->type_name("POS");
  app.add_option("--speed", o->speed, "max, original (keep the gaps), or Nx (e.g. 10x)")
      ->type_name("SPEED")
      ->capture_default_str();
  app.add_option("--republish", o->republish, "publish into TOPIC instead of printing")
      ->type_name("TOPIC");
  app.add_option("--data", o->data, "read a broker's data directory directly, no broker needed")
      ->type_name("DIR");
  add_filter_option(app, o->filter);
  add_output_options(app, o->output);
  return [o, &global] { return run_replay(*o, global); };
}

}  // namespace eda
