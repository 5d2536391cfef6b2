#include "transport/kafka/kafka_publish.h"

#include <fmt/format.h>
#include <poll.h>

#include <chrono>
#include <optional>
#include <thread>

#include "core/duration.h"
#include "core/log.h"
#include "core/position.h"
#include "core/ulid.h"
#include "transport/kafka/kafka_client.h"
#include "transport/kafka/kafka_envelope.h"

namespace eda {
namespace {

using KafkaPublishClock = std::chrono::steady_clock;

// What the delivery reports said; written by librdkafka's callback on the
// thread that calls rd_kafka_poll/flush (this one).
struct DeliveryTally {
  uint64_t delivered = 0;
  uint64_t failed = 0;
  std::optional<std::string> first_failure;
};

void on_kafka_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* tally = static_cast<DeliveryTally*>(opaque);
  if (!m->err) {
    ++tally->delivered;
    return;
  }
  ++tally->failed;
  if (!tally->first_failure)
    tally->first_failure =
        fmt::format("{} (topic {})", rd_kafka_err2str(m->err), rd_kafka_topic_name(m->rkt));
}

class KafkaPublishRun {
 public:
  KafkaPublishRun(const KafkaConfig& kafka, EnvelopeSource& source, const EnvelopeStamp& stamp,
                  const PublishConfig& config, const std::atomic<bool>& stop, PublishReport& report)
      : kafka_(kafka),
        source_(source),
        stamp_(stamp),
        config_(config),
        stop_(stop),
        report_(report) {}
  // Drops what was never delivered (an error or timeout ended the run), so
  // destroying the producer does not wait for it.
  ~KafkaPublishRun() {
    if (rk_) rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  }

  Status run();

 private:
  Status connect();
  Status produce(const EnvelopeView& v);
  Status wait_for_deliveries();
  std::optional<Error> time_or_stop_error() const;
  void pace();

  const KafkaConfig& kafka_;
  EnvelopeSource& source_;
  const EnvelopeStamp& stamp_;
  const PublishConfig& config_;
  const std::atomic<bool>& stop_;
  PublishReport& report_;
  DeliveryTally tally_;
  KafkaHandle rk_;
  EnvelopeStamper stamper_{stamp_};
  KafkaPublishClock::time_point start_ = KafkaPublishClock::now();
};

Status KafkaPublishRun::connect() {
  std::vector<KafkaSetting> defaults = {{"partitioner", "murmur2_random"},  // as Java clients
                                        {"linger.ms", "5"},
                                        {"message.timeout.ms", "30000"}};
  if (config_.confirm) {
    defaults.push_back({"enable.idempotence", "true"});
    defaults.push_back({"acks", "all"});
  } else {
    defaults.push_back({"acks", "0"});  // --no-confirm: fire and forget
  }
  auto conf = make_kafka_conf(kafka_, defaults);
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_kafka_delivery);
  rd_kafka_conf_set_opaque(conf->get(), &tally_);
  auto rk = make_kafka_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk) return rk.error();
  rk_ = std::move(*rk);
  // Produce never fails for an absent cluster (messages wait in the queue),
  // so ask for the broker list first: no answer is a clear, early error.
  auto wait = config_.unreachable_after;
  bool limited_by_timeout = config_.timeout && *config_.timeout <= wait;
  if (limited_by_timeout) wait = *config_.timeout;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 0, nullptr, &md, wait.count());
  if (err) {
    std::string why = kafka_unreachable(kafka_, rd_kafka_err2str(err));
    return limited_by_timeout ? Error{ErrorKind::kTimeout, why} : runtime_error(why);
  }
  rd_kafka_metadata_destroy(md);
  return ok_status();
}

std::optional<Error> KafkaPublishRun::time_or_stop_error() const {
  if (stop_) return Error{ErrorKind::kInterrupted, "interrupted"};
  if (config_.timeout && KafkaPublishClock::now() - start_ >= *config_.timeout)
    return Error{ErrorKind::kTimeout,
                 fmt::format("timed out after {}: {} of {} messages confirmed by Kafka",
                             format_duration(*config_.timeout), tally_.delivered, report_.sent)};
  return std::nullopt;
}

void KafkaPublishRun::pace() {
  if (config_.rate <= 0) return;
  auto due = start_ + std::chrono::duration_cast<KafkaPublishClock::duration>(
                          std::chrono::duration<double>(report_.sent / config_.rate));
  while (KafkaPublishClock::now() < due && !stop_) {
    rd_kafka_poll(rk_.get(), 0);
    std::this_thread::sleep_for(std::min<KafkaPublishClock::duration>(
        due - KafkaPublishClock::now(), std::chrono::milliseconds(50)));
  }
}

Status KafkaPublishRun::produce(const EnvelopeView& v) {
  // librdkafka copies what it sends; the owned copy keeps kafka_headers_of simple.
  Envelope e = copy_envelope(stamper_.stamp(v, now_ms()));
  pace();
  while (true) {
    KafkaHeaders headers(rd_kafka_headers_new(e.headers.size() + 1));
    for (const auto& [name, value] : kafka_headers_of(e))
      rd_kafka_header_add(headers.get(), name.data(), static_cast<ssize_t>(name.size()),
                          value.data(), static_cast<ssize_t>(value.size()));
    const char* key = e.key ? e.key->data() : nullptr;  // null: a message without key
    size_t key_size = e.key ? e.key->size() : 0;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(e.topic.c_str()),
        RD_KAFKA_V_VALUE(e.payload.data(), e.payload.size()), RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_TIMESTAMP(e.ts),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (!err) {
      (void)headers.release();  // the message owns them now
      ++report_.sent;
      rd_kafka_poll(rk_.get(), 0);
      return ok_status();
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return runtime_error(
          fmt::format("cannot publish to Kafka topic {}: {}", e.topic, rd_kafka_err2str(err)));
    // The local queue is full: serve delivery reports until there is room.
    rd_kafka_poll(rk_.get(), 100);
    if (auto failure = time_or_stop_error()) return *failure;
  }
}

Status KafkaPublishRun::wait_for_deliveries() {
  while (rd_kafka_outq_len(rk_.get()) > 0) {
    if (auto failure = time_or_stop_error()) return *failure;
    rd_kafka_flush(rk_.get(), 100);
  }
  return ok_status();
}

Status KafkaPublishRun::run() {
  if (Status s = connect(); !s) return s;
  std::optional<Error> input_error;
  bool at_end = false;
  std::vector<EnvelopeView> fresh;
  while (!at_end) {
    if (auto failure = time_or_stop_error()) return *failure;
    if (source_.fd() >= 0) {
      pollfd in{source_.fd(), POLLIN, 0};
      if (::poll(&in, 1, 100) == 0) {  // nothing to read yet: serve delivery reports
        rd_kafka_poll(rk_.get(), 0);
        continue;
      }
    }
    fresh.clear();
    Status s = source_.read(fresh, at_end);
    for (const EnvelopeView& v : fresh)
      if (Status p = produce(v); !p) return p;
    if (!s) {
      input_error = s.error();
      break;
    }
  }
  Status waited = wait_for_deliveries();
  rd_kafka_poll(rk_.get(), 0);  // the last delivery reports
  report_.confirmed = tally_.delivered;
  if (tally_.failed > 0)
    return runtime_error(fmt::format("{} of {} messages were not stored by Kafka: {}",
                                     tally_.failed, report_.sent, *tally_.first_failure));
  if (!waited) return waited;
  if (input_error) return *input_error;
  return ok_status();
}

}  // namespace

Status kafka_publish(const KafkaConfig& kafka, EnvelopeSource& source, const EnvelopeStamp& stamp,
                     const PublishConfig& config, const std::atomic<bool>& stop,
                     PublishReport& report) {
  return KafkaPublishRun(kafka, source, stamp, config, stop, report).run();
}

}  // namespace eda
