#include "core/compactor.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/disk_log.h"
#include "core/log_format.h"
#include "tests/temp_dir.h"

namespace eda::compactor_test {
namespace {

// The compactor's thread and the test's both use the file system: the real
// one, since FaultFileSystem belongs to one thread.

// A log of `n` updates of ten keys in small segments.
std::unique_ptr<DiskLog> updates(FileSystem& fs, int n, const std::string& dir) {
  DiskLogOptions o;
  o.segment_bytes = 1024;
  auto log = DiskLog::create(fs, dir, o);
  REQUIRE(log);
  for (int i = 0; i < n; ++i) {
    RecordBatch b;
    Envelope e;
    e.id = fmt::format("id-{}", i);
    e.topic = "kv";
    e.key = fmt::format("k{}", i % 10);
    e.payload = fmt::format("v{}", i);
    e.ts = 1;
    e.offset = static_cast<uint64_t>(i);
    b.add(e);
    REQUIRE((*log)->append(b));
  }
  return std::move(*log);
}

std::vector<Compactor::Done> wait_done(Compactor& c) {
  for (int i = 0; i < 1000; ++i) {
    auto done = c.take_done();
    if (!done.empty()) return done;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("no pass finished");
  return {};
}

TEST_CASE("compactor: runs a pass on its thread and hands the result over once", "[compactor]") {
  TempDir tmp;
  FileSystem& fs = posix_file_system();
  const std::string kDir = tmp.path() + "/kv";
  auto log = updates(fs, 300, kDir);
  Compactor compactor(fs);
  CHECK_FALSE(compactor.busy(7));
  compactor.submit(7, {kDir, log->sealed_segments(), 0, 1000, 1u << 20});
  CHECK(compactor.busy(7));
  CHECK_FALSE(compactor.busy(8));
  auto done = wait_done(compactor);
  REQUIRE(done.size() == 1);
  CHECK(done[0].topic == 7);
  CHECK(done[0].dir == kDir);
  REQUIRE(done[0].result);
  REQUIRE(done[0].result->files.size() == 1);
  CHECK(done[0].result->records_removed > 200);
  CHECK(fs.exists(done[0].result->files[0].path));
  CHECK_FALSE(compactor.busy(7));
  CHECK(compactor.take_done().empty());
}

TEST_CASE("compactor: forgetting a topic removes the files of its passes", "[compactor]") {
  TempDir tmp;
  FileSystem& fs = posix_file_system();
  const std::string kDir = tmp.path() + "/kv";
  auto log = updates(fs, 300, kDir);
  const std::string other_dir = tmp.path() + "/other";
  auto other = updates(fs, 300, other_dir);
  Compactor compactor(fs);
  compactor.submit(7, {kDir, log->sealed_segments(), 0, 1000, 1u << 20});
  compactor.submit(8, {other_dir, other->sealed_segments(), 0, 1000, 1u << 20});
  compactor.forget(7);  // queued or running or done: afterwards nothing of it is left
  CHECK_FALSE(compactor.busy(7));
  auto done = wait_done(compactor);
  for (const Compactor::Done& d : done) CHECK(d.topic == 8);
  auto compacted_files = [&](const std::string& dir) {
    auto names = fs.list(dir);
    REQUIRE(names);
    return std::count_if(names->begin(), names->end(), [](const std::string& n) {
      return n.ends_with(log_format::kCompactedSuffix);
    });
  };
  CHECK(compacted_files(kDir) == 0);
  CHECK(compacted_files(other_dir) == 1);
}

}  // namespace
}  // namespace eda::compactor_test
