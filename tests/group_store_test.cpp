#include "core/group_store.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/record_frame.h"
#include "tests/fault_file_system.h"
#include "tests/temp_dir.h"

namespace eda::group_store_test {
namespace {

using testing::FaultFileSystem;
using Kind = GroupEvent::Kind;

const std::string kDir = "/data/default/orders";

ConsumerGroupConfig small_config() {
  return {/*lock_ms=*/1000, /*max_deliveries=*/3, /*ttl_ms=*/std::nullopt};
}

// A live group driven by a seeded mix of what consumers do, journaling its
// events after every call as the broker would.
class Driver {
 public:
  explicit Driver(uint64_t seed, const ConsumerGroupConfig& config = small_config())
      : group(config), rng_(seed) {}

  ConsumerGroup group;
  GroupStore* store = nullptr;
  uint64_t end = 0;
  int64_t now = 0;

  void steps(int n) {
    for (int i = 0; i < n; ++i) step();
  }

  void step() {
    end += rng_() % 3;
    now += static_cast<int64_t>(rng_() % 300);
    switch (rng_() % 8) {
      case 0:
      case 1: {
        auto taken = group.take(1 + rng_() % 2, 1 + rng_() % 3, end, now);
        held_.insert(held_.end(), taken.deliveries.begin(), taken.deliveries.end());
        break;
      }
      case 2:
      case 3:
        if (auto d = pick()) (void)group.complete(d->token);
        break;
      case 4:
        if (auto d = pick()) (void)group.abandon(d->token);
        break;
      case 5:
        if (auto d = pick()) (void)group.dead_letter(d->token, "Bad", "test");
        break;
      case 6:
        (void)group.expire(now);
        break;
      case 7:
        if (rng_() % 4 == 0)
          group.skip_to(group.floor() + 1);
        else
          (void)group.release(1 + rng_() % 2);
        break;
    }
    journal();
  }

  // Takes `n` new offsets in one call: a step that surely writes events.
  void take_new(size_t n) {
    end += n;
    auto taken = group.take(1, n, end, now);
    REQUIRE(taken.deliveries.size() == n);
    held_.insert(held_.end(), taken.deliveries.begin(), taken.deliveries.end());
    journal();
  }

  void journal() {
    auto events = group.take_events();
    if (store) REQUIRE(store->append(events));
  }

 private:
  std::optional<GroupDelivery> pick() {
    if (held_.empty()) return std::nullopt;
    size_t i = rng_() % held_.size();
    GroupDelivery d = held_[i];
    held_.erase(held_.begin() + static_cast<ptrdiff_t>(i));
    return d;
  }

  std::vector<GroupDelivery> held_;
  std::mt19937_64 rng_;
};

// The steps above exercise every kind of event, so that equality after a
// reopen means something.
void check_varied(const ConsumerGroup& group, uint64_t end) {
  GroupStats s = group.stats(end);
  CHECK(s.completed > 0);
  CHECK(s.dead_lettered > 0);
  CHECK(s.lost > 0);
  CHECK(s.delivered > s.completed + s.dead_lettered);  // redeliveries happened
}

std::unique_ptr<GroupStore> create_store(FileSystem& fs, Driver& driver,
                                         const std::string& name = "workers",
                                         SyncTracker* tracker = nullptr,
                                         uint64_t snapshot_bytes = 1u << 20) {
  auto store =
      GroupStore::create(fs, kDir, name, small_config(), driver.group, tracker, snapshot_bytes);
  REQUIRE(store);
  driver.store = store->get();
  return std::move(*store);
}

std::vector<RecoveredGroup> reopen(FileSystem& fs, std::vector<std::string>& notes,
                                   const std::string& dir = kDir) {
  auto groups = GroupStore::open_all(fs, dir, nullptr, notes);
  if (!groups) FAIL(groups.error().message);
  return std::move(*groups);
}

RecoveredGroup reopen_one(FileSystem& fs, std::vector<std::string>& notes) {
  auto groups = reopen(fs, notes);
  REQUIRE(groups.size() == 1);
  return std::move(groups[0]);
}

std::set<std::string> files_in(FileSystem& fs, const std::string& dir = kDir) {
  auto names = fs.list(dir);
  REQUIRE(names);
  return {names->begin(), names->end()};
}

std::string journal_of(const std::string& name, uint64_t generation) {
  return kDir + "/" + name + "." + std::to_string(generation) + ".journal";
}

bool mentions(const std::vector<std::string>& notes, const std::string& a, const std::string& b) {
  return std::any_of(notes.begin(), notes.end(), [&](const std::string& n) {
    return n.find(a) != std::string::npos && n.find(b) != std::string::npos;
  });
}

struct RecordingTracker : SyncTracker {
  std::vector<std::shared_ptr<File>> files;
  std::vector<std::string> dirs;
  void written(const std::shared_ptr<File>& file) override { files.push_back(file); }
  void changed_dir(const std::string& dir) override { dirs.push_back(dir); }
};

TEST_CASE("group store: create writes G.group and an empty journal of generation 0",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(1);
  auto store = create_store(fs, driver);
  CHECK(files_in(fs) == std::set<std::string>{"workers.group", "workers.0.journal"});
  CHECK(fs.file_size(journal_of("workers", 0)) == 0);
  CHECK(fs.syncs(kDir + "/workers.group") == 1);
  CHECK(fs.syncs(journal_of("workers", 0)) == 1);
  CHECK(!fs.synced_dirs().empty());
  CHECK(store->generation() == 0);

  auto again = GroupStore::create(fs, kDir, "workers", small_config(), driver.group, nullptr);
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::kInvalidArgument);
  CHECK(again.error().message.find("already exists") != std::string::npos);
}

TEST_CASE("group store: names are $queue or tokens of letters, digits, _ and -", "[group_store]") {
  CHECK(valid_group_name("$queue"));
  CHECK(valid_group_name("billing-v2_EU"));
  for (const char* bad : {"", "$other", "a.b", "a/b", "..", "a b", "é"}) {
    INFO(bad);
    CHECK_FALSE(valid_group_name(bad));
  }
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  ConsumerGroup group(small_config());
  auto store = GroupStore::create(fs, kDir, "a.b", small_config(), group, nullptr);
  REQUIRE_FALSE(store);
  CHECK(store.error().kind == ErrorKind::kInvalidArgument);
  CHECK(files_in(fs).empty());
}

TEST_CASE("group store: events codec round-trips and rejects what it did not write",
          "[group_store]") {
  std::vector<GroupEvent> events{{Kind::kDelivered, 7, 2},
                                 {Kind::kCompleted, 7, 0},
                                 {Kind::kDeadLettered, 1ull << 40, 0},
                                 {Kind::kSkippedTo, 99, 0}};
  auto decoded = decode_group_events(encode_group_events(events));
  REQUIRE(decoded);
  CHECK(*decoded == events);

  std::string body = encode_group_events({{Kind::kCompleted, 5, 0}});
  body[2] = 9;  // [[kind...: the kind byte, a fixint
  auto bad_kind = decode_group_events(body);
  REQUIRE_FALSE(bad_kind);
  CHECK(bad_kind.error().kind == ErrorKind::kCorruption);
  CHECK_FALSE(decode_group_events(body.substr(0, body.size() - 1)));
  CHECK_FALSE(decode_group_events(encode_group_events(events) + "x"));
}

TEST_CASE("group store: reopen after appends gives the live group's state", "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(2);
  auto store = create_store(fs, driver);
  std::string initial = driver.group.snapshot();
  driver.steps(400);
  check_varied(driver.group, driver.end);
  REQUIRE(driver.group.snapshot() != initial);
  CHECK(fs.file_size(journal_of("workers", 0)) > 0);

  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(notes.empty());
  CHECK(r.name == "workers");
  CHECK(same_group_config(r.config, small_config()));
  CHECK(r.group.snapshot() == driver.group.snapshot());
  CHECK(r.group.stats(driver.end).completed == driver.group.stats(driver.end).completed);
}

TEST_CASE("group store: reopen after appends on the real file system", "[group_store][posix]") {
  TempDir tmp;
  FileSystem& fs = posix_file_system();
  Driver driver(3);
  auto store = GroupStore::create(fs, tmp.path(), "$queue", small_config(), driver.group, nullptr,
                                  /*snapshot_bytes=*/512);
  REQUIRE(store);
  driver.store = store->get();
  int rotations = 0;
  for (int i = 0; i < 40; ++i) {
    driver.steps(10);
    if ((*store)->wants_snapshot()) {
      REQUIRE((*store)->write_snapshot(driver.group));
      ++rotations;
    }
  }
  CHECK(rotations > 0);
  std::vector<std::string> notes;
  auto groups = GroupStore::open_all(fs, tmp.path(), nullptr, notes);
  REQUIRE(groups);
  REQUIRE(groups->size() == 1);
  CHECK((*groups)[0].name == "$queue");
  CHECK((*groups)[0].group.snapshot() == driver.group.snapshot());
  CHECK(notes.empty());
  auto names = fs.list(tmp.path());
  REQUIRE(names);
  std::set<std::string> expected{"$queue.group",
                                 "$queue." + std::to_string(rotations) + ".journal"};
  CHECK(std::set<std::string>(names->begin(), names->end()) == expected);
}

TEST_CASE("group store: snapshot rotation, more events, reopen gives the live state",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(4);
  auto store = create_store(fs, driver, "workers", nullptr, /*snapshot_bytes=*/2048);
  while (!store->wants_snapshot()) driver.step();
  CHECK(store->journal_bytes() >= 2048);
  REQUIRE(store->write_snapshot(driver.group));
  CHECK(store->generation() == 1);
  CHECK_FALSE(store->wants_snapshot());
  CHECK(files_in(fs) == std::set<std::string>{"workers.group", "workers.1.journal"});
  CHECK(fs.file_size(journal_of("workers", 1)) == 0);

  driver.steps(300);
  check_varied(driver.group, driver.end);
  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(notes.empty());
  CHECK(r.group.snapshot() == driver.group.snapshot());
  CHECK(r.store->generation() == 1);
}

TEST_CASE("group store: a recovered store keeps journaling where it left off", "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(5);
  auto store = create_store(fs, driver);
  driver.steps(100);
  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  REQUIRE(r.group.snapshot() == driver.group.snapshot());

  // Drive the recovered group from here on, through its recovered store.
  store.reset();
  Driver next(6);
  next.group = std::move(r.group);
  next.store = r.store.get();
  next.end = driver.end;
  next.now = driver.now;
  next.steps(200);
  REQUIRE(r.store->write_snapshot(next.group));
  next.steps(50);
  RecoveredGroup again = reopen_one(fs, notes);
  CHECK(notes.empty());
  CHECK(again.group.snapshot() == next.group.snapshot());
}

TEST_CASE("group store: a torn journal tail is cut with a note; earlier events survive",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(7);
  auto store = create_store(fs, driver);
  driver.steps(200);
  std::string before = driver.group.snapshot();
  const std::string journal = journal_of("workers", 0);
  uint64_t good = fs.file_size(journal);
  driver.take_new(5);
  uint64_t full = fs.file_size(journal);
  REQUIRE(full > good + 20);
  std::string whole = fs.contents(journal);

  SECTION("cut inside the last frame's body") {
    fs.truncate_file(journal, good + 20);
  }
  SECTION("cut inside the last frame's header") {
    fs.truncate_file(journal, good + 3);
  }
  SECTION("a flipped byte in the last frame") {
    fs.corrupt(journal, full - 2, 0x01);
  }
  SECTION("zeros after the last frame, as a file extended by a crash") {
    fs.set_contents(journal, whole.substr(0, good) + std::string(64, '\0'));
  }

  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(r.group.snapshot() == before);
  CHECK(r.group.snapshot() != driver.group.snapshot());
  CHECK(fs.file_size(journal) == good);
  REQUIRE(notes.size() == 1);
  CHECK(mentions(notes, journal, "cut"));
  CHECK(notes[0].find("at byte " + std::to_string(good)) != std::string::npos);

  // Appends after the cut are found by the next recovery.
  REQUIRE(r.store->append({{Kind::kDelivered, r.group.cursor(), 1}}));
  REQUIRE(r.group.apply({Kind::kDelivered, r.group.cursor(), 1}));
  notes.clear();
  RecoveredGroup again = reopen_one(fs, notes);
  CHECK(notes.empty());
  CHECK(again.group.snapshot() == r.group.snapshot());
}

TEST_CASE("group store: a journal event that does not fit is an error naming file and position",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(8);
  auto store = create_store(fs, driver);
  driver.steps(50);
  uint64_t position = fs.file_size(journal_of("workers", 0));
  REQUIRE(store->append({{Kind::kCompleted, driver.group.cursor() + 1000, 0}}));
  std::vector<std::string> notes;
  auto groups = GroupStore::open_all(fs, kDir, nullptr, notes);
  REQUIRE_FALSE(groups);
  CHECK(groups.error().kind == ErrorKind::kCorruption);
  CHECK(groups.error().message.find(journal_of("workers", 0)) != std::string::npos);
  CHECK(groups.error().message.find("at byte " + std::to_string(position)) != std::string::npos);
}

TEST_CASE("group store: a corrupt or missing G.group is an error naming the file",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(9);
  auto store = create_store(fs, driver);
  driver.steps(50);
  REQUIRE(store->write_snapshot(driver.group));
  const std::string path = kDir + "/workers.group";
  std::string good = fs.contents(path);
  std::string expected_in_message = path;

  SECTION("a flipped byte") {
    fs.corrupt(path, good.size() / 2, 0x10);
  }
  SECTION("cut short") {
    fs.truncate_file(path, good.size() - 1);
  }
  SECTION("bytes after the record") {
    fs.append_bytes(path, "x");
  }
  SECTION("empty") {
    fs.truncate_file(path, 0);
  }
  SECTION("a valid frame around a body that is not the format") {
    std::string frame;
    append_frame(frame, 0, encode_group_events({}));
    fs.set_contents(path, frame);
  }
  SECTION("its journal is missing") {
    REQUIRE(fs.remove(journal_of("workers", 1)));
    expected_in_message = journal_of("workers", 1);
  }

  std::vector<std::string> notes;
  auto groups = GroupStore::open_all(fs, kDir, nullptr, notes);
  REQUIRE_FALSE(groups);
  CHECK(groups.error().kind == ErrorKind::kCorruption);
  CHECK(groups.error().message.find(expected_in_message) != std::string::npos);
  // An error leaves the files alone.
  CHECK(files_in(fs).count("workers.group") == 1);
}

TEST_CASE("group store: a crash at any step of a rotation recovers the same state",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(10);
  auto store = create_store(fs, driver);
  driver.steps(200);
  const std::string group_file = kDir + "/workers.group";
  std::string old_group = fs.contents(group_file);
  std::string old_journal = fs.contents(journal_of("workers", 0));
  REQUIRE(store->write_snapshot(driver.group));
  std::string new_group = fs.contents(group_file);
  REQUIRE(new_group != old_group);
  // The files as each step of the rotation left them.
  std::set<std::string> debris;
  SECTION("after step 1: an empty journal of gen 1, G.group names gen 0") {
    fs.set_contents(group_file, old_group);
    fs.set_contents(journal_of("workers", 0), old_journal);
    debris = {"workers.1.journal"};
  }
  SECTION("during step 2: G.group.tmp written, not renamed") {
    fs.set_contents(group_file, old_group);
    fs.set_contents(journal_of("workers", 0), old_journal);
    fs.set_contents(group_file + ".tmp", new_group.substr(0, new_group.size() / 2));
    debris = {"workers.1.journal", "workers.group.tmp"};
  }
  SECTION("after step 2: G.group names gen 1, the journal of gen 0 is still there") {
    fs.set_contents(journal_of("workers", 0), old_journal);
    debris = {"workers.0.journal"};
  }
  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(r.group.snapshot() == driver.group.snapshot());
  CHECK(files_in(fs).size() == 2);
  for (const std::string& file : debris) {
    CHECK(files_in(fs).count(file) == 0);
    CHECK(mentions(notes, kDir + "/" + file, "removed"));
  }
  CHECK(notes.size() == debris.size());
  // The survivor is the generation G.group names.
  CHECK(files_in(fs).count("workers." + std::to_string(r.store->generation()) + ".journal") == 1);
}

TEST_CASE("group store: a failed rename leaves the old generation in use", "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(11);
  auto store = create_store(fs, driver);
  driver.steps(100);
  fs.faults.rename_error = true;
  Status s = store->write_snapshot(driver.group);
  REQUIRE_FALSE(s);
  fs.faults = {};
  CHECK(store->generation() == 0);
  CHECK(files_in(fs) == std::set<std::string>{"workers.group", "workers.0.journal"});
  driver.steps(100);  // still journaling into gen 0
  std::vector<std::string> notes;
  CHECK(reopen_one(fs, notes).group.snapshot() == driver.group.snapshot());
}

TEST_CASE("group store: an old journal that cannot be removed is removed at the next open",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(12);
  auto store = create_store(fs, driver);
  driver.steps(100);
  fs.faults.path_filter = ".0.journal";
  fs.faults.remove_error = true;
  LogLevel level = log_level();
  set_log_level(LogLevel::kError);  // the line about the leftover
  Status s = store->write_snapshot(driver.group);
  set_log_level(level);
  REQUIRE(s);  // committed: the leftover is harmless
  fs.faults = {};
  CHECK(files_in(fs).count("workers.0.journal") == 1);
  driver.steps(50);
  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(r.group.snapshot() == driver.group.snapshot());
  CHECK(mentions(notes, journal_of("workers", 0), "removed"));
  CHECK(files_in(fs) == std::set<std::string>{"workers.group", "workers.1.journal"});
}

TEST_CASE("group store: destroy removes the group's files and nothing else", "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  fs.set_contents(kDir + "/00000000000000000000.log", "segment");
  Driver a(13), b(14);
  auto store_a = create_store(fs, a, "a");
  auto store_b = create_store(fs, b, "b");
  a.steps(50);
  b.steps(50);
  REQUIRE(store_a->write_snapshot(a.group));
  a.steps(10);
  REQUIRE(store_a->destroy());
  CHECK(files_in(fs) ==
        std::set<std::string>{"00000000000000000000.log", "b.group", "b.0.journal"});
  CHECK_FALSE(store_a->append({{Kind::kDelivered, 0, 1}}));
  std::vector<std::string> notes;
  auto groups = reopen(fs, notes);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].name == "b");
  CHECK(groups[0].group.snapshot() == b.group.snapshot());
}

TEST_CASE("group store: open_all restores every group of a directory with its settings",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  fs.set_contents(kDir + "/00000000000000000000.log", "segment");
  fs.set_contents(kDir + "/00000000000000000000.idx", "index");
  fs.set_contents(kDir + "/notes.txt", "not ours");
  ConsumerGroupConfig queue_config{5000, 7, 60000};
  Driver q(15, queue_config), w(16);
  auto queue = GroupStore::create(fs, kDir, "$queue", queue_config, q.group, nullptr);
  REQUIRE(queue);
  q.store = queue->get();
  auto workers = create_store(fs, w, "workers");
  for (int i = 0; i < 30; ++i) {  // interleaved, as the broker would
    q.steps(5);
    w.steps(5);
  }
  REQUIRE(workers->write_snapshot(w.group));
  w.steps(20);

  std::vector<std::string> notes;
  auto groups = reopen(fs, notes);
  CHECK(notes.empty());
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].name == "$queue");
  CHECK(same_group_config(groups[0].config, queue_config));
  CHECK(groups[0].group.snapshot() == q.group.snapshot());
  CHECK(groups[1].name == "workers");
  CHECK(same_group_config(groups[1].config, small_config()));
  CHECK(groups[1].group.snapshot() == w.group.snapshot());
  CHECK(files_in(fs).count("notes.txt") == 1);
}

TEST_CASE("group store: an orphan journal (create or destroy cut short) is removed",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  fs.set_contents(journal_of("gone", 3), "");
  fs.set_contents(kDir + "/gone.group.tmp", "half");
  std::vector<std::string> notes;
  CHECK(reopen(fs, notes).empty());
  CHECK(files_in(fs).empty());
  CHECK(mentions(notes, journal_of("gone", 3), "removed"));
  CHECK(mentions(notes, kDir + "/gone.group.tmp", "removed"));
}

TEST_CASE("group store: reconfigure persists new settings with the current state",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(17);
  auto store = create_store(fs, driver);
  driver.steps(100);
  ConsumerGroupConfig changed{2500, 5, 3600000};
  REQUIRE(store->reconfigure(changed, driver.group));
  CHECK(same_group_config(store->config(), changed));
  driver.steps(50);
  REQUIRE_FALSE(store->reconfigure({0, 5, std::nullopt}, driver.group));
  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(same_group_config(r.config, changed));
  CHECK_FALSE(same_group_config(r.config, small_config()));
  CHECK(r.group.snapshot() == driver.group.snapshot());
}

TEST_CASE("group store: a failed append leaves the journal as it was", "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(18);
  auto store = create_store(fs, driver);
  driver.steps(100);
  const std::string journal = journal_of("workers", 0);
  std::string before = fs.contents(journal);
  fs.faults.path_filter = ".journal";

  SECTION("nothing written") {
    fs.faults.write_error = true;
    driver.end += 3;
    (void)driver.group.take(1, 3, driver.end, driver.now);
    Status s = store->append(driver.group.take_events());
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("No space left") != std::string::npos);
    CHECK(fs.contents(journal) == before);
    fs.faults = {};
    // The group in memory is ahead of its journal: a later event appended
    // now would not fit on recovery, so appends wait for a snapshot.
    CHECK(store->wants_snapshot());
    driver.end += 1;
    (void)driver.group.take(1, 1, driver.end, driver.now);
    CHECK_FALSE(store->append(driver.group.take_events()));
    CHECK(fs.contents(journal) == before);
    REQUIRE(store->write_snapshot(driver.group));
    CHECK_FALSE(store->wants_snapshot());
  }
  SECTION("a short write that cannot be cut back blocks appends until a snapshot") {
    fs.faults.short_write = true;
    fs.faults.short_write_bytes = 5;
    fs.faults.truncate_error = true;
    driver.end += 3;
    (void)driver.group.take(1, 3, driver.end, driver.now);
    REQUIRE_FALSE(store->append(driver.group.take_events()));
    CHECK(fs.file_size(journal) == before.size() + 5);
    fs.faults = {};
    Status blocked = store->append({{Kind::kSkippedTo, 0, 0}});
    REQUIRE_FALSE(blocked);
    CHECK(blocked.error().message.find("snapshot") != std::string::npos);
    CHECK(store->wants_snapshot());
    CHECK(fs.contents(journal).size() == before.size() + 5);
    REQUIRE(store->write_snapshot(driver.group));
  }
  driver.steps(50);
  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(r.group.snapshot() == driver.group.snapshot());
}

TEST_CASE("group store: appends are reported to the tracker, rotations change the directory",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  RecordingTracker tracker;
  Driver driver(19);
  auto store = create_store(fs, driver, "workers", &tracker);
  REQUIRE(store->append({}));
  CHECK(tracker.files.empty());  // an empty append writes nothing
  driver.take_new(2);
  REQUIRE(tracker.files.size() == 1);
  // The tracker syncs the journal itself: its size is the journal's.
  CHECK(tracker.files[0]->size() == fs.file_size(journal_of("workers", 0)));
  tracker.dirs.clear();
  REQUIRE(store->write_snapshot(driver.group));
  CHECK(std::count(tracker.dirs.begin(), tracker.dirs.end(), kDir) >= 1);
  driver.take_new(1);
  REQUIRE(tracker.files.size() == 2);
  CHECK(tracker.files[1]->size() == fs.file_size(journal_of("workers", 1)));
  CHECK(tracker.files[1]->size() > 0);
}

TEST_CASE("group store: a large batch of events spans several frames and recovers",
          "[group_store]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  Driver driver(20, {1000, 3, std::nullopt});
  auto store = create_store(fs, driver);
  driver.take_new(70000);  // more than one frame's worth of events
  std::vector<std::string> notes;
  RecoveredGroup r = reopen_one(fs, notes);
  CHECK(notes.empty());
  CHECK(r.group.snapshot() == driver.group.snapshot());
  CHECK(r.group.cursor() == 70000);
}

}  // namespace
}  // namespace eda::group_store_test
