#include "core/record_frame.h"

#include <cstring>

#include "core/crc32c.h"
#include "core/log_format.h"

namespace eda {

namespace lf = log_format;

void append_frame(std::string& out, int64_t ts, std::string_view body) {
  char header[lf::kRecordHeaderSize];
  auto length = static_cast<uint32_t>(body.size());
  std::memcpy(header, &length, 4);
  std::memcpy(header + 8, &ts, 8);
  uint32_t crc = crc32c(body, crc32c(std::string_view(header + 8, 8)));
  std::memcpy(header + 4, &crc, 4);
  out.append(header, sizeof header);
  out.append(body);
}

Frame check_frame(std::string_view bytes) {
  Frame f;
  if (bytes.size() < lf::kRecordHeaderSize) return f;
  uint32_t length, crc;
  std::memcpy(&length, bytes.data(), 4);
  std::memcpy(&crc, bytes.data() + 4, 4);
  if (length == 0 || length > lf::kMaxRecordBody) {
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
  }
  return "?";
}

}  // namespace eda
