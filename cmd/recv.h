// The receive loop shared by `recv` and `sub --group` (cmd/recv.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "cmd/command.h"
#include "cmd/output_options.h"
#include "core/broker_engine.h"
#include "transport/protocol.h"

namespace eda {

struct RecvConfig {
  GroupRequest target;
  std::optional<uint64_t> count;                  // -n: stop after this many were settled
  std::optional<std::chrono::milliseconds> lock;  // nullopt: the group's
  proto::ReceiveMode mode = proto::ReceiveMode::kPeekLock;
  bool manual_json = false;         // --ack manual --format json
  std::optional<std::string> exec;  // --exec CMD
  size_t concurrency = 1;
  std::optional<std::chrono::milliseconds> wait;  // stop after this long without a message
};

// "TOPIC" (its queue) or "TOPIC:GROUP"; names checked.
Result<GroupRequest> parse_queue_name(const std::string& text);

int run_receive(const RecvConfig& config, const OutputOptions& output, const GlobalOptions& g);

}  // namespace eda
