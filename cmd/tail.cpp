// edatool tail: the last N messages of a topic, then (with -f) what follows.
#include "cmd/command.h"
#include "cmd/filter_option.h"
#include "cmd/output_options.h"
#include "core/topic.h"
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

}  // namespace

Runner setup_tail(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<TailOptions>();
  app.add_option("NAME", o->name, "topic (or pattern) to show")->required();
  app.add_option("-n,--lines", o->lines, "how many of the last messages to show")
      ->type_name("N")
      ->capture_default_str();
  app.add_flag("-f,--follow", o->follow, "keep printing new messages as they arrive");
  add_filter_option(app, o->filter);
  add_output_options(app, o->output);
  return [o, &global] {
    if (Status s = validate_pattern(o->name); !s) return report(s.error());
    if (o->lines < 0) return report(invalid_argument("-n must be 0 or more"));
    if (auto filter = parse_filter_option(o->filter); !filter) return report(filter.error());
    SubscribeConfig config;
    config.patterns = {o->name};
    config.from = {Position::Kind::kLast, o->lines};
    config.exit_at_end = !o->follow;
    config.filter = o->filter;
    return run_subscription(config, o->output, global);
  };
}

}  // namespace eda
