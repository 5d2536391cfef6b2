// libFuzzer target for the filter language and the envelope view it reads
// (built with -DEDATOOL_FUZZ=ON; scripts/test.sh runs it for a minute).
//
// Input: the first line is a filter expression; the rest is a message.
//   Message as text: lines up to an empty line are fields, the rest is the
//   payload (bytes). A field line is `@key=`, `@id=`, `@topic=`, `@ts=N`,
//   `@offset=N`, a header as `-H` takes it (`name=text`, `name:=5`), or
//   `name#=` and 8 bytes: a float64 header as the wire may carry it (-H
//   refuses NaN and infinities; `pub --msgpack` and the protocol do not).
//   Message as bytes: everything after the first line, viewed as an encoded
//   envelope, as the broker views stored records.
//
// It aborts when
//   - a filter evaluates differently on view_envelope(Envelope) and on
//     EnvelopeViewer over encode_envelope of the same Envelope (or over a
//     copy of a viewed envelope re-encoded);
//   - an envelope that encode_envelope wrote does not view back;
//   - a syntax error's column lies outside the expression, or its message is
//     not the documented three lines;
//   - LikePattern (the first line as a pattern, escape '!') disagrees with a
//     naive matcher on the payload;
// and on anything the sanitizers report. tests/fuzz/corpus/ holds the seeds,
// filter.dict the language's words; tests/fuzz/crashes/ keeps inputs that
// once crashed it (NaN headers compared with integers, before d22eae0), and
// scripts/test.sh runs them before it fuzzes.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_codec.h"
#include "core/envelope_view.h"
#include "core/filter.h"
#include "core/like_pattern.h"

namespace {

using namespace eda;

[[noreturn]] void die(const char* what, std::string_view filter) {
  std::fprintf(stderr, "filter_fuzz: %s\n  filter: %.*s\n", what, static_cast<int>(filter.size()),
               filter.data());
  std::abort();
}

// Splits `text` at the first '\n' (dropped): [before, after].
std::pair<std::string_view, std::string_view> split_line(std::string_view text) {
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos) return {text, {}};
  return {text.substr(0, nl), text.substr(nl + 1)};
}

template <class T>
T number_or_zero(std::string_view text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The message as text (see the top of the file).
Envelope message_from_text(std::string_view text) {
  Envelope e;
  e.id = "01J0000000000000000000FUZZ";
  e.topic = "fuzz.topic";
  while (!text.empty()) {
    auto [line, rest] = split_line(text);
    text = rest;
    if (line.empty()) break;
    if (line.starts_with("@key=")) {
      e.key = std::string(line.substr(5));
    } else if (line.starts_with("@id=")) {
      e.id = line.substr(4);
    } else if (line.starts_with("@topic=")) {
      e.topic = line.substr(7);
    } else if (line.starts_with("@ts=")) {
      e.ts = number_or_zero<int64_t>(line.substr(4));
    } else if (line.starts_with("@offset=")) {
      e.offset = number_or_zero<uint64_t>(line.substr(8));
    } else if (size_t at = line.find("#=");
               at != std::string_view::npos && at > 0 && line.size() == at + 2 + sizeof(double)) {
      double d;  // any float64 the protocol carries, NaN and infinities too
      std::memcpy(&d, line.data() + at + 2, sizeof d);
      e.headers.emplace_back(std::string(line.substr(0, at)), d);
    } else if (auto header = parse_header_arg(line)) {
      e.headers.push_back(std::move(*header));
    }
  }
  e.payload = text;
  return e;
}

// Evaluates `filter` on `e` directly and through its encoding; they must agree.
Truth evaluate_both_ways(const Filter& filter, const Envelope& e) {
  std::vector<HeaderField> headers;
  Truth direct = filter.evaluate(view_envelope(e, headers));
  EnvelopeViewer viewer;
  std::string encoded = encode_envelope(e);
  auto viewed = viewer.view(encoded);
  if (!viewed) die("an encoded envelope does not view back", filter.text());
  if (viewed->headers.size() != e.headers.size() || viewed->payload != e.payload ||
      viewed->key.has_value() != e.key.has_value() || viewed->offset != e.offset)
    die("an envelope viewed from its encoding differs", filter.text());
  if (filter.evaluate(*viewed) != direct)
    die("view_envelope(Envelope) and EnvelopeViewer evaluate differently", filter.text());
  return direct;
}

// The envelope in `bytes` as the broker views a stored record.
void view_raw_bytes(const Filter* filter, std::string_view bytes) {
  EnvelopeViewer viewer;
  auto viewed = viewer.view(bytes);
  if (!viewed || !filter) return;
  Truth raw = filter->evaluate(*viewed);
  Envelope copy = copy_envelope(*viewed);
  if (evaluate_both_ways(*filter, copy) != raw)
    die("a viewed envelope and its copy evaluate differently", filter->text());
}

// Checks a syntax error's column and its documented three-line message.
void check_syntax_error(std::string_view text, const FilterSyntaxError& detail,
                        const std::string& message) {
  size_t characters = 0;
  for (char c : text) characters += (static_cast<uint8_t>(c) & 0xc0) != 0x80;
  if (detail.column < 1 || detail.column > characters + 1)
    die("a syntax error's column is outside the expression", text);
  std::string first = "filter: " + detail.what + " (column " + std::to_string(detail.column) + ")";
  std::string caret = "  " + std::string(detail.column - 1, ' ') + "^";
  if (!message.starts_with(first + "\n  ") || !message.ends_with("\n" + caret) ||
      message.size() != first.size() + 3 + text.size() + 1 + caret.size())
    die("a syntax error's message is not its three lines", text);
}

// LIKE by brute force: the positions each piece can end at, character by
// character, as docs/FILTERS.md defines % and _.
bool naive_like(std::string_view pattern, char escape, std::string_view s) {
  std::vector<char> at(s.size() + 1, 0), next(s.size() + 1);
  at[0] = 1;
  for (size_t p = 0; p < pattern.size();) {
    std::string_view c = pattern.substr(p, utf8_length_at(pattern, p));
    p += c.size();
    std::fill(next.begin(), next.end(), 0);
    for (size_t i = 0; i <= s.size(); ++i) {
      if (!at[i]) continue;
      if (c == "%") {
        for (size_t j = i;; j += utf8_length_at(s, j)) {
          next[j] = 1;
          if (j >= s.size()) break;
        }
      } else if (c == "_") {
        if (i < s.size()) next[i + utf8_length_at(s, i)] = 1;
      } else {
        std::string_view literal = c;
        if (c.size() == 1 && c[0] == escape)
          literal = pattern.substr(p, utf8_length_at(pattern, p));
        if (s.substr(i).starts_with(literal)) next[i + literal.size()] = 1;
      }
    }
    if (c.size() == 1 && c[0] == escape) p += utf8_length_at(pattern, p);
    at.swap(next);
  }
  return at[s.size()];
}

void check_like(std::string_view pattern, std::string_view payload) {
  auto like = LikePattern::compile(pattern, "!");
  if (!like) return;  // ends with the escape character
  if (like->matches(payload) != naive_like(pattern, '!', payload))
    die("LikePattern and the naive matcher disagree (pattern is the filter line)", pattern);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto [expression, message] = split_line(input);

  FilterSyntaxError detail;
  auto filter = Filter::parse(expression, &detail);
  if (!filter) check_syntax_error(expression, detail, filter.error().message);

  Envelope e = message_from_text(message);
  if (filter) evaluate_both_ways(*filter, e);
  view_raw_bytes(filter ? &*filter : nullptr, message);
  check_like(expression, e.payload);
  return 0;
}
