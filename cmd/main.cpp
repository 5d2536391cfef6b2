// edatool: one binary, one subcommand per cmd/ file, dispatched from the command table.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>

#include "cmd/app.h"
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
  auto command_line = make_command_line();
  CLI::App& app = command_line->app;
  GlobalOptions& global = command_line->global;
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
  return command_line->runners.at(chosen.front())();
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
