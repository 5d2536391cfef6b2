// BrokerEngine and compacted topics (core/broker_compaction.cpp): topic
// settings, keys required, and passes run by maintain_logs, in memory and on disk.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/broker_engine.h"
#include "core/envelope_codec.h"
#include "tests/temp_dir.h"

namespace eda::broker_compaction_test {
namespace {

constexpr int64_t kNow = 1'714'564'800'000;
constexpr uint64_t kLots = uint64_t{1} << 40;

std::unique_ptr<BrokerEngine> open_engine(const EngineConfig& config) {
  std::vector<std::string> notes;
  auto engine = BrokerEngine::open(config, notes);
  if (!engine) FAIL("cannot open engine: " << engine.error().message);
  return std::move(*engine);
}

EngineConfig on_disk(const TempDir& dir) {
  EngineConfig config;
  config.data_dir = dir.path();
  config.fsync = FsyncPolicy::kNever;  // stored is visible: no commits to wait for
  config.segment_bytes = 2048;
  return config;
}

Envelope keyed(std::optional<std::string> key, std::string payload, bool tombstone = false) {
  Envelope e;
  e.topic = "kv";
  e.key = std::move(key);
  e.payload = std::move(payload);
  if (tombstone) e.headers = {{"tombstone", true}};
  return e;
}

// Publishes `rounds` updates of keys k0..k9, one message per batch.
void publish_updates(BrokerEngine& engine, int rounds, int64_t now = kNow) {
  for (int i = 0; i < rounds; ++i) {
    auto r = engine.publish(
        std::vector<Envelope>{keyed(fmt::format("k{}", i % 10), fmt::format("v{}", i))}, now);
    REQUIRE(r);
  }
}

// Every message of "kv" from the earliest offset: key -> payload, in offset order.
std::vector<std::pair<std::string, std::string>> read_all(BrokerEngine& engine) {
  auto id = engine.subscribe({{"kv"}, {Position::Kind::kEarliest, 0}, {}, {}});
  REQUIRE(id);
  engine.grant(*id, kLots, kLots);
  std::vector<std::pair<std::string, std::string>> out;
  uint64_t last_offset = 0;
  for (int round = 0; round < 1000; ++round) {
    Delivery d = engine.next_delivery(*id);
    for (const StoredRecord& r : d.records) {
      auto e = decode_envelope(r.body);
      REQUIRE(e);
      CHECK(e->offset == r.offset);
      if (!out.empty()) CHECK(r.offset > last_offset);
      last_offset = r.offset;
      out.emplace_back(e->key.value_or(""), e->payload);
    }
    if (d.records.empty()) break;
  }
  engine.unsubscribe(*id);
  return out;
}

// Each key's newest payload among `messages`.
std::map<std::string, std::string> state_of(
    const std::vector<std::pair<std::string, std::string>>& messages) {
  std::map<std::string, std::string> state;
  for (const auto& [key, payload] : messages) state[key] = payload;
  return state;
}

// Runs maintain_logs until a compaction pass has left at most `at_most`
// messages in "kv" (a pass on disk runs on the compactor's thread).
void compact_until(BrokerEngine& engine, size_t at_most, int64_t now = kNow) {
  for (int round = 0; round < 500; ++round) {
    engine.maintain_logs(now);
    if (read_all(engine).size() <= at_most) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("compaction never left " << at_most << " messages or fewer");
}

TEST_CASE("broker compaction: topic settings are made, reported and checked",
          "[broker_compaction]") {
  auto engine = open_engine({});
  REQUIRE(engine->create_topic("kv", {true, 5000}));
  CHECK(engine->create_topic("kv", {true, 5000}));  // the same again is fine
  Status other = engine->create_topic("kv", {});
  REQUIRE_FALSE(other);
  CHECK(other.error().kind == ErrorKind::kConflict);
  CHECK_THAT(
      other.error().message,
      Catch::Contains("exists already with other settings (compacted, tombstones kept 5000 ms)"));
  Status bad_name = engine->create_topic("a b", {true, 1});
  CHECK_FALSE(bad_name);
  auto topics = engine->topics();
  REQUIRE(topics.size() == 1);
  CHECK(topics[0].settings == TopicSettings{true, 5000});
  // A topic a publish makes keeps by retention.
  Envelope made = keyed(std::nullopt, "x");
  made.topic = "made";
  REQUIRE(engine->publish(std::vector<Envelope>{made}, kNow));
  CHECK(engine->create_topic("made", {}));
  CHECK_FALSE(engine->create_topic("made", {true, 5000}));
  CHECK_FALSE(engine->topics()[1].settings.compact);
}

TEST_CASE("broker compaction: a message without a key is refused, the batch with it",
          "[broker_compaction]") {
  auto engine = open_engine({});
  REQUIRE(engine->create_topic("kv", {true, 5000}));
  auto r = engine->publish(std::vector<Envelope>{keyed("a", "1"), keyed(std::nullopt, "2")}, kNow);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(r.error().message, Catch::Contains("message 2") && Catch::Contains("no key") &&
                                    Catch::Contains("pub -k"));
  CHECK(read_all(*engine).empty());
}

TEST_CASE("broker compaction: in memory, the newest message per key stays and tombstones go",
          "[broker_compaction]") {
  auto engine = open_engine({});
  REQUIRE(engine->create_topic("kv", {true, 1000}));
  publish_updates(*engine, 100);
  REQUIRE(engine->publish(std::vector<Envelope>{keyed("k3", "", true)}, kNow));
  compact_until(*engine, 10);
  auto kept = read_all(*engine);
  auto state = state_of(kept);
  CHECK(kept.size() == 10);
  CHECK(state.at("k0") == "v90");
  CHECK(state.at("k9") == "v99");
  CHECK(state.at("k3").empty());  // the tombstone, younger than its retention
  // Once it is older than that, it goes with its key.
  compact_until(*engine, 9, kNow + 1001);
  kept = read_all(*engine);
  CHECK(kept.size() == 9);
  CHECK(std::none_of(kept.begin(), kept.end(), [](const auto& kv) { return kv.first == "k3"; }));
}

TEST_CASE("broker compaction: on disk, sealed segments are compacted and it survives a restart",
          "[broker_compaction]") {
  TempDir dir;
  {
    auto engine = open_engine(on_disk(dir));
    REQUIRE(engine->create_topic("kv", {true, 1000}));
    publish_updates(*engine, 400);
    // The active segment is never compacted: at most its messages and one per key stay.
    compact_until(*engine, 100);
    auto kept = read_all(*engine);
    auto state = state_of(kept);
    CHECK(state.size() == 10);
    CHECK(state.at("k0") == "v390");
    CHECK(state.at("k9") == "v399");
    REQUIRE(engine->checkpoint());
  }
  auto engine = open_engine(on_disk(dir));
  REQUIRE(engine->topics().size() == 1);
  CHECK(engine->topics()[0].settings == TopicSettings{true, 1000});
  CHECK(engine->topics()[0].next_offset == 400);
  auto kept = read_all(*engine);
  auto state = state_of(kept);
  CHECK(state.at("k5") == "v395");
  auto keyless = engine->publish(std::vector<Envelope>{keyed(std::nullopt, "x")}, kNow);
  CHECK_FALSE(keyless);  // still compacted
  // Deleting the topic while a pass may run leaves nothing behind.
  publish_updates(*engine, 200);
  engine->maintain_logs(kNow);
  REQUIRE(engine->delete_topic("kv"));
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir.path()) / "default" / "kv"));
}

TEST_CASE("broker compaction: a leased message compaction removed is settled, not stuck",
          "[broker_compaction]") {
  auto engine = open_engine({});
  REQUIRE(engine->create_topic("kv", {true, 1000}));
  REQUIRE(engine->publish(std::vector<Envelope>{keyed("a", "v1")}, kNow));
  ReceiveRequest request;
  request.target.topic = "kv";
  request.lock_ms = 1000;
  auto first = engine->receive(request, kNow);
  REQUIRE(first);
  REQUIRE(first->records.size() == 1);  // offset 0 leased, never settled
  REQUIRE(engine->publish(std::vector<Envelope>{keyed("a", "v2"), keyed("b", "w1")}, kNow));
  compact_until(*engine, 2);  // v1 is gone
  engine->expire_locks(kNow + 2000);
  request.max = 10;
  auto again = engine->receive(request, kNow + 2000);
  REQUIRE(again);
  std::vector<std::string> got;
  for (const StoredRecord& r : again->records) got.push_back(decode_envelope(r.body)->payload);
  CHECK(got == std::vector<std::string>{"v2", "w1"});
  auto groups = engine->groups();
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].stats.locked == 2);  // v2 and w1; not offset 0
  CHECK(groups[0].stats.completed == 1);
}

TEST_CASE("broker compaction: --from -N counts messages, not offsets", "[broker_compaction]") {
  auto engine = open_engine({});
  REQUIRE(engine->create_topic("kv", {true, 1000}));
  publish_updates(*engine, 10);  // k0..k9 once
  for (int i = 0; i < 20; ++i)
    REQUIRE(engine->publish(std::vector<Envelope>{keyed("k0", fmt::format("again{}", i))}, kNow));
  compact_until(*engine, 10);
  auto id = engine->subscribe({{"kv"}, {Position::Kind::kLast, 3}, {}, {}});
  REQUIRE(id);
  engine->grant(*id, kLots, kLots);
  std::vector<std::string> keys;
  for (const StoredRecord& r : engine->next_delivery(*id).records)
    keys.push_back(*decode_envelope(r.body)->key);
  CHECK(keys == std::vector<std::string>{"k8", "k9", "k0"});
}

}  // namespace
}  // namespace eda::broker_compaction_test
