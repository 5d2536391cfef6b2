// BrokerEngine: compaction of compacted topics (docs/STORAGE.md "Compacted
// topics"). A pass is due when the part of the log written since the last
// pass is at least as large as what that pass left (so each byte is
// rewritten a bounded number of times), or when a kept tombstone expires.
// A log in files is compacted by the Compactor's thread, which never
// touches the segment being appended to; the loop only puts the files it
// wrote in place. A log in memory is compacted on the loop, all at once.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/broker_state.h"
#include "core/compactor.h"
#include "core/log.h"

namespace eda {
namespace {

// A failed pass (an unreadable segment, a full disk) is tried again after this.
constexpr int64_t kRetryAfterFailureMs = 60'000;

bool tombstone_due(const std::optional<int64_t>& expiry, int64_t now_ms) {
  return expiry && now_ms >= *expiry;
}

void log_pass(const std::string& topic, const CompactionResult& r) {
  if (r.records_removed == 0) return;
  log_info("topic {}: compaction removed {} of {} messages read ({} -> {} bytes) in {} ms", topic,
           r.records_removed, r.records_read, r.bytes_before, r.bytes_after, r.elapsed_ms);
}

}  // namespace

BrokerEngine::Topic* BrokerEngine::find_topic_by_serial(uint64_t serial) {
  for (auto& [key, t] : topics_)
    if (t->serial == serial) return t.get();
  return nullptr;
}

void BrokerEngine::compact(Topic& t, int64_t now_ms) {
  auto& c = t.compaction;
  if (now_ms < c.not_before_ms) return;
  int64_t horizon = now_ms - t.settings.tombstone_retention_ms;
  if (!data_dir_) {
    uint64_t dirty = t.log->bytes() - std::min(t.log->bytes(), c.clean_bytes);
    bool grown = t.log->next_offset() > c.clean_end && dirty >= c.clean_bytes;
    if (!grown && !tombstone_due(c.tombstone_expiry, now_ms)) return;
    auto started = std::chrono::steady_clock::now();
    CompactionResult r = t.log->compact_in_place(horizon, t.settings.tombstone_retention_ms);
    r.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
    c.clean_end = t.log->next_offset();
    c.clean_bytes = t.log->bytes();
    c.tombstone_expiry = r.next_tombstone_expiry;
    log_pass(t.name, r);
    return;
  }
  if (compactor_ && compactor_->busy(t.serial)) return;
  // Only what is durable and visible: a read limited by `visible` must never
  // step over a gap onto records past it.
  std::vector<SealedSegment> sealed = t.log->sealed_segments();
  std::erase_if(sealed, [&](const SealedSegment& s) { return s.end > t.visible; });
  if (sealed.empty()) return;
  uint64_t dirty = 0;
  for (const SealedSegment& s : sealed)
    if (s.base >= c.clean_end) dirty += s.bytes;
  bool grown = sealed.back().end > c.clean_end && dirty >= c.clean_bytes;
  if (!grown && !tombstone_due(c.tombstone_expiry, now_ms)) return;
  if (!compactor_) compactor_ = std::make_unique<Compactor>(posix_file_system());
  c.running_end = sealed.back().end;
  compactor_->submit(t.serial,
                     CompactionJob{topic_dir(t), std::move(sealed), horizon,
                                   t.settings.tombstone_retention_ms, config_.segment_bytes});
}

void BrokerEngine::finish_compactions(int64_t now_ms) {
  if (!compactor_) return;
  for (Compactor::Done& done : compactor_->take_done()) {
    Topic* t = find_topic_by_serial(done.topic);
    if (!t) {
      if (done.result)
        for (const CompactedFile& f : done.result->files) (void)posix_file_system().remove(f.path);
      continue;
    }
    auto& c = t->compaction;
    if (!done.result) {
      log_error("topic {}: compaction failed, trying again in a minute: {}", t->name,
                done.result.error().message);
      c.not_before_ms = now_ms + kRetryAfterFailureMs;
      continue;
    }
    Status applied = ok_status();
    for (const CompactedFile& f : done.result->files) {
      Status s = t->log->replace_segments(f);
      if (!s && applied) applied = s;
    }
    if (!applied) {
      log_error("topic {}: compaction: {}", t->name, applied.error().message);
      c.not_before_ms = now_ms + kRetryAfterFailureMs;
      continue;
    }
    c.clean_end = c.running_end;
    c.clean_bytes = 0;
    for (const SealedSegment& s : t->log->sealed_segments())
      if (s.end <= c.clean_end) c.clean_bytes += s.bytes;
    c.tombstone_expiry = done.result->next_tombstone_expiry;
    log_pass(t->name, *done.result);
  }
}

}  // namespace eda
