#include "core/consumer_group.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <msgpack.hpp>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/envelope_codec.h"

namespace eda::consumer_group_test {
namespace {

using Kind = GroupEvent::Kind;

constexpr ConsumerId kAlice = 1, kBob = 2, kCarol = 3;
constexpr size_t kEverything = 1'000'000'000;

ConsumerGroupConfig config(int64_t lock_ms = 1000, uint32_t max_deliveries = 10,
                           std::optional<int64_t> ttl_ms = std::nullopt) {
  return {lock_ms, max_deliveries, ttl_ms};
}

std::vector<uint64_t> offsets_of(const std::vector<GroupDelivery>& deliveries) {
  std::vector<uint64_t> offsets;
  for (const GroupDelivery& d : deliveries) offsets.push_back(d.offset);
  return offsets;
}

std::vector<uint64_t> offsets_of(const std::vector<DeadLetter>& dead) {
  std::vector<uint64_t> offsets;
  for (const DeadLetter& d : dead) offsets.push_back(d.offset);
  return offsets;
}

std::vector<uint32_t> counts_of(const std::vector<GroupDelivery>& deliveries) {
  std::vector<uint32_t> counts;
  for (const GroupDelivery& d : deliveries) counts.push_back(d.delivery_count);
  return counts;
}

GroupDelivery take_one(ConsumerGroup& group, ConsumerId consumer, uint64_t end, int64_t now_ms) {
  auto taken = group.take(consumer, 1, end, now_ms);
  REQUIRE(taken.deliveries.size() == 1);
  return taken.deliveries[0];
}

template <class T>
void check_lock_lost(const Result<T>& result, LockToken token) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kInvalidArgument);
  CHECK(result.error().message ==
        "lock token " + lock_token_text(token) + " is not held: it expired or was settled");
}

TEST_CASE("Defaults follow DESIGN §5: 30 s locks, 10 deliveries, no TTL", "[consumer_group]") {
  ConsumerGroupConfig defaults;
  CHECK(defaults.lock_ms == 30000);
  CHECK(defaults.max_deliveries == 10);
  CHECK_FALSE(defaults.ttl_ms);
  ConsumerGroup group(defaults);
  CHECK(take_one(group, kAlice, 1, 5).lock_expiry_ms == 30005);
}

TEST_CASE("Competing consumers: each offset is held by one member at a time", "[consumer_group]") {
  ConsumerGroup group(config());
  std::set<uint64_t> held;
  std::map<ConsumerId, std::vector<GroupDelivery>> leases;
  for (int round = 0; round < 10; ++round) {
    for (ConsumerId member : {kAlice, kBob, kCarol}) {
      for (const GroupDelivery& d : group.take(member, 4, 100, 0).deliveries) {
        CHECK(held.insert(d.offset).second);
        CHECK(d.delivery_count == 1);
        leases[member].push_back(d);
      }
    }
  }
  CHECK(held.size() == 100);
  CHECK(leases[kAlice].size() == 36);
  CHECK(leases[kCarol].size() == 32);
  CHECK(group.take(kAlice, 10, 100, 0).deliveries.empty());
  CHECK(group.stats(100).locked == 100);
  CHECK(group.stats(100).pending == 0);

  for (const auto& [member, deliveries] : leases)
    for (const GroupDelivery& d : deliveries) CHECK(group.complete(d.token).ok());
  GroupStats stats = group.stats(100);
  CHECK(stats.completed == 100);
  CHECK(stats.locked == 0);
  CHECK(stats.delivered == 100);
  CHECK(group.floor() == 100);
  CHECK(group.tracked_entries() == 0);
}

TEST_CASE("A new group starts where it is told", "[consumer_group]") {
  ConsumerGroup group(config(), 100);
  CHECK(group.stats(100).pending == 0);
  CHECK(group.stats(103).oldest_pending == 100u);
  CHECK(offsets_of(group.take(kAlice, 10, 103, 0).deliveries) ==
        std::vector<uint64_t>{100, 101, 102});
}

TEST_CASE("An offset is completed exactly once", "[consumer_group]") {
  ConsumerGroup group(config());
  GroupDelivery d = take_one(group, kAlice, 1, 0);
  REQUIRE(group.complete(d.token).ok());
  check_lock_lost(group.complete(d.token), d.token);
  check_lock_lost(group.renew(d.token, 1), d.token);
  check_lock_lost(group.abandon(d.token), d.token);
  check_lock_lost(group.dead_letter(d.token, "r", "d"), d.token);
  CHECK(group.stats(1).completed == 1);
  CHECK(group.take(kBob, 10, 1, 0).deliveries.empty());
}

TEST_CASE("Abandon redelivers with the count + 1, lowest offset first", "[consumer_group]") {
  ConsumerGroup group(config());
  auto first = group.take(kAlice, 5, 6, 0).deliveries;
  REQUIRE(offsets_of(first) == std::vector<uint64_t>{0, 1, 2, 3, 4});
  auto abandoned = group.abandon(first[3].token);
  REQUIRE(abandoned.ok());
  CHECK_FALSE(abandoned->has_value());
  REQUIRE(group.abandon(first[1].token).ok());
  CHECK(group.stats(6).pending == 3);
  CHECK(group.stats(6).oldest_pending == 1u);

  auto again = group.take(kBob, 3, 6, 0).deliveries;
  CHECK(offsets_of(again) == std::vector<uint64_t>{1, 3, 5});
  CHECK(counts_of(again) == std::vector<uint32_t>{2, 2, 1});
  check_lock_lost(group.complete(first[1].token), first[1].token);
}

TEST_CASE("After max deliveries an offset is dead-lettered, MaxDeliveryCountExceeded",
          "[consumer_group]") {
  ConsumerGroup group(config(1000, 3));
  for (uint32_t count = 1; count <= 3; ++count) {
    GroupDelivery d = take_one(group, kAlice, 2, 0);
    REQUIRE(d.offset == 0);
    CHECK(d.delivery_count == count);
    auto abandoned = group.abandon(d.token);
    REQUIRE(abandoned.ok());
    if (count < 3) {
      CHECK_FALSE(abandoned->has_value());
    } else {
      REQUIRE(abandoned->has_value());
      const DeadLetter& dead = **abandoned;
      CHECK(dead.offset == 0);
      CHECK(dead.reason == kMaxDeliveryCountExceeded);
      CHECK(dead.delivery_count == 3);
      CHECK(dead.description == "delivered 3 times, the limit is 3");
    }
  }
  CHECK(group.stats(2).dead_lettered == 1);
  GroupDelivery next = take_one(group, kAlice, 2, 0);
  CHECK(next.offset == 1);
  CHECK(next.delivery_count == 1);
  CHECK(group.floor() == 1);
}

TEST_CASE("dead_letter settles with the caller's reason and description", "[consumer_group]") {
  ConsumerGroup group(config());
  GroupDelivery d = take_one(group, kAlice, 1, 0);
  auto dead = group.dead_letter(d.token, "BadPayload", "not JSON");
  REQUIRE(dead.ok());
  CHECK(dead->offset == 0);
  CHECK(dead->reason == "BadPayload");
  CHECK(dead->description == "not JSON");
  CHECK(dead->delivery_count == 1);
  CHECK(group.stats(1).dead_lettered == 1);
  CHECK(group.floor() == 1);
  check_lock_lost(group.complete(d.token), d.token);
}

TEST_CASE("An expired lock makes the offset available again", "[consumer_group]") {
  ConsumerGroup group(config(1000));
  GroupDelivery d = take_one(group, kAlice, 1, 0);
  CHECK(d.lock_expiry_ms == 1000);
  CHECK(group.next_lock_expiry() == 1000);
  CHECK(group.expire(999).empty());
  CHECK(group.take(kBob, 1, 1, 999).deliveries.empty());
  CHECK(group.stats(1).locked == 1);

  SECTION("expire() reclaims it") {
    CHECK(group.expire(1000).empty());
    CHECK(group.stats(1).locked == 0);
    CHECK(group.stats(1).pending == 1);
    CHECK_FALSE(group.next_lock_expiry());
  }
  SECTION("take() reclaims it on its own") {
    CHECK(group.stats(1).locked == 1);  // no expire(): the take below reclaims the lease
  }
  GroupDelivery again = take_one(group, kBob, 1, 1000);
  CHECK(again.offset == 0);
  CHECK(again.delivery_count == 2);
  CHECK(again.lock_expiry_ms == 2000);
}

TEST_CASE("An expired lock at the limit dead-letters the offset", "[consumer_group]") {
  ConsumerGroup group(config(1000, 1));
  take_one(group, kAlice, 1, 0);
  auto dead = group.expire(1000);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].reason == kMaxDeliveryCountExceeded);
  CHECK(group.stats(1).dead_lettered == 1);
}

TEST_CASE("renew extends the lock by the lock duration", "[consumer_group]") {
  ConsumerGroup group(config(1000));
  GroupDelivery d = take_one(group, kAlice, 1, 0);
  auto renewed = group.renew(d.token, 800);
  REQUIRE(renewed.ok());
  CHECK(*renewed == 1800);
  CHECK(group.next_lock_expiry() == 1800);
  group.expire(1000);
  CHECK(group.stats(1).locked == 1);
  CHECK(group.take(kBob, 1, 1, 1500).deliveries.empty());
  group.expire(1800);
  CHECK(group.stats(1).locked == 0);
  check_lock_lost(group.renew(d.token, 1800), d.token);
}

TEST_CASE("A token whose lock expired and went to another member is refused", "[consumer_group]") {
  ConsumerGroup group(config(1000));
  GroupDelivery alice = take_one(group, kAlice, 1, 0);
  GroupDelivery bob = take_one(group, kBob, 1, 1000);
  REQUIRE(bob.offset == alice.offset);
  CHECK(bob.token != alice.token);
  check_lock_lost(group.complete(alice.token), alice.token);
  CHECK_FALSE(group.renew(alice.token, 1100).ok());
  CHECK_FALSE(group.abandon(alice.token).ok());
  CHECK(group.stats(1).locked == 1);
  CHECK(group.complete(bob.token).ok());
  CHECK(group.stats(1).completed == 1);
}

TEST_CASE("release reclaims the leases of a member that disconnected", "[consumer_group]") {
  ConsumerGroup group(config(1000, 2));
  auto alice = group.take(kAlice, 2, 3, 0).deliveries;
  GroupDelivery bob = take_one(group, kBob, 3, 0);
  CHECK(group.release(kAlice).empty());
  CHECK(group.stats(3).locked == 1);
  CHECK(group.stats(3).pending == 2);
  check_lock_lost(group.complete(alice[0].token), alice[0].token);
  CHECK(group.complete(bob.token).ok());

  auto carol = group.take(kCarol, 5, 3, 0).deliveries;
  CHECK(offsets_of(carol) == std::vector<uint64_t>{0, 1});
  CHECK(counts_of(carol) == std::vector<uint32_t>{2, 2});
  auto dead = group.release(kCarol);  // second delivery was the last allowed
  CHECK(offsets_of(dead) == std::vector<uint64_t>{0, 1});
  CHECK(group.stats(3).dead_lettered == 2);
  CHECK(group.floor() == 3);
}

TEST_CASE("receive_and_delete delivers settled offsets (--ack none)", "[consumer_group]") {
  ConsumerGroup group(config());
  auto taken = group.receive_and_delete(kAlice, 3, 5, 0);
  CHECK(offsets_of(taken.deliveries) == std::vector<uint64_t>{0, 1, 2});
  CHECK(group.stats(5).completed == 3);
  CHECK(group.stats(5).locked == 0);
  CHECK(group.floor() == 3);
  CHECK_FALSE(group.complete(taken.deliveries[0].token).ok());
}

TEST_CASE("Mutations report the events a journal needs", "[consumer_group]") {
  ConsumerGroup group(config(1000, 2));
  auto taken = group.take(kAlice, 3, 10, 0).deliveries;
  REQUIRE(group.complete(taken[1].token).ok());
  REQUIRE(group.abandon(taken[0].token).ok());  // the count was journaled at delivery
  group.expire(1000);                           // the same
  GroupDelivery again = take_one(group, kAlice, 10, 1000);
  REQUIRE(group.abandon(again.token).ok());  // at the limit
  group.skip_to(5);
  group.skip_to(4);  // nothing to do
  CHECK(group.take_events() == std::vector<GroupEvent>{{Kind::kDelivered, 0, 1},
                                                       {Kind::kDelivered, 1, 1},
                                                       {Kind::kDelivered, 2, 1},
                                                       {Kind::kCompleted, 1},
                                                       {Kind::kDelivered, 0, 2},
                                                       {Kind::kDeadLettered, 0},
                                                       {Kind::kSkippedTo, 5}});
  CHECK(group.take_events().empty());
}

// Takes batches of 1,000 up to `total` and completes each batch in `order`,
// except offset 0 when `hold_first`. Returns the most entries tracked.
template <class Order>
size_t complete_all(ConsumerGroup& group, uint64_t total, bool hold_first, Order order) {
  size_t most_tracked = 0, refused = 0;
  while (group.cursor() < total) {
    auto batch = group.take(kAlice, 1000, total, 0).deliveries;
    order(batch);
    for (const GroupDelivery& d : batch) {
      if (hold_first && d.offset == 0) continue;
      refused += !group.complete(d.token).ok();
      most_tracked = std::max(most_tracked, group.tracked_entries());
    }
    group.take_events();
  }
  CHECK(refused == 0);
  return most_tracked;
}

TEST_CASE("The floor advances and memory stays bounded over 1,000,000 offsets",
          "[consumer_group]") {
  constexpr uint64_t kTotal = 1'000'000;
  ConsumerGroup group(config(1'000'000'000));
  SECTION("completed in order") {
    size_t most = complete_all(group, kTotal, false, [](auto&) {});
    CHECK(most <= 1000);
    CHECK(group.floor() == kTotal);
    CHECK(group.tracked_entries() == 0);
  }
  SECTION("completed out of order, the first offset held to the end") {
    std::mt19937_64 rng(7);
    size_t most = complete_all(group, kTotal, true,
                               [&](auto& batch) { std::shuffle(batch.begin(), batch.end(), rng); });
    CHECK(most <= 2001);  // 1,000 unsettled and at most as many runs, + the held offset
    CHECK(group.floor() == 0);
    CHECK(group.tracked_entries() == 2);  // offset 0 and the run [1, 1,000,000)
    CHECK(group.snapshot().size() < 100);
    CHECK(group.stats(kTotal).completed == kTotal - 1);
    GroupDelivery first = take_one(group, kBob, kTotal, 2'000'000'000);  // its lock expired
    CHECK(first.offset == 0);
    REQUIRE(group.complete(first.token).ok());
    CHECK(group.floor() == kTotal);
    CHECK(group.tracked_entries() == 0);
  }
}

TEST_CASE("skip_to drops what retention removed and counts it lost", "[consumer_group]") {
  ConsumerGroup group(config());
  auto taken = group.take(kAlice, 6, 10, 0).deliveries;
  REQUIRE(group.complete(taken[1].token).ok());
  REQUIRE(group.abandon(taken[2].token).ok());
  group.skip_to(4);  // 0 and 3 leased, 2 available, 1 completed
  GroupStats stats = group.stats(10);
  CHECK(stats.lost == 3);
  CHECK(stats.completed == 1);
  CHECK(stats.locked == 2);
  CHECK(stats.pending == 4);  // 6..9 unread
  CHECK(group.floor() == 4);
  check_lock_lost(group.complete(taken[0].token), taken[0].token);
  check_lock_lost(group.complete(taken[3].token), taken[3].token);
  REQUIRE(group.complete(taken[4].token).ok());

  group.skip_to(8);  // 5 leased, 6 and 7 never read
  CHECK(group.stats(10).lost == 6);
  CHECK(group.floor() == 8);
  CHECK(group.cursor() == 8);
  CHECK(group.stats(10).locked == 0);
  CHECK(offsets_of(group.take(kBob, 10, 10, 0).deliveries) == std::vector<uint64_t>{8, 9});
  group.take_events();
  group.skip_to(3);
  CHECK(group.take_events().empty());
  CHECK(group.floor() == 8);
}

TEST_CASE("skip_to into a run of settled offsets moves the floor past it", "[consumer_group]") {
  ConsumerGroup group(config());
  auto taken = group.take(kAlice, 6, 10, 0).deliveries;
  for (int i : {2, 3, 4}) REQUIRE(group.complete(taken[i].token).ok());
  group.skip_to(3);
  CHECK(group.floor() == 5);
  CHECK(group.stats(10).lost == 2);
  CHECK(group.tracked_entries() == 1);  // offset 5
}

TEST_CASE("Messages older than the TTL are dead-lettered instead of delivered",
          "[consumer_group]") {
  ConsumerGroup group(config(1000, 10, 10'000));
  SECTION("new offsets") {
    MessageTime ts_of = [](uint64_t offset) { return offset < 5 ? 0 : 55'000; };
    auto taken = group.take(kAlice, 10, 10, 60'000, ts_of);
    CHECK(offsets_of(taken.dead_letters) == std::vector<uint64_t>{0, 1, 2, 3, 4});
    CHECK(taken.dead_letters[0].reason == kTtlExpired);
    CHECK(taken.dead_letters[0].delivery_count == 0);
    CHECK(offsets_of(taken.deliveries) == std::vector<uint64_t>{5, 6, 7, 8, 9});
    CHECK(group.stats(10).dead_lettered == 5);
  }
  SECTION("an abandoned offset that aged meanwhile") {
    MessageTime ts_of = [](uint64_t offset) { return static_cast<int64_t>(offset) * 1000; };
    // Exactly as old as the TTL: still delivered.
    GroupDelivery d = group.take(kAlice, 1, 5, 10'000, ts_of).deliveries.at(0);
    REQUIRE(group.abandon(d.token).ok());
    auto taken = group.take(kAlice, 1, 5, 10'001, ts_of);
    REQUIRE(taken.dead_letters.size() == 1);
    CHECK(taken.dead_letters[0].offset == 0);
    CHECK(taken.dead_letters[0].reason == kTtlExpired);
    CHECK(taken.dead_letters[0].delivery_count == 1);
    CHECK(offsets_of(taken.deliveries) == std::vector<uint64_t>{1});
  }
  SECTION("without message times there is no TTL") {
    CHECK(group.take(kAlice, 10, 10, 60'000).deliveries.size() == 10);
  }
}

TEST_CASE("take() dead-letters a bounded number of offsets per call", "[consumer_group]") {
  ConsumerGroup group(config(1000, 10, 10'000));
  MessageTime ts_of = [](uint64_t offset) { return offset < 3000 ? 0 : 55'000; };
  std::vector<size_t> dead_per_call;
  std::vector<GroupDelivery> delivered;
  while (delivered.empty()) {
    auto taken = group.take(kAlice, 1, 3001, 60'000, ts_of);
    dead_per_call.push_back(taken.dead_letters.size());
    delivered = taken.deliveries;
  }
  CHECK(dead_per_call == std::vector<size_t>{1024, 1024, 952});
  CHECK(delivered[0].offset == 3000);
}

TEST_CASE("A snapshot round-trips; leases come back available", "[consumer_group]") {
  ConsumerGroup live(config(1000, 10));
  auto taken = live.take(kAlice, 10, 20, 0).deliveries;
  for (int i : {0, 1, 2, 5, 6}) REQUIRE(live.complete(taken[i].token).ok());
  REQUIRE(live.abandon(taken[3].token).ok());
  GroupDelivery three = take_one(live, kBob, 20, 0);
  REQUIRE(three.delivery_count == 2);
  REQUIRE(live.dead_letter(taken[8].token, "r", "d").ok());

  auto restored = ConsumerGroup::restore(live.snapshot(), config(1000, 10));
  REQUIRE(restored.ok());
  CHECK(restored->snapshot() == live.snapshot());
  CHECK(restored->floor() == 3);
  CHECK(restored->cursor() == 10);
  GroupStats before = live.stats(20), after = restored->stats(20);
  CHECK(after.locked == 0);
  CHECK(after.pending == before.pending + before.locked);
  CHECK(after.completed == 5);
  CHECK(after.dead_lettered == 1);
  CHECK(after.delivered == 11);
  check_lock_lost(restored->complete(three.token), three.token);

  auto next = restored->take(kCarol, 6, 20, 0).deliveries;
  CHECK(offsets_of(next) == std::vector<uint64_t>{3, 4, 7, 9, 10, 11});
  CHECK(counts_of(next) == std::vector<uint32_t>{3, 2, 2, 2, 1, 1});
}

TEST_CASE("Lock tokens do not repeat, even after restoring an older snapshot", "[consumer_group]") {
  ConsumerGroup live(config());
  std::string old = live.snapshot();
  std::set<LockToken> tokens;
  for (const GroupDelivery& d : live.take(kAlice, 5000, 5000, 0).deliveries) tokens.insert(d.token);
  REQUIRE(tokens.size() == 5000);
  // As after a crash that lost the journal's tail: the snapshot holds no
  // token counter, the restored group's fresh salt keeps its tokens apart.
  auto restored = ConsumerGroup::restore(old, config());
  REQUIRE(restored.ok());
  for (const GroupDelivery& d : restored->take(kAlice, 5000, 5000, 0).deliveries)
    CHECK(tokens.insert(d.token).second);
  CHECK(tokens.size() == 10000);
}

TEST_CASE("Lock tokens have a 16-hex-digit text form", "[consumer_group]") {
  for (LockToken token : {LockToken{0}, LockToken{0xabc}, ~LockToken{0}}) {
    CHECK(lock_token_text(token).size() == 16);
    auto parsed = parse_lock_token(lock_token_text(token));
    REQUIRE(parsed.ok());
    CHECK(*parsed == token);
  }
  CHECK(lock_token_text(0xabc) == "0000000000000abc");
  for (std::string_view bad : {"", "abc", "0000000000000abcd", "000000000000abcg",
                               "-000000000000abc", " 000000000000abc"}) {
    auto parsed = parse_lock_token(bad);
    INFO(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == ErrorKind::kInvalidArgument);
  }
}

// --- malformed snapshots ---

std::string runs_bytes(std::vector<std::pair<uint64_t, uint64_t>> runs) {
  std::string out;
  for (auto [begin, end] : runs)
    for (uint64_t v : {begin, end})
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}

std::string slots_bytes(std::vector<std::pair<uint64_t, uint32_t>> slots) {
  std::string out;
  for (auto [offset, count] : slots) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(offset >> (8 * i)));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(count >> (8 * i)));
  }
  return out;
}

// [version, floor, cursor, completed, dead_lettered, delivered, lost, runs, slots]
std::string encode_snapshot(std::vector<uint64_t> numbers, const std::string& runs,
                            const std::string& slots) {
  std::string out;
  StringStream stream{out};
  msgpack::packer<StringStream> pk(stream);
  pk.pack_array(static_cast<uint32_t>(numbers.size() + 2));
  for (uint64_t n : numbers) pk.pack(n);
  for (const std::string* bin : {&runs, &slots}) {
    pk.pack_bin(static_cast<uint32_t>(bin->size()));
    pk.pack_bin_body(bin->data(), static_cast<uint32_t>(bin->size()));
  }
  return out;
}

// floor 10, cursor 20: 12..14 settled, the rest delivered.
const std::vector<uint64_t> kNumbers = {1, 10, 20, 3, 0, 9, 0};
const std::string kRuns = runs_bytes({{12, 15}});
const std::vector<std::pair<uint64_t, uint32_t>> kSlots = {{10, 1}, {11, 2}, {15, 1}, {16, 1},
                                                           {17, 1}, {18, 1}, {19, 1}};

void check_malformed(std::string_view snapshot, std::string_view why) {
  auto restored = ConsumerGroup::restore(snapshot, config());
  REQUIRE_FALSE(restored.ok());
  CHECK(restored.error().kind == ErrorKind::kCorruption);
  CHECK_THAT(restored.error().message, Catch::Contains(std::string(why)));
}

TEST_CASE("The test's snapshot encoder matches the group's", "[consumer_group]") {
  ConsumerGroup group(config(), 10);
  auto taken = group.take(kAlice, 10, 20, 0).deliveries;
  for (int i : {2, 3, 4}) REQUIRE(group.complete(taken[i].token).ok());
  REQUIRE(group.abandon(taken[1].token).ok());
  REQUIRE(group.abandon(take_one(group, kAlice, 20, 0).token).ok());
  CHECK(group.snapshot() == encode_snapshot({1, 10, 20, 3, 0, 11, 0}, kRuns, slots_bytes(kSlots)));
  CHECK(
      ConsumerGroup::restore(encode_snapshot(kNumbers, kRuns, slots_bytes(kSlots)), config()).ok());
}

TEST_CASE("A truncated snapshot is an error", "[consumer_group]") {
  std::string valid = encode_snapshot(kNumbers, kRuns, slots_bytes(kSlots));
  for (size_t size = 0; size < valid.size(); ++size) {
    INFO(size);
    check_malformed(valid.substr(0, size), "malformed");
  }
  check_malformed(valid + '\0', "bytes after its end");
}

TEST_CASE("A snapshot with wrong types is an error", "[consumer_group]") {
  std::string out;
  StringStream stream{out};
  msgpack::packer<StringStream> pk(stream);
  SECTION("not an array") {
    pk.pack_map(0);
    check_malformed(out, "array of 9 fields");
  }
  SECTION("too few fields") {
    pk.pack_array(8);
    for (int i = 0; i < 8; ++i) pk.pack(0);
    check_malformed(out, "array of 9 fields");
  }
  SECTION("a string for the floor") {
    pk.pack_array(9);
    pk.pack(1);
    pk.pack(std::string("ten"));
    for (int i = 0; i < 5; ++i) pk.pack(0);
    pk.pack_bin(0);
    pk.pack_bin(0);
    check_malformed(out, "field 1 is not an unsigned integer");
  }
  SECTION("a negative counter") {
    check_malformed(encode_snapshot({1, 0, 0, 0, 0, 0, 0}, "", "").replace(7, 1, "\xff"),
                    "field 6 is not an unsigned integer");
  }
  SECTION("an array for the settled runs") {
    pk.pack_array(9);
    for (int i = 0; i < 7; ++i) pk.pack(i == 0 ? 1 : 0);
    pk.pack_array(0);
    pk.pack_bin(0);
    check_malformed(out, "not bytes");
  }
}

TEST_CASE("A snapshot whose state does not hold together is an error", "[consumer_group]") {
  using Slot = std::pair<uint64_t, uint32_t>;
  using Slots = std::vector<Slot>;
  auto numbers_with = [](size_t i, uint64_t value) {
    auto numbers = kNumbers;
    numbers[i] = value;
    return numbers;
  };
  auto slots_with = [](auto change) {
    Slots slots = kSlots;
    change(slots);
    return slots_bytes(slots);
  };
  const std::string valid_slots = slots_bytes(kSlots);
  struct Case {
    std::vector<uint64_t> numbers;
    std::string runs, slots;
    std::string why;
  };
  const Case cases[] = {
      {numbers_with(0, 2), kRuns, valid_slots, "unknown version 2"},
      {numbers_with(1, 21), kRuns, valid_slots, "floor is above the cursor"},
      {kNumbers, runs_bytes({{10, 15}}),
       slots_with([](Slots& s) { s.erase(s.begin(), s.begin() + 2); }), "run [10, 15)"},
      {kNumbers, runs_bytes({{12, 13}, {13, 15}}), valid_slots, "run [13, 15)"},  // touching
      {kNumbers, runs_bytes({{12, 15}, {17, 17}}), valid_slots, "run [17, 17)"},
      {kNumbers, runs_bytes({{12, 21}}), valid_slots, "run [12, 21)"},
      {kNumbers, kRuns, slots_with([](Slots& s) { std::swap(s[0], s[1]); }), "offset 10"},
      {kNumbers, kRuns, slots_with([](Slots& s) { s.insert(s.begin() + 2, Slot(13, 1)); }),
       "offset 13"},  // inside the run
      {kNumbers, kRuns, slots_with([](Slots& s) { s.push_back(Slot(20, 1)); }), "offset 20"},
      {kNumbers, kRuns, slots_with([](Slots& s) { s[2].second = 0; }), "offset 15"},
      {kNumbers, kRuns, slots_with([](Slots& s) { s.pop_back(); }), "unaccounted for"},
      {kNumbers, kRuns.substr(1), valid_slots, "cut short"},
      {kNumbers, kRuns, valid_slots.substr(1), "cut short"},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    check_malformed(encode_snapshot(c.numbers, c.runs, c.slots), c.why);
  }
}

TEST_CASE("A snapshot declaring hostile sizes is an error, not an allocation", "[consumer_group]") {
  std::string nine_fields = encode_snapshot({1, 0, 0, 0, 0, 0, 0}, "", "");
  nine_fields.resize(nine_fields.size() - 4);                          // drop both (empty) bins
  check_malformed("\xdd\xff\xff\xff\xff", "malformed");                // array of 2^32 - 1
  check_malformed(nine_fields + "\xc6\xff\xff\xff\xff", "malformed");  // bin of 4 GiB
  check_malformed(nine_fields + std::string("\xc6\x00\x10\x00\x00", 5),
                  "malformed");                                      // 1 MiB, absent
  check_malformed(std::string(1000, '\x91') + '\x00', "malformed");  // nested 1,000 deep
}

TEST_CASE("Damaged snapshots restore only into groups that hold together", "[consumer_group]") {
  std::string valid = encode_snapshot(kNumbers, kRuns, slots_bytes(kSlots));
  std::mt19937_64 rng(11);
  int restored = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string damaged = valid;
    damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    auto group = ConsumerGroup::restore(damaged, config());
    if (!group.ok()) continue;
    ++restored;
    INFO(i);
    CHECK(ConsumerGroup::restore(group->snapshot(), config()).ok());
    uint64_t pending = group->stats(group->cursor()).pending;
    auto taken = group->take(kAlice, kEverything, group->cursor(), 0);
    CHECK(taken.deliveries.size() + taken.dead_letters.size() == pending);
  }
  CHECK(restored > 0);  // some flips only change counters
}

// --- journal replay ---

TEST_CASE("apply() refuses events that do not fit the state", "[consumer_group]") {
  auto group = ConsumerGroup::restore(ConsumerGroup(config()).snapshot(), config());
  REQUIRE(group.ok());
  auto check_refused = [&](GroupEvent event) {
    Status status = group->apply(event);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::kCorruption);
  };
  check_refused({Kind::kCompleted, 0});
  check_refused({Kind::kDelivered, 1, 1});  // beyond the cursor
  check_refused({Kind::kDelivered, 0, 0});
  REQUIRE(group->apply({Kind::kDelivered, 0, 1}).ok());
  REQUIRE(group->apply({Kind::kCompleted, 0}).ok());
  check_refused({Kind::kCompleted, 0});
  check_refused({Kind::kDeadLettered, 0});
  check_refused({Kind::kDelivered, 0, 2});
  CHECK(group->stats(1).completed == 1);
  CHECK(group->take_events().empty());
}

struct Drained {
  std::vector<std::pair<uint64_t, uint32_t>> deliveries;  // offset, count
  std::set<uint64_t> dead;
};

// Takes until nothing comes: the offsets a group would deliver next.
void drain(ConsumerGroup& group, uint64_t end, int64_t now, const MessageTime& ts_of,
           Drained& out) {
  for (;;) {
    auto taken = group.take(kAlice, kEverything, end, now, ts_of);
    if (taken.deliveries.empty() && taken.dead_letters.empty()) return;
    for (const GroupDelivery& d : taken.deliveries)
      out.deliveries.push_back({d.offset, d.delivery_count});
    for (const DeadLetter& d : taken.dead_letters) out.dead.insert(d.offset);
  }
}

TEST_CASE("Replaying the journal on the last snapshot gives the live group's state",
          "[consumer_group]") {
  const ConsumerGroupConfig cfg = config(1000, 3, 30'000);
  std::vector<int64_t> published_ms;  // message ts, by offset
  MessageTime ts_of = [&](uint64_t offset) { return published_ms.at(offset); };
  std::mt19937_64 rng(20240601);
  auto pick = [&](uint64_t n) { return rng() % n; };

  ConsumerGroup live(cfg);
  std::string base = live.snapshot();
  std::vector<GroupEvent> journal;  // events since `base`
  auto replay = [&] {
    auto group = ConsumerGroup::restore(base, cfg);
    REQUIRE(group.ok());
    for (const GroupEvent& event : journal) REQUIRE(group->apply(event).ok());
    return std::move(*group);
  };

  std::vector<LockToken> tokens;  // all handed out, most of them stale by now
  std::map<std::string, int> seen;
  uint64_t earliest = 0;
  int64_t now = 0;
  for (int step = 0; step < 4000; ++step) {
    now += static_cast<int64_t>(pick(200));
    for (uint64_t n = pick(3); n > 0; --n)  // some publishers set an old ts
      published_ms.push_back(pick(20) == 0 ? now - 60'000 : now);
    uint64_t end = published_ms.size();
    ConsumerId member = 1 + pick(3);
    LockToken token =
        tokens.empty() ? 0 : tokens[tokens.size() - 1 - pick(std::min<size_t>(tokens.size(), 8))];
    std::vector<DeadLetter> dead;
    switch (pick(10)) {
      case 0:
      case 1: {
        auto taken = live.take(member, 1 + pick(6), end, now, ts_of);
        for (const GroupDelivery& d : taken.deliveries) tokens.push_back(d.token);
        dead = taken.dead_letters;
        break;
      }
      case 2:
      case 3:
        seen["complete"] += live.complete(token).ok();
        break;
      case 4:
        if (auto abandoned = live.abandon(token); abandoned.ok() && *abandoned)
          dead.push_back(**abandoned);
        break;
      case 5:
        seen["dead_letter"] += live.dead_letter(token, "Test", "").ok();
        break;
      case 6:
        seen["renew"] += live.renew(token, now).ok();
        break;
      case 7:
        dead = pick(4) == 0 ? live.release(member) : live.expire(now);
        break;
      case 8:
        earliest = std::max(earliest, end - std::min(end, 300 + pick(600)));  // retention
        live.skip_to(earliest);
        break;
      case 9:
        if (pick(2) == 0) {
          base = live.snapshot();
          journal.clear();
        } else {  // a broker restart: the leases are gone
          auto restarted = ConsumerGroup::restore(live.snapshot(), cfg);
          REQUIRE(restarted.ok());
          live = std::move(*restarted);
          ++seen["restart"];
        }
        break;
    }
    for (const DeadLetter& d : dead) ++seen[d.reason];
    auto events = live.take_events();
    journal.insert(journal.end(), events.begin(), events.end());
    if (step % 50 == 0) REQUIRE(replay().snapshot() == live.snapshot());
  }

  // The walk went everywhere.
  for (const char* what :
       {"complete", "dead_letter", "renew", "restart", "TTLExpired", "MaxDeliveryCountExceeded"}) {
    INFO(what);
    CHECK(seen[what] > 10);
  }
  CHECK(live.stats(published_ms.size()).lost > 10);

  ConsumerGroup replayed = replay();
  REQUIRE(replayed.snapshot() == live.snapshot());
  // What comes next is the same too, once the live group's members are gone.
  Drained from_live, from_replay;
  for (ConsumerId member : {kAlice, kBob, kCarol})
    for (const DeadLetter& d : live.release(member)) from_live.dead.insert(d.offset);
  uint64_t end = published_ms.size();
  drain(live, end, now, ts_of, from_live);
  drain(replayed, end, now, ts_of, from_replay);
  CHECK(from_live.deliveries == from_replay.deliveries);
  CHECK(from_live.dead == from_replay.dead);
  CHECK(live.stats(end) == replayed.stats(end));
}

TEST_CASE("take() with an explicit lock_ms leases for that long, renewals too",
          "[consumer_group]") {
  ConsumerGroup group(config(1000));
  auto taken = group.take(kAlice, 2, 10, 100, {}, 250).deliveries;
  REQUIRE(offsets_of(taken) == std::vector<uint64_t>{0, 1});
  for (const GroupDelivery& d : taken) CHECK(d.lock_expiry_ms == 350);
  CHECK(group.next_lock_expiry() == 350);
  // The group's own duration is for takes that name none.
  CHECK(take_one(group, kBob, 10, 100).lock_expiry_ms == 1100);

  auto renewed = group.renew(taken[0].token, 300);
  REQUIRE(renewed.ok());
  CHECK(*renewed == 550);  // 300 + 250, not + 1000
  CHECK(group.next_lock_expiry() == 350);
  CHECK(group.expire(349).empty());
  CHECK(group.stats(10).locked == 3);
  CHECK(group.expire(350).empty());  // offset 1 is available again
  CHECK(group.stats(10).locked == 2);
  CHECK(group.next_lock_expiry() == 550);
  group.expire(550);
  CHECK(group.stats(10).locked == 1);  // Bob's, until 1100
}

TEST_CASE("peek lists available-again offsets, then unread ones, without leasing",
          "[consumer_group]") {
  ConsumerGroup group(config());
  auto taken = group.take(kAlice, 4, 10, 0).deliveries;
  REQUIRE(offsets_of(taken) == std::vector<uint64_t>{0, 1, 2, 3});
  REQUIRE(group.abandon(taken[2].token).ok());
  REQUIRE(group.abandon(taken[0].token).ok());
  REQUIRE(group.complete(taken[3].token).ok());
  (void)group.take_events();
  GroupStats before = group.stats(6);
  std::string snapshot = group.snapshot();

  CHECK(group.peek(10, 6) == std::vector<uint64_t>{0, 2, 4, 5});
  CHECK(group.peek(3, 6) == std::vector<uint64_t>{0, 2, 4});
  CHECK(group.peek(1, 6) == std::vector<uint64_t>{0});
  CHECK(group.peek(10, 4) == std::vector<uint64_t>{0, 2});  // `end` bounds the unread
  CHECK(group.peek(0, 6).empty());
  CHECK(group.stats(6) == before);
  CHECK(group.snapshot() == snapshot);
  CHECK(group.take_events().empty());

  auto next = group.take(kBob, 10, 6, 0).deliveries;
  CHECK(offsets_of(next) == std::vector<uint64_t>{0, 2, 4, 5});
  CHECK(counts_of(next) == std::vector<uint32_t>{2, 2, 1, 1});
  CHECK(group.peek(10, 6).empty());
}

}  // namespace
TEST_CASE("A filtered group passes the offsets it does not want, and a journal replays that",
          "[consumer_group]") {
  ConsumerGroup live(config(1000, 10));
  auto snapshot = live.snapshot();
  (void)live.take_events();
  MessageWanted odd = [](uint64_t offset) { return offset % 2 == 1; };
  TakeResult taken = live.take(1, 3, 10, 0, {}, 0, odd);
  std::vector<uint64_t> offsets;
  for (const GroupDelivery& d : taken.deliveries) offsets.push_back(d.offset);
  CHECK(offsets == std::vector<uint64_t>{1, 3, 5});
  CHECK(taken.passed == 3);  // 0, 2, 4
  CHECK(live.stats(10).locked == 3);
  CHECK(live.stats(10).completed == 0);
  // Passing is bounded per call.
  ConsumerGroup wide(config(1000, 10));
  TakeResult none = wide.take(1, 10, 100000, 0, {}, 0, [](uint64_t) { return false; });
  CHECK(none.deliveries.empty());
  CHECK(none.passed == ConsumerGroup::kMaxPassesPerTake);
  CHECK(wide.cursor() == ConsumerGroup::kMaxPassesPerTake);

  auto restored = ConsumerGroup::restore(snapshot, config(1000, 10));
  REQUIRE(restored.ok());
  for (const GroupEvent& e : live.take_events()) REQUIRE(restored->apply(e));
  CHECK(restored->snapshot() == live.snapshot());
  // A pass that is not the next new offset does not fit.
  CHECK_FALSE(restored->apply({GroupEvent::Kind::kPassed, 2}));
}

}  // namespace eda::consumer_group_test
