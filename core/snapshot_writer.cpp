#include "core/snapshot_writer.h"

namespace eda {

SnapshotWriter::SnapshotWriter(FileSystem& fs) : fs_(fs), thread_([this] { run(); }) {}

SnapshotWriter::~SnapshotWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void SnapshotWriter::submit(std::string path, std::string bytes) {
  {
    std::lock_guard lock(mu_);
    auto [it, fresh] = queued_.insert_or_assign(path, std::move(bytes));
    if (fresh) order_.push_back(std::move(path));
  }
  wake_.notify_one();
}

void SnapshotWriter::cancel(const std::string& path) {
  std::unique_lock lock(mu_);
  if (queued_.erase(path) > 0) std::erase(order_, path);
  done_.wait(lock, [&] { return writing_ != path; });
}

void SnapshotWriter::flush() {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return order_.empty() && writing_.empty(); });
}

std::vector<std::pair<std::string, Error>> SnapshotWriter::take_failures() {
  std::lock_guard lock(mu_);
  return std::exchange(failures_, {});
}

uint64_t SnapshotWriter::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

void SnapshotWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !order_.empty(); });
    if (order_.empty()) return;  // stopping, and nothing left to write
    writing_ = std::move(order_.front());
    order_.pop_front();
    auto node = queued_.extract(writing_);
    lock.unlock();
    Status s = replace_file(fs_, writing_, node.mapped());
    node = {};  // frees the bytes before taking the lock again
    lock.lock();
    if (!s) failures_.emplace_back(writing_, s.error());
    ++written_;
    writing_.clear();
    done_.notify_all();
  }
}

}  // namespace eda
