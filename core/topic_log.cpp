#include "core/topic_log.h"

#include <fmt/format.h>

#include <algorithm>

namespace eda {
namespace {

// Reads back from `end` in windows until `count` wanted records are found.
uint64_t start_of_last_wanted(TopicLog& log, uint64_t count, uint64_t end,
                              const RecordFilter& wanted) {
  constexpr uint64_t kWindow = 4096;
  const uint64_t earliest = std::min(log.earliest_offset(), end);
  std::vector<StoredRecord> records;
  std::vector<uint64_t> found;  // offsets wanted in the window, ascending
  for (uint64_t stop = end; count > 0 && stop > earliest;) {
    uint64_t start = stop - std::min(kWindow, stop - earliest);
    found.clear();
    for (uint64_t at = start; at < stop;) {
      records.clear();
      std::string skipped;
      auto next = log.read(at, stop - at, 16u << 20, records, skipped);
      if (!next || *next <= at) break;
      for (const StoredRecord& r : records)
        if (r.offset < stop && wanted(r)) found.push_back(r.offset);
      at = *next;
    }
    if (found.size() >= count) return found[found.size() - count];
    count -= found.size();
    stop = start;
  }
  return count == 0 ? end : earliest;
}

}  // namespace

Status TopicLog::replace_segments(const CompactedFile& file) {
  return runtime_error(fmt::format("{}: this log is not kept in segment files", file.path));
}

uint64_t resolve_position(TopicLog& log, const Position& p, uint64_t end,
                          const RecordFilter& wanted) {
  using K = Position::Kind;
  uint64_t earliest = std::min(log.earliest_offset(), end);
  switch (p.kind) {
    case K::kEarliest:
      return earliest;
    case K::kLatest:
      return end;
    case K::kOffset:
      return std::clamp<uint64_t>(static_cast<uint64_t>(p.value), earliest, end);
    case K::kLast:
      if (wanted) return start_of_last_wanted(log, static_cast<uint64_t>(p.value), end, wanted);
      return end - std::min<uint64_t>(static_cast<uint64_t>(p.value), end - earliest);
    case K::kTime: {
      auto offset = log.offset_for_time(p.value);
      return offset ? std::clamp(*offset, earliest, end) : end;
    }
  }
  return end;
}

}  // namespace eda
