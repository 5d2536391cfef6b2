#include "core/view_set.h"

#include <fmt/format.h>

#include <chrono>

#include "core/log.h"

namespace eda {
namespace {

constexpr std::string_view kViewSuffix = ".view";
constexpr std::string_view kViewTmpSuffix = ".view.tmp";
// Table entries serialized per fold() round: 1-2.5 ms at the 20-50 ns an
// entry takes (docs/PERFORMANCE.md "Snapshots of a big view": 1M keys held
// the loop 42-56 ms in one go).
constexpr size_t kSnapshotSlice = 50000;

Result<std::string> read_view_file(FileSystem& fs, const std::string& path) {
  auto file = fs.open(path, OpenMode::kReadOnly);
  if (!file) return file.error();
  std::string bytes((*file)->size(), '\0');
  auto n = (*file)->read_at(0, bytes.data(), bytes.size());
  if (!n) return n.error();
  bytes.resize(*n);
  return bytes;
}

Error unknown_view(std::string_view name) {
  return {ErrorKind::kNotFound,
          fmt::format("no view named '{}'; `edatool view create` makes one", name)};
}

}  // namespace

Result<std::unique_ptr<ViewSet>> ViewSet::open(FileSystem& fs, std::optional<std::string> dir,
                                               std::vector<std::string>& notes) {
  std::unique_ptr<ViewSet> set(new ViewSet(fs, std::move(dir)));
  if (!set->dir_ || !fs.exists(*set->dir_)) return set;
  auto files = fs.list(*set->dir_);
  if (!files) return files.error();
  for (const std::string& file : *files) {
    std::string path = *set->dir_ + "/" + file;
    if (file.ends_with(kViewTmpSuffix)) {
      (void)fs.remove(path);  // a snapshot a crash interrupted; the old one stands
      continue;
    }
    if (!file.ends_with(kViewSuffix)) continue;
    auto bytes = read_view_file(fs, path);
    if (!bytes) return bytes.error();
    auto view = View::from_snapshot(*bytes);
    if (!view) {
      notes.push_back(fmt::format("{}: {}; set aside as {}.bad", path, view.error().message, file));
      (void)fs.rename(path, path + ".bad");
      continue;
    }
    std::string name = view->spec().name;
    std::vector<std::string> offsets;
    for (const auto& [topic, next] : view->offsets())
      offsets.push_back(fmt::format("{}:{}", topic, next));
    notes.push_back(
        fmt::format("view {}: {} keys from the snapshot; folding on from {}", name, view->size(),
                    offsets.empty() ? "the start" : fmt::format("{}", fmt::join(offsets, ","))));
    auto entry = std::make_unique<Entry>(Entry{std::move(*view), false, 0, std::nullopt, 0, {}, 0});
    set->views_.emplace(std::move(name), std::move(entry));
  }
  return set;
}

ViewSet::ViewSet(FileSystem& fs, std::optional<std::string> dir) : fs_(fs), dir_(std::move(dir)) {
  if (dir_) writer_ = std::make_unique<SnapshotWriter>(fs_);
}

std::string ViewSet::path_of(const std::string& name) const {
  return fmt::format("{}/{}{}", *dir_, name, kViewSuffix);
}

Status ViewSet::create(const ViewSpec& spec) {
  if (auto it = views_.find(spec.name); it != views_.end()) {
    if (it->second->view.spec() == spec) return ok_status();
    return Error{ErrorKind::kConflict,
                 fmt::format("view '{}' exists with another definition; drop it first", spec.name)};
  }
  auto view = View::create(spec);
  if (!view) return view.error();
  auto entry = std::make_unique<Entry>(Entry{std::move(*view), true, 0, std::nullopt, 0, {}, 0});
  if (dir_) {
    // The definition is durable before the view is said to exist. The table
    // is empty, so this is a small write; nothing else writes this path, as
    // drop() cancelled the snapshots of a view of this name.
    if (Status s = fs_.create_dirs(*dir_); !s) return s;
    if (Status s = replace_file(fs_, path_of(spec.name), entry->view.snapshot()); !s) return s;
    entry->dirty = false;
  }
  views_.emplace(spec.name, std::move(entry));
  work_ = true;
  return ok_status();
}

Status ViewSet::drop(const std::string& name) {
  auto it = views_.find(name);
  if (it == views_.end()) return unknown_view(name);
  // The snapshot goes first: a view kept in memory after a failed removal
  // is still there after a restart, as the error says.
  if (dir_) {
    writer_->cancel(path_of(name));
    if (Status s = fs_.remove(path_of(name)); !s) return s;
    if (Status s = fs_.sync_dir(*dir_); !s) return s;
  }
  views_.erase(it);
  return ok_status();
}

void ViewSet::topic_deleted(std::string_view topic) {
  for (auto& [name, e] : views_)
    if (e->view.reads(topic)) (void)rebuild(name);
}

Status ViewSet::rebuild(const std::string& name) {
  auto it = views_.find(name);
  if (it == views_.end()) return unknown_view(name);
  Entry& e = *it->second;
  e.snapshot.reset();
  e.view.clear();
  e.dirty = true;
  work_ = true;
  // The emptied view replaces its snapshot now (a small write, queued after
  // any older one), so that a crash does not bring back the old table and
  // offsets, e.g. those of a topic that was deleted.
  if (dir_) start_snapshot(e, e.saved_ms);
  return ok_status();
}

const View* ViewSet::find(std::string_view name) const {
  auto it = views_.find(name);
  return it == views_.end() ? nullptr : &it->second->view;
}

std::vector<std::string> ViewSet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : views_) out.push_back(name);
  return out;
}

Result<ViewStats> ViewSet::stats(std::string_view name, std::span<const ViewSource> topics) const {
  const View* view = find(name);
  if (!view) return unknown_view(name);
  ViewStats s{view->spec(), view->size(), view->folded(), {}, 0};
  for (const ViewSource& t : topics) {
    if (!view->reads(t.name)) continue;
    uint64_t next = std::max(view->next_offset(t.name), t.log->earliest_offset());
    s.offsets.emplace(t.name, next);
    if (next < t.visible) s.lag += t.visible - next;
  }
  return s;
}

bool ViewSet::fold(std::span<const ViewSource> topics, size_t budget) {
  work_ = false;
  if (views_.empty()) return false;
  bool more = false;
  size_t n = views_.size();
  auto it = views_.begin();
  std::advance(it, rotation_ % n);
  rotation_ = (rotation_ + 1) % n;
  for (size_t k = 0; k < n; ++k, ++it) {
    if (it == views_.end()) it = views_.begin();
    Entry& e = *it->second;
    if (e.snapshot) {
      continue_snapshot(e, kSnapshotSlice);
      if (e.snapshot) {
        more = true;
        continue;
      }
    }
    for (const ViewSource& t : topics) {
      if (!e.view.reads(t.name)) continue;
      if (e.view.next_offset(t.name) > t.log->next_offset()) {
        log_info("view {}: topic {} holds fewer messages than the view folded; rebuilding",
                 e.view.spec().name, t.name);
        e.view.clear();
        e.dirty = true;
      }
    }
    for (const ViewSource& t : topics) {
      if (!e.view.reads(t.name)) continue;
      budget -= fold_topic(e, t, budget);
      uint64_t next = e.view.next_offset(t.name);
      if (next < t.visible) more = true;
    }
  }
  work_ = more;
  return more;
}

size_t ViewSet::fold_topic(Entry& e, const ViewSource& t, size_t budget) {
  View& view = e.view;
  uint64_t next = view.next_offset(t.name);
  if (next < t.log->earliest_offset()) {
    log_info("view {}: topic {}: offsets {}..{} were deleted before the view folded them",
             view.spec().name, t.name, next, t.log->earliest_offset() - 1);
    next = t.log->earliest_offset();  // retention took the rest
    view.set_next_offset(std::string(t.name), next);
    e.dirty = true;
  }
  if (budget == 0 || next >= t.visible) return 0;
  records_.clear();
  std::string skipped;
  auto read =
      t.log->read(next, std::min<uint64_t>(budget, t.visible - next), 16u << 20, records_, skipped);
  if (!skipped.empty()) log_error("view {}: topic {}: {}", view.spec().name, t.name, skipped);
  if (!read) {
    log_error("view {}: topic {}: {}", view.spec().name, t.name, read.error().message);
    return 0;
  }
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  bool timed = log_level() >= LogLevel::kDebug;
  for (const StoredRecord& r : records_) {
    auto m = viewer_.view(r.body);
    if (!m) {
      log_error("view {}: topic {} offset {}: {}; skipped", view.spec().name, t.name, r.offset,
                m.error().message);
      continue;
    }
    m->offset = r.offset;
    view.fold(*m);
    if (timed && m->ts > 0 && now_ns >= m->ts * 1'000'000)
      e.fold_delay.record(static_cast<uint64_t>(now_ns - m->ts * 1'000'000));
  }
  view.set_next_offset(std::string(t.name), std::min(*read, t.visible));
  e.dirty = true;
  return records_.size();
}

Status ViewSet::save(int64_t now_ms, int64_t interval_ms) {
  for (auto& [name, e] : views_) report_fold_delay(*e, now_ms, interval_ms);
  if (!dir_) return ok_status();
  Status result = take_failures();
  for (auto& [name, e] : views_)
    if (e->dirty && !e->snapshot && now_ms - e->saved_ms >= interval_ms) start_snapshot(*e, now_ms);
  return result;
}

Status ViewSet::save_all(int64_t now_ms) {
  if (!dir_) return ok_status();
  for (auto& [name, e] : views_) {
    if (e->dirty && !e->snapshot) start_snapshot(*e, now_ms);
    if (e->snapshot) continue_snapshot(*e, SIZE_MAX);
  }
  writer_->flush();
  return take_failures();
}

void ViewSet::report_fold_delay(Entry& e, int64_t now_ms, int64_t interval_ms) {
  const LatencyHistogram& h = e.fold_delay;
  if (h.count() == 0 || now_ms - e.reported_ms < interval_ms) return;
  auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  log_debug("view {}: fold delay over {} messages: p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms",
            e.view.spec().name, h.count(), ms(h.percentile(50)), ms(h.percentile(99)), ms(h.max()));
  e.fold_delay = {};
  e.reported_ms = now_ms;
}

void ViewSet::start_snapshot(Entry& e, int64_t now_ms) {
  e.snapshot.emplace();
  e.snapshot_ms = 0;
  e.view.begin_snapshot(*e.snapshot);
  e.dirty = false;
  e.saved_ms = now_ms;
  continue_snapshot(e, kSnapshotSlice);
  if (e.snapshot) work_ = true;  // fold() makes the rest
}

void ViewSet::continue_snapshot(Entry& e, size_t max) {
  auto start = std::chrono::steady_clock::now();
  bool complete = e.view.add_to_snapshot(*e.snapshot, max);
  e.snapshot_ms +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!complete) return;
  log_debug("view {}: snapshot of {} keys ({} bytes) serialized in {:.1f} ms", e.view.spec().name,
            e.view.size(), e.snapshot->bytes.size(), e.snapshot_ms);
  writer_->submit(path_of(e.view.spec().name), std::move(e.snapshot->bytes));
  e.snapshot.reset();
}

Status ViewSet::take_failures() {
  Status result = ok_status();
  for (auto& [path, error] : writer_->take_failures()) {
    for (auto& [name, e] : views_)
      if (path_of(name) == path) e->dirty = true;
    result = error;
  }
  return result;
}

}  // namespace eda
