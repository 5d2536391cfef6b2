#include "core/compactor.h"

#include <algorithm>

namespace eda {

Compactor::Compactor(FileSystem& fs) : fs_(fs), thread_([this] { run(); }) {}

Compactor::~Compactor() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    cancel_ = true;
  }
  changed_.notify_all();
  thread_.join();
  for (Done& d : done_)
    if (d.result)
      for (const CompactedFile& f : d.result->files) (void)fs_.remove(f.path);
}

void Compactor::submit(uint64_t topic, CompactionJob job) {
  {
    std::lock_guard lock(mutex_);
    queue_.emplace_back(topic, std::move(job));
  }
  changed_.notify_all();
}

bool Compactor::busy(uint64_t topic) const {
  std::lock_guard lock(mutex_);
  return running_ == topic ||
         std::any_of(queue_.begin(), queue_.end(),
                     [&](const auto& q) { return q.first == topic; }) ||
         std::any_of(done_.begin(), done_.end(), [&](const Done& d) { return d.topic == topic; });
}

std::vector<Compactor::Done> Compactor::take_done() {
  std::lock_guard lock(mutex_);
  return std::exchange(done_, {});
}

void Compactor::forget(uint64_t topic) {
  std::unique_lock lock(mutex_);
  std::erase_if(queue_, [&](const auto& q) { return q.first == topic; });
  if (running_ == topic) {
    cancel_ = true;
    changed_.wait(lock, [&] { return running_ != topic; });
    cancel_ = false;
  }
  std::erase_if(done_, [&](const Done& d) {
    if (d.topic != topic) return false;
    if (d.result)
      for (const CompactedFile& f : d.result->files) (void)fs_.remove(f.path);
    return true;
  });
}

void Compactor::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    auto [topic, job] = std::move(queue_.front());
    queue_.pop_front();
    running_ = topic;
    cancel_ = false;  // a forget() of the pass before must not stop this one
    lock.unlock();
    auto result = compact_segments(fs_, job, cancel_);
    lock.lock();
    running_.reset();
    if (!cancel_)
      done_.push_back({topic, job.dir, std::move(result)});
    else if (result)  // finished as it was stopped: nobody will use the files
      for (const CompactedFile& f : result->files) (void)fs_.remove(f.path);
    changed_.notify_all();
  }
}

}  // namespace eda
