// edatool help [COMMAND]: what `edatool --help` or `edatool COMMAND --help`
// prints, on stdout.
#include <fmt/format.h>

#include <memory>

#include "cmd/app.h"

namespace eda {

Runner setup_help(CLI::App& app, const GlobalOptions&) {
  auto command = std::make_shared<std::string>();
  app.add_option("COMMAND", *command, "the command whose help to print (default: edatool's)")
      ->check(command_name_check());
  const CLI::App* root = app.get_parent();
  return [command, root] {
    const CLI::App* page = command->empty() ? root : root->get_subcommand(*command);
    std::string name = command->empty() ? root->get_name() : root->get_name() + " " + *command;
    // Not page->help(): that shows the chosen subcommand's help, which is this one's.
    fmt::print("{}", page->get_formatter()->make_help(page, name, CLI::AppFormatMode::Normal));
    return kExitOk;
  };
}

}  // namespace eda
