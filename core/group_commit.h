// When a write counts as stored (DESIGN §5, docs/STORAGE.md "Durability").
//
// The loop thread writes batches and calls commit() after each; what it
// gets back is a ticket. With `batch`, a syncer thread fdatasyncs every file
// written since its previous round (one sync for many publishers' batches)
// and then completes all tickets issued before the round began. The loop
// thread learns of completions by polling notify_fd() (an eventfd), so its
// poll loop needs no lock and no extra socket.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/result.h"

namespace eda {

enum class FsyncPolicy { kAlways, kBatch, kNever };

Result<FsyncPolicy> parse_fsync_policy(std::string_view name);

// What storage reports as written, so that it gets synced.
class SyncTracker {
 public:
  virtual ~SyncTracker() = default;
  virtual void written(const std::shared_ptr<File>& file) = 0;
  // A directory gained or lost entries (a new segment or topic).
  virtual void changed_dir(const std::string& dir) = 0;
};

class GroupCommitter : public SyncTracker {
 public:
  GroupCommitter(FileSystem& fs, FsyncPolicy policy);
  ~GroupCommitter() override;  // finishes pending syncs first

  void written(const std::shared_ptr<File>& file) override;
  void changed_dir(const std::string& dir) override;

  // Closes a ticket over everything written so far. 0 means already durable
  // under the policy (`always` synced now; `never` never syncs). An error
  // means `always` could not sync.
  Result<uint64_t> commit();

  // Readable when tickets completed; -1 when the policy has no syncer.
  int notify_fd() const { return event_fd_; }

  struct Completion {
    uint64_t through;  // every ticket <= through is done
    Status status;     // error: tickets since the previous completion failed to sync
  };
  // Completions since the last call, in ticket order.
  std::vector<Completion> take_completions();

 private:
  struct Pending {
    std::vector<std::shared_ptr<File>> files;
    std::set<std::string> dirs;
  };
  Status sync(const Pending& p);
  void run_syncer();

  FileSystem& fs_;
  FsyncPolicy policy_;
  int event_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  Pending pending_;         // written since the last ticket
  uint64_t issued_ = 0;     // last ticket handed out
  uint64_t requested_ = 0;  // last ticket whose writes are in `pending_` or synced
  std::vector<Completion> completions_;
  bool stopping_ = false;
  std::thread syncer_;
};

}  // namespace eda
