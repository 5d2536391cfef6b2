#include "core/ulid.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace eda::ulid_test {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool is_crockford(const std::string& id) {
  return id.find_first_not_of(kCrockford) == std::string::npos;
}

TEST_CASE("ULIDs are 26 Crockford base32 characters", "[ulid]") {
  UlidGenerator gen;
  for (int64_t ms : {int64_t{0}, int64_t{1'714'564'800'000}, int64_t{(1LL << 48) - 1}}) {
    std::string id = gen.next(ms);
    INFO(id);
    CHECK(id.size() == 26);
    CHECK(is_crockford(id));
    CHECK(id[0] <= '7');  // 128 bits in 130: the top character carries 3 bits
  }
}

TEST_CASE("ULIDs encode the timestamp in the first 10 characters", "[ulid]") {
  UlidGenerator gen;
  CHECK(gen.next(0).substr(0, 10) == "0000000000");
  CHECK(gen.next(1).substr(0, 10) == "0000000001");
  CHECK(gen.next(32).substr(0, 10) == "0000000010");
  CHECK(gen.next((1LL << 48) - 1).substr(0, 10) == "7ZZZZZZZZZ");
}

TEST_CASE("ulid_time_ms round-trips the timestamp", "[ulid]") {
  UlidGenerator gen;
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{1'469'922'850'259}, int64_t{1'714'564'800'123},
                     int64_t{(1LL << 48) - 1}}) {
    INFO(ms);
    CHECK(ulid_time_ms(gen.next(ms)) == ms);
  }
}

TEST_CASE("ulid_time_ms decodes the spec's example", "[ulid]") {
  CHECK(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAV") == 1'469'922'850'259);
  CHECK(ulid_time_ms("01arz3ndektsv4rrffq69g5fav") == 1'469'922'850'259);
}

TEST_CASE("ulid_time_ms returns -1 for non-ULIDs", "[ulid]") {
  CHECK(ulid_time_ms("") == -1);
  CHECK(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FA") == -1);    // 25 chars
  CHECK(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAVX") == -1);  // 27 chars
  CHECK(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAU") == -1);   // U is not Crockford
  CHECK(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAI") == -1);   // nor I
  CHECK(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FA-") == -1);
  CHECK(ulid_time_ms("81ARZ3NDEKTSV4RRFFQ69G5FAV") == -1);  // overflows 128 bits
}

TEST_CASE("ULIDs strictly increase within one millisecond", "[ulid]") {
  UlidGenerator gen;
  constexpr int64_t kMs = 1'714'564'800'000;
  std::string previous = gen.next(kMs);
  for (int i = 0; i < 10'000; ++i) {
    std::string id = gen.next(kMs);
    INFO(previous << " then " << id);
    REQUIRE(id > previous);
    REQUIRE(ulid_time_ms(id) == kMs);
    previous = id;
  }
}

TEST_CASE("ULIDs keep increasing when the clock steps back", "[ulid]") {
  UlidGenerator gen;
  std::string first = gen.next(2'000);
  std::string second = gen.next(1'000);
  CHECK(second > first);
  CHECK(ulid_time_ms(second) == 2'000);
  std::string third = gen.next(3'000);
  CHECK(third > second);
  CHECK(ulid_time_ms(third) == 3'000);
}

TEST_CASE("ULIDs sort by time across milliseconds", "[ulid]") {
  UlidGenerator gen;
  std::string previous;
  for (int64_t ms = 1'000; ms < 1'100; ++ms) {
    std::string id = gen.next(ms);
    REQUIRE(id > previous);
    previous = id;
  }
}

TEST_CASE("separate generators pick different random parts", "[ulid]") {
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(UlidGenerator().next(42));
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 100);
  // Every character of the 80 random bits varies: none is stuck at one value.
  for (size_t pos = 10; pos < 26; ++pos) {
    std::set<char> seen;
    for (const std::string& id : ids) seen.insert(id[pos]);
    INFO("position " << pos);
    CHECK(seen.size() > 1);
  }
}

}  // namespace
}  // namespace eda::ulid_test
