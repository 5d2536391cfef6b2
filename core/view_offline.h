// `view build --data DIR`: a view folded straight from a broker's data
// directory, with no broker and no lock (as `replay --data` reads it).
#pragma once

#include <atomic>
#include <string>

#include "core/result.h"
#include "core/view.h"

namespace eda {

// Folds every stored message of the topics in namespace `ns` that match
// spec.from, through the same fold the broker uses. Errors: a bad spec
// (kInvalidArgument), no data directory or no matching topic (kRuntime),
// `stop` set (kInterrupted).
Result<View> build_view_offline(const std::string& data_dir, const std::string& ns,
                                const ViewSpec& spec, const std::atomic<bool>& stop);

}  // namespace eda
