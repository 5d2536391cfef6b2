#include "transport/broker_bridges.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "core/envelope_view.h"
#include "core/ingest_message.h"
#include "core/log.h"
#include "core/position.h"
#include "transport/zmq_io.h"

namespace eda {

// ---- tap ----

uint64_t TapBridge::send_high_water_mark(size_t max_message_bytes) {
  return std::clamp<uint64_t>(kQueueBytes / std::max<size_t>(max_message_bytes, 1), 1000, 10000);
}

TapBridge::TapBridge(zmq::context_t& context, size_t max_message_bytes)
    : xpub_(context, zmq::socket_type::xpub) {
  // A full SUB makes send() fail instead of dropping the message (TOOLCHAIN.md).
  xpub_.set(zmq::sockopt::xpub_nodrop, 1);
  xpub_.set(zmq::sockopt::linger, 0);
  xpub_.set(zmq::sockopt::sndhwm, static_cast<int>(send_high_water_mark(max_message_bytes)));
}

Result<std::vector<std::string>> TapBridge::bind(const std::vector<std::string>& urls) {
  return bind_endpoints(xpub_, urls, "--tap");
}

Status TapBridge::start(BrokerEngine& engine) {
  auto id = engine.subscribe({{">"}, Position{Position::Kind::kLatest, 0}, {}, {}});
  if (!id) return id.error();
  subscription_ = *id;
  engine.grant(subscription_, kWindowMessages, kWindowBytes);
  return ok_status();
}

bool TapBridge::send(std::string_view topic, std::string_view payload) {
  if (!xpub_.send(zmq::buffer(topic.data(), topic.size()),
                  zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
    ++refused_;
    return false;
  }
  // Once the first frame is queued the XPUB takes the rest of the message
  // (its high-water mark counts whole messages), so this cannot block.
  (void)xpub_.send(zmq::buffer(payload.data(), payload.size()), zmq::send_flags::none);
  ++sent_;
  return true;
}

void TapBridge::deliver(BrokerEngine& engine, const Delivery& delivery) {
  for (const std::string& notice : delivery.notices) log_info("tap: {}", notice);
  uint64_t messages = 0;
  uint64_t bytes = 0;
  for (const StoredRecord& r : delivery.records) {
    auto e = viewer_.view(r.body);
    if (!e) {
      log_error("tap: skipped a record it could not read: {}", e.error().message);
      ++messages;
      bytes += r.body.size();
      continue;
    }
    // Order: nothing overtakes what the XPUB refused before.
    if (held_.empty() && send(e->topic, e->payload)) {
      ++messages;
      bytes += r.body.size();
    } else {
      held_.push_back({std::string(e->topic), std::string(e->payload), r.body.size()});
    }
  }
  // Views into the delivery end with this call into the engine.
  if (messages) engine.grant(subscription_, messages, bytes);
  if (!held_.empty())
    log_debug("tap: a SUB is full; holding {} messages ({} refused sends so far)", held_.size(),
              refused_);
}

void TapBridge::retry(BrokerEngine& engine) {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  while (!held_.empty() && send(held_.front().topic, held_.front().payload)) {
    ++messages;
    bytes += held_.front().record_bytes;
    held_.pop_front();
  }
  retry_delay_ = messages ? kFirstRetry : std::min(retry_delay_ * 2, kLongestRetry);
  if (messages) engine.grant(subscription_, messages, bytes);
}

void TapBridge::read_subscriptions() {
  zmq::message_t m;
  while (xpub_.recv(m, zmq::recv_flags::dontwait)) {
    std::string_view s = m.to_string_view();
    if (s.empty()) continue;
    log_debug("tap: a SUB {} '{}'", s[0] == 1 ? "subscribed to" : "unsubscribed from", s.substr(1));
  }
}

// ---- ingest ----

namespace {
// A drain stops after about this many payload bytes too, so a flood of large
// messages does not pile up in memory before it is stored.
constexpr size_t kMaxIngestDrainBytes = 16u << 20;
constexpr int64_t kIngestLogIntervalMs = 1000;
}  // namespace

IngestBridge::IngestBridge(zmq::context_t& context, size_t max_message_bytes)
    : pull_(context, zmq::socket_type::pull),
      max_message_bytes_(max_message_bytes),
      log_throttle_(kLogBurst, kIngestLogIntervalMs) {
  pull_.set(zmq::sockopt::linger, 0);
  // Frames far over the limit end the sender's connection in ZeroMQ itself;
  // the slack leaves the merely oversized to be counted and reported here.
  pull_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(max_message_bytes + (2u << 20)));
}

Result<std::vector<std::string>> IngestBridge::bind(const std::vector<std::string>& urls) {
  return bind_endpoints(pull_, urls, "--ingest");
}

void IngestBridge::drop(uint64_t count, std::string_view why) {
  dropped_ += count;
  if (!log_throttle_.allow(now_ms())) return;
  uint64_t held_back = log_throttle_.take_held_back();
  std::string more = held_back ? fmt::format(", {} drops not logged since the last line", held_back)
                               : std::string();
  log_error("ingest: dropped {}: {} ({} dropped so far{})",
            count == 1 ? std::string("a message") : fmt::format("{} messages", count), why,
            dropped_, more);
}

void IngestBridge::drain(BrokerEngine& engine) {
  // One batch per topic, in arrival order within each topic.
  std::vector<std::vector<Envelope>> batches;
  std::unordered_map<std::string, size_t> batch_of_topic;
  std::vector<std::string_view> frames;
  size_t bytes = 0;
  for (size_t n = 0; n < kMaxDrain && bytes < kMaxIngestDrainBytes; ++n) {
    auto in = receive_message(pull_);
    if (!in) break;
    frames.clear();
    for (const zmq::message_t& part : in->parts) {
      frames.push_back(part.to_string_view());
      bytes += part.size();
    }
    auto e = parse_ingest_message(frames, max_message_bytes_);
    if (!e) {
      drop(1, e.error().message);
      continue;
    }
    auto [it, added] = batch_of_topic.try_emplace(e->topic, batches.size());
    if (added) batches.emplace_back();
    batches[it->second].push_back(std::move(*e));
  }
  int64_t now = now_ms();
  for (std::vector<Envelope>& batch : batches) {
    size_t n = batch.size();
    std::string topic = batch.front().topic;
    // Confirmation is not awaited: no one is waiting for it. The messages
    // become visible to subscribers once they are durable, as pub's do.
    auto receipt = engine.publish(std::move(batch), now);
    if (!receipt) {
      drop(n, fmt::format("storing for {} failed: {}", topic, receipt.error().message));
      continue;
    }
    stored_ += n;
  }
}

}  // namespace eda
