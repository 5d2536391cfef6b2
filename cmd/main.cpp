// edatool: one binary, one subcommand per cmd/ file, dispatched from the command table.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iterator>
#include <span>
#include <vector>

#include "cmd/app.h"
#include "cmd/suggest.h"
#include "core/log.h"

namespace eda {
namespace {

// The commands chosen on the command line, outermost first: edatool, topic, stats.
std::vector<const CLI::App*> chosen_path(const CLI::App& app) {
  std::vector<const CLI::App*> path{&app};
  while (!path.back()->get_subcommands().empty())
    path.push_back(path.back()->get_subcommands().front());
  return path;
}

std::string path_name(const std::vector<const CLI::App*>& path) {
  std::vector<std::string> names;
  for (const CLI::App* a : path) names.push_back(a->get_name());
  return fmt::format("{}", fmt::join(names, " "));
}

// "-n", "--count": every name of every flag of `a` itself.
std::vector<std::string> flag_names(const CLI::App& a) {
  std::vector<std::string> names;
  for (const CLI::Option* o : a.get_options()) {
    for (const std::string& s : o->get_snames()) names.push_back("-" + s);
    for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
  }
  return names;
}

// "-n1" is -n with its value attached; other flags as they are.
std::string_view short_or_long(std::string_view flag) {
  return flag.starts_with("--") ? flag : flag.substr(0, 2);
}

// Where `word` first is among the arguments (their count if nowhere).
size_t position_of(std::span<char* const> args, std::string_view word) {
  return std::ranges::find_if(args, [&](const char* a) { return word == a; }) - args.begin();
}

// A subcommand's own flag given before the subcommand's name (`edatool
// --timeout 1s pub t x`): unknown where it stood, right later. Returns the
// index in `path` of the command it belongs to, 0 if it is not that case.
size_t given_too_early(const std::vector<const CLI::App*>& path, std::string_view arg,
                       std::span<char* const> args) {
  std::string_view flag = short_or_long(arg.substr(0, arg.find('=')));
  for (size_t i = 1; i < path.size(); ++i)
    if (std::ranges::count(flag_names(*path[i]), flag) > 0 &&
        position_of(args, arg) < position_of(args, path[i]->get_name()))
      return i;
  return 0;
}

// An argument that no command took: a mistyped command gets the nearest
// command, a mistyped flag the nearest flag of the chosen command or of those
// around it (the global options apply too).
int unknown_argument(const CLI::App& app, std::string_view arg, std::span<char* const> args) {
  auto path = chosen_path(app);
  std::string command = path_name(path);
  const CLI::App& innermost = *path.back();
  // After `--` everything is an argument, whatever it looks like.
  bool after_dashes = position_of(args, "--") < position_of(args, arg);
  if (!arg.starts_with("-") || arg == "-" || after_dashes) {
    std::vector<std::string> subcommands;
    for (const CLI::App* sub : innermost.get_subcommands({}))
      subcommands.push_back(sub->get_name());
    if (path.size() == 1)
      log_error("{}; run 'edatool --help' for the list", unknown_command_message(arg));
    else if (!subcommands.empty())
      log_error("unknown command '{}' for '{}'{}; run '{} --help' for the list", arg, command,
                did_you_mean(arg, subcommands), command);
    else
      log_error("unexpected argument '{}' for '{}'; run '{} --help' for usage", arg, command,
                command);
    return kExitUsage;
  }
  std::string_view flag = arg.substr(0, arg.find('='));
  if (size_t i = given_too_early(path, arg, args)) {
    log_error("'{}' is an option of '{}': give it after '{}'", short_or_long(flag),
              path_name({path.begin(), path.begin() + i + 1}), path[i]->get_name());
    return kExitUsage;
  }
  std::vector<std::string> flags;
  for (const CLI::App* a : path) std::ranges::copy(flag_names(*a), std::back_inserter(flags));
  std::sort(flags.begin(), flags.end());
  flags.erase(std::unique(flags.begin(), flags.end()), flags.end());
  std::string hint = did_you_mean(flag, flags);
  if (hint.empty()) hint = fmt::format("; run '{} --help' for usage", command);
  log_error("unknown option '{}' for '{}'{}", flag, command, hint);
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
    // An unknown argument is likely the cause ("topic lst" lacks a subcommand).
    if (!app.remaining().empty())
      return unknown_argument(app, app.remaining().front(), {argv, size_t(argc)});
    log_error("{}", e.what());
    log_error("run '{} --help' for usage", path_name(chosen_path(app)));
    return kExitUsage;
  }
  set_log_level(global.quiet         ? LogLevel::kError
                : global.verbose > 0 ? LogLevel::kDebug
                                     : LogLevel::kInfo);
  // Arguments a subcommand does not know fall through to the top level and land here.
  if (!app.remaining().empty())
    return unknown_argument(app, app.remaining().front(), {argv, size_t(argc)});
  auto chosen = app.get_subcommands();
  if (chosen.empty()) {
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
