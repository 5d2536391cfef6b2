// Runs the handlers of `edatool recv QUEUE --exec CMD --concurrency N`: one
// `/bin/sh -c CMD` per message, at most N at a time, without blocking the
// single-threaded recv loop.
//
// Each handler gets the payload on its stdin, the job's variables added to the
// inherited environment, and edatool's stdout and stderr. Nothing else is
// inherited: every other descriptor is closed in the child, the signal mask is
// empty, and SIGPIPE, SIGINT and SIGTERM have their default disposition even
// if edatool ignores or blocks them. The handler stays in edatool's process
// group, so Ctrl-C at the terminal reaches it too.
//
// Exits are reported through one descriptor, wait_fd(), that the caller adds
// to its poll set next to its sockets: it is readable while some handler has
// exited and not been reaped yet.
//
// Why pidfds (Linux 5.4+) and not a SIGCHLD self-pipe or signalfd: a pidfd
// names exactly one child, so the pool needs no process-wide signal state
// (no handler to install, no SIGCHLD to block in every thread for signalfd),
// cannot reap or signal a recycled pid, and does not steal exits of children
// that other code in the process starts. The pool's epoll descriptor turns
// its pidfds into one pollable descriptor that never changes.
//
// Requirements on the rest of the process: do not set SIGCHLD to SIG_IGN and
// do not reap with waitpid(-1) / wait(): either makes the kernel or that code
// reap handlers first, and their exits are then reported with status -1
// (kStatusUnknown).
//
// Not thread-safe: one thread owns the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace eda {

struct HandlerJob {
  uint64_t tag = 0;     // the caller's id for the message; reported back in HandlerExit
  std::string payload;  // the child's stdin, any size, any bytes
  // Added to the inherited environment; each replaces an inherited variable of
  // the same name, and a later entry replaces an earlier one. Names must be
  // non-empty without '=' or NUL, values without NUL.
  std::vector<std::pair<std::string, std::string>> env;
};

struct HandlerExit {
  // The exit code (0-255), 128 + the signal number when a signal killed the
  // handler (as sh reports it), or kStatusUnknown when the child was reaped by
  // someone else (see the requirements above).
  static constexpr int kStatusUnknown = -1;

  uint64_t tag = 0;
  int status = kStatusUnknown;
  // For people, e.g. as the abandon or dead-letter reason: "exited with
  // status 3", "killed by signal 9 (SIGKILL)".
  std::string description;

  bool succeeded() const { return status == 0; }
};

class HandlerPool {
 public:
  // `command` is given to `/bin/sh -c` unchanged. Fails if it is empty or
  // concurrency is 0, or if the pool's epoll descriptor cannot be created.
  static Result<std::unique_ptr<HandlerPool>> create(std::string command, size_t concurrency);

  // Kills the handlers still running with SIGKILL and reaps them, so that no
  // handler outlives the pool and no zombie is left; their exits are lost.
  // Does not block beyond that. For a graceful stop call terminate() first.
  ~HandlerPool();

  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Handlers started and not yet reaped count as running, even if they have
  // exited already: running() and has_room() change only in start(), reap(),
  // wait() and terminate().
  size_t running() const { return children_.size(); }
  bool has_room() const { return children_.size() < concurrency_; }
  size_t concurrency() const { return concurrency_; }

  // Starts a handler for `job`. Never blocks on the child: the payload goes
  // to a memory file (memfd) that becomes the child's stdin, so the child may
  // read it at its own pace or not at all. Fails, starting nothing, when
  // there is no room, when the job's environment is malformed, or when a
  // system call fails (the message says which).
  Status start(HandlerJob job);

  // Readable (POLLIN) while some handler has exited and was not reaped yet.
  // The same descriptor for the pool's whole life; owned by the pool.
  int wait_fd() const { return epoll_fd_; }

  // Reaps the handlers that have exited, without blocking. Empty if none.
  std::vector<HandlerExit> reap();

  // Like reap(), but blocks up to `timeout` for at least one exit. Returns
  // at once (empty) if nothing is running.
  std::vector<HandlerExit> wait(std::chrono::milliseconds timeout);

  // Sends SIGTERM to every running handler, waits up to `grace` for them to
  // exit, then sends SIGKILL to the rest, and reaps them all. Returns every
  // exit reaped here; running() is 0 afterwards.
  std::vector<HandlerExit> terminate(std::chrono::milliseconds grace);

  // Tags of the handlers started and not yet reaped, in start order (recv
  // renews their locks).
  std::vector<uint64_t> running_tags() const;

 private:
  struct Child {
    uint64_t tag;
    int pidfd;  // close-on-exec, registered in epoll_fd_
  };

  HandlerPool(std::string command, size_t concurrency, int epoll_fd);
  void signal_all(int sig);
  void forget(size_t index);

  std::string command_;
  size_t concurrency_;
  int epoll_fd_;
  std::vector<Child> children_;
};

// The environment variable that carries a header to a handler:
// "EDATOOL_HEADER_" + the name upper-cased, with every byte outside A-Z and
// 0-9 replaced by '_' ("content-type" -> "EDATOOL_HEADER_CONTENT_TYPE").
// Different headers can map to one name ("a-b", "a.b"); HandlerJob::env then
// keeps the later one.
std::string header_env_name(std::string_view header);

}  // namespace eda
