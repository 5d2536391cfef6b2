#include "core/message_input.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/envelope_codec.h"
#include "core/envelope_json.h"
#include "tests/envelope_copies.h"

namespace eda::message_input_test {
namespace {

constexpr size_t kLarge = 1u << 20;

std::vector<std::string> payloads(const std::vector<Envelope>& out) {
  std::vector<std::string> p;
  for (const Envelope& e : out) p.push_back(e.payload);
  return p;
}

// Feeds `input` in chunks of `chunk` bytes, draining after each, then drains at end.
std::vector<Envelope> read_all(MessageInput& in, std::string_view input, size_t chunk) {
  std::vector<Envelope> out;
  for (size_t i = 0; i < input.size(); i += chunk) {
    in.feed(input.substr(i, chunk));
    Status s = drain_copies(in, false, out);
    if (!s.ok()) FAIL("unexpected error: " << s.error().message);
  }
  Status s = drain_copies(in, true, out);
  if (!s.ok()) FAIL("unexpected error: " << s.error().message);
  return out;
}

std::vector<std::string> read_lines(std::string_view input, char delimiter = '\n',
                                    size_t chunk = kLarge) {
  MessageInput in(InputFraming::kDelimited, delimiter, kLarge);
  return payloads(read_all(in, input, chunk == 0 ? 1 : chunk));
}

using Lines = std::vector<std::string>;

TEST_CASE("message input: one message per line", "[message_input]") {
  CHECK(read_lines("a\nb\nc\n") == Lines{"a", "b", "c"});
  CHECK(read_lines("only\n") == Lines{"only"});
  CHECK(read_lines("with spaces and\ttabs\n") == Lines{"with spaces and\ttabs"});
}

TEST_CASE("message input: a last record without a delimiter is a message", "[message_input]") {
  CHECK(read_lines("a\nb") == Lines{"a", "b"});
  CHECK(read_lines("single") == Lines{"single"});
}

TEST_CASE("message input: a trailing delimiter makes no empty extra message", "[message_input]") {
  CHECK(read_lines("a\n") == Lines{"a"});
  CHECK(read_lines("") == Lines{});
  CHECK(read_lines("\n") == Lines{""});
}

TEST_CASE("message input: empty records in the middle are empty messages", "[message_input]") {
  CHECK(read_lines("a\n\nb\n") == Lines{"a", "", "b"});
  CHECK(read_lines("\na\n") == Lines{"", "a"});
  CHECK(read_lines("a\n\n\n") == Lines{"a", "", ""});
  CHECK(read_lines("\n\n") == Lines{"", ""});
}

TEST_CASE("message input: a partial record waits for its delimiter", "[message_input]") {
  MessageInput in(InputFraming::kDelimited, '\n', kLarge);
  std::vector<Envelope> out;
  in.feed("first\nsec");
  REQUIRE(drain_copies(in, false, out).ok());
  CHECK(payloads(out) == Lines{"first"});
  in.feed("ond");
  REQUIRE(drain_copies(in, false, out).ok());
  CHECK(payloads(out) == Lines{"first"});
  in.feed("\nthird");
  REQUIRE(drain_copies(in, false, out).ok());
  CHECK(payloads(out) == Lines{"first", "second"});
  REQUIRE(drain_copies(in, true, out).ok());
  CHECK(payloads(out) == Lines{"first", "second", "third"});
  CHECK(in.records() == 3);
}

TEST_CASE("message input: views point into the input until the next feed or drain",
          "[message_input]") {
  MessageInput in(InputFraming::kDelimited, '\n', kLarge);
  std::vector<EnvelopeView> views;
  in.feed("first\nsecond\nthi");
  REQUIRE(in.drain(false, views).ok());
  in.feed("rd\n");  // would move the buffer if drain had kept only the rest
  views.clear();
  REQUIRE(in.drain(false, views).ok());
  REQUIRE(views.size() == 1);
  CHECK(views[0].payload == "third");
  const std::string big(100000, 'x');  // a record that makes the buffer grow
  in.feed(big + "\nlast");
  views.clear();
  REQUIRE(in.drain(true, views).ok());
  REQUIRE(views.size() == 2);
  CHECK(views[0].payload == big);
  CHECK(views[1].payload == "last");
}

TEST_CASE("message input: JSON lines are viewed after they are all decoded", "[message_input]") {
  MessageInput in(InputFraming::kJsonLines, '\n', kLarge);
  std::string input;
  for (int i = 0; i < 40; ++i)  // enough to make the decoded list grow and move
    input += fmt::format(R"({{"id":"i{}","key":"k{}","headers":{{"n":{}}},"payload":"p{}"}})", i, i,
                         i, i) +
             "\n";
  in.feed(input);
  std::vector<EnvelopeView> views;
  REQUIRE(in.drain(true, views).ok());
  REQUIRE(views.size() == 40);
  for (int i = 0; i < 40; ++i) {
    INFO(i);
    CHECK(views[i].id == fmt::format("i{}", i));
    CHECK(*views[i].key == fmt::format("k{}", i));
    CHECK(views[i].payload == fmt::format("p{}", i));
    REQUIRE(views[i].headers.size() == 1);
    CHECK(views[i].headers[0].value.i == i);
  }
}

TEST_CASE("message input: data fed in many small chunks", "[message_input]") {
  const std::string input = "alpha\nbeta\n\ngamma delta\nlast";
  const Lines expected = {"alpha", "beta", "", "gamma delta", "last"};
  for (size_t chunk = 1; chunk <= input.size(); ++chunk) {
    INFO("chunk size " << chunk);
    CHECK(read_lines(input, '\n', chunk) == expected);
  }
}

TEST_CASE("message input: a split at every position, around every delimiter", "[message_input]") {
  const std::string input = "ab\ncd\n\nef\n";
  const Lines expected = {"ab", "cd", "", "ef"};
  for (size_t split = 0; split <= input.size(); ++split) {
    INFO("split at " << split);
    MessageInput in(InputFraming::kDelimited, '\n', kLarge);
    std::vector<Envelope> out;
    in.feed(std::string_view(input).substr(0, split));
    REQUIRE(drain_copies(in, false, out).ok());
    in.feed(std::string_view(input).substr(split));
    REQUIRE(drain_copies(in, false, out).ok());
    REQUIRE(drain_copies(in, true, out).ok());
    CHECK(payloads(out) == expected);
  }
}

TEST_CASE("message input: other delimiters", "[message_input]") {
  CHECK(read_lines("a,b,,c", ',') == Lines{"a", "b", "", "c"});
  CHECK(read_lines("a\nb,c\n", ',') == Lines{"a\nb", "c\n"});
  CHECK(read_lines("x;y;", ';', 1) == Lines{"x", "y"});
}

TEST_CASE("message input: NUL delimiter", "[message_input]") {
  const std::string input("one\0two\nlines\0\0three", 20);
  const Lines expected = {"one", "two\nlines", "", "three"};
  CHECK(read_lines(input, '\0') == expected);
  CHECK(read_lines(input, '\0', 1) == expected);
  CHECK(read_lines(input, '\0', 3) == expected);
}

TEST_CASE("message input: binary bytes pass through delimited records", "[message_input]") {
  const std::string input("\xff\xfe\x01\n\x80\x00z\n", 8);
  CHECK(read_lines(input) == Lines{"\xff\xfe\x01", std::string("\x80\0z", 3)});
}

TEST_CASE("message input: whole stream is one message", "[message_input]") {
  const std::string input = "line one\nline two\n\nend\n";
  for (size_t chunk : {size_t{1}, size_t{5}, kLarge}) {
    INFO("chunk " << chunk);
    MessageInput in(InputFraming::kWhole, '\n', kLarge);
    std::vector<Envelope> out;
    for (size_t i = 0; i < input.size(); i += chunk) {
      in.feed(std::string_view(input).substr(i, chunk));
      REQUIRE(drain_copies(in, false, out).ok());
      CHECK(out.empty());  // nothing before the end
    }
    REQUIRE(drain_copies(in, true, out).ok());
    CHECK(payloads(out) == Lines{input});
  }
}

TEST_CASE("message input: oversize delimited record is an error naming it", "[message_input]") {
  MessageInput in(InputFraming::kDelimited, '\n', 5);
  std::vector<Envelope> out;
  in.feed("abc\n12345\ntoolong\nx\n");
  Status s = drain_copies(in, true, out);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("message 3"));
  CHECK_THAT(s.error().message, Catch::Contains("7 bytes"));
  CHECK_THAT(s.error().message, Catch::Contains("limit of 5 bytes"));
  // Messages before the bad one are still output; exactly the limit is fine.
  CHECK(payloads(out) == Lines{"abc", "12345"});
}

TEST_CASE("message input: oversize record is caught before its delimiter arrives",
          "[message_input]") {
  MessageInput in(InputFraming::kDelimited, '\n', 8);
  std::vector<Envelope> out;
  in.feed("ok\n");
  REQUIRE(drain_copies(in, false, out).ok());
  Status s = ok_status();
  // Feeding byte by byte, the error must come once the partial record exceeds
  // the limit, without waiting for a delimiter that may never come.
  size_t fed = 0;
  for (; fed < 100 && s.ok(); ++fed) {
    in.feed("x");
    s = drain_copies(in, false, out);
  }
  REQUIRE_FALSE(s.ok());
  CHECK(fed == 9);
  CHECK_THAT(s.error().message, Catch::Contains("message 2"));
  CHECK(payloads(out) == Lines{"ok"});
}

TEST_CASE("message input: oversize last record without delimiter", "[message_input]") {
  MessageInput in(InputFraming::kDelimited, '\n', 4);
  std::vector<Envelope> out;
  in.feed("a\nbcdef");
  // The partial record is already over the limit.
  Status s = drain_copies(in, true, out);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("message 2"));
  CHECK(payloads(out) == Lines{"a"});
}

TEST_CASE("message input: oversize whole stream", "[message_input]") {
  MessageInput in(InputFraming::kWhole, '\n', 10);
  std::vector<Envelope> out;
  in.feed("0123456789");
  REQUIRE(drain_copies(in, false, out).ok());
  in.feed("A");
  Status s = drain_copies(in, false, out);
  if (s.ok()) s = drain_copies(in, true, out);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("message 1"));
  CHECK(out.empty());
}

TEST_CASE("message input: a lower limit learned later applies to later records",
          "[message_input]") {
  MessageInput in(InputFraming::kDelimited, '\n', kLarge);
  std::vector<Envelope> out;
  in.feed("long line\n");
  REQUIRE(drain_copies(in, false, out).ok());
  in.set_max_message_bytes(4);
  in.feed("ok\nlong again\n");
  Status s = drain_copies(in, false, out);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("message 3"));
  CHECK(payloads(out) == Lines{"long line", "ok"});
}

TEST_CASE("message input: JSON lines give envelopes with id, key and headers", "[message_input]") {
  const std::string input = R"({"id":"a1","key":"k","headers":{"n":5,"s":"x"},"payload":"one"})"
                            "\n"
                            R"({"payload_base64":"/w=="})"
                            "\n"
                            R"({"payload":"three"})";
  for (size_t chunk : {size_t{1}, size_t{7}, kLarge}) {
    INFO("chunk " << chunk);
    MessageInput in(InputFraming::kJsonLines, '\0', kLarge);  // delimiter is ignored
    auto out = read_all(in, input, chunk);
    REQUIRE(out.size() == 3);
    CHECK(out[0].id == "a1");
    CHECK(out[0].key == std::optional<std::string>("k"));
    CHECK(out[0].headers == Headers{{"n", int64_t{5}}, {"s", std::string("x")}});
    CHECK(out[0].payload == "one");
    CHECK(out[1].payload == "\xff");
    CHECK(out[2].payload == "three");
  }
}

TEST_CASE("message input: JSON lines round trip what the JSON output writes", "[message_input]") {
  std::vector<Envelope> written;
  std::string input;
  for (int i = 0; i < 4; ++i) {
    Envelope e;
    e.id = "id" + std::to_string(i);
    e.topic = "t";
    e.ts = 1000 + i;
    e.offset = static_cast<uint64_t>(i);
    e.payload = i % 2 ? std::string("bin\xff\x00", 5) : "text " + std::to_string(i);
    if (i == 2) e.key = "key";
    e.headers = {{"i", int64_t{i}}};
    append_envelope_json(e, input);
    input += '\n';
    written.push_back(e);
  }
  MessageInput in(InputFraming::kJsonLines, '\n', kLarge);
  CHECK(read_all(in, input, 3) == written);
}

TEST_CASE("message input: a bad JSON line is an error naming the line", "[message_input]") {
  MessageInput in(InputFraming::kJsonLines, '\n', kLarge);
  std::vector<Envelope> out;
  in.feed("{\"payload\":\"a\"}\n{\"payload\":\"b\"}\n{not json}\n{\"payload\":\"d\"}\n");
  Status s = drain_copies(in, true, out);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("line 3"));
  CHECK(payloads(out) == Lines{"a", "b"});
}

std::vector<Envelope> sample_envelopes() {
  std::vector<Envelope> v;
  for (int i = 0; i < 3; ++i) {
    Envelope e;
    e.id = "01HXZ5M8Q3J6W7Y8Z9A0B1C2D" + std::to_string(i);
    e.topic = "orders.eu";
    if (i != 1) e.key = "k" + std::to_string(i);
    e.headers = {{"n", int64_t{i}}, {"f", 0.5}, {"b", i == 0}, {"s", std::string("v")}};
    e.ts = 1'714'564'800'000 + i;
    e.payload = std::string("p\0\xff", 3) + std::to_string(i);
    e.offset = i == 2 ? kNoOffset : static_cast<uint64_t>(i);
    v.push_back(e);
  }
  return v;
}

std::string msgpack_stream(const std::vector<Envelope>& v) {
  std::string s;
  for (const Envelope& e : v) s += encode_envelope(e);
  return s;
}

TEST_CASE("message input: msgpack stream fed at once", "[message_input]") {
  auto expected = sample_envelopes();
  MessageInput in(InputFraming::kMsgpack, '\n', kLarge);
  CHECK(read_all(in, msgpack_stream(expected), kLarge) == expected);
  CHECK(in.records() == 3);
}

TEST_CASE("message input: msgpack stream split at every byte position", "[message_input]") {
  auto expected = sample_envelopes();
  const std::string stream = msgpack_stream(expected);
  for (size_t split = 0; split <= stream.size(); ++split) {
    INFO("split at " << split << " of " << stream.size());
    MessageInput in(InputFraming::kMsgpack, '\n', kLarge);
    std::vector<Envelope> out;
    in.feed(std::string_view(stream).substr(0, split));
    REQUIRE(drain_copies(in, false, out).ok());
    in.feed(std::string_view(stream).substr(split));
    REQUIRE(drain_copies(in, true, out).ok());
    CHECK(out == expected);
  }
}

TEST_CASE("message input: msgpack stream fed byte by byte", "[message_input]") {
  auto expected = sample_envelopes();
  MessageInput in(InputFraming::kMsgpack, '\n', kLarge);
  CHECK(read_all(in, msgpack_stream(expected), 1) == expected);
}

TEST_CASE("message input: msgpack stream ending inside a record", "[message_input]") {
  auto envelopes = sample_envelopes();
  std::string stream = msgpack_stream(envelopes);
  stream.pop_back();
  MessageInput in(InputFraming::kMsgpack, '\n', kLarge);
  std::vector<Envelope> out;
  in.feed(stream);
  REQUIRE(drain_copies(in, false, out).ok());
  Status s = drain_copies(in, true, out);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("record 3"));
  CHECK(out.size() == 2);
}

TEST_CASE("message input: a msgpack record that is not an envelope", "[message_input]") {
  auto envelopes = sample_envelopes();
  std::string stream = encode_envelope(envelopes[0]) + encode_envelope(envelopes[1]);
  stream += "\x93\x01\x02\x03";  // [1, 2, 3]
  stream += encode_envelope(envelopes[2]);
  MessageInput in(InputFraming::kMsgpack, '\n', kLarge);
  std::vector<Envelope> out;
  in.feed(stream);
  Status s = drain_copies(in, true, out);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("record 3"));
  CHECK(out == std::vector<Envelope>{envelopes[0], envelopes[1]});
}

TEST_CASE("message input: bytes that are not msgpack", "[message_input]") {
  auto envelopes = sample_envelopes();
  MessageInput in(InputFraming::kMsgpack, '\n', kLarge);
  std::vector<Envelope> out;
  in.feed(encode_envelope(envelopes[0]) + "\xc1 garbage");
  Status s = ok_status();
  REQUIRE_NOTHROW(s = drain_copies(in, true, out));
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("record 2"));
  CHECK(out.size() == 1);
}

TEST_CASE("message input: an oversize msgpack record is an error naming it", "[message_input]") {
  auto envelopes = sample_envelopes();
  envelopes[1].payload = std::string(1000, 'x');  // ten times the limit below
  const std::string stream = msgpack_stream(envelopes);
  // The outcome must not depend on how the input happened to be chunked.
  for (size_t chunk : {kLarge, size_t{64}, size_t{1}}) {
    INFO("chunk " << chunk);
    MessageInput in(InputFraming::kMsgpack, '\n', 100);
    std::vector<Envelope> out;
    Status s = ok_status();
    for (size_t i = 0; i < stream.size() && s.ok(); i += chunk) {
      in.feed(std::string_view(stream).substr(i, chunk));
      s = drain_copies(in, false, out);
    }
    if (s.ok()) s = drain_copies(in, true, out);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("record 2"));
    REQUIRE(out.size() == 1);
    CHECK(out[0] == envelopes[0]);
  }
}

}  // namespace
}  // namespace eda::message_input_test
