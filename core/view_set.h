// ViewSet: the broker's materialized views (core/view.h) — which exist, how
// far each has folded every topic it reads, and their snapshots on disk
// (docs/STORAGE.md "Views"). The engine owns one and feeds it in bounded
// steps, so catching up on a long log never blocks its loop for long.
//
// Single-threaded, like the engine.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/envelope_view.h"
#include "core/file.h"
#include "core/result.h"
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
  Status drop(const std::string& name);     // kNotFound when there is none
  Status rebuild(const std::string& name);  // forgets the table; folds all again
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
  // Whether fold() may have work: set by notify(), create() and rebuild().
  bool has_work() const { return work_; }
  void notify() { work_ = true; }

  // Writes the snapshot of each view changed since its last one (all of
  // them with `force`), at most once per `interval_ms` per view otherwise.
  Status save(int64_t now_ms, bool force, int64_t interval_ms = 5000);

 private:
  struct Entry {
    View view;
    bool dirty = true;
    int64_t saved_ms = 0;
  };
  ViewSet(FileSystem& fs, std::optional<std::string> dir) : fs_(fs), dir_(std::move(dir)) {}
  std::string path_of(const std::string& name) const;
  Status write_snapshot(Entry& e);
  // Folds `view` over `topic` up to `budget` messages; returns how many it read.
  size_t fold_topic(Entry& e, const ViewSource& topic, size_t budget);

  FileSystem& fs_;
  std::optional<std::string> dir_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> views_;
  bool work_ = true;
  size_t rotation_ = 0;
  std::vector<StoredRecord> records_;
  EnvelopeViewer viewer_;
};

}  // namespace eda
