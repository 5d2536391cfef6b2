#include "core/handler_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/temp_dir.h"

namespace eda::handler_pool_test {
namespace {

using namespace std::chrono_literals;

using Env = std::vector<std::pair<std::string, std::string>>;

HandlerJob make_job(uint64_t tag, std::string payload = "", Env env = {}) {
  return {tag, std::move(payload), std::move(env)};
}

// Generous: only a broken pool (or a hung machine) comes near it.
constexpr auto kDeadline = 30s;

std::unique_ptr<HandlerPool> make_pool(const std::string& command, size_t concurrency = 1) {
  auto pool = HandlerPool::create(command, concurrency);
  if (!pool) FAIL(pool.error().message);
  return std::move(*pool);
}

// Waits for the next exit (of any running handler).
HandlerExit next_exit(HandlerPool& pool) {
  std::vector<HandlerExit> exits = pool.wait(kDeadline);
  REQUIRE(exits.size() == 1);
  return exits[0];
}

// Waits until every running handler has exited.
std::vector<HandlerExit> wait_all(HandlerPool& pool) {
  std::vector<HandlerExit> all;
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (pool.running() > 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    for (HandlerExit& e : pool.wait(kDeadline)) all.push_back(std::move(e));
  }
  return all;
}

// Runs one handler to its end in a fresh pool.
HandlerExit run(const std::string& command, HandlerJob job = {}) {
  auto pool = make_pool(command);
  Status started = pool->start(std::move(job));
  INFO((started ? std::string() : started.error().message));
  REQUIRE(started);
  HandlerExit exit = next_exit(*pool);
  CHECK(pool->running() == 0);
  return exit;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Polls for a file the handler creates once it reached a point.
void wait_for_file(const std::string& path) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!std::filesystem::exists(path)) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int n = ::poll(&p, 1, timeout_ms);
  REQUIRE(n >= 0);
  return n == 1 && (p.revents & POLLIN);
}

TEST_CASE("exit codes become the status", "[handler_pool]") {
  HandlerExit ok = run("true", make_job(41));
  CHECK(ok.tag == 41);
  CHECK(ok.status == 0);
  CHECK(ok.succeeded());
  CHECK(ok.description == "exited with status 0");

  HandlerExit failed = run("false");
  CHECK(failed.status == 1);
  CHECK_FALSE(failed.succeeded());
  CHECK(failed.description == "exited with status 1");

  HandlerExit seven = run("exit 7");
  CHECK(seven.status == 7);
  CHECK(seven.description == "exited with status 7");

  CHECK(run("edatool-no-such-command-here 2>/dev/null").status == 127);
}

TEST_CASE("a handler killed by a signal reports 128 + signal", "[handler_pool]") {
  HandlerExit killed = run("kill -KILL $$");
  CHECK(killed.status == 128 + SIGKILL);
  CHECK(killed.description == "killed by signal 9 (SIGKILL)");
  CHECK_FALSE(killed.succeeded());

  HandlerExit terminated = run("kill -TERM $$; exit 0");
  CHECK(terminated.status == 128 + SIGTERM);
  CHECK(terminated.description == "killed by signal 15 (SIGTERM)");
}

TEST_CASE("the payload reaches stdin byte for byte", "[handler_pool]") {
  TempDir dir;
  const std::string out = dir.path() + "/stdin";
  std::string payload;
  SECTION("empty") {}
  SECTION("text") {
    payload = "hello\nworld";
  }
  SECTION("2 MiB with every byte value, NUL included") {
    payload.resize(2 << 20);
    for (size_t i = 0; i < payload.size(); ++i)
      payload[i] = static_cast<char>((i * 7 + i / 256) % 256);
  }
  HandlerExit exit = run("cat > \"$OUT\"", make_job(1, payload, {{"OUT", out}}));
  REQUIRE(exit.status == 0);
  std::string got = read_file(out);
  CHECK(got.size() == payload.size());
  CHECK(got == payload);
}

TEST_CASE("a handler that never reads stdin still completes", "[handler_pool]") {
  std::string big(3 << 20, 'x');
  HandlerExit exit = run("exit 0", make_job(5, big));
  CHECK(exit.tag == 5);
  CHECK(exit.status == 0);
}

TEST_CASE("the job's variables are added to the inherited environment", "[handler_pool]") {
  TempDir dir;
  const std::string out = dir.path() + "/env";
  HandlerJob env_job = make_job(2, "",
                                {{"OUT", out},
                                 {"EDATOOL_ID", "01HZY ID with spaces"},
                                 {"EDATOOL_DELIVERY_COUNT", "1"},
                                 {"EDATOOL_DELIVERY_COUNT", "2"},  // the later one wins
                                 {"HOME", "/edatool/home"},        // replaces the inherited one
                                 {"EDATOOL_EMPTY", ""}});
  HandlerExit exit =
      run("printf '%s|%s|%s|%s|%s' \"$EDATOOL_ID\" \"$EDATOOL_DELIVERY_COUNT\" \"$HOME\" "
          "\"${EDATOOL_EMPTY-unset}\" \"${PATH:+path}\" > \"$OUT\"",
          env_job);
  REQUIRE(exit.status == 0);
  CHECK(read_file(out) == "01HZY ID with spaces|2|/edatool/home||path");
}

TEST_CASE("a malformed environment starts nothing", "[handler_pool]") {
  auto pool = make_pool("true");
  for (const std::string& name : {std::string(), std::string("A=B"), std::string("N\0L", 3)}) {
    Status s = pool->start(make_job(1, "", {{name, "v"}}));
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == ErrorKind::kInvalidArgument);
  }
  Status s = pool->start(make_job(1, "", {{"V", std::string("a\0b", 3)}}));
  REQUIRE_FALSE(s);
  CHECK(s.error().message == "environment variable V: value contains a NUL byte");
  CHECK(pool->running() == 0);
}

TEST_CASE("create rejects an empty command and zero concurrency", "[handler_pool]") {
  auto empty = HandlerPool::create("", 1);
  REQUIRE_FALSE(empty);
  CHECK(empty.error().kind == ErrorKind::kInvalidArgument);
  auto zero = HandlerPool::create("true", 0);
  REQUIRE_FALSE(zero);
  CHECK(zero.error().message == "handler concurrency must be at least 1");
}

TEST_CASE("at most `concurrency` handlers run", "[handler_pool]") {
  auto pool = make_pool("sleep 0.2", 3);
  CHECK(pool->concurrency() == 3);
  std::set<uint64_t> done;
  uint64_t next = 0;
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (done.size() < 6) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    while (pool->has_room() && next < 6) {
      REQUIRE(pool->start(make_job(next++)));
      CHECK(pool->running() <= 3);
    }
    if (next < 6) {
      // Full: exited-but-unreaped handlers still count, so this holds
      // however fast they run.
      CHECK(pool->running() == 3);
      CHECK(pool->running_tags().size() == 3);
      CHECK_FALSE(pool->start(make_job(99)));
    }
    for (const HandlerExit& e : pool->wait(kDeadline)) {
      CHECK(e.status == 0);
      CHECK(done.insert(e.tag).second);
    }
    CHECK(pool->running() <= 3);
  }
  CHECK(done == std::set<uint64_t>{0, 1, 2, 3, 4, 5});
  CHECK(pool->running() == 0);
  CHECK(pool->has_room());
}

TEST_CASE("running_tags lists the unreaped handlers in start order", "[handler_pool]") {
  auto pool = make_pool("exec sleep 30", 4);
  REQUIRE(pool->start(make_job(30)));
  REQUIRE(pool->start(make_job(10)));
  REQUIRE(pool->start(make_job(20)));
  CHECK(pool->running_tags() == std::vector<uint64_t>{30, 10, 20});
  std::vector<HandlerExit> exits = pool->terminate(10s);
  CHECK(exits.size() == 3);
  CHECK(pool->running_tags().empty());
}

TEST_CASE("wait_fd becomes readable when a handler exits", "[handler_pool]") {
  TempDir dir;
  const std::string go = dir.path() + "/go";
  // Exits once the test creates `go`, so the test knows it is still running before.
  auto pool = make_pool("while [ ! -e \"$GO\" ]; do sleep 0.01; done", 2);
  const int fd = pool->wait_fd();
  REQUIRE(fd >= 0);
  CHECK_FALSE(readable(fd, 0));  // nothing started

  REQUIRE(pool->start(make_job(8, "", {{"GO", go}})));
  CHECK_FALSE(readable(fd, 0));  // cannot have exited: `go` does not exist
  CHECK(pool->reap().empty());

  std::ofstream(go).put('x');
  CHECK(readable(fd, 30'000));
  CHECK(pool->wait_fd() == fd);  // one descriptor for the pool's whole life
  std::vector<HandlerExit> exits = pool->reap();
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].tag == 8);
  CHECK(exits[0].status == 0);
  CHECK_FALSE(readable(fd, 0));  // reaped: nothing left to report

  REQUIRE(pool->start(make_job(9, "", {{"GO", go}})));  // `go` exists: exits at once
  CHECK(readable(fd, 30'000));
  CHECK(next_exit(*pool).tag == 9);
}

TEST_CASE("wait returns at once when nothing runs", "[handler_pool]") {
  auto pool = make_pool("true");
  CHECK(pool->wait(1h).empty());
}

TEST_CASE("terminate sends SIGTERM, then SIGKILL after the grace period", "[handler_pool]") {
  TempDir dir;
  const std::string ready = dir.path() + "/ready";
  auto pool = make_pool("exec sleep 30", 2);
  REQUIRE(pool->start(make_job(1)));
  // Ignores SIGTERM (an ignored signal stays ignored across exec).
  HandlerJob stubborn = make_job(2, "", {{"READY", ready}});
  auto stubborn_pool = make_pool("trap '' TERM; : > \"$READY\"; exec sleep 30", 1);
  REQUIRE(stubborn_pool->start(stubborn));
  wait_for_file(ready);

  std::vector<HandlerExit> exits = pool->terminate(30s);
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].status == 128 + SIGTERM);

  exits = stubborn_pool->terminate(100ms);
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].tag == 2);
  CHECK(exits[0].status == 128 + SIGKILL);
  CHECK(stubborn_pool->running() == 0);
}

TEST_CASE("destroying the pool kills and reaps its handlers", "[handler_pool]") {
  TempDir dir;
  const std::string pid_file = dir.path() + "/pid";
  auto pool = make_pool(
      "echo $$ > \"$PID_FILE.tmp\" && mv \"$PID_FILE.tmp\" \"$PID_FILE\" && "
      "exec sleep 30");
  REQUIRE(pool->start(make_job(1, "", {{"PID_FILE", pid_file}})));
  wait_for_file(pid_file);
  pid_t pid = std::stoi(read_file(pid_file));
  REQUIRE(::kill(pid, 0) == 0);
  pool.reset();
  // Reaped, not a zombie: the pid is gone (barring reuse within microseconds).
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH);
}

TEST_CASE("handlers inherit only stdin, stdout and stderr", "[handler_pool]") {
  int leaky = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  REQUIRE(leaky >= 3);
  REQUIRE(leaky < 1024);
  // `test -e` opens nothing itself, unlike ls or a redirection.
  auto pool = make_pool(
      "for fd in $(seq 3 1023); do if [ -e /proc/$$/fd/$fd ]; then "
      "echo \"handler_pool_test: handler inherited fd $fd\" >&2; exit 1; fi; done",
      3);
  REQUIRE(pool->start(make_job(1)));
  REQUIRE(pool->start(make_job(2)));  // while the first one's pidfd is open
  std::vector<HandlerExit> exits = wait_all(*pool);
  REQUIRE(exits.size() == 2);
  for (const HandlerExit& e : exits) CHECK(e.status == 0);
  ::close(leaky);
}

// Sets a signal's disposition for one scope.
class ScopedSignal {
 public:
  ScopedSignal(int sig, void (*handler)(int)) : sig_(sig) { old_ = ::signal(sig, handler); }
  ~ScopedSignal() { ::signal(sig_, old_); }

 private:
  int sig_;
  void (*old_)(int);
};

TEST_CASE("handlers get default SIGPIPE and SIGINT and an empty mask", "[handler_pool]") {
  // A shell cannot undo an ignored-on-entry signal, so `kill -X $$` tells
  // ignored (exits 0) from default (killed).
  SECTION("SIGPIPE ignored by edatool") {
    ScopedSignal ignore(SIGPIPE, SIG_IGN);
    CHECK(run("kill -PIPE $$; exit 0").status == 128 + SIGPIPE);
  }
  SECTION("SIGINT ignored by edatool") {
    ScopedSignal ignore(SIGINT, SIG_IGN);
    CHECK(run("kill -INT $$; exit 0").status == 128 + SIGINT);
  }
  SECTION("SIGTERM blocked by edatool") {
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &term, &old) == 0);
    int status = run("kill -TERM $$; exit 0").status;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    CHECK(status == 128 + SIGTERM);
  }
}

TEST_CASE("an exit reaped by someone else is reported as unknown", "[handler_pool]") {
  // With SIGCHLD ignored the kernel reaps children itself.
  ScopedSignal ignore(SIGCHLD, SIG_IGN);
  TempDir dir;
  const std::string go = dir.path() + "/go";
  // Waits for `go` so that it is still alive when start() opens its pidfd.
  auto pool = make_pool("while [ ! -e \"$GO\" ]; do sleep 0.01; done; exit 3");
  REQUIRE(pool->start(make_job(4, "", {{"GO", go}})));
  std::ofstream(go).put('x');
  HandlerExit exit = next_exit(*pool);
  CHECK(exit.tag == 4);
  CHECK(exit.status == HandlerExit::kStatusUnknown);
  CHECK_FALSE(exit.succeeded());
  CHECK_THAT(exit.description, Catch::StartsWith("exit status unknown"));
}

TEST_CASE("header_env_name", "[handler_pool]") {
  CHECK(header_env_name("content-type") == "EDATOOL_HEADER_CONTENT_TYPE");
  CHECK(header_env_name("X-Request-ID") == "EDATOOL_HEADER_X_REQUEST_ID");
  CHECK(header_env_name("ALREADY_UPPER_9") == "EDATOOL_HEADER_ALREADY_UPPER_9");
  CHECK(header_env_name("a.b c") == "EDATOOL_HEADER_A_B_C");
  CHECK(header_env_name("1st") == "EDATOOL_HEADER_1ST");
  CHECK(header_env_name("") == "EDATOOL_HEADER_");
  CHECK(header_env_name("caf\xc3\xa9") == "EDATOOL_HEADER_CAF__");  // each non-ASCII byte
  CHECK(header_env_name(std::string("a\0b", 3)) == "EDATOOL_HEADER_A_B");
}

}  // namespace
}  // namespace eda::handler_pool_test
