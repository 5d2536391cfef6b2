#include "core/topic_log.h"

#include <algorithm>

namespace eda {

uint64_t resolve_position(TopicLog& log, const Position& p, uint64_t end) {
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
      return end - std::min<uint64_t>(static_cast<uint64_t>(p.value), end - earliest);
    case K::kTime: {
      auto offset = log.offset_for_time(p.value);
      return offset ? std::clamp(*offset, earliest, end) : end;
    }
  }
  return end;
}

}  // namespace eda
