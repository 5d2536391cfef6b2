#include "cmd/app.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "cmd/suggest.h"
#include "core/topic.h"

namespace eda {
namespace {

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (const Command& c : command_table()) names.push_back(c.name);
  return names;
}

// A command's examples for the end of its --help: the table's "# what it
// does" lines, each followed by its command line, one pair per paragraph.
std::string examples_footer(std::string_view examples) {
  std::string out = "Examples:";
  std::istringstream lines{std::string(examples)};
  bool first = true;
  for (std::string line; std::getline(lines, line); first = false) {
    if (line.starts_with("# ") && !first) out += "\n";
    out += "\n  " + line;
  }
  return out;
}

}  // namespace

std::unique_ptr<CommandLine> make_command_line() {
  auto cl = std::make_unique<CommandLine>();
  CLI::App& app = cl->app;
  app.set_version_flag("--version", std::string("edatool ") + EDATOOL_VERSION);
  app.fallthrough();
  app.require_subcommand(0, 1);
  app.add_option(
         "-b,--broker", cl->global.broker,
         "broker URL: tcp://HOST:PORT, ipc://PATH, or kafka://HOST:PORT[,HOST:PORT] for Kafka")
      ->type_name("URL")
      ->envname("EDATOOL_BROKER")
      ->capture_default_str();
  app.add_option("--namespace", cl->global.ns,
                 "namespace that isolates topics, queues and groups from other namespaces")
      ->type_name("NS")
      ->envname("EDATOOL_NAMESPACE")
      ->check([](const std::string& ns) {
        Status s = validate_namespace(ns);
        return s ? std::string() : s.error().message;
      })
      ->capture_default_str();
  app.add_option("--curve-key", cl->global.curve_key,
                 "this client's CURVE secret key: a .key file from edatool keygen")
      ->type_name("FILE")
      ->envname("EDATOOL_CURVE_KEY");
  app.add_option("--server-key", cl->global.server_key,
                 "the broker's CURVE public key: Z85 text or its .pub file")
      ->type_name("KEY|FILE")
      ->envname("EDATOOL_SERVER_KEY");
  app.add_option("-X", cl->global.kafka_settings,
                 "librdkafka setting for kafka:// brokers, e.g. -X security.protocol=ssl "
                 "(repeatable)")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
  app.add_option("--kafka-config", cl->global.kafka_config_file,
                 "librdkafka settings for kafka:// brokers, name=value per line (as kcat -F); -X "
                 "overrides them")
      ->type_name("FILE")
      ->envname("EDATOOL_KAFKA_CONFIG");
  app.add_flag("-q,--quiet", cl->global.quiet, "print only errors on stderr");
  app.add_flag("-v,--verbose", cl->global.verbose, "print more on stderr (repeat for more)");
  for (const Command& c : command_table()) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    sub->footer(examples_footer(c.examples));  // before setup: nested subcommands inherit it
    cl->runners[sub] = c.setup(*sub, cl->global);
  }
  // Extras on the top level are an unknown command (main reports it with a
  // suggestion); a subcommand's unknown options fall through to there too.
  app.allow_extras();
  for (CLI::App* sub : app.get_subcommands({})) sub->allow_extras(false);
  return cl;
}

const Command* find_command(std::string_view name) {
  for (const Command& c : command_table())
    if (name == c.name) return &c;
  return nullptr;
}

std::vector<std::string> option_choices(const CLI::Option& option) {
  auto& o = const_cast<CLI::Option&>(option);
  // CLI::IsMember describes itself as "{a,b,c}"; get_validator(i) throws past the last.
  for (int i = 0;; ++i) {
    const CLI::Validator* v = nullptr;
    try {
      v = o.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      return {};
    }
    std::string d = v->get_description();
    if (d.size() < 2 || d.front() != '{' || d.back() != '}') continue;
    std::vector<std::string> choices;
    std::stringstream items(d.substr(1, d.size() - 2));
    for (std::string item; std::getline(items, item, ',');) choices.push_back(item);
    return choices;
  }
}

std::string unknown_command_message(std::string_view name) {
  return fmt::format("unknown command '{}'{}", name, did_you_mean(name, command_names()));
}

CLI::Validator command_name_check() {
  std::vector<std::string> names = command_names();
  return CLI::Validator(
      [names](const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end()
                   ? std::string()
                   : unknown_command_message(name);
      },
      fmt::format("{{{}}}", fmt::join(names, ",")));
}

}  // namespace eda
