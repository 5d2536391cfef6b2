#include "cmd/command.h"

#include <atomic>
#include <csignal>

#include "core/log.h"

namespace eda {

std::span<const Command> command_table() {
  static const Command kCommands[] = {
      {"broker", "run a broker that keeps and delivers events", setup_broker},
      {"pub", "publish messages from arguments or stdin", setup_pub},
      {"sub", "subscribe to topics and print their messages", setup_sub},
      {"tail", "show the last messages of a topic, and follow it with -f", setup_tail},
      {"replay", "replay a topic's stored log, to stdout or into another topic", setup_replay},
      {"topic", "list, inspect and delete topics", setup_topic},
  };
  return kCommands;
}

int report(const Error& error) {
  log_error("{}", error.message);
  switch (error.kind) {
    case ErrorKind::kInvalidArgument:
      return kExitUsage;
    case ErrorKind::kTimeout:
      return kExitTimeout;
    case ErrorKind::kInterrupted:
      return kExitInterrupted;
    case ErrorKind::kRuntime:
    case ErrorKind::kCorruption:
      return kExitFailure;
  }
  return kExitFailure;
}

namespace {
std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) {
  stop_requested = true;
}
}  // namespace

const std::atomic<bool>& install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return stop_requested;
}

}  // namespace eda
