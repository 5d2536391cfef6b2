// The whole command line as one CLI11 tree: global options and every
// subcommand of the command table. main() parses with it; `completion` and
// `man` generate from it, so they cannot drift from the real flags.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>

#include "cmd/command.h"

namespace eda {

struct CommandLine {
  CLI::App app{"events from the shell: a durable broker, pub/sub with filters and replay",
               "edatool"};
  GlobalOptions global;
  std::map<const CLI::App*, Runner> runners;
};

std::unique_ptr<CommandLine> make_command_line();

// The table entry for a top-level subcommand of the tree.
const Command* find_command(std::string_view name);

// Fixed choices of an option (from its CLI::IsMember check), or none.
std::vector<std::string> option_choices(const CLI::Option& option);

// "unknown command 'NAME'", with the nearest command name if one is close.
std::string unknown_command_message(std::string_view name);

// The check for an argument that names a command (`help`, `man`): its choices
// are the command names, as completions and man pages read them (like
// CLI::IsMember's), and any other name fails with unknown_command_message().
CLI::Validator command_name_check();

}  // namespace eda
