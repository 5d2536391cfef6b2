// Byte sizes as users type them: `1048576`, `512KiB`, `64MiB`, `1GiB`
// (also `K`/`M`/`G`/`KB`/`MB`/`GB`, all powers of 1024).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"

namespace eda {

Result<uint64_t> parse_byte_size(std::string_view text);

}  // namespace eda
