#include "transport/kafka/kafka_subscribe.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <optional>

#include "core/duration.h"
#include "core/filter.h"
#include "core/log.h"
#include "core/topic.h"
#include "transport/kafka/kafka_client.h"
#include "transport/kafka/kafka_envelope.h"

namespace eda {
namespace {

using KafkaSubscribeClock = std::chrono::steady_clock;
// How often a following reader looks for new topics and partitions.
constexpr std::chrono::seconds kKafkaTopicRefresh{1};

struct KafkaCursor {
  int64_t next = 0;        // offset of the next message to read
  int64_t end = 0;         // the partition's end when assigned: -e stops there
  int64_t skip_below = 0;  // --from N past the end: nothing before N is shown
  bool at_end = false;
};
using KafkaPartitionKey = std::pair<std::string, int32_t>;

// Whether a cluster topic is one the patterns ask for. Kafka's own topics
// (`__consumer_offsets`) only match when named, as `$` topics with edatool's broker.
bool kafka_topic_wanted(const std::vector<std::string>& patterns, std::string_view topic) {
  for (const std::string& p : patterns) {
    if (!has_wildcard(p)) {
      if (p == topic) return true;
      continue;
    }
    if (topic.starts_with("__")) continue;
    if (topic_matches(p, topic)) return true;
  }
  return false;
}

class KafkaSubscribeRun {
 public:
  KafkaSubscribeRun(const KafkaConfig& kafka, const SubscribeConfig& config, EnvelopeSink& sink,
                    const std::atomic<bool>& stop)
      : kafka_(kafka), config_(config), sink_(sink), stop_(stop) {}
  ~KafkaSubscribeRun() {
    if (rk_) rd_kafka_consumer_close(rk_.get());
  }

  Result<SubscribeEnd> run();

 private:
  Status connect();
  std::chrono::milliseconds request_timeout() const;
  Error unreachable(rd_kafka_resp_err_t err) const;
  // Assigns the partitions of matching topics not assigned yet; the first
  // call starts each at --from, later ones at the partition's start.
  Status refresh(bool first);
  Status place(std::map<KafkaPartitionKey, KafkaCursor>& fresh, bool first);
  std::optional<Result<SubscribeEnd>> handle(const rd_kafka_message_t& m);
  std::optional<Result<SubscribeEnd>> check_timeout();
  bool caught_up() const;

  const KafkaConfig& kafka_;
  const SubscribeConfig& config_;
  EnvelopeSink& sink_;
  const std::atomic<bool>& stop_;
  std::optional<Filter> filter_;
  KafkaHandle rk_;
  std::map<KafkaPartitionKey, KafkaCursor> cursors_;
  uint64_t received_ = 0;
  std::vector<HeaderField> view_headers_;
  KafkaSubscribeClock::time_point start_ = KafkaSubscribeClock::now();
  KafkaSubscribeClock::time_point last_refresh_{};
  bool logged_subscribed_ = false;
};

std::chrono::milliseconds KafkaSubscribeRun::request_timeout() const {
  if (config_.timeout && *config_.timeout < config_.unreachable_after) return *config_.timeout;
  return config_.unreachable_after;
}

Error KafkaSubscribeRun::unreachable(rd_kafka_resp_err_t err) const {
  std::string why = kafka_unreachable(kafka_, rd_kafka_err2str(err));
  bool limited_by_timeout = config_.timeout && *config_.timeout <= config_.unreachable_after;
  return limited_by_timeout ? Error{ErrorKind::kTimeout, why} : runtime_error(why);
}

Status KafkaSubscribeRun::connect() {
  if (!config_.filter.empty()) {
    auto filter = Filter::parse(config_.filter);
    if (!filter) return filter.error();
    filter_ = std::move(*filter);
  }
  // group.id only because librdkafka's assign() needs one: this consumer never
  // joins the group and never commits.
  auto conf = make_kafka_conf(kafka_, {{"group.id", "edatool-reader"},
                                       {"enable.auto.commit", "false"},
                                       {"enable.auto.offset.store", "false"},
                                       {"enable.partition.eof", "true"},
                                       {"auto.offset.reset", "earliest"}});
  if (!conf) return conf.error();
  auto rk = make_kafka_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk) return rk.error();
  rk_ = std::move(*rk);
  rd_kafka_poll_set_consumer(rk_.get());
  return ok_status();
}

Status KafkaSubscribeRun::refresh(bool first) {
  last_refresh_ = KafkaSubscribeClock::now();
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk_.get(), 1, nullptr, &raw, request_timeout().count());
  if (err) {
    if (first) return unreachable(err);
    log_debug("Kafka metadata: {}", rd_kafka_err2str(err));
    return ok_status();  // try again at the next refresh
  }
  KafkaMetadata md(raw);
  std::map<KafkaPartitionKey, KafkaCursor> fresh;
  for (int t = 0; t < md->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = md->topics[t];
    if (topic.err || !kafka_topic_wanted(config_.patterns, topic.topic)) continue;
    for (int p = 0; p < topic.partition_cnt; ++p) {
      KafkaPartitionKey key{topic.topic, topic.partitions[p].id};
      if (!cursors_.contains(key)) fresh[key] = KafkaCursor{};
    }
  }
  if (fresh.empty() && !first) return ok_status();
  if (Status s = place(fresh, first); !s) return s;
  cursors_.merge(fresh);
  KafkaPartitions list(rd_kafka_topic_partition_list_new(static_cast<int>(cursors_.size())));
  for (const auto& [key, cursor] : cursors_)
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset =
        cursor.next;
  if (rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), list.get()))
    return runtime_error(fmt::format("cannot read from Kafka: {}", rd_kafka_err2str(e)));
  if (!logged_subscribed_) {
    log_debug("subscribed to {} at kafka://{} ({} partitions)", fmt::join(config_.patterns, " "),
              kafka_.bootstrap, cursors_.size());
    logged_subscribed_ = true;
  } else if (!fresh.empty()) {
    log_debug("reading {} more partitions", fresh.size());
  }
  return ok_status();
}

// Sets where each new partition starts (--from on the first call, its
// beginning later) and where -e stops (its end now).
Status KafkaSubscribeRun::place(std::map<KafkaPartitionKey, KafkaCursor>& fresh, bool first) {
  int timeout_ms = static_cast<int>(request_timeout().count());
  for (auto& [key, cursor] : fresh) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk_.get(), key.first.c_str(),
                                                               key.second, &low, &high, timeout_ms);
    if (err) return unreachable(err);
    cursor.end = high;
    cursor.next = low;
    if (!first) continue;
    const Position& from = config_.from;
    switch (from.kind) {
      case Position::Kind::kEarliest:
      case Position::Kind::kTime:  // below, for all partitions at once
        break;
      case Position::Kind::kLatest:
        cursor.next = high;
        break;
      case Position::Kind::kOffset:
        cursor.next = std::clamp<int64_t>(from.value, low, high);
        cursor.skip_below = from.value;
        if (from.value < low)
          log_info("{} [{}]: offset {} is gone; starting at the earliest retained offset {}",
                   key.first, key.second, from.value, low);
        break;
      case Position::Kind::kLast:
        cursor.next = std::max(low, high - from.value);
        break;
    }
  }
  if (first && config_.from.kind == Position::Kind::kTime && !fresh.empty()) {
    KafkaPartitions list(rd_kafka_topic_partition_list_new(static_cast<int>(fresh.size())));
    for (const auto& [key, cursor] : fresh)
      rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset =
          config_.from.value;
    if (rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_.get(), list.get(), timeout_ms))
      return unreachable(err);
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      KafkaCursor& cursor = fresh.at({tp.topic, tp.partition});
      // -1: no message at or after TIME; start at the end.
      cursor.next = tp.err || tp.offset < 0 ? cursor.end : tp.offset;
    }
  }
  for (auto& [key, cursor] : fresh) cursor.at_end = cursor.next >= cursor.end;
  return ok_status();
}

bool KafkaSubscribeRun::caught_up() const {
  for (const auto& [key, cursor] : cursors_)
    if (!cursor.at_end) return false;
  return true;
}

std::optional<Result<SubscribeEnd>> KafkaSubscribeRun::handle(const rd_kafka_message_t& m) {
  const char* topic = rd_kafka_topic_name(m.rkt);
  auto it = cursors_.find({topic, m.partition});
  if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    if (it != cursors_.end()) it->second.at_end = true;
    return std::nullopt;
  }
  if (m.err) {
    // A partition that is gone or refused never reaches its end: -e would
    // wait forever, so these end the run; anything else may pass.
    switch (m.err) {
      case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
      case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        return Result<SubscribeEnd>(runtime_error(fmt::format(
            "Kafka topic {} partition {}: {}", topic, m.partition, rd_kafka_message_errstr(&m))));
      default:
        log_info("Kafka: {}", rd_kafka_message_errstr(&m));
        return std::nullopt;
    }
  }
  if (it == cursors_.end()) return std::nullopt;  // no longer assigned
  KafkaCursor& cursor = it->second;
  cursor.next = m.offset + 1;
  if (cursor.next >= cursor.end) cursor.at_end = true;
  if (m.offset < cursor.skip_below) return std::nullopt;

  Envelope e = kafka_message_envelope(m);
  if (filter_ && !filter_->matches(view_envelope(e, view_headers_))) return std::nullopt;
  if (Status s = sink_.write(e); !s) return Result<SubscribeEnd>(s.error());
  ++received_;
  if (config_.count && received_ >= *config_.count) {
    if (Status s = sink_.flush(); !s) return Result<SubscribeEnd>(s.error());
    return Result<SubscribeEnd>(SubscribeEnd::kCount);
  }
  if (sink_.done()) {
    if (Status s = sink_.flush(); !s) return Result<SubscribeEnd>(s.error());
    return Result<SubscribeEnd>(SubscribeEnd::kSinkDone);
  }
  return std::nullopt;
}

std::optional<Result<SubscribeEnd>> KafkaSubscribeRun::check_timeout() {
  if (!config_.timeout || KafkaSubscribeClock::now() - start_ < *config_.timeout)
    return std::nullopt;
  if (Status s = sink_.flush(); !s) return Result<SubscribeEnd>(s.error());
  return subscribe_timeout_end(config_, received_);
}

Result<SubscribeEnd> KafkaSubscribeRun::run() {
  if (Status s = connect(); !s) return s.error();
  if (Status s = refresh(true); !s) return s.error();
  while (true) {
    if (stop_) {
      (void)sink_.flush();
      return Error{ErrorKind::kInterrupted, "interrupted"};
    }
    if (config_.exit_at_end && caught_up()) {
      if (Status s = sink_.flush(); !s) return s.error();
      return SubscribeEnd::kCaughtUp;
    }
    if (auto end = check_timeout()) return std::move(*end);
    if (!config_.exit_at_end && KafkaSubscribeClock::now() - last_refresh_ >= kKafkaTopicRefresh)
      if (Status s = refresh(false); !s) return s.error();
    KafkaMessage m(rd_kafka_consumer_poll(rk_.get(), 100));
    if (!m) {
      if (Status s = sink_.flush(); !s) return s.error();
      continue;
    }
    if (auto end = handle(*m)) return std::move(*end);
  }
}

}  // namespace

Result<SubscribeEnd> kafka_subscribe(const KafkaConfig& kafka, const SubscribeConfig& config,
                                     EnvelopeSink& sink, const std::atomic<bool>& stop) {
  return KafkaSubscribeRun(kafka, config, sink, stop).run();
}

}  // namespace eda
