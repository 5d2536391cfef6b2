// Filter evaluations per second, on the broker's path: each stored record is
// viewed with an EnvelopeViewer (no copy) and the filter evaluated on the view.
//
//   edatool_filter_bench [SECONDS_PER_CASE]   (default 1; best of 3 runs each)
//
// Compare the rows measured in one run; across runs the machine's load moves
// them (docs/PERFORMANCE.md).
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/envelope_codec.h"
#include "core/envelope_view.h"
#include "core/filter.h"

namespace {

using namespace eda;
using Clock = std::chrono::steady_clock;

constexpr size_t kMessages = 1024;  // distinct encoded envelopes, cycled

// A message like `pub -H region=eu -H amount:=N -H tier=gold` with a 100-byte payload.
Envelope header_message(size_t i) {
  static const char* kRegions[] = {"eu", "us", "apac", "eu"};
  static const char* kTiers[] = {"gold", "silver", "bronze", "none", "gold"};
  Envelope e;
  e.id = fmt::format("01J{:023}", i);
  e.topic = "orders.created";
  e.key = fmt::format("user-{}", i % 97);
  e.headers = {{"region", std::string(kRegions[i % 4])},
               {"amount", int64_t(i * 37 % 250)},
               {"tier", std::string(kTiers[i % 5])},
               {"source", std::string("web")},
               {"retries", int64_t(i % 3)}};
  e.ts = 1767225600000 + int64_t(i);
  e.payload = std::string(100, 'x');
  e.offset = i;
  return e;
}

// The same headers, and a JSON order of about 150 bytes as the payload.
Envelope json_message(size_t i) {
  static const char* kTiers[] = {"gold", "silver", "bronze"};
  Envelope e = header_message(i);
  e.payload = fmt::format(
      R"({{"id":{},"customer":{{"id":"c-{}","tier":"{}"}},"total":{},)"
      R"("items":[{{"sku":"X-1","qty":2}},{{"sku":"Y-{}","qty":1}}],"currency":"EUR"}})",
      i, i % 1000, kTiers[i % 3], i * 37 % 250, i % 10);
  return e;
}

std::vector<std::string> encode_all(Envelope (*make)(size_t)) {
  std::vector<std::string> out;
  for (size_t i = 0; i < kMessages; ++i) out.push_back(encode_envelope(make(i)));
  return out;
}

struct Row {
  std::string name;
  double per_second = 0;
  double matched = -1;  // fraction, or -1 without a filter
};

// Runs `step(i)` (returns whether message i matched) for `seconds`, best of 3.
Row measure(std::string name, double seconds, const std::function<bool(size_t)>& step,
            bool filtered = true) {
  Row row{std::move(name)};
  for (int run = 0; run < 3; ++run) {
    size_t n = 0, matched = 0;
    auto start = Clock::now();
    std::chrono::duration<double> elapsed{};
    do {
      for (size_t k = 0; k < 4096; ++k, ++n) matched += step(n % kMessages);
      elapsed = Clock::now() - start;
    } while (elapsed.count() < seconds);
    row.per_second = std::max(row.per_second, double(n) / elapsed.count());
    if (filtered) row.matched = double(matched) / double(n);
  }
  return row;
}

Filter parse_or_die(const char* text) {
  auto f = Filter::parse(text);
  if (!f) {
    fmt::print(stderr, "{}\n", f.error().message);
    std::exit(1);
  }
  return *f;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (seconds <= 0) seconds = 1.0;
  const char* header_text = "region = 'eu' AND amount > 100 AND tier IN ('gold','silver')";
  const char* json_text = "payload.customer.tier = 'gold' AND payload.total > 100";
  Filter header_filter = parse_or_die(header_text);
  Filter json_filter = parse_or_die(json_text);

  std::vector<std::string> headers = encode_all(header_message);
  std::vector<std::string> jsons = encode_all(json_message);
  EnvelopeViewer viewer;
  auto view = [&](const std::string& bytes) {
    auto v = viewer.view(bytes);
    if (!v) std::abort();
    return *v;
  };

  // Views of decoded Envelopes: the filter alone, without the msgpack decode.
  std::vector<Envelope> decoded;
  for (size_t i = 0; i < kMessages; ++i) decoded.push_back(header_message(i));
  std::vector<std::vector<HeaderField>> fields(kMessages);
  std::vector<EnvelopeView> views;
  for (size_t i = 0; i < kMessages; ++i) views.push_back(view_envelope(decoded[i], fields[i]));

  std::vector<Row> rows = {
      measure(
          "(c) view decode only, header message", seconds,
          [&](size_t i) { return !view(headers[i]).headers.empty(); }, false),
      measure("(a) view + header filter", seconds,
              [&](size_t i) { return header_filter.matches(view(headers[i])); }),
      measure("    header filter on a ready view", seconds,
              [&](size_t i) { return header_filter.matches(views[i]); }),
      measure(
          "(c) view decode only, JSON message", seconds,
          [&](size_t i) { return !view(jsons[i]).headers.empty(); }, false),
      measure("(b) view + JSON payload filter", seconds,
              [&](size_t i) { return json_filter.matches(view(jsons[i])); }),
  };

  fmt::print("header filter: {}\nJSON filter:   {}\n", header_text, json_text);
  fmt::print("header message: {} bytes encoded; JSON message: {} bytes encoded\n\n",
             headers[0].size(), jsons[0].size());
  fmt::print("{:<40} {:>14} {:>10} {:>9}\n", "case", "per second", "ns each", "matched");
  for (const Row& r : rows)
    fmt::print("{:<40} {:>14.0f} {:>10.1f} {:>9}\n", r.name, r.per_second, 1e9 / r.per_second,
               r.matched < 0 ? "-" : fmt::format("{:.1f}%", 100 * r.matched));
  return 0;
}
