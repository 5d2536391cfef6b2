#include "core/snapshot_writer.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>

#include "tests/temp_dir.h"

namespace eda::snapshot_writer_test {
namespace {

// The real file system, except that opening a file whose path contains
// `gate` waits until open() is called, so a test can hold the writer thread
// in the middle of a write; and renames onto a path containing `fail` fail.
class GatedFileSystem : public FileSystem {
 public:
  std::string gate, fail;

  void open_gate() {
    std::lock_guard lock(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }
  // Waits until the writer thread reached the gate.
  void wait_at_gate() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return at_gate_; });
  }
  std::vector<std::string> renamed() {
    std::lock_guard lock(mu_);
    return renamed_;
  }

  Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override {
    if (!gate.empty() && path.find(gate) != std::string::npos) {
      std::unique_lock lock(mu_);
      at_gate_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return gate_open_; });
    }
    return real_.open(path, mode);
  }
  Result<std::vector<std::string>> list(const std::string& dir) override { return real_.list(dir); }
  Status create_dirs(const std::string& dir) override { return real_.create_dirs(dir); }
  Status remove(const std::string& path) override { return real_.remove(path); }
  Status remove_all(const std::string& dir) override { return real_.remove_all(dir); }
  Status rename(const std::string& from, const std::string& to) override {
    if (!fail.empty() && to.find(fail) != std::string::npos)
      return runtime_error("cannot rename " + from + ": Input/output error");
    {
      std::lock_guard lock(mu_);
      renamed_.push_back(std::filesystem::path(to).filename());
    }
    return real_.rename(from, to);
  }
  Status sync_dir(const std::string& dir) override { return real_.sync_dir(dir); }
  bool exists(const std::string& path) override { return real_.exists(path); }

 private:
  FileSystem& real_ = posix_file_system();
  std::mutex mu_;
  std::condition_variable cv_;
  bool at_gate_ = false, gate_open_ = false;
  std::vector<std::string> renamed_;
};

std::string content_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("snapshot writer: writes durably in the background; flush waits") {
  TempDir dir;
  GatedFileSystem fs;
  SnapshotWriter writer(fs);
  writer.submit(dir.path() + "/a.view", "one");
  writer.submit(dir.path() + "/b.view", "two");
  writer.flush();
  CHECK(content_of(dir.path() + "/a.view") == "one");
  CHECK(content_of(dir.path() + "/b.view") == "two");
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/a.view.tmp"));
  CHECK(writer.written() == 2);
  CHECK(writer.take_failures().empty());
}

TEST_CASE("snapshot writer: a newer snapshot replaces a queued older one; cancel forgets one") {
  TempDir dir;
  GatedFileSystem fs;
  fs.gate = "first.view";
  SnapshotWriter writer(fs);
  writer.submit(dir.path() + "/first.view", "held");
  fs.wait_at_gate();  // the writer thread is busy with `first`
  writer.submit(dir.path() + "/b.view", "old");
  writer.submit(dir.path() + "/c.view", "dropped");
  writer.submit(dir.path() + "/b.view", "new");
  writer.cancel(dir.path() + "/c.view");
  fs.open_gate();
  writer.flush();
  CHECK(content_of(dir.path() + "/b.view") == "new");
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/c.view"));
  CHECK(fs.renamed() == std::vector<std::string>{"first.view", "b.view"});
  CHECK(writer.written() == 2);
}

TEST_CASE("snapshot writer: cancel waits for the write in progress") {
  TempDir dir;
  GatedFileSystem fs;
  fs.gate = "a.view";
  SnapshotWriter writer(fs);
  writer.submit(dir.path() + "/a.view", "x");
  fs.wait_at_gate();
  auto cancelled = std::async(std::launch::async, [&] { writer.cancel(dir.path() + "/a.view"); });
  CHECK(cancelled.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout);
  fs.open_gate();
  cancelled.get();
  // Done when cancel returned: removing the file now cannot be undone by the writer.
  CHECK(fs.renamed() == std::vector<std::string>{"a.view"});
}

TEST_CASE("snapshot writer: failures are reported once, by path; the destructor drains the queue") {
  TempDir dir;
  GatedFileSystem fs;
  fs.fail = "bad.view";
  {
    SnapshotWriter writer(fs);
    writer.submit(dir.path() + "/bad.view", "x");
    writer.flush();
    auto failures = writer.take_failures();
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].first == dir.path() + "/bad.view");
    CHECK(failures[0].second.message.find("Input/output error") != std::string::npos);
    CHECK(writer.take_failures().empty());
    writer.submit(dir.path() + "/late.view", "y");
  }
  CHECK(content_of(dir.path() + "/late.view") == "y");
}

}  // namespace eda::snapshot_writer_test
