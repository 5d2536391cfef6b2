#include "core/record_frame.h"

#include <cstring>

#include "core/crc32c.h"
#include "core/log_format.h"

namespace eda {

namespace lf = log_format;

void append_frame(std::string& out, int64_t ts, std::string_view body) {
  size_t at = out.size();
  out.append(lf::kRecordHeaderSize, '\0');
  out.append(body);
  frame_in_place(out, at, ts);
}

void frame_in_place(std::string& out, size_t at, int64_t ts) {
  char* header = out.data() + at;
  std::string_view body = std::string_view(out).substr(at + lf::kRecordHeaderSize);
  auto length = static_cast<uint32_t>(body.size());
  std::memcpy(header, &length, 4);
  std::memcpy(header + 8, &ts, 8);
  uint32_t crc = crc32c(body, crc32c(std::string_view(header + 8, 8)));
  std::memcpy(header + 4, &crc, 4);
}

void append_gap_frame(std::string& out, uint64_t count) {
  char header[lf::kRecordHeaderSize] = {};
  std::memcpy(header + 8, &count, 8);
  uint32_t crc = crc32c(std::string_view(header + 8, 8));
  std::memcpy(header + 4, &crc, 4);
  out.append(header, sizeof header);
}

namespace {

// A zero length is a gap frame when its CRC and count check out; a torn,
// zero-filled tail fails the CRC and stays a bad length.
Frame check_gap_frame(std::string_view bytes, uint32_t crc) {
  Frame f;
  f.size = lf::kRecordHeaderSize;
  std::string_view count = bytes.substr(8, 8);
  std::memcpy(&f.gap, count.data(), 8);
  f.status = crc32c(count) == crc && f.gap > 0 ? FrameStatus::kGap : FrameStatus::kBadLength;
  return f;
}

}  // namespace

Frame check_frame(std::string_view bytes) {
  Frame f;
  if (bytes.size() < lf::kRecordHeaderSize) return f;
  uint32_t length, crc;
  std::memcpy(&length, bytes.data(), 4);
  std::memcpy(&crc, bytes.data() + 4, 4);
  if (length == 0) return check_gap_frame(bytes, crc);
  if (length > lf::kMaxRecordBody) {
    f.status = FrameStatus::kBadLength;
    return f;
  }
  f.size = lf::kRecordHeaderSize + length;
  if (bytes.size() < f.size) return f;
  std::string_view ts_and_body = bytes.substr(8, 8 + length);
  if (crc32c(ts_and_body) != crc) {
    f.status = FrameStatus::kBadChecksum;
    return f;
  }
  std::memcpy(&f.ts, bytes.data() + 8, 8);
  f.body = bytes.substr(lf::kRecordHeaderSize, length);
  f.status = FrameStatus::kOk;
  return f;
}

std::string_view frame_status_name(FrameStatus s) {
  switch (s) {
    case FrameStatus::kOk:
      return "ok";
    case FrameStatus::kIncomplete:
      return "incomplete record";
    case FrameStatus::kBadLength:
      return "bad record length";
    case FrameStatus::kBadChecksum:
      return "bad checksum";
    case FrameStatus::kGap:
      return "gap record outside a compacted segment";
  }
  return "?";
}

}  // namespace eda
