#include "core/group_commit.h"

#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace eda {

Result<FsyncPolicy> parse_fsync_policy(std::string_view name) {
  if (name == "always") return FsyncPolicy::kAlways;
  if (name == "batch") return FsyncPolicy::kBatch;
  if (name == "never") return FsyncPolicy::kNever;
  return invalid_argument(
      fmt::format("unknown fsync policy '{}' (use always, batch or never)", name));
}

GroupCommitter::GroupCommitter(FileSystem& fs, FsyncPolicy policy) : fs_(fs), policy_(policy) {
  if (policy_ != FsyncPolicy::kBatch) return;
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  syncer_ = std::thread([this] { run_syncer(); });
}

GroupCommitter::~GroupCommitter() {
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    syncer_.join();
  }
  if (event_fd_ >= 0) ::close(event_fd_);
}

void GroupCommitter::written(const std::shared_ptr<File>& file) {
  if (policy_ == FsyncPolicy::kNever) return;
  std::lock_guard lock(mutex_);
  for (const auto& f : pending_.files)
    if (f == file) return;
  pending_.files.push_back(file);
}

void GroupCommitter::changed_dir(const std::string& dir) {
  if (policy_ == FsyncPolicy::kNever) return;
  std::lock_guard lock(mutex_);
  pending_.dirs.insert(dir);
}

Status GroupCommitter::sync(const Pending& p) {
  // Directories first: a new segment's name must be durable before its records count.
  for (const std::string& dir : p.dirs)
    if (Status s = fs_.sync_dir(dir); !s) return s;
  for (const auto& f : p.files)
    if (Status s = f->sync(); !s) return s;
  return ok_status();
}

Result<uint64_t> GroupCommitter::commit() {
  if (policy_ == FsyncPolicy::kNever) return uint64_t{0};
  if (policy_ == FsyncPolicy::kAlways) {
    Pending p = std::exchange(pending_, {});
    if (Status s = sync(p); !s) return s.error();
    return uint64_t{0};
  }
  uint64_t ticket;
  {
    std::lock_guard lock(mutex_);
    ticket = ++issued_;
  }
  wake_.notify_one();
  return ticket;
}

void GroupCommitter::run_syncer() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || issued_ > requested_; });
    if (issued_ == requested_ && stopping_) return;
    Pending round = std::exchange(pending_, {});
    uint64_t through = issued_;
    requested_ = through;
    lock.unlock();
    Status status = sync(round);
    lock.lock();
    completions_.push_back({through, std::move(status)});
    uint64_t one = 1;
    (void)!::write(event_fd_, &one, sizeof one);
  }
}

std::vector<GroupCommitter::Completion> GroupCommitter::take_completions() {
  if (event_fd_ >= 0) {
    uint64_t count;
    (void)!::read(event_fd_, &count, sizeof count);
  }
  std::lock_guard lock(mutex_);
  return std::exchange(completions_, {});
}

}  // namespace eda
