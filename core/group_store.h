// Persistence of one durable consumer group (issue 5): its settings and
// snapshot in one file, the events since that snapshot in a journal.
// docs/STORAGE.md "Consumer groups" describes the format; change both together.
//
// Files of group G in its topic's directory DIR (DiskLog ignores them):
//
//   G.group        one frame (core/record_frame.h, ts 0) whose body is the
//                  msgpack array [version = 1, lock_ms, max_deliveries,
//                  ttl_ms or nil, journal generation, snapshot bin] where the
//                  snapshot is ConsumerGroup::snapshot(). Only ever replaced
//                  whole: written to G.group.tmp, synced, renamed over G.group,
//                  then DIR is synced.
//   G.<gen>.journal  frames back to back (ts 0); each body is a msgpack array
//                  of events [kind u8, offset u64, delivery_count u32], the
//                  GroupEvents since the snapshot, in order. gen is the
//                  generation G.group names, in decimal.
//
// The state of G is G.group's snapshot, then every event of the journal of
// the generation G.group names. Every other file of G (G.group.tmp, journals
// of other generations) is debris of an interrupted step, removed on open.
//
// Crash safety. append() writes one frame at the journal's end: a crash
// leaves a prefix of frames plus perhaps a torn one, which open_all() cuts.
// Each event is a whole state transition, so any prefix of the journal is a
// state the group was in. write_snapshot() moves to generation gen+1:
//   1. create an empty G.<gen+1>.journal, sync it and DIR;
//   2. write G.group (tmp, sync, rename, sync DIR) naming gen+1 with the
//      current snapshot: the commit point;
//   3. remove G.<gen>.journal.
// Before 2 is durable G.group names gen, whose journal holds every event;
// after it, G.group names gen+1 and holds every event in its snapshot, and
// the journal of gen+1 exists because step 1 synced it first. create() writes
// the journal before G.group, and destroy() removes G.group (durably) before
// the journal, so a journal without a G.group is debris too.
//
// Not thread-safe: owned by one thread (the broker's loop), like the group.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/consumer_group.h"
#include "core/file.h"
#include "core/group_commit.h"
#include "core/result.h"

namespace eda {

namespace group_format {
inline constexpr uint64_t kVersion = 1;
inline constexpr std::string_view kGroupSuffix = ".group";
inline constexpr std::string_view kTmpSuffix = ".tmp";  // after kGroupSuffix
inline constexpr std::string_view kJournalSuffix = ".journal";
inline constexpr std::string_view kQueueGroup = "$queue";  // a queue's own group
// Default journal size past which wants_snapshot() says so.
inline constexpr uint64_t kDefaultSnapshotBytes = 16u << 20;
}  // namespace group_format

// `$queue`, or a token of [A-Za-z0-9_-] (at most 200 characters).
bool valid_group_name(std::string_view name);

// ConsumerGroupConfig has no operator==; `queue create` of an existing group
// compares settings with this.
bool same_group_config(const ConsumerGroupConfig& a, const ConsumerGroupConfig& b);

// One journal frame's body; decoding checks every field (kCorruption).
std::string encode_group_events(const std::vector<GroupEvent>& events);
Result<std::vector<GroupEvent>> decode_group_events(std::string_view body);

class GroupStore;

struct RecoveredGroup {
  std::string name;
  ConsumerGroupConfig config;
  ConsumerGroup group;  // restored: no leases, delivery counts kept
  std::unique_ptr<GroupStore> store;
};

class GroupStore {
 public:
  // Writes the files of a new group `name` in `dir` (which must exist): an
  // empty journal, then G.group with `config` and group.snapshot(). The
  // caller drains group.take_events() first: they are in the snapshot.
  // Synchronous: the group is durable on return. kInvalidArgument if the
  // name is not valid or G.group exists. `tracker` (may be null) must
  // outlive the store.
  static Result<std::unique_ptr<GroupStore>> create(
      FileSystem& fs, const std::string& dir, const std::string& name,
      const ConsumerGroupConfig& config, const ConsumerGroup& group, SyncTracker* tracker,
      uint64_t snapshot_bytes = group_format::kDefaultSnapshotBytes);

  // Every group in `dir` (files G.group), sorted by name, each restored from
  // its snapshot and journal. Cuts a torn or corrupt journal tail and removes
  // debris (see above), pushing a line to `notes` for each. A G.group that
  // fails a check, a missing journal, and a journal event that does not fit
  // are kCorruption Errors naming the file (and the event's file position).
  static Result<std::vector<RecoveredGroup>> open_all(
      FileSystem& fs, const std::string& dir, SyncTracker* tracker, std::vector<std::string>& notes,
      uint64_t snapshot_bytes = group_format::kDefaultSnapshotBytes);

  GroupStore(const GroupStore&) = delete;
  GroupStore& operator=(const GroupStore&) = delete;

  // Appends `events` (a no-op when empty) in one frame (one per 65536
  // events) and reports the journal to the tracker: the caller's next
  // GroupCommitter::commit() ticket covers them. On error the journal is cut
  // back to where it was (if it can be) and, since the group in memory is now
  // ahead of its files, every later append() fails and wants_snapshot() is
  // true until a write_snapshot() succeeds: the owner acknowledges nothing
  // that depends on these events until then.
  Status append(const std::vector<GroupEvent>& events);

  // Time for write_snapshot(): the journal passed `snapshot_bytes`, or an
  // append() or write_snapshot() failed past the point of no return.
  bool wants_snapshot() const;

  // Replaces snapshot and journal with `group`'s snapshot and an empty
  // journal of the next generation (the steps above), with synchronous
  // fsyncs: durable on return. `group` is the live group with its events
  // drained (take_events()): the snapshot covers every event drained so far,
  // appended or not, so none of them may be appended afterwards. On error
  // before the commit point nothing changed; after it, appends fail until a
  // later write_snapshot() succeeds.
  Status write_snapshot(const ConsumerGroup& group);

  // New settings, persisted the same way as write_snapshot(group). The
  // owner applies them to its live group itself.
  Status reconfigure(const ConsumerGroupConfig& config, const ConsumerGroup& group);

  // Removes the group's files (G.group first, durably). The store is unusable after.
  Status destroy();

  const std::string& name() const { return name_; }
  const ConsumerGroupConfig& config() const { return config_; }
  uint64_t generation() const { return generation_; }
  uint64_t journal_bytes() const;
  std::string group_path() const;
  std::string journal_path(uint64_t generation) const;

 private:
  GroupStore(FileSystem& fs, std::string dir, std::string name, ConsumerGroupConfig config,
             SyncTracker* tracker, uint64_t snapshot_bytes);
  // G.group via G.group.tmp; `renamed`: the commit point was passed, even
  // if the directory sync after it failed.
  Status write_group_file(const ConsumerGroupConfig& config, uint64_t generation,
                          const std::string& snapshot, bool& renamed);
  Result<std::shared_ptr<File>> create_journal(uint64_t generation);
  Status rotate(const ConsumerGroupConfig& config, const ConsumerGroup& group);

  FileSystem& fs_;
  std::string dir_;
  std::string name_;
  ConsumerGroupConfig config_;
  SyncTracker* tracker_;
  uint64_t snapshot_bytes_;
  uint64_t generation_ = 0;
  std::shared_ptr<File> journal_;  // shared with the tracker until synced
  std::optional<Error> broken_;    // why appends fail until a snapshot succeeds
  bool destroyed_ = false;
};

}  // namespace eda
