// Evaluating a Filter on stored records (their encoded envelopes), as the
// broker and an offline replay read them.
#pragma once

#include "core/filter.h"
#include "core/topic_log.h"

namespace eda {

// Accepts the records whose envelope `filter` matches; a record that does not
// decode is not accepted. Each returned function has its own decoding memory.
RecordFilter record_filter(Filter filter);

}  // namespace eda
