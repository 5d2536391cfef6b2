// edatool man [COMMAND]: manual pages in roff, generated from the command
// tree and the command table, so every flag of --help is documented.
#include <fmt/format.h>

#include <sstream>

#include "cmd/app.h"

namespace eda {
namespace {

// Escapes text for roff: backslashes, and a leading dot or quote.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    line_start = c == '\n';
  }
  return out;
}

std::string paragraphs(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string_view::npos) end = text.size();
    out += ".PP\n" + roff(text.substr(start, end - start)) + "\n";
    start = end + 2;
  }
  return out;
}

std::string option_items(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* o : app.get_options()) {
    std::vector<std::string> names;
    for (const auto& s : o->get_snames()) names.push_back("\\fB\\-" + roff(s) + "\\fR");
    for (const auto& l : o->get_lnames()) names.push_back("\\fB\\-\\-" + roff(l) + "\\fR");
    std::string value;
    if (o->get_positional()) {
      names = {"\\fI" + roff(o->get_name()) + "\\fR"};
    } else if (o->get_type_size_max() > 0) {
      auto choices = option_choices(*o);
      value = choices.empty() ? " \\fI" + roff(o->get_type_name()) + "\\fR"
                              : " " + roff(fmt::format("{}", fmt::join(choices, "|")));
    }
    std::string text = o->get_description();
    if (!o->get_default_str().empty()) text += fmt::format(" (default: {})", o->get_default_str());
    if (!o->get_envname().empty()) text += fmt::format(" (environment: {})", o->get_envname());
    out += fmt::format(".TP\n{}{}\n{}\n", fmt::join(names, ", "), value, roff(text));
  }
  return out;
}

std::string synopsis(const CLI::App& app, const std::string& path) {
  std::string usage = "\\fBedatool " + roff(path) + "\\fR [\\fIoptions\\fR]";
  for (const CLI::Option* o : app.get_options())
    if (o->get_positional()) {
      std::string arg = fmt::format("\\fI{}\\fR{}", roff(o->get_name()),
                                    o->get_items_expected_max() > 1 ? "..." : "");
      usage += o->get_required() ? " " + arg : " [" + arg + "]";
    }
  return ".SH SYNOPSIS\n" + usage + "\n";
}

std::string examples(std::string_view text) {
  std::string out = ".SH EXAMPLES\n";
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# "))
      out += ".PP\n" + roff(line.substr(2)) + ":\n";
    else
      out += ".PP\n.RS 4\n.nf\n" + roff(line) + "\n.fi\n.RE\n";
  }
  return out;
}

constexpr const char* kExitStatus =
    ".SH EXIT STATUS\n.TP\n0\nSuccess.\n.TP\n1\nRuntime failure: broker unreachable, message "
    "rejected, I/O error.\n.TP\n2\nUsage error: bad flag, topic, pattern, duration or "
    "position.\n.TP\n3\nTimed out before the asked count or "
    "confirmations.\n.TP\n130\nInterrupted.\n";

constexpr const char* kEnvironment =
    ".SH ENVIRONMENT\n.TP\nEDATOOL_BROKER\nThe broker URL when \\-b is not given.\n"
    ".TP\nEDATOOL_NAMESPACE\nThe namespace when \\-\\-namespace is not given.\n"
    ".TP\nXDG_DATA_HOME\nThe broker keeps its data in $XDG_DATA_HOME/edatool "
    "(default ~/.local/share/edatool).\n";

// "PATH\twhat it is" lines as a FILES section; "" for none.
std::string files(const char* text) {
  if (!text) return "";
  std::string out = ".SH FILES\n";
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    size_t tab = line.find('\t');
    out +=
        fmt::format(".TP\n\\fI{}\\fR\n{}\n", roff(line.substr(0, tab)), roff(line.substr(tab + 1)));
  }
  return out;
}

// For edatool(1): where `cmake --install` puts the Kafka module and the
// completions, and the data.
constexpr const char* kMainPageFiles =
    "PREFIX/lib/edatool/edatool-kafka.so\tThe Kafka backend, loaded only for kafka:// broker "
    "URLs; looked for next to the binary first. PREFIX is the cmake --install prefix, "
    "/usr/local by default (with PREFIX /usr on Debian, lib is lib/x86_64-linux-gnu).\n"
    "PREFIX/share/bash-completion/completions/edatool\tThe bash completion, loaded on demand by "
    "the bash-completion package.\n"
    "PREFIX/share/zsh/site-functions/_edatool\tThe zsh completion, found through $fpath once "
    "compinit ran.\n"
    "PREFIX/share/fish/vendor_completions.d/edatool.fish\tThe fish completion, found when "
    "PREFIX/share is in $XDG_DATA_DIRS or PREFIX is /usr.\n"
    "$XDG_DATA_HOME/edatool\tThe broker's data directory; see edatool-broker(1).\n";

std::string header(const std::string& name, const std::string& summary) {
  return fmt::format(".TH {} 1 \"\" \"edatool {}\" \"edatool manual\"\n.SH NAME\n{} \\- {}\n",
                     roff(name), EDATOOL_VERSION, roff(name), roff(summary));
}

std::string command_page(const CLI::App& app, const Command& c) {
  std::string out = header(fmt::format("edatool-{}", c.name), c.summary);
  out += synopsis(app, c.name);
  out += ".SH DESCRIPTION\n" + paragraphs(c.description);
  out += ".SH OPTIONS\n" + option_items(app);
  for (const CLI::App* sub : app.get_subcommands({})) {
    out += fmt::format(".SS {} {}\n{}\n", roff(c.name), roff(sub->get_name()),
                       roff(sub->get_description()));
    out += option_items(*sub);
  }
  out +=
      ".PP\nThe global options of \\fBedatool\\fR(1) (\\-b, \\-\\-namespace, \\-q, \\-v) apply "
      "too.\n";
  out += examples(c.examples);
  out += kExitStatus;
  out += kEnvironment;
  out += files(c.files);
  out += ".SH SEE ALSO\n\\fBedatool\\fR(1)\n";
  return out;
}

std::string main_page(const CLI::App& app) {
  std::string out =
      header("edatool", "events from the shell: a durable broker, pub/sub and replay");
  out +=
      ".SH SYNOPSIS\n\\fBedatool\\fR [\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] "
      "[\\fIargs\\fR]\n";
  out += paragraphs(
      "edatool is one binary for event-driven systems from the shell: a broker that keeps "
      "events in a durable, replayable log, publishers that read arguments or pipes, "
      "subscribers with NATS-style wildcards, tail and replay. Data goes to stdout, "
      "diagnostics to stderr prefixed \"edatool:\".\n\n"
      "Topics are tokens of A-Z a-z 0-9 _ - joined by dots, at most 255 bytes. In patterns, * "
      "matches one token and > one or more trailing tokens. Positions: earliest, latest, N (an "
      "offset), -N (the last N), @TIME (RFC 3339, or relative like @-10m). Durations: 250ms, "
      "30s, 5m, 2h, 7d.");
  out += ".SH COMMANDS\n";
  for (const Command& c : command_table())
    out += fmt::format(".TP\n\\fBedatool\\-{}\\fR(1)\n{}\n", roff(c.name), roff(c.summary));
  out += ".SH GLOBAL OPTIONS\n" + option_items(app);
  out += kExitStatus;
  out += kEnvironment;
  out += files(kMainPageFiles);
  out += ".SH SEE ALSO\n";
  std::vector<std::string> pages;
  for (const Command& c : command_table())
    pages.push_back(fmt::format("\\fBedatool\\-{}\\fR(1)", roff(c.name)));
  out += fmt::format("{}\n", fmt::join(pages, ", "));
  return out;
}

}  // namespace

Result<std::string> man_page(std::string_view command) {
  auto cl = make_command_line();
  if (command.empty()) return main_page(cl->app);
  const Command* c = find_command(command);
  if (!c) return invalid_argument(fmt::format("no command '{}' (see 'edatool --help')", command));
  return command_page(*cl->app.get_subcommand(std::string(command)), *c);
}

Runner setup_man(CLI::App& app, const GlobalOptions&) {
  auto command = std::make_shared<std::string>();
  app.add_option("COMMAND", *command, "the command whose page to print (default: edatool(1))")
      ->check(command_name_check());
  return [command] {
    auto page = man_page(*command);
    if (!page) return report(page.error());
    fmt::print("{}", *page);
    return kExitOk;
  };
}

}  // namespace eda
