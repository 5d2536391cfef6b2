// edatool: one binary, one subcommand per cmd/ file, dispatched from the command table.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>

#include "cmd/command.h"
#include "core/log.h"

namespace eda {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

int unknown_command(std::string_view name) {
  std::string hint;
  size_t best = 3;  // suggest only close matches
  for (const Command& c : command_table()) {
    size_t d = edit_distance(name, c.name);
    if (d < best) best = d, hint = fmt::format(" (did you mean '{}'?)", c.name);
  }
  log_error("unknown command '{}'{}; run 'edatool --help' for the list", name, hint);
  return kExitUsage;
}

int run(int argc, char** argv) {
  CLI::App app(
      "edatool: events from the shell: a durable broker, pub/sub with filters, "
      "work queues and replay",
      "edatool");
  app.set_version_flag("--version", std::string("edatool ") + EDATOOL_VERSION);
  app.fallthrough();
  app.require_subcommand(0, 1);
  GlobalOptions global;
  app.add_option("-b,--broker", global.broker, "broker URL: tcp://HOST:PORT or ipc://PATH")
      ->envname("EDATOOL_BROKER")
      ->capture_default_str();
  app.add_option("--namespace", global.ns, "namespace that isolates names")
      ->envname("EDATOOL_NAMESPACE")
      ->capture_default_str();
  app.add_flag("-q,--quiet", global.quiet, "print only errors on stderr");
  app.add_flag("-v,--verbose", global.verbose, "print more on stderr (repeat for more)");

  std::map<const CLI::App*, Runner> runners;
  for (const Command& c : command_table()) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    runners[sub] = c.setup(*sub, global);
  }
  // Extras on the top level are an unknown command, reported with a suggestion below.
  app.allow_extras();
  for (CLI::App* sub : app.get_subcommands({})) sub->allow_extras(false);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where;
    for (const CLI::App* sub : app.get_subcommands()) where = fmt::format(" {}", sub->get_name());
    log_error("{}", e.what());
    log_error("run 'edatool{} --help' for usage", where);
    return kExitUsage;
  }
  set_log_level(global.quiet         ? LogLevel::kError
                : global.verbose > 0 ? LogLevel::kDebug
                                     : LogLevel::kInfo);
  auto chosen = app.get_subcommands();
  if (!chosen.empty() && !app.remaining().empty()) {
    // Options a subcommand does not know fall through to the top level and land here.
    log_error("unknown option or argument '{}' for 'edatool {}'; run 'edatool {} --help' for usage",
              app.remaining().front(), chosen.front()->get_name(), chosen.front()->get_name());
    return kExitUsage;
  }
  if (chosen.empty()) {
    if (!app.remaining().empty()) return unknown_command(app.remaining().front());
    std::fputs(app.help().c_str(), stderr);
    return kExitUsage;
  }
  return runners.at(chosen.front())();
}

}  // namespace
}  // namespace eda

int main(int argc, char** argv) {
  try {
    return eda::run(argc, argv);
  } catch (const std::exception& e) {
    eda::log_error("internal error: {}", e.what());
    return eda::kExitFailure;
  }
}
