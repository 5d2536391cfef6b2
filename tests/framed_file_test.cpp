// Files of one framed msgpack array (core/framed_file.h).
#include "core/framed_file.h"

#include <catch2/catch.hpp>
#include <string>

#include "core/record_frame.h"

namespace eda::framed_file_test {

std::string frame(std::string_view body) {
  std::string out;
  append_frame(out, 0, body);
  return out;
}

std::string framed_array(std::initializer_list<uint64_t> values) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_array(static_cast<uint32_t>(values.size()));
  for (uint64_t v : values) pk.pack(v);
  return frame(std::string_view(buffer.data(), buffer.size()));
}

TEST_CASE("framed file: a framed array file unpacks and says what is wrong with it",
          "[framed_file]") {
  auto good = unpack_framed_array(framed_array({1, 2, 3}), 3);
  REQUIRE(good);
  CHECK(good->get().via.array.ptr[2].via.u64 == 3);

  auto message_of = [](const std::string& bytes, uint32_t fields) {
    auto r = unpack_framed_array(bytes, fields);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::kCorruption);
    return r.error().message;
  };
  CHECK(message_of(framed_array({1, 2}), 3) == "expected an array of 3 fields");
  CHECK(message_of(framed_array({1, 2, 3}) + "xy", 3) == "2 bytes after its record");
  std::string flipped = framed_array({1, 2, 3});
  flipped.back() ^= 0x01;
  CHECK(message_of(flipped, 3) == "bad checksum");
  CHECK(message_of(flipped.substr(0, 5), 3) == "incomplete record");
  // A valid frame whose body is one msgpack value and then more bytes.
  CHECK(message_of(frame(std::string("\x01\x02", 2)), 1) == "bytes after its msgpack value");
}

}  // namespace eda::framed_file_test
