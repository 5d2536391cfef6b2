// Duplicate-detection cost per published message, on the broker's path: a
// batch of 1000 ids is keyed (and prefetched) first, then each id is looked
// up and added, with the index at the broker's default cap of 200,000 ids,
// so every add also expires the oldest id.
//
//   edatool_dedup_bench [BATCHES]   (default 2000 batches of 1000; best of 3)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/dedup_index.h"
#include "core/ulid.h"

namespace {

using namespace eda;

constexpr size_t kBatch = 1000;
constexpr size_t kMaxIds = 200'000;

// Nanoseconds per message over `batches` fresh batches of ULIDs.
double run(const std::vector<std::string>& ids, size_t batches, bool prefetch) {
  DedupIndex index(3'600'000, kMaxIds);
  std::vector<uint64_t> keys(kBatch);
  uint64_t offset = 0;
  auto one_batch = [&](size_t b) {
    const std::string* batch = &ids[(b * kBatch) % ids.size()];
    for (size_t i = 0; i < kBatch; ++i) {
      keys[i] = DedupIndex::key_of(batch[i]);
      if (prefetch) index.prefetch(keys[i]);
    }
    for (size_t i = 0; i < kBatch; ++i)
      if (!index.find(keys[i], 1000)) index.add(keys[i], offset++, 1000);
  };
  for (size_t b = 0; b < kMaxIds / kBatch; ++b) one_batch(b);  // fill to the cap
  auto start = std::chrono::steady_clock::now();
  for (size_t b = 0; b < batches; ++b) one_batch(kMaxIds / kBatch + b);
  std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  return took.count() / static_cast<double>(batches * kBatch);
}

}  // namespace

int main(int argc, char** argv) {
  size_t batches = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
  // Distinct ids, more than the runs use, so no id comes back.
  UlidGenerator ulids;
  std::vector<std::string> ids((batches + kMaxIds / kBatch) * kBatch);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = ulids.next(1767225600000 + int64_t(i / 1000));
  fmt::print("{:<44} {:>10}\n", "case (index capped at 200,000 ids)", "ns/message");
  for (bool prefetch : {true, false}) {
    double best = 1e18;
    for (int r = 0; r < 3; ++r) best = std::min(best, run(ids, batches, prefetch));
    fmt::print(
        "{:<44} {:>10.1f}\n",
        prefetch ? "find + add, batch keyed and prefetched first" : "find + add, no prefetch",
        best);
  }
}
