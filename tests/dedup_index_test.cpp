#include "core/dedup_index.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>

namespace eda::dedup_index_test {
namespace {

std::string id_of(uint64_t n) {
  return "id-" + std::to_string(n);
}

// The semantics DedupIndex must keep, written the plain way: a map by id and a
// queue of every add, oldest first (the index before its open-addressing table).
class ReferenceIndex {
 public:
  ReferenceIndex(int64_t window_ms, size_t max_ids) : window_ms_(window_ms), max_ids_(max_ids) {}

  std::optional<uint64_t> find(const std::string& id, int64_t now_ms) {
    if (!enabled() || id.empty()) return std::nullopt;
    expire(now_ms);
    auto it = offsets_.find(id);
    if (it == offsets_.end()) return std::nullopt;
    return it->second;
  }
  void add(const std::string& id, uint64_t offset, int64_t stored_ms) {
    if (!enabled() || id.empty()) return;
    offsets_[id] = offset;
    order_.push_back({stored_ms, id, offset});
    expire(stored_ms);
  }
  void forget_newest(size_t n) {
    for (; n > 0 && !order_.empty(); --n) {
      forget(order_.back());
      order_.pop_back();
    }
  }
  size_t size() const { return offsets_.size(); }

 private:
  struct Entry {
    int64_t stored_ms;
    std::string id;
    uint64_t offset;
  };
  bool enabled() const { return window_ms_ > 0 && max_ids_ > 0; }
  void forget(const Entry& e) {
    if (auto it = offsets_.find(e.id); it != offsets_.end() && it->second == e.offset)
      offsets_.erase(it);
  }
  void expire(int64_t now_ms) {
    while (!order_.empty() &&
           (order_.front().stored_ms < now_ms - window_ms_ || order_.size() > max_ids_)) {
      forget(order_.front());
      order_.pop_front();
    }
  }

  int64_t window_ms_;
  size_t max_ids_;
  std::map<std::string, uint64_t> offsets_;
  std::deque<Entry> order_;
};

struct RandomRun {
  int64_t window_ms;
  size_t max_ids;
  uint64_t distinct_ids;  // ids are drawn from this many, so many come back
  int operations;
};

// Runs the same random operations on both and compares every answer. Offsets
// step back after forget_newest, as the broker reuses a dropped batch's offsets.
void check_against_reference(const RandomRun& run, uint32_t seed) {
  INFO("window " << run.window_ms << " max " << run.max_ids << " seed " << seed);
  DedupIndex index(run.window_ms, run.max_ids);
  ReferenceIndex reference(run.window_ms, run.max_ids);
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  int64_t now = 1'000'000;
  uint64_t next_offset = 0;
  for (int op = 0; op < run.operations; ++op) {
    INFO("operation " << op);
    std::string id = id_of(below(run.distinct_ids));
    switch (below(10)) {
      case 0:
        now += static_cast<int64_t>(below(static_cast<uint64_t>(run.window_ms) / 4 + 2));
        break;
      case 1:
      case 2:
      case 3:
        REQUIRE(index.find(id, now) == reference.find(id, now));
        break;
      case 4: {
        size_t n = below(5);
        index.forget_newest(n);
        reference.forget_newest(n);
        next_offset -= std::min<uint64_t>(next_offset, n);
        break;
      }
      case 5: {  // an add stamped in the past, as when the index is rebuilt from the log
        int64_t then = now - static_cast<int64_t>(below(static_cast<uint64_t>(run.window_ms) + 1));
        index.add(id, next_offset, then);
        reference.add(id, next_offset, then);
        ++next_offset;
        break;
      }
      default:
        index.add(id, next_offset, now);
        reference.add(id, next_offset, now);
        ++next_offset;
    }
    REQUIRE(index.size() == reference.size());
  }
}

TEST_CASE("DedupIndex answers as the reference model over random operations", "[dedup]") {
  // Up to 600 ids in the first 1024 slots: long probe runs, wrapping at the
  // end, erased from the middle.
  check_against_reference({60'000, 600, 1'500, 150'000}, 1);
  // Growth from 1024 to 8192 slots while ids expire and come back.
  check_against_reference({60'000, 5'000, 12'000, 150'000}, 2);
  // Expiry by time before the count is reached.
  check_against_reference({40, 100'000, 50'000, 100'000}, 3);
  // One id at a time.
  check_against_reference({1'000, 1, 4, 20'000}, 4);
}

TEST_CASE("DedupIndex keeps every id as its table grows", "[dedup]") {
  DedupIndex index(60'000, 200'000);
  for (uint64_t n = 0; n < 50'000; ++n) index.add(id_of(n), n + 7, 0);
  CHECK(index.size() == 50'000);
  for (uint64_t n = 0; n < 50'000; ++n) REQUIRE(index.find(id_of(n), 0) == n + 7);
  CHECK_FALSE(index.find(id_of(50'000), 0));
}

TEST_CASE("DedupIndex keeps the order of its adds when it grows after wrapping", "[dedup]") {
  DedupIndex index(100, 100'000);
  for (uint64_t n = 0; n < 1'000; ++n) index.add(id_of(n), n, 0);
  // The first add at 201 expires all of those: the oldest entry is no longer
  // the first of its array when the array fills and grows.
  for (uint64_t n = 1'000; n < 4'000; ++n) index.add(id_of(n), n, 200 + n / 1'000);
  CHECK(index.size() == 3'000);
  CHECK_FALSE(index.find(id_of(1'999), 302));  // stored at 201
  CHECK(index.size() == 2'000);
  for (uint64_t n = 2'000; n < 4'000; ++n) REQUIRE(index.find(id_of(n), 302) == n);
  index.forget_newest(1'000);
  for (uint64_t n = 2'000; n < 3'000; ++n) REQUIRE(index.find(id_of(n), 302) == n);
  for (uint64_t n = 3'000; n < 4'000; ++n) REQUIRE_FALSE(index.find(id_of(n), 302));
}

TEST_CASE("DedupIndex forgets the oldest ids beyond max_ids", "[dedup]") {
  DedupIndex index(60'000, 3);
  for (uint64_t n = 0; n < 4; ++n) index.add(id_of(n), n, 0);
  CHECK(index.size() == 3);
  CHECK_FALSE(index.find(id_of(0), 0));
  for (uint64_t n = 1; n < 4; ++n) CHECK(index.find(id_of(n), 0) == n);
}

TEST_CASE("DedupIndex forgets ids older than the window", "[dedup]") {
  DedupIndex index(100, 1'000);
  index.add("a", 1, 0);
  index.add("b", 2, 50);
  CHECK(index.find("a", 100) == 1u);  // exactly the window old: still in
  CHECK_FALSE(index.find("a", 101));
  CHECK(index.find("b", 101) == 2u);
  CHECK(index.size() == 1);
  CHECK_FALSE(index.find("b", 151));
  CHECK(index.size() == 0);
}

TEST_CASE("DedupIndex keeps an id stored again when its older entry expires", "[dedup]") {
  DedupIndex index(100, 2);
  index.add("a", 1, 0);
  index.add("a", 2, 50);
  CHECK(index.size() == 1);
  CHECK(index.find("a", 120) == 2u);  // the entry at offset 1 expired by time
  index.add("b", 3, 120);
  index.add("c", 4, 120);  // the entry at offset 2 expires by count
  CHECK_FALSE(index.find("a", 120));
}

TEST_CASE("DedupIndex forget_newest takes back the newest adds after growth", "[dedup]") {
  DedupIndex index(60'000, 10'000);
  for (uint64_t n = 0; n < 3'000; ++n) index.add(id_of(n), n, 0);
  index.forget_newest(1'000);
  CHECK(index.size() == 2'000);
  for (uint64_t n = 0; n < 2'000; ++n) REQUIRE(index.find(id_of(n), 0) == n);
  for (uint64_t n = 2'000; n < 3'000; ++n) REQUIRE_FALSE(index.find(id_of(n), 0));
  index.forget_newest(5'000);  // more than it holds
  CHECK(index.size() == 0);
  index.add(id_of(1), 9, 0);
  CHECK(index.find(id_of(1), 0) == 9u);
}

TEST_CASE("DedupIndex forget_newest drops a re-added id, not back to its older offset", "[dedup]") {
  DedupIndex index(60'000, 100);
  index.add("a", 1, 0);
  index.add("a", 2, 0);
  index.forget_newest(1);
  CHECK_FALSE(index.find("a", 0));
  CHECK(index.size() == 0);
}

TEST_CASE("DedupIndex ignores empty ids", "[dedup]") {
  DedupIndex index(60'000, 100);
  index.add("", 1, 0);
  CHECK(index.size() == 0);
  CHECK_FALSE(index.find("", 0));
}

TEST_CASE("DedupIndex is off when the window or the count is 0", "[dedup]") {
  for (auto [window_ms, max_ids] : {std::pair<int64_t, size_t>{0, 100}, {60'000, 0}}) {
    DedupIndex index(window_ms, max_ids);
    index.add("a", 1, 0);
    CHECK(index.size() == 0);
    CHECK_FALSE(index.find("a", 0));
    index.forget_newest(1);
  }
}

}  // namespace
}  // namespace eda::dedup_index_test
