#include "core/handler_pool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace eda {
namespace {

// glibc 2.36 declares waitid() but not this id type (linux/wait.h has it).
constexpr idtype_t kIdPidfd = static_cast<idtype_t>(3);

// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37): its functions
// do not link from C++, so call the kernel directly.
int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u));  // always close-on-exec
}
int send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0u));
}

// "<what>: <strerror>"; the caller says it was about running a handler.
Error system_error(std::string_view what, int err) {
  return runtime_error(fmt::format("{}: {}", what, std::strerror(err)));
}

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);  // not retried on EINTR: on Linux the fd is gone either way
}

// The payload as a rewound, unlinked memory file: a pipe would hold 64 KiB and
// then block the caller until the child reads, which it may never do.
Result<int> payload_file(const std::string& payload) {
  int fd = ::memfd_create("edatool-handler-stdin", MFD_CLOEXEC);
  if (fd < 0) return system_error("memfd_create", errno);
  size_t done = 0;
  while (done < payload.size()) {
    ssize_t n = ::write(fd, payload.data() + done, payload.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close_fd(fd);
      return system_error("writing the payload to a memory file", err);
    }
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    int err = errno;
    close_fd(fd);
    return system_error("lseek", err);
  }
  return fd;
}

Status check_env(const std::vector<std::pair<std::string, std::string>>& env) {
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      return invalid_argument(fmt::format("bad environment variable name '{}'", name));
    }
    if (value.find('\0') != std::string::npos) {
      return invalid_argument(
          fmt::format("environment variable {}: value contains a NUL byte", name));
    }
  }
  return ok_status();
}

// "NAME=value" strings: the inherited environment without the names the job
// sets, then the job's variables (the later of two same names wins).
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> added;
  for (const auto& [name, value] : env) {
    std::string entry = name + "=" + value;
    auto same = std::find_if(added.begin(), added.end(), [&](const std::string& e) {
      return e.compare(0, name.size() + 1, entry, 0, name.size() + 1) == 0;
    });
    if (same != added.end()) {
      *same = std::move(entry);
    } else {
      added.push_back(std::move(entry));
    }
  }
  std::vector<std::string> result;
  for (char** e = environ; e && *e; ++e) {
    std::string_view inherited(*e);
    std::string_view name = inherited.substr(0, inherited.find('='));
    bool replaced = std::any_of(added.begin(), added.end(), [&](const std::string& a) {
      return a.size() > name.size() && a[name.size()] == '=' &&
             a.compare(0, name.size(), name) == 0;
    });
    if (!replaced) result.emplace_back(inherited);
  }
  for (std::string& a : added) result.push_back(std::move(a));
  return result;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? fmt::format(" (SIG{})", abbrev) : std::string();
}

HandlerExit describe(uint64_t tag, const siginfo_t& info) {
  HandlerExit exit{tag, HandlerExit::kStatusUnknown, ""};
  switch (info.si_code) {
    case CLD_EXITED:
      exit.status = info.si_status;
      exit.description = fmt::format("exited with status {}", info.si_status);
      break;
    case CLD_KILLED:
    case CLD_DUMPED:
      exit.status = 128 + info.si_status;
      exit.description =
          fmt::format("killed by signal {}{}{}", info.si_status, signal_name(info.si_status),
                      info.si_code == CLD_DUMPED ? ", core dumped" : "");
      break;
    default:
      exit.description = fmt::format("ended with unexpected wait code {}", info.si_code);
  }
  return exit;
}

HandlerExit unknown_exit(uint64_t tag, int err) {
  return {tag, HandlerExit::kStatusUnknown,
          fmt::format("exit status unknown: {} (is SIGCHLD ignored?)", std::strerror(err))};
}

// Owns the posix_spawn attribute objects for one start().
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

Result<std::unique_ptr<HandlerPool>> HandlerPool::create(std::string command, size_t concurrency) {
  if (command.empty()) return invalid_argument("the handler command is empty");
  if (concurrency == 0) return invalid_argument("handler concurrency must be at least 1");
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return system_error("epoll_create1", errno);
  return std::unique_ptr<HandlerPool>(new HandlerPool(std::move(command), concurrency, epoll_fd));
}

HandlerPool::HandlerPool(std::string command, size_t concurrency, int epoll_fd)
    : command_(std::move(command)), concurrency_(concurrency), epoll_fd_(epoll_fd) {}

HandlerPool::~HandlerPool() {
  signal_all(SIGKILL);
  for (const Child& child : children_) {
    siginfo_t info{};
    while (::waitid(kIdPidfd, static_cast<id_t>(child.pidfd), &info, WEXITED) < 0 &&
           errno == EINTR) {
    }
    close_fd(child.pidfd);
  }
  close_fd(epoll_fd_);
}

Status HandlerPool::start(HandlerJob job) {
  if (!has_room()) {
    return runtime_error(fmt::format("all {} handler slots are busy", concurrency_));
  }
  if (Status s = check_env(job.env); !s) return s;

  // Everything posix_spawn needs is built here, before the child exists.
  std::vector<std::string> env_strings = child_environment(job.env);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c";
  char* argv[] = {sh.data(), dash_c.data(), command_.data(), nullptr};

  Result<int> stdin_fd = payload_file(job.payload);
  if (!stdin_fd) return stdin_fd.error();

  SpawnSetup setup;
  // dup2 clears close-on-exec on fd 0 (also when the memfd already is fd 0);
  // closefrom then drops whatever else is open, ours or not.
  int rc = posix_spawn_file_actions_adddup2(&setup.actions, *stdin_fd, STDIN_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM}) sigaddset(&defaults, sig);
  sigemptyset(&empty);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&setup.attr, &empty);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (rc != 0) {
    close_fd(*stdin_fd);
    return system_error("posix_spawn setup", rc);
  }

  pid_t pid = 0;
  rc = ::posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr, argv, envp.data());
  close_fd(*stdin_fd);
  if (rc != 0) return system_error("posix_spawn /bin/sh", rc);

  // The child cannot be reaped before this (nobody else may wait for it), so
  // the pid still names it.
  int pidfd = open_pidfd(pid);
  epoll_event event{};
  event.events = EPOLLIN;
  int err = 0;
  if (pidfd < 0) {
    err = errno;
  } else if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, pidfd, &event) < 0) {
    err = errno;
  }
  if (err != 0) {
    // Without a pidfd the exit could not be reported: stop the child now.
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    close_fd(pidfd);
    return system_error(pidfd < 0 ? "pidfd_open" : "epoll_ctl", err);
  }
  children_.push_back({job.tag, pidfd});
  return ok_status();
}

std::vector<HandlerExit> HandlerPool::reap() {
  std::vector<HandlerExit> exits;
  for (size_t i = 0; i < children_.size();) {
    siginfo_t info{};
    int rc;
    do {
      rc = ::waitid(kIdPidfd, static_cast<id_t>(children_[i].pidfd), &info, WEXITED | WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      exits.push_back(unknown_exit(children_[i].tag, errno));
    } else if (info.si_pid != 0) {
      exits.push_back(describe(children_[i].tag, info));
    } else {
      ++i;  // still running
      continue;
    }
    forget(i);
  }
  return exits;
}

std::vector<HandlerExit> HandlerPool::wait(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<HandlerExit> exits = reap();
    if (!exits.empty() || children_.empty()) return exits;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return exits;
    pollfd p{epoll_fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1'000'000)));
  }
}

std::vector<HandlerExit> HandlerPool::terminate(std::chrono::milliseconds grace) {
  signal_all(SIGTERM);
  std::vector<HandlerExit> exits;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + grace;
  while (!children_.empty() && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    for (HandlerExit& e : wait(left)) exits.push_back(std::move(e));
  }
  signal_all(SIGKILL);
  while (!children_.empty()) {
    for (HandlerExit& e : wait(std::chrono::hours(1))) exits.push_back(std::move(e));
  }
  return exits;
}

std::vector<uint64_t> HandlerPool::running_tags() const {
  std::vector<uint64_t> tags;
  tags.reserve(children_.size());
  for (const Child& child : children_) tags.push_back(child.tag);
  return tags;
}

void HandlerPool::signal_all(int sig) {
  // Through the pidfd: never hits a process that merely reuses the pid.
  for (const Child& child : children_) send_signal(child.pidfd, sig);
}

void HandlerPool::forget(size_t index) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, children_[index].pidfd, nullptr);
  close_fd(children_[index].pidfd);
  children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(index));
}

std::string header_env_name(std::string_view header) {
  std::string name = "EDATOOL_HEADER_";
  for (char c : header) {
    if (c >= 'a' && c <= 'z') {
      name += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      name += c;
    } else {
      name += '_';
    }
  }
  return name;
}

}  // namespace eda
