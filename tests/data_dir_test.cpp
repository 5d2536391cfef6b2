#include "core/data_dir.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "tests/fault_file_system.h"
#include "tests/temp_dir.h"

namespace eda::data_dir_test {
namespace {

// Sets an environment variable for one scope, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE("data dir: lock creates the directory and writes the pid to LOCK", "[data_dir]") {
  TempDir tmp;
  std::string path = tmp.path() + "/a/b/data";
  auto dir = DataDir::lock(path);
  REQUIRE(dir.ok());
  CHECK(dir->path() == path);
  CHECK(std::filesystem::is_directory(path));
  CHECK(slurp(path + "/LOCK") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("data dir: a second locker is refused with the holder's pid", "[data_dir]") {
  TempDir tmp;
  auto first = DataDir::lock(tmp.path());
  REQUIRE(first.ok());
  auto second = DataDir::lock(tmp.path());
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().kind == ErrorKind::kRuntime);
  CHECK_THAT(second.error().message, Catch::Contains(tmp.path()));
  CHECK_THAT(second.error().message, Catch::Contains("(pid " + std::to_string(::getpid()) + ")"));
  // The refused locker did not disturb the holder's LOCK file.
  CHECK(slurp(tmp.path() + "/LOCK") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("data dir: a second locker in another process is refused", "[data_dir]") {
  TempDir tmp;
  auto first = DataDir::lock(tmp.path());
  REQUIRE(first.ok());
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto second = DataDir::lock(tmp.path());
    char verdict = second.ok() ? 'Y' : 'N';
    (void)!::write(pipe_fds[1], &verdict, 1);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  char verdict = '?';
  CHECK(::read(pipe_fds[0], &verdict, 1) == 1);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(verdict == 'N');
}

TEST_CASE("data dir: the lock is released when the DataDir goes away", "[data_dir]") {
  TempDir tmp;
  { REQUIRE(DataDir::lock(tmp.path()).ok()); }
  auto again = DataDir::lock(tmp.path());
  CHECK(again.ok());
}

TEST_CASE("data dir: a moved DataDir keeps the lock", "[data_dir]") {
  TempDir tmp;
  auto first = DataDir::lock(tmp.path());
  REQUIRE(first.ok());
  std::optional<DataDir> moved;
  moved.emplace(std::move(*first));
  { auto discard = std::move(first); }
  CHECK_FALSE(DataDir::lock(tmp.path()).ok());
  moved.reset();
  CHECK(DataDir::lock(tmp.path()).ok());
}

TEST_CASE("data dir: a stale LOCK file from a dead broker does not block", "[data_dir]") {
  TempDir tmp;
  {
    std::ofstream out(tmp.path() + "/LOCK");
    out << "999999\n";
  }
  auto dir = DataDir::lock(tmp.path());
  REQUIRE(dir.ok());
  CHECK(slurp(tmp.path() + "/LOCK") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("data dir: lock fails when the path cannot be a directory", "[data_dir]") {
  TempDir tmp;
  std::string file = tmp.path() + "/file";
  { std::ofstream(file) << "x"; }
  auto dir = DataDir::lock(file + "/data");
  REQUIRE_FALSE(dir.ok());
  CHECK_THAT(dir.error().message, Catch::Contains(file));
}

TEST_CASE("data dir: default_data_dir honours XDG_DATA_HOME", "[data_dir]") {
  ScopedEnv xdg("XDG_DATA_HOME", "/xdg/data");
  ScopedEnv home("HOME", "/home/someone");
  CHECK(default_data_dir() == "/xdg/data/edatool");
}

TEST_CASE("data dir: default_data_dir falls back to ~/.local/share", "[data_dir]") {
  ScopedEnv home("HOME", "/home/someone");
  SECTION("unset") {
    ScopedEnv xdg("XDG_DATA_HOME", nullptr);
    CHECK(default_data_dir() == "/home/someone/.local/share/edatool");
  }
  SECTION("empty") {
    ScopedEnv xdg("XDG_DATA_HOME", "");
    CHECK(default_data_dir() == "/home/someone/.local/share/edatool");
  }
}

TEST_CASE("data dir: namespace and topic directories", "[data_dir]") {
  DataDir dir = DataDir::unlocked("/var/eda");
  CHECK(dir.namespace_dir("default") == "/var/eda/default");
  CHECK(dir.topic_dir("default", "orders.eu") == "/var/eda/default/orders.eu");
}

TEST_CASE("data dir: topics lists valid topic directories, sorted", "[data_dir]") {
  testing::FaultFileSystem fs;
  DataDir dir = DataDir::unlocked("/data");
  REQUIRE(fs.create_dirs("/data/default/orders.eu"));
  REQUIRE(fs.create_dirs("/data/default/alpha"));
  REQUIRE(fs.create_dirs("/data/default/$sys.stats"));
  REQUIRE(fs.create_dirs("/data/default/not a topic"));
  REQUIRE(fs.create_dirs("/data/other/beta"));
  auto topics = dir.topics(fs, "default");
  REQUIRE(topics.ok());
  CHECK(*topics == std::vector<std::string>{"$sys.stats", "alpha", "orders.eu"});
}

TEST_CASE("data dir: topics of a namespace with no directory is empty", "[data_dir]") {
  testing::FaultFileSystem fs;
  DataDir dir = DataDir::unlocked("/data");
  auto topics = dir.topics(fs, "nowhere");
  REQUIRE(topics.ok());
  CHECK(topics->empty());
}

}  // namespace
}  // namespace eda::data_dir_test
