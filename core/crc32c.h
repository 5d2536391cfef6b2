// CRC-32C (Castagnoli), the record checksum of the storage format.
// Uses the SSE4.2 instruction when the CPU has it, a table otherwise.
#pragma once

#include <cstdint>
#include <string_view>

namespace eda {

uint32_t crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace eda
