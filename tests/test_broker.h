// A broker served in process on free ports, and the client calls tests make
// against it (broker_server_test, broker_bridges_test).
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/envelope_source.h"
#include "transport/broker_connection.h"
#include "transport/broker_server.h"
#include "transport/curve_keys.h"
#include "transport/publisher.h"
#include "transport/subscriber.h"

namespace eda {

// A broker on a free port, served by its own thread until destroyed.
class TestBroker {
 public:
  explicit TestBroker(EngineConfig engine_config = {}, BrokerConfig config = {}) {
    std::vector<std::string> notes;
    auto engine = BrokerEngine::open(engine_config, notes);
    REQUIRE(engine.ok());
    config.binds = {"tcp://127.0.0.1:*"};
    if (!config.taps.empty()) config.taps = {"tcp://127.0.0.1:*"};
    if (!config.ingests.empty()) config.ingests = {"tcp://127.0.0.1:*"};
    server_ = std::make_unique<BrokerServer>(config, std::move(*engine));
    auto endpoints = server_->bind();
    REQUIRE(endpoints.ok());
    REQUIRE(endpoints->size() == 1);
    endpoint_ = endpoints->front();
    REQUIRE(endpoint_.rfind("tcp://127.0.0.1:", 0) == 0);
    REQUIRE(endpoint_.back() != '*');
    if (!server_->tap_endpoints().empty()) tap_endpoint_ = server_->tap_endpoints().front();
    if (!server_->ingest_endpoints().empty())
      ingest_endpoint_ = server_->ingest_endpoints().front();
    thread_ = std::thread([this] { server_->run(stop_); });
  }
  ~TestBroker() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  // With a tap or an ingest bridge in the BrokerConfig (any URL: it binds a free port).
  const std::string& tap_endpoint() const { return tap_endpoint_; }
  const std::string& ingest_endpoint() const { return ingest_endpoint_; }
  // Only after stop(): the loop thread owns the counter while it runs.
  uint64_t malformed_frames() const { return server_->malformed_frames(); }
  uint64_t ingest_stored() const { return server_->ingest_stored(); }
  uint64_t ingest_dropped() const { return server_->ingest_dropped(); }

 private:
  std::unique_ptr<BrokerServer> server_;
  std::string endpoint_;
  std::string tap_endpoint_;
  std::string ingest_endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Keeps what it is given.
class CollectingSink : public EnvelopeSink {
 public:
  using EnvelopeSink::write;
  Status write(const EnvelopeView& v) override {
    envelopes.push_back(copy_envelope(v));
    return ok_status();
  }
  Status flush() override {
    ++flushes;
    return ok_status();
  }
  std::vector<Envelope> envelopes;
  int flushes = 0;
};

inline std::unique_ptr<BrokerConnection> connect(const TestBroker& broker,
                                                 const ClientCurve& curve = {}) {
  auto c = BrokerConnection::open(broker.endpoint(), curve);
  REQUIRE(c.ok());
  return std::move(*c);
}

inline std::vector<Envelope> payloads(int n, const std::string& prefix, size_t pad = 0) {
  std::vector<Envelope> v;
  for (int i = 0; i < n; ++i) {
    Envelope e;
    e.payload = prefix + std::to_string(i) + std::string(pad, '.');
    v.push_back(std::move(e));
  }
  return v;
}

inline Status publish_to(const TestBroker& broker, const std::string& topic,
                         std::vector<Envelope> envelopes, PublishReport& report,
                         EnvelopeStamp stamp = {}, const ClientCurve& curve = {}) {
  auto conn = connect(broker, curve);
  ListSource source(std::move(envelopes));
  stamp.topic = topic;
  PublishConfig config;
  config.timeout = std::chrono::seconds(
      10);  // a deadline, so a broken broker fails the test instead of hanging it
  std::atomic<bool> stop{false};
  return publish(*conn, source, stamp, config, stop, report);
}

inline Result<SubscribeEnd> subscribe_to(const TestBroker& broker, SubscribeConfig config,
                                         CollectingSink& sink, const ClientCurve& curve = {}) {
  auto conn = connect(broker, curve);
  if (!config.timeout) config.timeout = std::chrono::seconds(10);
  std::atomic<bool> stop{false};
  return subscribe(*conn, config, sink, stop);
}

}  // namespace eda
