#include "core/record_filter.h"

#include <memory>

namespace eda {
namespace {

std::optional<EnvelopeView> as_optional(Result<EnvelopeView> view) {
  if (!view) return std::nullopt;
  return *view;
}

// Spreads logs over the slots, so that two logs read at the same offsets do
// not take each other's slots.
size_t salt(uint64_t log) {
  return static_cast<size_t>((log * 0x9E3779B97F4A7C15ull) >> 40);
}

}  // namespace

RecordFilter record_filter(Filter filter) {
  auto viewer = std::make_shared<EnvelopeViewer>();
  return [filter = std::move(filter), viewer](const StoredRecord& record) {
    auto view = viewer->view(record.body);
    if (!view) return false;
    view->offset = record.offset;
    return filter.matches(*view);
  };
}

RecordViews::RecordViews() : slots_(kSlots) {}

const EnvelopeView* RecordViews::view(uint64_t log, const StoredRecord& record) {
  if (record.body.size() > kMaxCachedBytes) {
    uncached_ = as_optional(viewer_.view(record.body));
    if (uncached_) uncached_->offset = record.offset;
    return uncached_ ? &*uncached_ : nullptr;
  }
  Slot& slot = slots_[(record.offset + salt(log)) % kSlots];
  if (slot.log != log || slot.offset != record.offset) {
    slot.log = log;
    slot.offset = record.offset;
    slot.body.assign(record.body);
    slot.view = as_optional(viewer_.view(slot.body, slot.headers));
    if (slot.view) slot.view->offset = record.offset;
  }
  return slot.view ? &*slot.view : nullptr;
}

RecordFilter record_filter(const Filter& filter, RecordViews& views, uint64_t log) {
  return [&filter, &views, log](const StoredRecord& record) {
    const EnvelopeView* view = views.view(log, record);
    return view && filter.matches(*view);
  };
}

}  // namespace eda
