#include "core/group_commit.h"

#include <poll.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/fault_file_system.h"

namespace eda::group_commit_test {
namespace {

using testing::FaultFileSystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = 10s;

struct Files {
  FaultFileSystem fs;
  std::shared_ptr<File> a, b;
  Files() {
    REQUIRE(fs.create_dirs("/data/t"));
    a = open("/data/t/a.log");
    b = open("/data/t/b.log");
  }
  std::shared_ptr<File> open(const std::string& path) {
    auto f = fs.open(path, OpenMode::kCreate);
    if (!f) FAIL(f.error().message);
    return std::shared_ptr<File>(std::move(*f));
  }
};

// Polls notify_fd() until a completion covers `ticket` or the deadline
// passes; returns every completion seen, in the order taken.
std::vector<GroupCommitter::Completion> wait_for(GroupCommitter& gc, uint64_t ticket) {
  std::vector<GroupCommitter::Completion> seen;
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (seen.empty() || seen.back().through < ticket) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) FAIL("no completion for ticket " << ticket << " within the deadline");
    pollfd p{gc.notify_fd(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    REQUIRE(n >= 0);
    for (auto& c : gc.take_completions()) seen.push_back(std::move(c));
  }
  return seen;
}

TEST_CASE("group commit: parse_fsync_policy", "[group_commit]") {
  CHECK(*parse_fsync_policy("always") == FsyncPolicy::kAlways);
  CHECK(*parse_fsync_policy("batch") == FsyncPolicy::kBatch);
  CHECK(*parse_fsync_policy("never") == FsyncPolicy::kNever);
  auto bad = parse_fsync_policy("sometimes");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(bad.error().message, Catch::Contains("sometimes"));
  CHECK_FALSE(parse_fsync_policy("").ok());
  CHECK_FALSE(parse_fsync_policy("Always").ok());
}

TEST_CASE("group commit: never returns ticket 0 and syncs nothing", "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kNever);
  CHECK(gc.notify_fd() == -1);
  gc.written(f.a);
  gc.changed_dir("/data/t");
  auto t = gc.commit();
  REQUIRE(t.ok());
  CHECK(*t == 0);
  CHECK(f.fs.syncs("/data/t/a.log") == 0);
  CHECK(f.fs.synced_dirs().empty());
  CHECK(gc.take_completions().empty());
}

TEST_CASE("group commit: always syncs every written file and directory, returns 0",
          "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kAlways);
  CHECK(gc.notify_fd() == -1);
  gc.written(f.a);
  gc.written(f.b);
  gc.written(f.a);  // twice in one batch: one sync
  gc.changed_dir("/data/t");
  auto t = gc.commit();
  REQUIRE(t.ok());
  CHECK(*t == 0);
  CHECK(f.fs.syncs("/data/t/a.log") == 1);
  CHECK(f.fs.syncs("/data/t/b.log") == 1);
  CHECK(f.fs.synced_dirs() == std::vector<std::string>{"/data/t"});

  // Only what was written since.
  gc.written(f.b);
  REQUIRE(gc.commit().ok());
  CHECK(f.fs.syncs("/data/t/a.log") == 1);
  CHECK(f.fs.syncs("/data/t/b.log") == 2);
  CHECK(f.fs.synced_dirs().size() == 1);
}

TEST_CASE("group commit: always reports a sync failure from commit", "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kAlways);
  gc.written(f.a);
  f.fs.sync_error = true;
  auto t = gc.commit();
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(t.error().message, Catch::Contains("/data/t/a.log"));
}

TEST_CASE("group commit: always reports a directory sync failure from commit", "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kAlways);
  gc.changed_dir("/data/t");
  f.fs.sync_dir_error = true;
  CHECK_FALSE(gc.commit().ok());
}

TEST_CASE("group commit: batch hands out increasing tickets and completes them in order",
          "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kBatch);
  REQUIRE(gc.notify_fd() >= 0);
  std::vector<uint64_t> tickets;
  for (int i = 0; i < 20; ++i) {
    gc.written(i % 2 ? f.a : f.b);
    auto t = gc.commit();
    REQUIRE(t.ok());
    REQUIRE(*t > 0);
    if (!tickets.empty()) REQUIRE(*t > tickets.back());
    tickets.push_back(*t);
  }
  auto seen = wait_for(gc, tickets.back());
  for (size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].status.ok());
    if (i > 0) CHECK(seen[i].through > seen[i - 1].through);
  }
  CHECK(seen.back().through == tickets.back());
  CHECK(f.fs.syncs("/data/t/a.log") >= 1);
  CHECK(f.fs.syncs("/data/t/b.log") >= 1);
}

TEST_CASE("group commit: batch syncs a write before completing its ticket", "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kBatch);
  for (int round = 1; round <= 5; ++round) {
    gc.written(f.a);
    gc.changed_dir("/data/t");
    auto t = gc.commit();
    REQUIRE(t.ok());
    wait_for(gc, *t);
    CHECK(f.fs.syncs("/data/t/a.log") == round);
    CHECK(f.fs.synced_dirs().size() == size_t(round));
  }
}

TEST_CASE("group commit: batch shares one sync among the batches written during a round",
          "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kBatch);
  f.fs.close_sync_gate();
  gc.written(f.a);
  auto t1 = gc.commit();
  REQUIRE(t1.ok());
  // The syncer is inside round 1; three more batches arrive meanwhile.
  REQUIRE(f.fs.wait_for_blocked_syncs(1, kDeadline));
  uint64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    gc.written(f.b);
    auto t = gc.commit();
    REQUIRE(t.ok());
    last = *t;
  }
  CHECK(gc.take_completions().empty());  // nothing is durable yet
  f.fs.open_sync_gate();
  auto seen = wait_for(gc, last);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].through == *t1);
  CHECK(seen[1].through == last);
  CHECK(f.fs.syncs("/data/t/a.log") == 1);
  CHECK(f.fs.syncs("/data/t/b.log") == 1);
}

TEST_CASE("group commit: batch reports a sync failure in the completion", "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kBatch);
  f.fs.sync_error = true;
  gc.written(f.a);
  auto t1 = gc.commit();
  REQUIRE(t1.ok());
  auto seen = wait_for(gc, *t1);
  REQUIRE_FALSE(seen.back().status.ok());
  CHECK_THAT(seen.back().status.error().message, Catch::Contains("/data/t/a.log"));

  // The next round, once the disk is healthy, succeeds.
  f.fs.sync_error = false;
  gc.written(f.a);
  auto t2 = gc.commit();
  REQUIRE(t2.ok());
  seen = wait_for(gc, *t2);
  CHECK(seen.back().status.ok());
}

TEST_CASE("group commit: batch reports a directory sync failure in the completion",
          "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kBatch);
  f.fs.sync_dir_error = true;
  gc.changed_dir("/data/t");
  gc.written(f.a);
  auto t = gc.commit();
  REQUIRE(t.ok());
  auto seen = wait_for(gc, *t);
  CHECK_FALSE(seen.back().status.ok());
}

TEST_CASE("group commit: notify_fd is not readable once completions are taken", "[group_commit]") {
  Files f;
  GroupCommitter gc(f.fs, FsyncPolicy::kBatch);
  gc.written(f.a);
  auto t = gc.commit();
  REQUIRE(t.ok());
  wait_for(gc, *t);
  pollfd p{gc.notify_fd(), POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 0);
}

TEST_CASE("group commit: destruction finishes pending syncs", "[group_commit]") {
  Files f;
  {
    GroupCommitter gc(f.fs, FsyncPolicy::kBatch);
    gc.written(f.a);
    REQUIRE(gc.commit().ok());
  }
  CHECK(f.fs.syncs("/data/t/a.log") == 1);
}

}  // namespace
}  // namespace eda::group_commit_test
