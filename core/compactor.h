// Runs compaction passes (compact_segments) one at a time on a thread of its
// own, so that the broker's loop never waits for one: it submits a job and
// later takes the result, and only then changes its logs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/compaction.h"

namespace eda {

class Compactor {
 public:
  explicit Compactor(FileSystem& fs);
  ~Compactor();  // stops a running pass (its files are removed) and joins
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  // Queues a pass for the topic numbered `topic`; the caller submits one per
  // topic at a time (see busy()).
  void submit(uint64_t topic, CompactionJob job);
  // A pass of `topic` is queued, running, or done and not taken.
  bool busy(uint64_t topic) const;

  struct Done {
    uint64_t topic;
    std::string dir;
    Result<CompactionResult> result;
  };
  std::vector<Done> take_done();

  // The topic is going away: drops its queued pass, stops a running one and
  // waits for it, and removes the files of results not taken.
  void forget(uint64_t topic);

 private:
  void run();

  FileSystem& fs_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<uint64_t, CompactionJob>> queue_;
  std::optional<uint64_t> running_;
  std::vector<Done> done_;
  bool stop_ = false;
  std::atomic<bool> cancel_{false};
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace eda
