// A batch of records framed for storage: one contiguous buffer that a disk
// log writes with one call, plus where each record sits in it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_view.h"

namespace eda {

class RecordBatch {
 public:
  struct Entry {
    uint64_t offset;
    int64_t ts;
    size_t position;  // of the frame within data()
    size_t size;      // of the frame
  };

  // Who reads the frames: a disk log writes them as they are, so each
  // carries its CRC; a memory log keeps only the bodies, so the CRC (a few
  // percent of a memory broker's publish path) is left out and the frame
  // header stays unset.
  enum class Reader { kDiskLog, kMemoryLog };
  explicit RecordBatch(Reader reader = Reader::kDiskLog) : reader_(reader) {}

  // Encodes `v` (its offset must be set) and frames it.
  void add(const EnvelopeView& v);
  void add(const Envelope& e) {
    std::vector<HeaderField> headers;
    add(view_envelope(e, headers));
  }
  void clear();

  std::string_view data() const { return data_; }
  std::span<const Entry> entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  // The msgpack body of the i-th record.
  std::string_view body(size_t i) const;

 private:
  Reader reader_;
  std::string data_;
  std::vector<Entry> entries_;
};

}  // namespace eda
