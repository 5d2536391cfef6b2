// Constants of the on-disk log format, shared by writer and readers.
// docs/STORAGE.md describes the format; change both together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace eda::log_format {

inline constexpr std::string_view kMagic{
    "\x89"
    "EDALOG\n",
    8};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kCompactedVersion = 2;  // written by compaction: may hold gap frames
inline constexpr size_t kHeaderSize = 32;         // magic, version u32, base offset u64, reserved
inline constexpr size_t kRecordHeaderSize = 16;   // body length u32, CRC-32C u32, ts i64
inline constexpr uint32_t kMaxRecordBody = 64u << 20;
inline constexpr size_t kIndexInterval = 4096;  // bytes of records between index entries
inline constexpr size_t kIndexEntrySize = 16;   // relative offset u32, position u32, max ts i64
inline constexpr uint32_t kIndexMagic = 0x58444945;        // "EIDX": the index file's trailer
inline constexpr uint64_t kMaxSegmentBytes = 0xffffffffu;  // positions are u32

inline constexpr std::string_view kSegmentSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".idx";
// A compacted segment being written: <base>.log.compacted until renamed over <base>.log.
inline constexpr std::string_view kCompactedSuffix = ".compacted";
inline constexpr std::string_view kLockFile = "LOCK";

}  // namespace eda::log_format
