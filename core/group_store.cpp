#include "core/group_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <msgpack.hpp>
#include <set>

#include "core/envelope_codec.h"
#include "core/framed_file.h"
#include "core/log.h"
#include "core/record_frame.h"

namespace eda {

namespace gf = group_format;

namespace {

constexpr uint32_t kGroupFields = 6;
constexpr uint32_t kEventFields = 3;
constexpr auto kLastKind = static_cast<uint64_t>(GroupEvent::Kind::kPassed);
// Events per journal frame: keeps a frame's msgpack objects (about 50 bytes
// per event when decoded) to a few MiB, far below unpack_bounded's limits.
constexpr size_t kMaxEventsPerFrame = 1u << 16;

Error corrupt(const std::string& path, std::string_view what) {
  return {ErrorKind::kCorruption, fmt::format("{}: {}", path, what)};
}

Error with_path(const std::string& path, const Error& e) {
  return {e.kind, fmt::format("{}: {}", path, e.message)};
}

Result<std::string> read_all(const File& file) {
  std::string bytes(file.size(), '\0');
  auto n = file.read_at(0, bytes.data(), bytes.size());
  if (!n) return n.error();
  bytes.resize(*n);
  return bytes;
}

Status check_config(const ConsumerGroupConfig& c) {
  if (c.lock_ms <= 0)
    return invalid_argument(fmt::format("lock time {} ms is not positive", c.lock_ms));
  if (c.max_deliveries == 0) return invalid_argument("max deliveries must be at least 1");
  if (c.ttl_ms && *c.ttl_ms <= 0)
    return invalid_argument(fmt::format("TTL {} ms is not positive", *c.ttl_ms));
  return ok_status();
}

std::string encode_group_file(const ConsumerGroupConfig& config, uint64_t generation,
                              const std::string& snapshot) {
  std::string body;
  StringStream stream{body};
  msgpack::packer<StringStream> pk(stream);
  pk.pack_array(kGroupFields);
  pk.pack(gf::kVersion);
  pk.pack(config.lock_ms);
  pk.pack(config.max_deliveries);
  if (config.ttl_ms)
    pk.pack(*config.ttl_ms);
  else
    pk.pack_nil();
  pk.pack(generation);
  pk.pack_bin(static_cast<uint32_t>(snapshot.size()));
  pk.pack_bin_body(snapshot.data(), static_cast<uint32_t>(snapshot.size()));
  std::string out;
  append_frame(out, 0, body);
  return out;
}

struct GroupFile {
  ConsumerGroupConfig config;
  uint64_t generation = 0;
  std::string snapshot;
};

Result<GroupFile> decode_group_file(const std::string& path, std::string_view bytes) {
  auto handle = unpack_framed_array(bytes, kGroupFields);
  if (!handle) return corrupt(path, handle.error().message);
  const msgpack::object& o = handle->get();
  const msgpack::object* f = o.via.array.ptr;
  for (int i : {0, 1, 2, 4})
    if (f[i].type != msgpack::type::POSITIVE_INTEGER)
      return corrupt(path, fmt::format("field {} is not an unsigned integer", i));
  if (f[0].via.u64 != gf::kVersion)
    return corrupt(path, fmt::format("unknown version {}", f[0].via.u64));
  GroupFile g;
  if (f[1].via.u64 > uint64_t{std::numeric_limits<int64_t>::max()} ||
      f[2].via.u64 > std::numeric_limits<uint32_t>::max())
    return corrupt(path, "lock time or max deliveries out of range");
  g.config.lock_ms = static_cast<int64_t>(f[1].via.u64);
  g.config.max_deliveries = static_cast<uint32_t>(f[2].via.u64);
  if (f[3].type == msgpack::type::POSITIVE_INTEGER &&
      f[3].via.u64 <= uint64_t{std::numeric_limits<int64_t>::max()})
    g.config.ttl_ms = static_cast<int64_t>(f[3].via.u64);
  else if (f[3].type != msgpack::type::NIL)
    return corrupt(path, "TTL is neither nil nor an unsigned integer");
  if (Status s = check_config(g.config); !s) return corrupt(path, s.error().message);
  g.generation = f[4].via.u64;
  if (f[5].type != msgpack::type::BIN) return corrupt(path, "snapshot is not bytes");
  g.snapshot.assign(f[5].via.bin.ptr, f[5].via.bin.size);
  return g;
}

// "G.<generation>.journal" -> (G, generation); nullopt for other names.
std::optional<std::pair<std::string, uint64_t>> parse_journal_name(std::string_view file) {
  if (!file.ends_with(gf::kJournalSuffix)) return std::nullopt;
  file.remove_suffix(gf::kJournalSuffix.size());
  auto dot = file.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view name = file.substr(0, dot), digits = file.substr(dot + 1);
  uint64_t generation = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), generation);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      !valid_group_name(name))
    return std::nullopt;
  return std::pair{std::string(name), generation};
}

}  // namespace

bool valid_group_name(std::string_view name) {
  if (name == gf::kQueueGroup) return true;
  if (name.empty() || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool same_group_config(const ConsumerGroupConfig& a, const ConsumerGroupConfig& b) {
  return a.lock_ms == b.lock_ms && a.max_deliveries == b.max_deliveries && a.ttl_ms == b.ttl_ms;
}

std::string encode_group_events(const std::vector<GroupEvent>& events) {
  std::string out;
  StringStream stream{out};
  msgpack::packer<StringStream> pk(stream);
  pk.pack_array(static_cast<uint32_t>(events.size()));
  for (const GroupEvent& e : events) {
    pk.pack_array(kEventFields);
    pk.pack(static_cast<uint8_t>(e.kind));
    pk.pack(e.offset);
    pk.pack(e.delivery_count);
  }
  return out;
}

Result<std::vector<GroupEvent>> decode_group_events(std::string_view body) {
  auto malformed = [](std::string_view what) {
    return Error{ErrorKind::kCorruption, fmt::format("malformed group events: {}", what)};
  };
  msgpack::object_handle handle;
  try {
    size_t read = 0;
    handle = unpack_bounded(body.data(), body.size(), read);
    if (read != body.size()) return malformed("bytes after the events");
  } catch (const std::exception& ex) {
    return malformed(ex.what());
  }
  const msgpack::object& o = handle.get();
  if (o.type != msgpack::type::ARRAY) return malformed("not an array");
  std::vector<GroupEvent> events;
  events.reserve(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    const msgpack::object& e = o.via.array.ptr[i];
    if (e.type != msgpack::type::ARRAY || e.via.array.size != kEventFields)
      return malformed(fmt::format("event {} is not an array of {} fields", i, kEventFields));
    const msgpack::object* f = e.via.array.ptr;
    for (uint32_t j = 0; j < kEventFields; ++j)
      if (f[j].type != msgpack::type::POSITIVE_INTEGER)
        return malformed(fmt::format("event {} field {} is not an unsigned integer", i, j));
    if (f[0].via.u64 > kLastKind)
      return malformed(fmt::format("event {} has kind {}", i, f[0].via.u64));
    if (f[2].via.u64 > std::numeric_limits<uint32_t>::max())
      return malformed(fmt::format("event {} has delivery count {}", i, f[2].via.u64));
    events.push_back({static_cast<GroupEvent::Kind>(f[0].via.u64), f[1].via.u64,
                      static_cast<uint32_t>(f[2].via.u64)});
  }
  return events;
}

GroupStore::GroupStore(FileSystem& fs, std::string dir, std::string name,
                       ConsumerGroupConfig config, SyncTracker* tracker, uint64_t snapshot_bytes)
    : fs_(fs),
      dir_(std::move(dir)),
      name_(std::move(name)),
      config_(config),
      tracker_(tracker),
      snapshot_bytes_(snapshot_bytes) {}

std::string GroupStore::group_path() const {
  return fmt::format("{}/{}{}", dir_, name_, gf::kGroupSuffix);
}

std::string GroupStore::journal_path(uint64_t generation) const {
  return fmt::format("{}/{}.{}{}", dir_, name_, generation, gf::kJournalSuffix);
}

uint64_t GroupStore::journal_bytes() const {
  return journal_ ? journal_->size() : 0;
}

Result<std::unique_ptr<GroupStore>> GroupStore::create(FileSystem& fs, const std::string& dir,
                                                       const std::string& name,
                                                       const ConsumerGroupConfig& config,
                                                       const ConsumerGroup& group,
                                                       SyncTracker* tracker,
                                                       uint64_t snapshot_bytes) {
  if (!valid_group_name(name))
    return invalid_argument(
        fmt::format("group name '{}' is not valid: use letters, digits, '_' and '-'", name));
  if (Status s = check_config(config); !s) return s.error();
  std::unique_ptr<GroupStore> store(new GroupStore(fs, dir, name, config, tracker, snapshot_bytes));
  if (fs.exists(store->group_path()))
    return invalid_argument(fmt::format("group {} already exists in {}", name, dir));
  auto journal = store->create_journal(0);
  if (!journal) return journal.error();
  store->journal_ = std::move(*journal);
  bool renamed = false;
  if (Status s = store->write_group_file(config, 0, group.snapshot(), renamed); !s) {
    // Leave nothing behind, so that the caller may try again.
    if (renamed) (void)fs.remove(store->group_path());
    (void)fs.remove(store->journal_path(0));
    return s.error();
  }
  return store;
}

Result<std::vector<RecoveredGroup>> GroupStore::open_all(FileSystem& fs, const std::string& dir,
                                                         SyncTracker* tracker,
                                                         std::vector<std::string>& notes,
                                                         uint64_t snapshot_bytes) {
  auto names = fs.list(dir);
  if (!names) return names.error();
  std::set<std::string> groups;  // sorted: groups come back in name order
  std::vector<std::string> debris;
  std::map<std::string, std::vector<uint64_t>> journals;
  const std::string tmp_suffix = fmt::format("{}{}", gf::kGroupSuffix, gf::kTmpSuffix);
  for (const std::string& file : *names) {
    std::string_view stem = file;
    if (file.ends_with(tmp_suffix)) {
      stem.remove_suffix(tmp_suffix.size());
      if (valid_group_name(stem)) debris.push_back(file);
    } else if (file.ends_with(gf::kGroupSuffix)) {
      stem.remove_suffix(gf::kGroupSuffix.size());
      if (valid_group_name(stem)) groups.emplace(stem);
    } else if (auto journal = parse_journal_name(file)) {
      journals[journal->first].push_back(journal->second);
    }
  }

  std::vector<RecoveredGroup> recovered;
  for (const std::string& name : groups) {
    std::unique_ptr<GroupStore> store(
        new GroupStore(fs, dir, name, ConsumerGroupConfig{}, tracker, snapshot_bytes));
    std::string path = store->group_path();
    auto file = fs.open(path, OpenMode::kReadOnly);
    if (!file) return file.error();
    auto bytes = read_all(**file);
    if (!bytes) return bytes.error();
    auto meta = decode_group_file(path, *bytes);
    if (!meta) return meta.error();
    auto group = ConsumerGroup::restore(meta->snapshot, meta->config);
    if (!group) return with_path(path, group.error());
    store->config_ = meta->config;
    store->generation_ = meta->generation;

    std::string journal_path = store->journal_path(meta->generation);
    if (!fs.exists(journal_path))
      return corrupt(journal_path, fmt::format("missing: {} refers to it", path));
    auto journal = fs.open(journal_path, OpenMode::kReadWrite);
    if (!journal) return journal.error();
    auto content = read_all(**journal);
    if (!content) return content.error();
    std::string_view rest = *content;
    uint64_t position = 0;
    while (!rest.empty()) {
      Frame frame = check_frame(rest);
      if (frame.status != FrameStatus::kOk) {
        notes.push_back(fmt::format("{}: cut {} bytes of a torn or corrupt tail at byte {} ({})",
                                    journal_path, rest.size(), position,
                                    frame_status_name(frame.status)));
        if (Status s = (*journal)->truncate(position); !s) return s.error();
        break;
      }
      auto events = decode_group_events(frame.body);
      if (!events)
        return corrupt(journal_path,
                       fmt::format("at byte {}: {}", position, events.error().message));
      for (const GroupEvent& event : *events)
        if (Status s = group->apply(event); !s)
          return corrupt(journal_path, fmt::format("at byte {}: {}", position, s.error().message));
      position += frame.size;
      rest.remove_prefix(frame.size);
    }
    store->journal_ = std::move(*journal);
    std::erase(journals[name], meta->generation);
    recovered.push_back({name, meta->config, std::move(*group), std::move(store)});
  }

  // Debris of interrupted steps (see the header); only after every group
  // loaded, so that an error leaves the directory as it was.
  for (const auto& [name, generations] : journals)
    for (uint64_t generation : generations)
      debris.push_back(fmt::format("{}.{}{}", name, generation, gf::kJournalSuffix));
  for (const std::string& file : debris) {
    std::string path = fmt::format("{}/{}", dir, file);
    if (Status s = fs.remove(path); !s) return s.error();
    notes.push_back(fmt::format("{}: removed, left over from an interrupted write", path));
  }
  if (!debris.empty() && tracker) tracker->changed_dir(dir);
  return recovered;
}

Result<std::shared_ptr<File>> GroupStore::create_journal(uint64_t generation) {
  std::string path = journal_path(generation);
  // A failed earlier rotation in this process may have left it.
  if (Status s = fs_.remove(path); !s) return s.error();
  auto file = fs_.open(path, OpenMode::kCreate);
  if (!file) return file.error();
  std::shared_ptr<File> journal = std::move(*file);
  Status s = journal->sync();
  if (s) s = fs_.sync_dir(dir_);
  if (!s) {
    (void)fs_.remove(path);
    return s.error();
  }
  return journal;
}

Status GroupStore::write_group_file(const ConsumerGroupConfig& config, uint64_t generation,
                                    const std::string& snapshot, bool& renamed) {
  renamed = false;
  std::string path = group_path();
  std::string tmp = path + std::string(gf::kTmpSuffix);
  Status s = fs_.remove(tmp);
  if (s) {
    auto file = fs_.open(tmp, OpenMode::kCreate);
    s = file ? (*file)->append(encode_group_file(config, generation, snapshot)) : file.error();
    if (s) s = (*file)->sync();
    if (s) s = fs_.rename(tmp, path);
  }
  if (!s) {
    (void)fs_.remove(tmp);
    return s;
  }
  renamed = true;
  return fs_.sync_dir(dir_);
}

Status GroupStore::append(const std::vector<GroupEvent>& events) {
  if (events.empty()) return ok_status();
  if (destroyed_) return runtime_error(fmt::format("group {} was deleted", name_));
  if (broken_) return *broken_;
  std::string frames;
  for (size_t i = 0; i < events.size(); i += kMaxEventsPerFrame) {
    auto end =
        events.begin() + static_cast<ptrdiff_t>(std::min(events.size(), i + kMaxEventsPerFrame));
    append_frame(frames, 0, encode_group_events({events.begin() + static_cast<ptrdiff_t>(i), end}));
  }
  uint64_t before = journal_->size();
  if (Status s = journal_->append(frames); !s) {
    // The journal no longer follows the group: later events appended after a
    // gap would not fit on recovery. Cut back what was written (garbage at
    // the end would hide later frames too) and wait for a snapshot.
    Status cut = journal_->truncate(before);
    broken_ = runtime_error(fmt::format(
        "{}: events lost by a failed write ({}){}; a snapshot must be written first",
        journal_path(generation_), s.error().message,
        cut ? "" : fmt::format(" and could not be cut back ({})", cut.error().message)));
    return s;
  }
  if (tracker_) tracker_->written(journal_);
  return ok_status();
}

bool GroupStore::wants_snapshot() const {
  return broken_ || journal_bytes() >= snapshot_bytes_;
}

Status GroupStore::write_snapshot(const ConsumerGroup& group) {
  return rotate(config_, group);
}

Status GroupStore::reconfigure(const ConsumerGroupConfig& config, const ConsumerGroup& group) {
  if (Status s = check_config(config); !s) return s;
  return rotate(config, group);
}

Status GroupStore::rotate(const ConsumerGroupConfig& config, const ConsumerGroup& group) {
  if (destroyed_) return runtime_error(fmt::format("group {} was deleted", name_));
  uint64_t next = generation_ + 1;
  auto journal = create_journal(next);
  if (!journal) return journal.error();
  bool renamed = false;
  Status s = write_group_file(config, next, group.snapshot(), renamed);
  if (!renamed) {
    (void)fs_.remove(journal_path(next));
    return s;
  }
  // Committed in the page cache: from now on this process uses gen `next`.
  uint64_t previous = generation_;
  generation_ = next;
  config_ = config;
  journal_ = std::move(*journal);
  if (!s) {
    // The rename may not be durable: a crash could bring back G.group of
    // `previous`, so its journal stays and nothing may be appended to either
    // journal until a later snapshot is durable.
    broken_ = runtime_error(
        fmt::format("{}: could not sync after a snapshot ({})", dir_, s.error().message));
    return s;
  }
  broken_.reset();
  if (Status r = fs_.remove(journal_path(previous)); !r)
    log_info("{} (it will be removed on the next start)", r.error().message);
  else if (tracker_)
    tracker_->changed_dir(dir_);
  return ok_status();
}

Status GroupStore::destroy() {
  if (destroyed_) return ok_status();
  std::string path = group_path();
  if (Status s = fs_.remove(path); !s) return s;
  destroyed_ = true;
  // G.group's removal must be durable before its journal goes: a G.group
  // back from a crash without its journal would be an error.
  if (Status s = fs_.sync_dir(dir_); !s) return s;
  journal_.reset();
  if (Status s = fs_.remove(journal_path(generation_)); !s) return s;
  if (Status s = fs_.remove(path + std::string(gf::kTmpSuffix)); !s) return s;
  if (tracker_) tracker_->changed_dir(dir_);
  return ok_status();
}

}  // namespace eda
