#include "transport/kafka/kafka_group.h"

#include <fmt/format.h>

#include "core/duration.h"
#include "core/log.h"
#include "transport/kafka/kafka_client.h"
#include "transport/kafka/kafka_envelope.h"

namespace eda {
namespace {

using KafkaGroupClock = std::chrono::steady_clock;

Status check_kafka_group_reachable(const KafkaConfig& kafka, rd_kafka_t* rk,
                                   std::chrono::milliseconds wait) {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, nullptr, &md, wait.count()))
    return runtime_error(kafka_unreachable(kafka, rd_kafka_err2str(err)));
  rd_kafka_metadata_destroy(md);
  return ok_status();
}

// Reads the partition again from `m` (an abandoned message is delivered again).
Status rewind_kafka_partition(rd_kafka_t* rk, const rd_kafka_message_t& m) {
  KafkaPartitions list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), rd_kafka_topic_name(m.rkt), m.partition)->offset =
      m.offset;
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk, list.get(), 5000)) {
    std::string why = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    return runtime_error(fmt::format("cannot read {} [{}] again from offset {}: {}",
                                     rd_kafka_topic_name(m.rkt), m.partition, m.offset, why));
  }
  return ok_status();
}

}  // namespace

Result<uint64_t> kafka_consume_group(const KafkaConfig& kafka, const KafkaGroupConfig& config,
                                     const KafkaMessageHandler& handler,
                                     const std::atomic<bool>& stop) {
  if (Status s = check_kafka_group_config(config); !s) return s.error();
  // Offsets are committed once a message is completed; librdkafka's own
  // committing would commit what was only fetched.
  for (const auto& [name, value] : kafka.settings)
    if ((name == "enable.auto.commit" || name == "enable.auto.offset.store") && value != "false")
      return invalid_argument(fmt::format(
          "Kafka setting {}={} would commit messages before they are completed; edatool commits "
          "each one once it is done (drop that setting)",
          name, value));
  bool earliest = config.from.kind == Position::Kind::kEarliest;
  auto conf = make_kafka_conf(kafka, {{"group.id", config.group},
                                      {"enable.auto.commit", "false"},
                                      {"enable.auto.offset.store", "false"},
                                      {"auto.offset.reset", earliest ? "earliest" : "latest"}});
  if (!conf) return conf.error();
  auto rk = make_kafka_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk) return rk.error();
  rd_kafka_t* c = rk->get();
  rd_kafka_poll_set_consumer(c);
  if (Status s = check_kafka_group_reachable(kafka, c, config.unreachable_after); !s)
    return s.error();
  KafkaPartitions topics(
      rd_kafka_topic_partition_list_new(static_cast<int>(config.patterns.size())));
  for (const std::string& p : config.patterns)
    rd_kafka_topic_partition_list_add(topics.get(), kafka_topic_regex(p).c_str(),
                                      RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(c, topics.get()))
    return runtime_error(fmt::format("cannot subscribe: {}", rd_kafka_err2str(err)));
  log_debug("joining Kafka group {} for {} at kafka://{}", config.group,
            fmt::join(config.patterns, " "), kafka.bootstrap);

  uint64_t settled = 0;
  auto last_message = KafkaGroupClock::now();
  bool joined = false;
  Result<uint64_t> end = uint64_t{0};
  while (true) {
    if (stop) {
      end = Error{ErrorKind::kInterrupted, "interrupted"};
      break;
    }
    if (config.count && settled >= *config.count) {
      end = settled;
      break;
    }
    if (config.wait && KafkaGroupClock::now() - last_message >= *config.wait) {
      if (!config.count)
        end = settled;
      else
        end = Error{ErrorKind::kTimeout,
                    fmt::format("received {} of {} messages before {} passed without one", settled,
                                *config.count, format_duration(*config.wait))};
      break;
    }
    KafkaMessage m(rd_kafka_consumer_poll(c, 100));
    if (!joined) {
      // --wait counts from joining the group: the join itself takes seconds.
      char* member = rd_kafka_memberid(c);
      joined = member && *member;
      if (member) rd_kafka_mem_free(c, member);
      if (joined) log_debug("joined Kafka group {}", config.group);
      last_message = KafkaGroupClock::now();
    }
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        log_info("Kafka: {}", rd_kafka_message_errstr(m.get()));
      continue;
    }
    last_message = KafkaGroupClock::now();
    auto outcome = handler(kafka_message_envelope(*m));
    if (!outcome) {
      end = outcome.error();
      break;
    }
    if (*outcome == KafkaSettle::kComplete) {
      if (rd_kafka_resp_err_t err = rd_kafka_commit_message(c, m.get(), 0)) {
        end = runtime_error(fmt::format("cannot commit offset {} of {} [{}] in group {}: {}",
                                        m->offset, rd_kafka_topic_name(m->rkt), m->partition,
                                        config.group, rd_kafka_err2str(err)));
        break;
      }
    } else if (Status s = rewind_kafka_partition(c, *m); !s) {
      end = s.error();
      break;
    }
    ++settled;
  }
  rd_kafka_consumer_close(c);  // leaves the group now, so others take over at once
  return end;
}

}  // namespace eda
