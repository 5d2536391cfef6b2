// SnapshotWriter: one background thread that replaces whole files durably
// (replace_file: <path>.tmp, fsync, rename, fsync of the directory), so the
// thread that made the bytes never waits for the disk. The broker's views
// write their snapshots through it (core/view_set.h, docs/STORAGE.md "Views").
//
// At most one write per path waits in the queue: a newer one replaces an
// older one not started yet (the older is never written). Writes run one at
// a time, paths in the order they were first queued. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/file.h"
#include "core/result.h"

namespace eda {

class SnapshotWriter {
 public:
  explicit SnapshotWriter(FileSystem& fs);
  // Finishes every queued write, then stops the thread.
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  void submit(std::string path, std::string bytes);
  // Forgets a queued write of `path` and waits for one in progress: when it
  // returns, nothing writes `path` until the next submit().
  void cancel(const std::string& path);
  // Waits until every write queued before the call is done.
  void flush();
  // Writes that failed since the last call, by path; the caller decides
  // whether to submit again.
  std::vector<std::pair<std::string, Error>> take_failures();
  // Writes done so far (failed ones included).
  uint64_t written() const;

 private:
  void run();

  FileSystem& fs_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // the thread waits here for work
  std::condition_variable done_;  // cancel() and flush() wait here
  std::deque<std::string> order_;
  std::map<std::string, std::string> queued_;  // path -> bytes
  std::string writing_;                        // the path being written; "" when none
  std::vector<std::pair<std::string, Error>> failures_;
  uint64_t written_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace eda
