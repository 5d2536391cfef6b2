// ULIDs: 26-char Crockford base32 ids, sortable by creation time
// (48-bit ms timestamp + 80 random bits). Used as Envelope ids.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace eda {

// Generates ids that strictly increase within one generator, even within one
// millisecond (the random part is incremented, as the ULID spec's monotonic mode).
// Not thread-safe: one generator per thread.
class UlidGenerator {
 public:
  UlidGenerator();
  std::string next(int64_t now_ms);
  // The same into `id` (replaced), reusing its memory: no allocation per id.
  void next(int64_t now_ms, std::string& id);

 private:
  std::mt19937_64 rng_;
  int64_t last_ms_ = -1;
  uint64_t rand_hi_ = 0;  // top 16 of the 80 random bits
  uint64_t rand_lo_ = 0;  // low 64 random bits
};

// Timestamp encoded in a ULID, or -1 if `id` is not a ULID.
int64_t ulid_time_ms(std::string_view id);

}  // namespace eda
