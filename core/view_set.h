// ViewSet: the broker's materialized views (core/view.h) — which exist, how
// far each has folded every topic it reads, and their snapshots on disk
// (docs/STORAGE.md "Views"). The engine owns one and feeds it in bounded
// steps, so catching up on a long log never blocks its loop for long.
//
// Single-threaded, like the engine. Snapshots are serialized on the caller's
// thread, so the table and the offsets in one are of the same moment: in
// slices of kSnapshotSlice entries per fold() call, during which that view
// is not folded (it does not change). A SnapshotWriter's thread writes them.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/envelope_view.h"
#include "core/file.h"
#include "core/latency_histogram.h"
#include "core/result.h"
#include "core/snapshot_writer.h"
#include "core/topic_log.h"
#include "core/view.h"

namespace eda {

// A topic as views read it: records below `visible` may be folded.
struct ViewSource {
  std::string_view name;
  TopicLog* log = nullptr;
  uint64_t visible = 0;
};

struct ViewStats {
  ViewSpec spec;
  uint64_t keys = 0;
  uint64_t folded = 0;                      // messages folded since the last (re)build
  std::map<std::string, uint64_t> offsets;  // topic -> next offset to fold
  uint64_t lag = 0;                         // visible messages not folded yet, all topics
};

class ViewSet {
 public:
  // `dir` holds the snapshots (nullopt: views live in memory only). Loads
  // every snapshot there; one that does not load is reported in `notes`
  // and set aside as <name>.view.bad.
  static Result<std::unique_ptr<ViewSet>> open(FileSystem& fs, std::optional<std::string> dir,
                                               std::vector<std::string>& notes);

  // A new view folds from each topic's earliest message. The same spec again
  // is fine; another spec under the same name is kConflict.
  Status create(const ViewSpec& spec);
  Status drop(const std::string& name);  // kNotFound when there is none
  // Forgets the table (on disk too, without waiting); folds all again.
  Status rebuild(const std::string& name);
  // A topic was deleted: every view that read it is rebuilt, so that it
  // holds nothing of the deleted messages and reads a new topic of that name
  // from its start.
  void topic_deleted(std::string_view topic);
  const View* find(std::string_view name) const;
  std::vector<std::string> names() const;
  Result<ViewStats> stats(std::string_view name, std::span<const ViewSource> topics) const;

  // Folds at most `budget` visible messages not folded yet; true when more
  // remain. A view ahead of a topic's log (the topic was deleted and made
  // again, or lost an unsynced tail) is rebuilt.
  bool fold(std::span<const ViewSource> topics, size_t budget);
  // Whether fold() may have work: set by notify(), create() and rebuild(),
  // and while a snapshot is being made.
  bool has_work() const { return work_; }
  void notify() { work_ = true; }

  // Starts the snapshot of each view changed since its last one, at most
  // once per `interval_ms` per view; fold() makes the rest of a big one, and
  // the background writer writes each when it is complete. Returns at once; the status reports
  // writes that failed since the last call (those views are saved again next time). With -v, also
  // logs each view's fold delay (a message's fold time minus its publish time `ts`, ±1 ms) over the
  // messages folded since the last such line.
  Status save(int64_t now_ms, int64_t interval_ms = 5000);
  // Saves every changed view and waits until all snapshots are on disk
  // (a clean shutdown).
  Status save_all(int64_t now_ms);

 private:
  struct Entry {
    View view;
    bool dirty = true;
    int64_t saved_ms = 0;
    std::optional<View::SnapshotProgress> snapshot;  // being made
    double snapshot_ms = 0;                          // spent making it so far
    LatencyHistogram fold_delay;                     // since the last report
    int64_t reported_ms = 0;
  };
  void report_fold_delay(Entry& e, int64_t now_ms, int64_t interval_ms);
  ViewSet(FileSystem& fs, std::optional<std::string> dir);
  std::string path_of(const std::string& name) const;
  void start_snapshot(Entry& e, int64_t now_ms);
  // Adds up to `max` entries to `e`'s snapshot; hands it to the writer when complete.
  void continue_snapshot(Entry& e, size_t max);
  // Failed background writes: logged, their views marked changed again.
  Status take_failures();
  // Folds `view` over `topic` up to `budget` messages; returns how many it read.
  size_t fold_topic(Entry& e, const ViewSource& topic, size_t budget);

  FileSystem& fs_;
  std::optional<std::string> dir_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> views_;
  bool work_ = true;
  size_t rotation_ = 0;
  std::vector<StoredRecord> records_;
  EnvelopeViewer viewer_;
  std::unique_ptr<SnapshotWriter> writer_;  // with a `dir_`; last, so it finishes first
};

}  // namespace eda
