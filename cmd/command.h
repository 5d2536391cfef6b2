// The command table: every subcommand's name, one-line summary and setup.
// main.cpp builds the parser, help and "did you mean" from it.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace eda {

// How long a command waits for the broker's answer to one admin request
// (topic, queue, subscription management; a subscribe's setup).
inline constexpr std::chrono::seconds kAdminTimeout{5};

struct GlobalOptions {
  std::string broker = "tcp://127.0.0.1:7670";
  std::string ns = "default";
  std::string curve_key;                    // --curve-key FILE: this client's CURVE secret key
  std::string server_key;                   // --server-key KEY|FILE: the broker's CURVE public key
  std::vector<std::string> kafka_settings;  // -X name=value: librdkafka settings (kafka:// only)
  std::string kafka_config_file;            // --kafka-config FILE: name=value lines, before -X
  bool quiet = false;
  int verbose = 0;
};

// Runs a parsed subcommand; returns the process exit status.
using Runner = std::function<int()>;

struct Command {
  const char* name;
  const char* summary;
  // Declares the subcommand's flags on `app`; the returned Runner reads them.
  Runner (*setup)(CLI::App& app, const GlobalOptions& global);
  // For the man page: paragraphs separated by blank lines.
  const char* description;
  // For the man page and --help: "# what it does" lines, each followed by the command.
  const char* examples;
  // For the man page's FILES, or null: "PATH\twhat it is" lines.
  const char* files = nullptr;
};

std::span<const Command> command_table();

// Documented exit statuses (DESIGN §4).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTimeout = 3;
inline constexpr int kExitInterrupted = 130;

// Prints "edatool: <message>" on stderr and returns the exit status for it.
int report(const Error& error);

// Set by SIGINT/SIGTERM once install_stop_signals() ran.
const std::atomic<bool>& install_stop_signals();
// Set by SIGHUP once install_reload_signal() ran; the reader clears it.
std::atomic<bool>& install_reload_signal();

Runner setup_broker(CLI::App& app, const GlobalOptions& global);
Runner setup_pub(CLI::App& app, const GlobalOptions& global);
Runner setup_sub(CLI::App& app, const GlobalOptions& global);
Runner setup_tail(CLI::App& app, const GlobalOptions& global);
Runner setup_replay(CLI::App& app, const GlobalOptions& global);
Runner setup_topic(CLI::App& app, const GlobalOptions& global);
Runner setup_queue(CLI::App& app, const GlobalOptions& global);
Runner setup_view(CLI::App& app, const GlobalOptions& global);
Runner setup_subscription(CLI::App& app, const GlobalOptions& global);
Runner setup_settle(CLI::App& app, const GlobalOptions& global);
Runner setup_dlq(CLI::App& app, const GlobalOptions& global);
Runner setup_recv(CLI::App& app, const GlobalOptions& global);
Runner setup_stats(CLI::App& app, const GlobalOptions& global);
Runner setup_bench(CLI::App& app, const GlobalOptions& global);
Runner setup_keygen(CLI::App& app, const GlobalOptions& global);
Runner setup_help(CLI::App& app, const GlobalOptions& global);
Runner setup_completion(CLI::App& app, const GlobalOptions& global);
Runner setup_man(CLI::App& app, const GlobalOptions& global);

class BrokerConnection;
// Opens a connection to --broker, with CURVE when --curve-key and
// --server-key are given. Errors: a bad URL or key, a kafka:// URL, -X with
// edatool's broker (usage, exit 2).
Result<std::unique_ptr<BrokerConnection>> connect_broker(const GlobalOptions& global);

struct SubscribeConfig;
struct OutputOptions;
// Subscribes as `config` says and prints to stdout; sub and tail share it.
int run_subscription(const SubscribeConfig& config, const OutputOptions& output,
                     const GlobalOptions& global);

}  // namespace eda
