// The receive loop shared by `recv` and `sub --group` (cmd/recv.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "cmd/command.h"
#include "cmd/output_options.h"
#include "core/broker_engine.h"
#include "core/handler_pool.h"
#include "core/position.h"
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
  // Kafka only: a pattern for target.topic is allowed (sub --group), and a
  // group without committed offsets starts here (earliest or latest).
  Position group_start{Position::Kind::kEarliest, 0};
};

// "TOPIC" (its queue) or "TOPIC:GROUP"; names checked.
Result<GroupRequest> parse_queue_name(const std::string& text);

int run_receive(const RecvConfig& config, const OutputOptions& output, const GlobalOptions& g);

// run_receive against a kafka:// broker, as a member of a Kafka consumer
// group (cmd/recv_kafka.cpp, docs/KAFKA.md).
int run_kafka_receive(const RecvConfig& config, const OutputOptions& output,
                      const GlobalOptions& g);

// The --exec handler's job for `e`: payload on stdin, EDATOOL_ID, _KEY,
// _TOPIC, _OFFSET, _DELIVERY_COUNT (and _PARTITION from Kafka), and one
// EDATOOL_HEADER_<NAME> per header.
HandlerJob handler_job(const Envelope& e, uint64_t tag, uint64_t delivery_count);

}  // namespace eda
