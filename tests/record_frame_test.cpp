#include "core/record_frame.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>

#include "core/crc32c.h"
#include "core/log_format.h"

namespace eda::record_frame_test {
namespace {

namespace lf = log_format;

std::string frame(int64_t ts, std::string_view body) {
  std::string out;
  append_frame(out, ts, body);
  return out;
}

uint32_t u32_at(const std::string& s, size_t pos) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

int64_t i64_at(const std::string& s, size_t pos) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return static_cast<int64_t>(v);
}

void put_u32(std::string& s, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[pos + i] = static_cast<char>(v >> (8 * i));
}

TEST_CASE("record frame: round trip", "[frame]") {
  std::string body("a\0b\xff msgpack", 12);
  std::string bytes = frame(1'714'564'800'123, body);
  Frame f = check_frame(bytes);
  REQUIRE(f.status == FrameStatus::kOk);
  CHECK(f.ts == 1'714'564'800'123);
  CHECK(f.body == body);
  CHECK(f.size == lf::kRecordHeaderSize + body.size());
  CHECK(f.size == bytes.size());
}

TEST_CASE("record frame: negative and extreme timestamps round trip", "[frame]") {
  for (int64_t ts : {int64_t{-1}, INT64_MIN, INT64_MAX, int64_t{0}}) {
    Frame f = check_frame(frame(ts, "x"));
    REQUIRE(f.status == FrameStatus::kOk);
    CHECK(f.ts == ts);
  }
}

TEST_CASE("record frame: layout is length, CRC-32C of ts and body, ts, body", "[frame]") {
  std::string body = "hello";
  int64_t ts = 0x0102030405060708;
  std::string bytes = frame(ts, body);
  REQUIRE(bytes.size() == 16 + body.size());
  CHECK(u32_at(bytes, 0) == body.size());
  CHECK(i64_at(bytes, 8) == ts);
  CHECK(bytes.substr(16) == body);
  CHECK(u32_at(bytes, 4) == crc32c(bytes.substr(8)));
  // Little-endian: the lowest byte of ts comes first.
  CHECK(static_cast<uint8_t>(bytes[8]) == 0x08);
}

TEST_CASE("record frame: frames back to back are read one at a time", "[frame]") {
  std::string bytes = frame(1, "first") + frame(2, "second record");
  Frame a = check_frame(bytes);
  REQUIRE(a.status == FrameStatus::kOk);
  CHECK(a.body == "first");
  Frame b = check_frame(std::string_view(bytes).substr(a.size));
  REQUIRE(b.status == FrameStatus::kOk);
  CHECK(b.ts == 2);
  CHECK(b.body == "second record");
  CHECK(a.size + b.size == bytes.size());
}

TEST_CASE("record frame: empty input is incomplete", "[frame]") {
  Frame f = check_frame("");
  CHECK(f.status == FrameStatus::kIncomplete);
  CHECK(f.size == 0);
}

TEST_CASE("record frame: a torn header is incomplete", "[frame]") {
  std::string bytes = frame(7, "body");
  for (size_t n = 1; n < lf::kRecordHeaderSize; ++n) {
    INFO(n << " bytes");
    Frame f = check_frame(std::string_view(bytes).substr(0, n));
    CHECK(f.status == FrameStatus::kIncomplete);
  }
}

TEST_CASE("record frame: a torn body is incomplete and says the full size", "[frame]") {
  std::string bytes = frame(7, std::string(100, 'b'));
  for (size_t n = lf::kRecordHeaderSize; n < bytes.size(); ++n) {
    INFO(n << " bytes");
    Frame f = check_frame(std::string_view(bytes).substr(0, n));
    REQUIRE(f.status == FrameStatus::kIncomplete);
    CHECK(f.size == bytes.size());
  }
}

TEST_CASE("record frame: length 0 is a bad length unless it is a gap frame", "[frame]") {
  std::string bytes = frame(7, "body");
  put_u32(bytes, 0, 0);
  CHECK(check_frame(bytes).status == FrameStatus::kBadLength);
  CHECK(check_frame(std::string(16, '\0')).status == FrameStatus::kBadLength);  // a zeroed tail
}

TEST_CASE("record frame: a gap frame says how many offsets it covers", "[frame]") {
  std::string bytes;
  append_gap_frame(bytes, 1234567);
  REQUIRE(bytes.size() == lf::kRecordHeaderSize);
  CHECK(u32_at(bytes, 0) == 0);
  CHECK(i64_at(bytes, 8) == 1234567);
  Frame f = check_frame(bytes);
  REQUIRE(f.status == FrameStatus::kGap);
  CHECK(f.gap == 1234567);
  CHECK(f.size == lf::kRecordHeaderSize);
  for (size_t i = 4; i < 16; ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    INFO("byte " << i);
    CHECK(check_frame(bad).status == FrameStatus::kBadLength);
  }
  std::string empty_gap;
  append_gap_frame(empty_gap, 0);
  CHECK(check_frame(empty_gap).status == FrameStatus::kBadLength);
  CHECK(check_frame(std::string_view(bytes).substr(0, 15)).status == FrameStatus::kIncomplete);
}

TEST_CASE("record frame: length over the maximum is a bad length", "[frame]") {
  std::string bytes = frame(7, "body");
  put_u32(bytes, 0, lf::kMaxRecordBody + 1);
  CHECK(check_frame(bytes).status == FrameStatus::kBadLength);
  put_u32(bytes, 0, 0xffffffff);
  CHECK(check_frame(bytes).status == FrameStatus::kBadLength);
}

TEST_CASE("record frame: length at the maximum is not a bad length", "[frame]") {
  std::string bytes = frame(7, "body");
  put_u32(bytes, 0, lf::kMaxRecordBody);
  Frame f = check_frame(bytes);
  CHECK(f.status == FrameStatus::kIncomplete);
  CHECK(f.size == lf::kRecordHeaderSize + lf::kMaxRecordBody);
}

TEST_CASE("record frame: a flipped body byte is a bad checksum", "[frame]") {
  std::string bytes = frame(7, "some body bytes");
  for (size_t i = lf::kRecordHeaderSize; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    INFO("byte " << i);
    CHECK(check_frame(bad).status == FrameStatus::kBadChecksum);
  }
}

TEST_CASE("record frame: a flipped ts byte is a bad checksum", "[frame]") {
  std::string bytes = frame(7, "body");
  for (size_t i = 8; i < 16; ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x80;
    INFO("byte " << i);
    CHECK(check_frame(bad).status == FrameStatus::kBadChecksum);
  }
}

TEST_CASE("record frame: a flipped CRC byte is a bad checksum", "[frame]") {
  std::string bytes = frame(7, "body");
  for (size_t i = 4; i < 8; ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    CHECK(check_frame(bad).status == FrameStatus::kBadChecksum);
  }
}

TEST_CASE("record frame: every status has its own name", "[frame]") {
  std::set<std::string_view> names;
  for (FrameStatus s : {FrameStatus::kOk, FrameStatus::kIncomplete, FrameStatus::kBadLength,
                        FrameStatus::kBadChecksum, FrameStatus::kGap}) {
    CHECK_FALSE(frame_status_name(s).empty());
    CHECK(frame_status_name(s) != "?");
    names.insert(frame_status_name(s));
  }
  CHECK(names.size() == 5);
}

}  // namespace
}  // namespace eda::record_frame_test
