#include "core/output_template.h"

#include <catch2/catch.hpp>
#include <string>

namespace eda::output_template_test {
namespace {

Envelope sample() {
  Envelope e;
  e.id = "01HXZ5M8Q3J6W7Y8Z9A0B1C2D3";
  e.topic = "orders.eu";
  e.key = "cust-7";
  e.headers = {{"trace", std::string("abc")}, {"n", int64_t{5}}, {"ok", true}, {"f", 1.5}};
  e.ts = 1'714'564'800'123;
  e.payload = "{\"amount\":10}";
  e.offset = 42;
  return e;
}

std::string render(std::string_view text, const Envelope& e = sample()) {
  INFO("template: " << text);
  auto t = OutputTemplate::compile(text);
  if (!t.ok()) FAIL("unexpected error: " << t.error().message);
  std::string out;
  std::vector<HeaderField> headers;
  t->render(view_envelope(e, headers), out);
  return out;
}

Error compile_error(std::string_view text) {
  INFO("template: " << text);
  auto t = OutputTemplate::compile(text);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().kind == ErrorKind::kInvalidArgument);
  return t.error();
}

TEST_CASE("output template: each token renders its field", "[output_template]") {
  CHECK(render("%t") == "orders.eu");
  CHECK(render("%o") == "42");
  CHECK(render("%k") == "cust-7");
  CHECK(render("%s") == "{\"amount\":10}");
  CHECK(render("%T") == "1714564800123");
  CHECK(render("%i") == "01HXZ5M8Q3J6W7Y8Z9A0B1C2D3");
  CHECK(render("%h") == "trace=abc,n=5,ok=true,f=1.5");
  CHECK(render("%{trace}") == "abc");
  CHECK(render("%{n}") == "5");
  CHECK(render("%{ok}") == "true");
  CHECK(render("%%") == "%");
}

TEST_CASE("output template: %p is the Kafka partition, empty elsewhere", "[output_template]") {
  CHECK(render("[%p]") == "[]");
  Envelope e = sample();
  e.partition = 2;
  CHECK(render("%p:%o", e) == "2:42");
}

TEST_CASE("output template: literals and tokens combine in order", "[output_template]") {
  CHECK(render("%t [%o] key=%k: %s") == "orders.eu [42] key=cust-7: {\"amount\":10}");
  CHECK(render("<%t%o%k>") == "<orders.eu42cust-7>");
  CHECK(render("100%% of %t") == "100% of orders.eu");
  CHECK(render("plain text") == "plain text");
  CHECK(render("%{trace}/%{n}") == "abc/5");
}

TEST_CASE("output template: escapes for newline, tab and backslash", "[output_template]") {
  CHECK(render("%t\\n") == "orders.eu\n");
  CHECK(render("a\\tb") == "a\tb");
  CHECK(render("a\\\\b") == "a\\b");
  CHECK(render("\\n\\n") == "\n\n");
  CHECK(render("%s\\t%o\\n") == "{\"amount\":10}\t42\n");
}

TEST_CASE("output template: adds no newline of its own", "[output_template]") {
  CHECK(render("%s") == sample().payload);
  CHECK(render("") == "");
}

TEST_CASE("output template: render appends and can be repeated", "[output_template]") {
  auto t = OutputTemplate::compile("%o:%s\\n");
  REQUIRE(t.ok());
  std::string out = "start\n";
  Envelope e = sample();
  std::vector<HeaderField> headers;
  t->render(view_envelope(e, headers), out);
  e.offset = 43;
  e.payload = "second";
  t->render(view_envelope(e, headers), out);
  CHECK(out == "start\n42:{\"amount\":10}\n43:second\n");
}

TEST_CASE("output template: missing key and missing header render empty", "[output_template]") {
  Envelope e = sample();
  e.key.reset();
  CHECK(render("[%k]", e) == "[]");
  CHECK(render("[%{nope}]", e) == "[]");
  e.headers.clear();
  CHECK(render("[%h]", e) == "[]");
}

TEST_CASE("output template: %{name} shows the first of repeated headers", "[output_template]") {
  Envelope e = sample();
  e.headers = {{"a", std::string("1")}, {"a", std::string("2")}};
  CHECK(render("%{a}", e) == "1");
  CHECK(render("%h", e) == "a=1,a=2");
}

TEST_CASE("output template: header names may hold any characters but '}'", "[output_template]") {
  Envelope e = sample();
  e.headers = {{"x-trace.id", std::string("t1")}, {"with space", int64_t{-3}}};
  CHECK(render("%{x-trace.id}", e) == "t1");
  CHECK(render("%{with space}", e) == "-3");
  CHECK(render("%{%t}", e) == "");  // a header named "%t", not the topic
}

TEST_CASE("output template: binary payload is written verbatim", "[output_template]") {
  Envelope e = sample();
  e.payload = std::string("\0\xff\n%s\\n", 7);
  CHECK(render("%s", e) == e.payload);
  CHECK(render("<%s>", e) == "<" + e.payload + ">");
}

TEST_CASE("output template: rejects unknown tokens", "[output_template]") {
  for (const char* text : {"%x", "%S", "abc %q def", "%t %z"}) {
    Error e = compile_error(text);
    CHECK_THAT(e.message, Catch::Contains("unknown token"));
  }
  CHECK_THAT(compile_error("%x").message, Catch::Contains("%x"));
}

TEST_CASE("output template: rejects a lone percent at the end", "[output_template]") {
  CHECK_THAT(compile_error("%").message, Catch::Contains("lone '%'"));
  CHECK_THAT(compile_error("%t %").message, Catch::Contains("lone '%'"));
}

TEST_CASE("output template: rejects an unterminated %{", "[output_template]") {
  for (const char* text : {"%{", "%{name", "%t %{trace", "%{a}%{b"}) {
    CHECK_THAT(compile_error(text).message, Catch::Contains("no closing '}'"));
  }
}

}  // namespace
}  // namespace eda::output_template_test
