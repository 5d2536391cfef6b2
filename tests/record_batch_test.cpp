#include "core/record_batch.h"

#include <catch2/catch.hpp>
#include <string>

#include "core/envelope_codec.h"
#include "core/record_frame.h"

namespace eda::record_batch_test {
namespace {

Envelope batch_message(uint64_t offset) {
  Envelope e;
  e.id = "id-" + std::to_string(offset);
  e.topic = "orders";
  e.key = "k" + std::to_string(offset % 3);
  e.headers = {{"region", std::string("eu")}, {"n", int64_t(offset)}};
  e.ts = 1000 + int64_t(offset);
  e.payload = std::string(10 + offset, 'x');
  e.offset = offset;
  return e;
}

TEST_CASE("record batch: a disk log's batch is frames that check, back to back", "[record_batch]") {
  RecordBatch batch;
  for (uint64_t o = 5; o < 9; ++o) batch.add(batch_message(o));
  REQUIRE(batch.entries().size() == 4);
  std::string_view rest = batch.data();
  for (size_t i = 0; i < 4; ++i) {
    const RecordBatch::Entry& e = batch.entries()[i];
    CHECK(e.offset == 5 + i);
    CHECK(e.ts == int64_t(1005 + i));
    CHECK(e.position == batch.data().size() - rest.size());
    Frame f = check_frame(rest);
    REQUIRE(f.status == FrameStatus::kOk);
    CHECK(f.size == e.size);
    CHECK(f.ts == e.ts);
    CHECK(f.body == batch.body(i));
    CHECK(decode_envelope(f.body).value() == batch_message(5 + i));
    rest.remove_prefix(f.size);
  }
  CHECK(rest.empty());
}

TEST_CASE("record batch: a memory log's batch holds the same bodies, unchecksummed",
          "[record_batch]") {
  RecordBatch disk;
  RecordBatch memory(RecordBatch::Reader::kMemoryLog);
  for (uint64_t o = 0; o < 3; ++o) {
    disk.add(batch_message(o));
    memory.add(batch_message(o));
  }
  REQUIRE(memory.entries().size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(memory.body(i) == disk.body(i));
    CHECK(memory.entries()[i].offset == disk.entries()[i].offset);
    CHECK(memory.entries()[i].ts == disk.entries()[i].ts);
  }
  // No CRC was computed: the frame header is not a valid frame.
  CHECK(check_frame(memory.data()).status != FrameStatus::kOk);
}

TEST_CASE("record batch: clear starts the next batch at position 0", "[record_batch]") {
  RecordBatch batch;
  batch.add(batch_message(1));
  batch.clear();
  CHECK(batch.empty());
  CHECK(batch.data().empty());
  batch.add(batch_message(2));
  REQUIRE(batch.entries().size() == 1);
  CHECK(batch.entries()[0].position == 0);
  CHECK(decode_envelope(batch.body(0)).value() == batch_message(2));
}

}  // namespace
}  // namespace eda::record_batch_test
