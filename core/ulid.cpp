#include "core/ulid.h"

namespace eda {

namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kUlidChars = 26;
constexpr size_t kTimeChars = 10;  // 50 bits hold the 48-bit timestamp
constexpr uint64_t kTimeMask = (uint64_t{1} << 48) - 1;
constexpr uint64_t kRandHiMask = 0xFFFF;
constexpr uint64_t kLow40Mask = (uint64_t{1} << 40) - 1;

// Writes the low 5*`chars` bits of `value`, most significant first; returns the end.
char* put_base32(char* out, uint64_t value, int chars) {
  for (int i = chars - 1; i >= 0; --i) *out++ = kCrockford[(value >> (5 * i)) & 31];
  return out;
}

// Crockford digit value, case-insensitive; -1 for anything else (I, L, O, U included).
int crockford_value(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  size_t pos = kCrockford.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

UlidGenerator::UlidGenerator() : rng_(std::random_device{}()) {}

std::string UlidGenerator::next(int64_t now_ms) {
  std::string id;
  next(now_ms, id);
  return id;
}

void UlidGenerator::next(int64_t now_ms, std::string& id) {
  // Same or earlier ms (a clock step back included): increment, so ids never go backwards.
  bool fresh = now_ms > last_ms_;
  if (!fresh) {
    rand_lo_ += 1;
    if (rand_lo_ == 0) rand_hi_ += 1;
    if (rand_hi_ > kRandHiMask) {  // 80 random bits exhausted: borrow the next ms
      now_ms = last_ms_ + 1;
      fresh = true;
    }
  }
  if (fresh) {
    last_ms_ = now_ms;
    rand_hi_ = rng_() & kRandHiMask;
    rand_lo_ = rng_();
  }
  char text[kUlidChars];
  char* at = put_base32(text, static_cast<uint64_t>(last_ms_) & kTimeMask, kTimeChars);
  // The 80 random bits as two 40-bit halves of 8 characters each.
  at = put_base32(at, (rand_hi_ << 24) | (rand_lo_ >> 40), 8);
  put_base32(at, rand_lo_ & kLow40Mask, 8);
  id.assign(text, kUlidChars);
}

int64_t ulid_time_ms(std::string_view id) {
  if (id.size() != kUlidChars) return -1;
  int64_t ms = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    int v = crockford_value(id[i]);
    if (v < 0 || (i == 0 && v > 7)) return -1;  // a first digit above 7 overflows 128 bits
    if (i < kTimeChars) ms = ms * 32 + v;
  }
  return ms;
}

}  // namespace eda
