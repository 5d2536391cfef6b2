// Evaluating a Filter on stored records (their encoded envelopes), as the
// broker and an offline replay read them.
#pragma once

#include <string>
#include <vector>

#include "core/filter.h"
#include "core/topic_log.h"

namespace eda {

// Accepts the records whose envelope `filter` matches; a record that does not
// decode is not accepted. Each returned function has its own decoding memory.
RecordFilter record_filter(Filter filter);

// Views of the records filters have lately tested, shared by all the filters
// that read the same logs: a record that ten filtered subscriptions test is
// decoded once, not ten times. A view is found again by its log and offset.
// Records over kMaxCachedBytes are decoded each time, so
// the bytes held stay under kSlots × kMaxCachedBytes (16 MiB).
//
// Consecutive offsets of a log take consecutive slots, so subscribers up to
// kSlots records apart share views: ten subscribers catching up on a topic at
// once decode each record about 1.5 times (measured: 85% of views shared),
// and live subscribers, reading the same new records, once.
class RecordViews {
 public:
  static constexpr size_t kSlots = 16384;
  static constexpr size_t kMaxCachedBytes = 1024;

  RecordViews();
  // The view of `record`, read from the log numbered `log`; null when the
  // record does not decode. Valid until the next call. A number must name
  // one log only, for good: a record is known by its log and offset.
  const EnvelopeView* view(uint64_t log, const StoredRecord& record);

 private:
  struct Slot {
    uint64_t log = 0;
    uint64_t offset = kNoOffset;
    std::string body;  // the record's bytes, which the view borrows
    std::vector<HeaderField> headers;
    std::optional<EnvelopeView> view;  // none: the record does not decode
  };
  std::vector<Slot> slots_;
  EnvelopeViewer viewer_;
  std::optional<EnvelopeView> uncached_;
};

// Accepts the records of log number `log` whose envelope `filter` matches,
// viewing them through `views`. Borrows `filter` and `views`.
RecordFilter record_filter(const Filter& filter, RecordViews& views, uint64_t log);

}  // namespace eda
