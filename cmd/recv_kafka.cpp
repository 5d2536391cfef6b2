// recv and `sub --group` against Kafka: a consumer group member that prints
// each message, or runs --exec on it, and commits its offset only once it is
// completed (docs/KAFKA.md). One message at a time.
#include <fmt/format.h>
#include <poll.h>

#include <map>

#include "cmd/broker_io.h"
#include "cmd/recv.h"
#include "core/log.h"
#include "transport/kafka/kafka_group.h"

namespace eda {
namespace {

// The flags of recv that have no Kafka counterpart.
Status check_kafka_recv_config(const RecvConfig& config) {
  if (config.mode != proto::ReceiveMode::kPeekLock)
    return invalid_argument(
        "--ack manual and --ack none need edatool's broker; with Kafka a message is completed "
        "(its offset committed) once printed or once --exec succeeds");
  if (config.lock)
    return invalid_argument("--lock needs edatool's broker; Kafka has no per-message locks");
  if (config.concurrency > 1)
    return invalid_argument("with Kafka, recv handles one message at a time: drop --concurrency");
  return ok_status();
}

// Runs the handler on `e` and waits for its exit: exit 0 completes.
Result<KafkaSettle> run_kafka_handler(HandlerPool& pool, const Envelope& e, uint64_t delivery,
                                      const std::atomic<bool>& stop) {
  if (Status s = pool.start(handler_job(e, 0, delivery)); !s) return s.error();
  while (true) {
    if (stop) {
      pool.terminate(std::chrono::milliseconds(2000));
      return Error{ErrorKind::kInterrupted, "interrupted"};
    }
    auto exits = pool.wait(std::chrono::milliseconds(200));
    if (exits.empty()) continue;
    if (exits.front().succeeded()) return KafkaSettle::kComplete;
    log_info("message {} ({} [{}] offset {}): handler {}; abandoned, reading it again", e.id,
             e.topic, e.partition, e.offset, exits.front().description);
    return KafkaSettle::kAbandon;
  }
}

}  // namespace

int run_kafka_receive(const RecvConfig& config, const OutputOptions& output,
                      const GlobalOptions& g) {
  if (Status s = check_kafka_recv_config(config); !s) return report(s.error());
  auto kafka = kafka_backend_of(g);
  if (!kafka) return report(kafka.error());
  KafkaGroupConfig group;
  group.patterns = {config.target.topic};
  // A queue (`recv TOPIC`) is the Kafka group named after its topic.
  group.group = config.target.group == kQueueGroup ? config.target.topic : config.target.group;
  group.from = config.group_start;
  group.count = config.count;
  group.wait = config.wait;
  if (Status s = check_kafka_group_config(group); !s) return report(s.error());
  auto sink = make_stdout_sink(output);
  if (!sink) return report(sink.error());
  std::unique_ptr<HandlerPool> pool;
  if (config.exec) {
    auto created = HandlerPool::create(*config.exec, 1);
    if (!created) return report(created.error());
    pool = std::move(*created);
  }
  const std::atomic<bool>& stop = install_stop_signals();
  // How often this process was handed each message (EDATOOL_DELIVERY_COUNT);
  // Kafka keeps no count, so a message redelivered to another member starts at 1.
  std::map<std::tuple<std::string, int32_t, uint64_t>, uint64_t> deliveries;
  auto handle = [&](const Envelope& e) -> Result<KafkaSettle> {
    if (!pool) {
      if (Status s = (*sink)->write(e); !s) return s.error();
      if (Status s = (*sink)->flush(); !s) return s.error();
      return KafkaSettle::kComplete;  // printed: completed
    }
    auto key = std::make_tuple(e.topic, e.partition, e.offset);
    auto settle = run_kafka_handler(*pool, e, ++deliveries[key], stop);
    if (settle && *settle == KafkaSettle::kComplete) deliveries.erase(key);
    return settle;
  };
  auto settled = kafka->module.consume_group(kafka->config, group, handle, stop);
  if (!settled) return report(settled.error());
  return kExitOk;
}

}  // namespace eda
