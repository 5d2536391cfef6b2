// Framing of one stored record (docs/STORAGE.md "Segment file"):
// [body length u32][CRC-32C u32 of ts+body][ts i64][body].
// A gap frame (compacted segments only) stands for offsets compaction
// removed: [0 u32][CRC-32C u32 of count][count u64].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eda {

void append_frame(std::string& out, int64_t ts, std::string_view body);
// Frames a body written in place: `out` holds a header's room at `at`, then
// the body up to its end (so an encoder can write the body without a copy).
void frame_in_place(std::string& out, size_t at, int64_t ts);
// A gap frame covering `count` (>= 1) consecutive offsets.
void append_gap_frame(std::string& out, uint64_t count);

enum class FrameStatus {
  kOk,
  kIncomplete,  // the bytes end inside the frame (a torn write, or more to read)
  kBadLength,   // length 0 or over the format's maximum
  kBadChecksum,
  kGap,  // a valid gap frame: `gap` offsets hold no record (only compacted segments may have one)
};

struct Frame {
  FrameStatus status = FrameStatus::kIncomplete;
  int64_t ts = 0;
  std::string_view body;  // points into the checked bytes
  size_t size = 0;        // header + body, when the length is sane
  uint64_t gap = 0;       // kGap: how many offsets it covers
};

// Checks the frame at the start of `bytes`.
Frame check_frame(std::string_view bytes);

std::string_view frame_status_name(FrameStatus s);

}  // namespace eda
