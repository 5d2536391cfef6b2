#include "core/record_filter.h"

#include <catch2/catch.hpp>
#include <string>

#include "core/envelope_codec.h"

namespace eda::record_filter_test {
namespace {

std::string encoded(const std::string& payload, int64_t n) {
  Envelope e;
  e.id = "01HXZ5M8Q3J6W7Y8Z9A0B1C2D3";
  e.topic = "t";
  e.headers = {{"n", n}};
  e.ts = 1;
  e.payload = payload;
  return encode_envelope(e);
}

constexpr uint64_t log_a = 1, log_b = 2;

}  // namespace

TEST_CASE("record views: a record seen again is the same view, not decoded again",
          "[record_filter]") {
  RecordViews views;
  std::string body = encoded("hello", 7);
  const EnvelopeView* first = views.view(log_a, {3, 1, body});
  REQUIRE(first != nullptr);
  CHECK(first->payload == "hello");
  CHECK(first->offset == 3);
  const char* held = first->payload.data();
  CHECK(held != body.data() + body.find("hello"));  // borrows the views' own copy
  body.assign(body.size(), 'x');                    // so the reader's buffer may change
  std::string again = encoded("hello", 7);
  const EnvelopeView* second = views.view(log_a, {3, 1, again});
  REQUIRE(second != nullptr);
  CHECK(second->payload.data() == held);
  CHECK(second->headers[0].value.i == 7);
}

TEST_CASE("record views: other logs or offsets get their own view", "[record_filter]") {
  RecordViews views;
  std::string a = encoded("from a", 1), b = encoded("from b", 2), changed = encoded("new", 3);
  for (uint64_t offset = 0; offset < 2 * RecordViews::kSlots; offset += 97) {
    CHECK(views.view(log_a, {offset, 1, a})->payload == "from a");
    CHECK(views.view(log_b, {offset, 1, b})->payload == "from b");
    CHECK(views.view(log_a, {offset, 1, a})->headers[0].value.i == 1);
  }
  CHECK(views.view(3, {0, 1, changed})->payload == "new");
  CHECK(views.view(log_a, {0, 1, a})->payload == "from a");
  CHECK(views.view(log_a, {1, 1, a})->offset == 1);
}

TEST_CASE("record views: large and malformed records", "[record_filter]") {
  RecordViews views;
  std::string big = encoded(std::string(RecordViews::kMaxCachedBytes, 'p'), 5);
  const EnvelopeView* v = views.view(log_a, {9, 1, big});
  REQUIRE(v != nullptr);
  CHECK(v->payload.size() == RecordViews::kMaxCachedBytes);
  CHECK(v->offset == 9);
  CHECK(views.view(log_a, {10, 1, "not msgpack \xc1"}) == nullptr);
  CHECK(views.view(log_a, {10, 1, "not msgpack \xc1"}) == nullptr);  // remembered as bad
  CHECK(views.view(log_a, {11, 1, big.substr(0, 20)}) == nullptr);
}

TEST_CASE("record views: filters that share them each get their own verdict", "[record_filter]") {
  RecordViews views;
  auto small = Filter::parse("n < 5 AND sys.offset >= 2");
  auto large = Filter::parse("n >= 5");
  REQUIRE(small.ok());
  REQUIRE(large.ok());
  RecordFilter accepts_small = record_filter(*small, views, log_a);
  RecordFilter accepts_large = record_filter(*large, views, log_a);
  for (int64_t n = 0; n < 10; ++n) {
    std::string body = encoded("p", n);
    StoredRecord r{static_cast<uint64_t>(n), 1, body};
    CHECK(accepts_small(r) == (n < 5 && n >= 2));
    CHECK(accepts_large(r) == (n >= 5));
  }
  CHECK_FALSE(accepts_small({1, 1, "\xc1"}));
}

}  // namespace eda::record_filter_test
