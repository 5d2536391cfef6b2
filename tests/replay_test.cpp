#include "core/replay.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "core/disk_log.h"
#include "core/log_format.h"
#include "tests/temp_dir.h"

namespace eda::replay_test {
namespace {

namespace lf = log_format;
using namespace std::chrono_literals;

// Keeps what it is given.
class CollectingSink : public EnvelopeSink {
 public:
  std::vector<Envelope> written;
  int flushes = 0;
  Status fail_with = ok_status();

  using EnvelopeSink::write;
  Status write(const EnvelopeView& v) override {
    if (!fail_with) return fail_with;
    written.push_back(copy_envelope(v));
    return ok_status();
  }
  Status flush() override {
    ++flushes;
    return ok_status();
  }

  std::vector<uint64_t> offsets() const {
    std::vector<uint64_t> v;
    for (const Envelope& e : written) v.push_back(e.offset);
    return v;
  }
};

Envelope envelope(const std::string& topic, uint64_t offset, int64_t ts) {
  Envelope e;
  e.id = fmt::format("01HX{:022}", offset);
  e.topic = topic;
  e.key = "k" + std::to_string(offset % 3);
  e.headers = {{"n", int64_t(offset)}, {"from", std::string("test")}};
  e.ts = ts;
  e.payload = fmt::format("{}#{}", topic, offset) + std::string(offset % 200, 'z');
  e.offset = offset;
  return e;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t o = from; o < to; ++o) v.push_back(o);
  return v;
}

// --- parse_speed and --to ---

TEST_CASE("replay: parse_speed accepts max, original and a factor", "[replay]") {
  CHECK(parse_speed("max")->factor == 0);
  CHECK(parse_speed("original")->factor == 1);
  CHECK(parse_speed("2x")->factor == 2);
  CHECK(parse_speed("0.5x")->factor == 0.5);
  CHECK(parse_speed("10x")->factor == 10);
}

TEST_CASE("replay: parse_speed rejects anything else with the accepted forms", "[replay]") {
  for (const char* bad :
       {"", "x", "0x", "-1x", "2", "fast", "2X", "2 x", " 2x", "2xx", "x2", "nanx", "0.0x"}) {
    INFO("'" << bad << "'");
    auto s = parse_speed(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(s.error().message, Catch::Contains("max, original"));
  }
}

TEST_CASE("replay: --to takes an offset, @TIME or latest", "[replay]") {
  using K = Position::Kind;
  CHECK(validate_stop_position({K::kOffset, 5}).ok());
  CHECK(validate_stop_position({K::kTime, 5}).ok());
  CHECK(validate_stop_position({K::kLatest, 0}).ok());
  CHECK(validate_stop_position({K::kEarliest, 0}).error().kind == ErrorKind::kInvalidArgument);
  CHECK_FALSE(validate_stop_position({K::kLast, 3}).ok());
}

// --- ReplaySink ---

TEST_CASE("replay sink: --to N is inclusive and then done", "[replay]") {
  CollectingSink inner;
  ReplaySink sink(inner, Position{Position::Kind::kOffset, 5}, {}, nullptr);
  for (uint64_t o = 0; o < 10; ++o) {
    CHECK_FALSE(sink.done());
    REQUIRE(sink.write(envelope("t", o, 100)));
    if (o == 5) {
      CHECK(sink.done());
      break;
    }
  }
  CHECK(inner.offsets() == range(0, 6));
  // Anything after done is dropped.
  REQUIRE(sink.write(envelope("t", 6, 100)));
  CHECK(inner.offsets() == range(0, 6));
}

TEST_CASE("replay sink: --to N stops at the first offset past N when N is missing", "[replay]") {
  // Offsets are gap-free, but retention or a skipped segment can jump over N.
  CollectingSink inner;
  ReplaySink sink(inner, Position{Position::Kind::kOffset, 5}, {}, nullptr);
  for (uint64_t o : {0, 1, 8, 9}) REQUIRE(sink.write(envelope("t", o, 100)));
  CHECK(inner.offsets() == std::vector<uint64_t>{0, 1});
  CHECK(sink.done());
}

TEST_CASE("replay sink: --to @TIME includes records at TIME and stops after", "[replay]") {
  CollectingSink inner;
  ReplaySink sink(inner, Position{Position::Kind::kTime, 300}, {}, nullptr);
  std::vector<int64_t> ts = {100, 200, 300, 300, 400, 250};
  for (size_t i = 0; i < ts.size(); ++i) {
    REQUIRE(sink.write(envelope("t", i, ts[i])));
    if (i < 4) CHECK_FALSE(sink.done());
  }
  CHECK(sink.done());
  CHECK(inner.offsets() == range(0, 4));
}

TEST_CASE("replay sink: without --to everything passes and it is never done", "[replay]") {
  CollectingSink inner;
  SECTION("no --to") {
    ReplaySink sink(inner, std::nullopt, {}, nullptr);
    for (uint64_t o = 0; o < 5; ++o) REQUIRE(sink.write(envelope("t", o, 1)));
    CHECK_FALSE(sink.done());
  }
  SECTION("--to latest") {
    ReplaySink sink(inner, Position{Position::Kind::kLatest, 0}, {}, nullptr);
    for (uint64_t o = 0; o < 5; ++o) REQUIRE(sink.write(envelope("t", o, 1)));
    CHECK_FALSE(sink.done());
  }
  CHECK(inner.offsets() == range(0, 5));
}

TEST_CASE("replay sink: flush and errors reach through", "[replay]") {
  CollectingSink inner;
  ReplaySink sink(inner, std::nullopt, {}, nullptr);
  REQUIRE(sink.flush());
  CHECK(inner.flushes == 1);
  inner.fail_with = runtime_error("pipe closed");
  auto s = sink.write(envelope("t", 0, 1));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message == "pipe closed");
}

TEST_CASE("replay sink: at max speed nothing waits", "[replay]") {
  CollectingSink inner;
  ReplaySink sink(inner, std::nullopt, ReplaySpeed{0}, nullptr);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(sink.write(envelope("t", 0, 0)));
  REQUIRE(sink.write(envelope("t", 1, 3'600'000)));
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(inner.written.size() == 2);
}

TEST_CASE("replay sink: pacing keeps the original gaps divided by the factor", "[replay]") {
  CollectingSink inner;
  ReplaySink sink(inner, std::nullopt, ReplaySpeed{2}, nullptr);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(sink.write(envelope("t", 0, 1'000)));
  REQUIRE(sink.write(envelope("t", 1, 1'120)));  // 120 ms at 2x: 60 ms
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= 60ms);
  CHECK(elapsed < 5s);
  CHECK(inner.written.size() == 2);
}

TEST_CASE("replay sink: a stop request cuts a pacing wait short", "[replay]") {
  CollectingSink inner;
  std::atomic<bool> stop{false};
  ReplaySink sink(inner, std::nullopt, ReplaySpeed{1}, &stop);
  REQUIRE(sink.write(envelope("t", 0, 0)));
  stop = true;
  auto start = std::chrono::steady_clock::now();
  (void)sink.write(envelope("t", 1, 60'000));  // a minute later at 1x
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

// --- read_offline ---

// A data directory written by DiskLog: `topics` maps each topic to its record count.
// ts of offset o is 1'000'000 + 1000 * o.
struct DataDirFixture {
  TempDir tmp;
  std::map<std::string, std::vector<Envelope>> written;

  std::string topic_dir(const std::string& topic) const { return tmp.path() + "/default/" + topic; }

  void write_topic(const std::string& topic, size_t n, uint64_t segment_bytes = 2048) {
    DiskLogOptions o;
    o.segment_bytes = segment_bytes;
    auto log = DiskLog::create(posix_file_system(), topic_dir(topic), o);
    if (!log) FAIL(log.error().message);
    for (uint64_t off = 0; off < n; off += 2) {
      RecordBatch batch;
      for (uint64_t k = off; k < std::min<uint64_t>(off + 2, n); ++k) {
        written[topic].push_back(envelope(topic, k, 1'000'000 + 1000 * int64_t(k)));
        batch.add(written[topic].back());
      }
      Status s = (*log)->append(batch);
      if (!s) FAIL(s.error().message);
    }
  }

  Status read(std::vector<std::string> patterns, Position from, EnvelopeSink& sink,
              bool stop = false) {
    std::atomic<bool> stop_flag{stop};
    return read_offline({tmp.path(), "default", std::move(patterns), from, {}}, sink, stop_flag);
  }
};

const Position kEarliest{Position::Kind::kEarliest, 0};

std::string last_segment(const std::string& dir) {
  std::vector<std::string> logs;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".log") logs.push_back(e.path().string());
  std::sort(logs.begin(), logs.end());
  return logs.back();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE("read_offline: reads a topic from earliest, envelopes intact", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("orders.eu", 60);
  REQUIRE(std::distance(std::filesystem::directory_iterator(d.topic_dir("orders.eu")),
                        std::filesystem::directory_iterator{}) > 4);
  CollectingSink sink;
  REQUIRE(d.read({"orders.eu"}, kEarliest, sink));
  CHECK(sink.written == d.written["orders.eu"]);
  CHECK(sink.flushes >= 1);
}

TEST_CASE("read_offline: patterns pick topics, read one after another in name order",
          "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("orders.us", 5);
  d.write_topic("orders.eu", 7);
  d.write_topic("payments", 3);
  CollectingSink sink;
  REQUIRE(d.read({"orders.*"}, kEarliest, sink));
  std::vector<Envelope> expected = d.written["orders.eu"];
  expected.insert(expected.end(), d.written["orders.us"].begin(), d.written["orders.us"].end());
  CHECK(sink.written == expected);

  CollectingSink all;
  REQUIRE(d.read({">"}, kEarliest, all));
  CHECK(all.written.size() == 15);
}

TEST_CASE("read_offline: --from offset, @TIME and -N", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("t", 50);
  CollectingSink offset, time, last, latest;
  REQUIRE(d.read({"t"}, {Position::Kind::kOffset, 17}, offset));
  CHECK(offset.offsets() == range(17, 50));
  REQUIRE(d.read({"t"}, {Position::Kind::kTime, 1'000'000 + 1000 * 30 - 1}, time));
  CHECK(time.offsets() == range(30, 50));
  REQUIRE(d.read({"t"}, {Position::Kind::kLast, 5}, last));
  CHECK(last.offsets() == range(45, 50));
  REQUIRE(d.read({"t"}, {Position::Kind::kLatest, 0}, latest));
  CHECK(latest.written.empty());
}

TEST_CASE("read_offline: with ReplaySink --to stops at the offset", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("t", 50);
  d.write_topic("u", 10);
  CollectingSink inner;
  ReplaySink sink(inner, Position{Position::Kind::kOffset, 33}, {}, nullptr);
  REQUIRE(d.read({"t", "u"}, {Position::Kind::kOffset, 10}, sink));
  CHECK(inner.offsets() == range(10, 34));
  for (const Envelope& e : inner.written) CHECK(e.topic == "t");
}

TEST_CASE("read_offline: with ReplaySink --to @TIME stops at the time", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("t", 50);
  CollectingSink inner;
  ReplaySink sink(inner, Position{Position::Kind::kTime, 1'000'000 + 1000 * 20}, {}, nullptr);
  REQUIRE(d.read({"t"}, kEarliest, sink));
  CHECK(inner.offsets() == range(0, 21));
}

TEST_CASE("read_offline: a stop request reads nothing more", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("t", 50);
  CollectingSink sink;
  REQUIRE(d.read({"t"}, kEarliest, sink, true));
  CHECK(sink.written.empty());
}

TEST_CASE("read_offline: a torn tail is not read and not modified", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("t", 50);
  std::string last = last_segment(d.topic_dir("t"));
  std::filesystem::resize_file(last, std::filesystem::file_size(last) - 4);
  std::string before = slurp(last);
  CollectingSink sink;
  REQUIRE(d.read({"t"}, kEarliest, sink));
  CHECK(sink.offsets() == range(0, 49));
  CHECK(slurp(last) == before);
}

TEST_CASE("read_offline: a segment the broker has only just created reads as empty",
          "[replay][offline]") {
  // A running broker creates the file, then writes its header: replay --data
  // reads the directory without a lock and may see the empty file.
  DataDirFixture d;
  d.write_topic("t", 10, 1 << 20);
  std::string next = d.topic_dir("t") + "/" + segment_name(10) + std::string(lf::kSegmentSuffix);
  { std::ofstream create(next); }
  CollectingSink sink;
  Status s = d.read({"t"}, kEarliest, sink);
  INFO((s ? std::string("ok") : s.error().message));
  REQUIRE(s.ok());
  CHECK(sink.offsets() == range(0, 10));
  CHECK(std::filesystem::file_size(next) == 0);
}

TEST_CASE("read_offline: a corrupt sealed segment is skipped, the rest is read",
          "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("t", 60);
  std::vector<std::string> logs;
  for (const auto& e : std::filesystem::directory_iterator(d.topic_dir("t")))
    if (e.path().extension() == ".log") logs.push_back(e.path().string());
  std::sort(logs.begin(), logs.end());
  REQUIRE(logs.size() >= 3);
  {
    std::fstream f(logs[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(lf::kHeaderSize + 20);
    f.put('\x7f');
  }
  uint64_t bad_base = std::stoull(std::filesystem::path(logs[1]).stem().string());
  uint64_t next_base = std::stoull(std::filesystem::path(logs[2]).stem().string());
  CollectingSink sink;
  REQUIRE(d.read({"t"}, kEarliest, sink));
  std::vector<uint64_t> expected = range(0, bad_base);
  for (uint64_t o : range(next_base, 60)) expected.push_back(o);
  CHECK(sink.offsets() == expected);
}

TEST_CASE("read_offline: a missing data directory is an error naming it", "[replay][offline]") {
  CollectingSink sink;
  std::atomic<bool> stop{false};
  auto s = read_offline({"/nonexistent/edatool-data", "default", {">"}, kEarliest, {}}, sink, stop);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("/nonexistent/edatool-data"));
}

TEST_CASE("read_offline: no matching topic is an error naming the patterns", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("orders", 3);
  CollectingSink sink;
  auto s = d.read({"payments", "refunds.>"}, kEarliest, sink);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("payments refunds.>"));
}

TEST_CASE("read_offline: a sink error stops the read", "[replay][offline]") {
  DataDirFixture d;
  d.write_topic("t", 10);
  CollectingSink sink;
  sink.fail_with = runtime_error("disk full");
  auto s = d.read({"t"}, kEarliest, sink);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message == "disk full");
}

}  // namespace
}  // namespace eda::replay_test
