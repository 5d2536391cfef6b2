#include "core/view.h"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "core/envelope_view.h"
#include "core/memory_log.h"
#include "core/record_batch.h"
#include "core/view_set.h"
#include "tests/temp_dir.h"

namespace eda::view_test {
namespace {

using Json = nlohmann::json;

View make_view(std::string key, Reducer r, std::string value = "", std::string filter = "") {
  auto v = View::create({"v", "t.>", std::move(key), std::move(filter), std::move(value), r});
  REQUIRE(v);
  return std::move(*v);
}

void fold(View& v, const Envelope& e) {
  std::vector<HeaderField> headers;
  v.fold(view_envelope(e, headers));
}

Envelope event(uint64_t offset, std::optional<std::string> key, std::string payload,
               Headers headers = {}) {
  Envelope e;
  e.id = fmt::format("id{}", offset);
  e.topic = "t.a";
  e.key = std::move(key);
  e.payload = std::move(payload);
  e.headers = std::move(headers);
  e.offset = offset;
  e.ts = 1000 + static_cast<int64_t>(offset);
  return e;
}

Envelope tombstone(uint64_t offset, std::string key) {
  return event(offset, std::move(key), "", {{"tombstone", true}});
}

std::string get_text(const View& v, std::string_view key) {
  const ViewValue* value = v.get(key);
  return value ? format_view_value(*value) : "<absent>";
}

// RFC 7386, written out independently of nlohmann's merge_patch.
void merge_into(Json& target, const Json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null())
      target.erase(it.key());
    else
      merge_into(target[it.key()], it.value());
  }
}

}  // namespace

TEST_CASE("view: bad expressions are usage errors with the parser's caret") {
  auto v = View::create({"v", "t", "payload.id +", "", "", Reducer::kLast});
  REQUIRE_FALSE(v);
  CHECK(v.error().kind == ErrorKind::kInvalidArgument);
  CHECK(v.error().message.starts_with("--key: "));
  CHECK(v.error().message.find("^") != std::string::npos);
  auto f = View::create({"v", "t", "sys.key", "amount >", "", Reducer::kSum});
  REQUIRE_FALSE(f);
  CHECK(f.error().message.starts_with("filter: "));
  auto val = View::create({"v", "t", "sys.key", "", "(", Reducer::kSum});
  REQUIRE_FALSE(val);
  CHECK(val.error().message.starts_with("--value: "));
  CHECK_FALSE(View::create({"v", "t..x", "sys.key", "", "", Reducer::kSum}));
  CHECK_FALSE(View::create({"bad name", "t", "sys.key", "", "", Reducer::kSum}));
  CHECK_FALSE(parse_reducer("avg"));
  CHECK(*parse_reducer("merge") == Reducer::kMerge);
}

TEST_CASE("view: last keeps the latest value per key; a tombstone deletes it") {
  View v = make_view("sys.key", Reducer::kLast);
  fold(v, event(0, "a", "one"));
  fold(v, event(1, "b", R"({"x":1})"));
  fold(v, event(2, "a", "two"));
  fold(v, event(3, std::nullopt, "no key"));
  CHECK(get_text(v, "a") == "two");
  CHECK(v.get("b")->type == ViewValue::Type::kJson);
  CHECK(view_value_json(*v.get("b")) == R"({"x":1})");
  CHECK(view_value_json(*v.get("a")) == R"("two")");
  fold(v, event(4, "a", ""));  // no tombstone header: the empty text
  REQUIRE(v.get("a") != nullptr);
  CHECK(v.get("a")->type == ViewValue::Type::kString);
  CHECK(view_value_json(*v.get("a")) == R"("")");
  fold(v, event(5, "a", "x", {{"tombstone", true}}));  // a payload: no tombstone
  CHECK(get_text(v, "a") == "x");
  fold(v, event(6, "a", "", {{"tombstone", std::string("true")}}));  // text, not a bool
  CHECK(get_text(v, "a") == "");
  fold(v, tombstone(7, "a"));
  CHECK(v.get("a") == nullptr);
  CHECK(v.size() == 1);
  CHECK(v.next_offset("t.a") == 8);
  CHECK(v.next_offset("t.b") == 0);
}

TEST_CASE("view: a tombstone deletes the key whatever the reducer; NULL values change nothing") {
  for (Reducer r : {Reducer::kLast, Reducer::kCount, Reducer::kSum, Reducer::kMin, Reducer::kMax,
                    Reducer::kMerge}) {
    INFO(reducer_name(r));
    View v = make_view("sys.key", r, r == Reducer::kMerge ? "" : "payload.n");
    fold(v, event(0, "a", R"({"n":4})"));
    fold(v, event(1, "b", R"({"n":5})"));
    std::string before = get_text(v, "a");
    CHECK(before != "<absent>");
    fold(v, event(2, "a", R"({"m":1})"));  // payload.n is NULL
    if (r != Reducer::kMerge) CHECK(get_text(v, "a") == before);
    fold(v, tombstone(3, "a"));
    CHECK(v.get("a") == nullptr);
    CHECK(v.get("b") != nullptr);
    fold(v, event(4, "a", R"({"n":7})"));  // a new life starts from nothing
    CHECK(get_text(v, "a") == (r == Reducer::kCount   ? "1"
                               : r == Reducer::kMerge ? R"({"n":7})"
                                                      : "7"));
  }
  // The key is the --key expression's: a header here, not the message key.
  View by_header = make_view("account", Reducer::kSum, "payload.n");
  fold(by_header, event(0, "x", R"({"n":1})", {{"account", std::string("acct-1")}}));
  fold(by_header, event(1, "x", "", {{"account", std::string("acct-1")}, {"tombstone", true}}));
  CHECK(by_header.get("acct-1") == nullptr);
  // A filter applies to tombstones too.
  View filtered = make_view("sys.key", Reducer::kLast, "", "region = 'eu'");
  fold(filtered, event(0, "a", "v", {{"region", std::string("eu")}}));
  fold(filtered, tombstone(1, "a"));
  CHECK(get_text(filtered, "a") == "v");
  fold(filtered, event(2, "a", "", {{"region", std::string("eu")}, {"tombstone", true}}));
  CHECK(filtered.get("a") == nullptr);
  // As README "Views" suggests: let tombstones through a filter on the payload.
  View orders =
      make_view("sys.key", Reducer::kLast, "", "payload.type = 'order' OR tombstone = TRUE");
  fold(orders, event(0, "a", R"({"type":"order"})"));
  fold(orders, event(1, "b", R"({"type":"order"})"));
  fold(orders, tombstone(2, "a"));
  CHECK(orders.get("a") == nullptr);
  CHECK(orders.get("b") != nullptr);
}

TEST_CASE("view: key and value expressions use the filter's operands and arithmetic") {
  View v = make_view("payload.user.id", Reducer::kLast, "payload.price * qty");
  fold(v, event(0, "k", R"({"user":{"id":7},"price":2.5})", {{"qty", int64_t{4}}}));
  CHECK(get_text(v, "7") == "10.0");  // a decimal times an integer is a decimal
  View obj = make_view("sys.key", Reducer::kLast, "payload.user");
  fold(obj, event(0, "k", R"({"user":{"id":7}})"));
  CHECK(get_text(obj, "k") == R"({"id":7})");
  View s = make_view("payload.name", Reducer::kLast, "payload.name");
  fold(s, event(0, "k", R"({"name":"ann"})"));
  CHECK(get_text(s, "ann") == "ann");  // owned, though the parsed payload is gone
}

TEST_CASE("view: count, sum, min and max skip values that are no number") {
  View sum = make_view("sys.key", Reducer::kSum, "amount");
  View count = make_view("sys.key", Reducer::kCount, "amount");
  View min = make_view("sys.key", Reducer::kMin, "amount");
  View max = make_view("sys.key", Reducer::kMax, "amount");
  for (View* v : {&sum, &count, &min, &max}) {
    fold(*v, event(0, "a", "", {{"amount", int64_t{5}}}));
    fold(*v, event(1, "a", "", {{"amount", std::string("2.5")}}));
    fold(*v, event(2, "a", "", {{"amount", std::string("lots")}}));
    fold(*v, event(3, "a", ""));
    fold(*v, event(4, "a", "", {{"amount", int64_t{-1}}}));
  }
  CHECK(get_text(sum, "a") == "6.5");
  CHECK(get_text(count, "a") == "4");  // "lots" is a value; a missing header is not
  CHECK(get_text(min, "a") == "-1");
  CHECK(get_text(max, "a") == "5");
  View big = make_view("sys.key", Reducer::kSum, "amount");
  fold(big, event(0, "a", "", {{"amount", int64_t{INT64_MAX}}}));
  fold(big, event(1, "a", "", {{"amount", int64_t{1}}}));
  CHECK(big.get("a")->type == ViewValue::Type::kDouble);
}

TEST_CASE("view: merge merges JSON objects; null deletes a field, a tombstone the key") {
  View v = make_view("sys.key", Reducer::kMerge);
  fold(v, event(0, "a", R"({"name":"ann","city":"Oslo","tags":{"x":1}})"));
  fold(v, event(1, "a", R"({"city":null,"age":3,"tags":{"y":2}})"));
  fold(v, event(2, "a", "not json"));
  fold(v, event(3, "a", ""));  // no object: skipped
  CHECK(get_text(v, "a") == R"({"age":3,"name":"ann","tags":{"x":1,"y":2}})");
  fold(v, tombstone(4, "a"));
  CHECK(v.get("a") == nullptr);
}

TEST_CASE("view: a filter picks the messages folded, and offsets still advance") {
  View v = make_view("sys.key", Reducer::kCount, "", "color = 'red'");
  fold(v, event(0, "a", "x", {{"color", std::string("red")}}));
  fold(v, event(1, "a", "x", {{"color", std::string("blue")}}));
  CHECK(get_text(v, "a") == "1");
  CHECK(v.next_offset("t.a") == 2);
  auto listed = v.list("");
  REQUIRE(listed.size() == 1);
}

TEST_CASE("view: list by prefix is in key order") {
  View v = make_view("sys.key", Reducer::kLast);
  for (std::string k : {"user.2", "order.1", "user.1"}) fold(v, event(0, k, k));
  auto users = v.list("user.");
  REQUIRE(users.size() == 2);
  CHECK(users[0].first == "user.1");
  CHECK(users[1].first == "user.2");
}

TEST_CASE("view: a snapshot restores the table, the offsets and the definition") {
  View v = make_view("sys.key", Reducer::kSum, "payload.n");
  fold(v, event(0, "a", R"({"n":2})"));
  fold(v, event(1, "b", R"({"n":1.5})"));
  auto back = View::from_snapshot(v.snapshot());
  REQUIRE(back);
  CHECK(back->spec() == v.spec());
  CHECK(back->list("") == v.list(""));
  CHECK(back->next_offset("t.a") == 2);
  CHECK_FALSE(View::from_snapshot("garbage"));
  std::string cut = v.snapshot();
  cut.resize(cut.size() - 3);
  auto torn = View::from_snapshot(cut);
  REQUIRE_FALSE(torn);
  CHECK(torn.error().kind == ErrorKind::kCorruption);
}

// Thousands of generated events; for each reducer the view must equal a fold
// computed here without View.
TEST_CASE("view: randomized events fold as an independent fold says") {
  std::mt19937_64 rng(GENERATE(1, 2, 3));
  std::vector<Envelope> events;
  for (uint64_t i = 0; i < 5000; ++i) {
    std::optional<std::string> key;
    if (rng() % 20) key = fmt::format("k{}", rng() % 97);
    Headers headers;
    if (rng() % 5) headers.emplace_back("amount", static_cast<int64_t>(rng() % 2001) - 1000);
    // Tombstones, and messages that look like one but are not: an empty
    // payload alone, or the header on a payload, or the header as text.
    switch (rng() % 8) {
      case 0:
        headers.emplace_back("tombstone", true);
        break;
      case 1:
        headers.emplace_back("Tombstone", std::string("true"));
        break;
      case 2:
        headers.emplace_back("tombstone", false);
        break;
      default:
        break;
    }
    std::string payload;
    if (rng() % 4) {  // else an empty payload
      Json j = Json::object();
      for (const char* field : {"a", "b", "c"}) {
        switch (rng() % 4) {
          case 0:
            j[field] = nullptr;
            break;
          case 1:
            j[field] = static_cast<int64_t>(rng() % 100);
            break;
          case 2:
            j[field] = {{"x", static_cast<int64_t>(rng() % 5)}};
            break;
          default:
            break;
        }
      }
      j["n"] = static_cast<double>(rng() % 10000) / 8;
      payload = j.dump();
    }
    events.push_back(event(i, key, payload, headers));
  }

  std::map<std::string, std::string> last;
  std::map<std::string, int64_t> count, sum;
  std::map<std::string, double> min, max;
  std::map<std::string, Json> merged;
  size_t tombstones = 0;
  for (const Envelope& e : events) {
    if (!e.key) continue;
    const std::string& k = *e.key;
    const HeaderValue* flag = find_header(e.headers, "tombstone");
    if (e.payload.empty() && flag && *flag == HeaderValue(true)) {
      ++tombstones;
      last.erase(k);
      count.erase(k);
      sum.erase(k);
      min.erase(k);
      max.erase(k);
      merged.erase(k);
      continue;
    }
    last[k] = e.payload;  // the empty payload too, as the empty text
    count[k]++;
    if (!e.payload.empty()) {
      merge_into(merged[k], Json::parse(e.payload));
      double n = Json::parse(e.payload)["n"].get<double>();
      min[k] = min.count(k) ? std::min(min[k], n) : n;
      max[k] = max.count(k) ? std::max(max[k], n) : n;
    }
    if (const HeaderValue* amount = find_header(e.headers, "amount"))
      sum[k] += std::get<int64_t>(*amount);
  }
  CHECK(tombstones > 100);

  View v_last = make_view("sys.key", Reducer::kLast);
  View v_count = make_view("sys.key", Reducer::kCount);
  View v_sum = make_view("sys.key", Reducer::kSum, "amount");
  View v_min = make_view("sys.key", Reducer::kMin, "payload.n");
  View v_max = make_view("sys.key", Reducer::kMax, "payload.n");
  View v_merge = make_view("sys.key", Reducer::kMerge);
  for (const Envelope& e : events)
    for (View* v : {&v_last, &v_count, &v_sum, &v_min, &v_max, &v_merge}) fold(*v, e);

  REQUIRE(v_last.size() == last.size());
  for (const auto& [k, payload] : last) CHECK(get_text(v_last, k) == payload);
  REQUIRE(v_count.size() == count.size());
  for (const auto& [k, n] : count) CHECK(v_count.get(k)->i == n);
  REQUIRE(v_sum.size() == sum.size());
  for (const auto& [k, n] : sum) CHECK(v_sum.get(k)->i == n);
  // min/max keep keys whose value was numeric since the last tombstone.
  REQUIRE(v_min.size() == min.size());
  for (const auto& [k, n] : min) CHECK(v_min.get(k)->d == n);
  REQUIRE(v_max.size() == max.size());
  for (const auto& [k, n] : max) CHECK(v_max.get(k)->d == n);
  REQUIRE(v_merge.size() == merged.size());
  for (const auto& [k, j] : merged) CHECK(Json::parse(get_text(v_merge, k)) == j);

  // A snapshot taken midway and folded on gives the same table.
  View half = make_view("sys.key", Reducer::kMerge);
  for (size_t i = 0; i < events.size() / 2; ++i) fold(half, events[i]);
  auto resumed = View::from_snapshot(half.snapshot());
  REQUIRE(resumed);
  for (size_t i = resumed->next_offset("t.a"); i < events.size(); ++i) fold(*resumed, events[i]);
  CHECK(resumed->list("") == v_merge.list(""));
}

TEST_CASE("view set: folds visible messages in bounded steps and resumes from snapshots") {
  TempDir dir;
  std::vector<std::string> notes;
  MemoryLog log;
  RecordBatch batch;
  for (uint64_t i = 0; i < 100; ++i) {
    Envelope e = event(i, fmt::format("k{}", i % 7), "", {{"amount", int64_t(i)}});
    e.payload = "p";
    batch.add(e);
  }
  REQUIRE(log.append(batch));
  std::vector<ViewSource> topics{{"t.a", &log, 60}};
  auto set = ViewSet::open(posix_file_system(), dir.path(), notes);
  REQUIRE(set);
  ViewSpec spec{"totals", "t.>", "sys.key", "", "amount", Reducer::kSum};
  REQUIRE((*set)->create(spec));
  CHECK((*set)->create(spec));  // the same again is fine
  ViewSpec other = spec;
  other.reduce = Reducer::kMax;
  CHECK((*set)->create(other).error().kind == ErrorKind::kConflict);

  CHECK((*set)->fold(topics, 25));  // more waiting
  CHECK((*set)->stats("totals", topics)->lag == 35);
  while ((*set)->fold(topics, 25)) {
  }
  auto stats = (*set)->stats("totals", topics);
  CHECK(stats->lag == 0);
  CHECK(stats->offsets.at("t.a") == 60);
  CHECK(stats->keys == 7);
  REQUIRE((*set)->save_all(0));

  auto reopened = ViewSet::open(posix_file_system(), dir.path(), notes);
  REQUIRE(reopened);
  topics[0].visible = 100;
  while ((*reopened)->fold(topics, 1000)) {
  }
  View fresh = make_view("sys.key", Reducer::kSum, "amount");
  for (uint64_t i = 0; i < 100; ++i) {
    Envelope e = event(i, fmt::format("k{}", i % 7), "p", {{"amount", int64_t(i)}});
    fold(fresh, e);
  }
  CHECK((*reopened)->find("totals")->list("") == fresh.list(""));

  REQUIRE((*reopened)->rebuild("totals"));
  CHECK((*reopened)->find("totals")->size() == 0);
  while ((*reopened)->fold(topics, 1000)) {
  }
  CHECK((*reopened)->find("totals")->list("") == fresh.list(""));
  REQUIRE((*reopened)->drop("totals"));
  CHECK((*reopened)->drop("totals").error().kind == ErrorKind::kNotFound);
  auto empty = ViewSet::open(posix_file_system(), dir.path(), notes);
  CHECK((*empty)->names().empty());
}

TEST_CASE("view: a snapshot made in slices equals one made in one go") {
  View v = make_view("sys.key", Reducer::kLast);
  for (uint64_t i = 0; i < 1000; ++i)
    fold(v, event(i, fmt::format("k{}", i), std::string(i % 7, 'x')));
  View::SnapshotProgress p;
  v.begin_snapshot(p);
  int slices = 1;
  while (!v.add_to_snapshot(p, 300)) ++slices;
  CHECK(slices == 4);
  CHECK(p.bytes == v.snapshot());
}

TEST_CASE(
    "view set: a big view's snapshot is made in slices, of one moment, while the view waits") {
  TempDir dir;
  std::vector<std::string> notes;
  MemoryLog log;
  RecordBatch batch;
  constexpr uint64_t kKeys = 120000;  // more than two slices
  for (uint64_t i = 0; i < kKeys + 100; ++i)
    batch.add(event(i, fmt::format("k{}", i % kKeys), "p", {{"amount", int64_t{1}}}));
  REQUIRE(log.append(batch));
  std::vector<ViewSource> topics{{"t.a", &log, kKeys}};
  auto set = ViewSet::open(posix_file_system(), dir.path(), notes);
  REQUIRE(set);
  REQUIRE((*set)->create({"big", "t.>", "sys.key", "", "amount", Reducer::kSum}));
  while ((*set)->fold(topics, 100000)) {
  }
  REQUIRE((*set)->save(10000));  // the first slice; the rest in fold()
  CHECK((*set)->has_work());
  topics[0].visible = kKeys + 100;
  CHECK((*set)->fold(topics, 1000));  // the second slice; nothing folded
  CHECK((*set)->stats("big", topics)->offsets.at("t.a") == kKeys);
  while ((*set)->fold(topics, 1000)) {
  }
  CHECK((*set)->stats("big", topics)->offsets.at("t.a") == kKeys + 100);
  set->reset();  // the writer finishes what is queued; nothing saved the last 100

  auto reopened = ViewSet::open(posix_file_system(), dir.path(), notes);
  REQUIRE(reopened);
  const View* big = (*reopened)->find("big");
  REQUIRE(big);
  CHECK(big->next_offset("t.a") == kKeys);
  CHECK(big->size() == kKeys);
  CHECK(get_text(*big, "k0") == "1");
}

TEST_CASE(
    "view set: a rebuild replaces the snapshot at once; a restart does not bring back the old "
    "table") {
  TempDir dir;
  std::vector<std::string> notes;
  MemoryLog log;
  RecordBatch batch;
  for (uint64_t i = 0; i < 10; ++i) batch.add(event(i, "k", "p", {{"amount", int64_t{1}}}));
  REQUIRE(log.append(batch));
  std::vector<ViewSource> topics{{"t.a", &log, 10}};
  auto set = ViewSet::open(posix_file_system(), dir.path(), notes);
  REQUIRE(set);
  REQUIRE((*set)->create({"totals", "t.>", "sys.key", "", "amount", Reducer::kSum}));
  while ((*set)->fold(topics, 100)) {
  }
  REQUIRE((*set)->save_all(0));
  REQUIRE((*set)->rebuild("totals"));
  set->reset();  // a crash before the rebuilt view's next save; the writer finishes what is queued

  auto reopened = ViewSet::open(posix_file_system(), dir.path(), notes);
  REQUIRE(reopened);
  const View* totals = (*reopened)->find("totals");
  REQUIRE(totals);
  CHECK(totals->size() == 0);
  CHECK(totals->next_offset("t.a") == 0);
}

TEST_CASE("view set: a deleted topic is forgotten and a new one of its name is read from 0") {
  std::vector<std::string> notes;
  auto set = ViewSet::open(posix_file_system(), std::nullopt, notes);
  REQUIRE(set);
  REQUIRE((*set)->create({"totals", "t.>", "sys.key", "", "amount", Reducer::kSum}));
  auto log_of = [](int n, int64_t amount) {
    auto log = std::make_unique<MemoryLog>();
    RecordBatch batch;
    for (int i = 0; i < n; ++i) {
      Envelope e = event(i, "k", "p", {{"amount", amount}});
      batch.add(e);
    }
    REQUIRE(log->append(batch));
    return log;
  };
  auto old_log = log_of(5, 1);
  std::vector<ViewSource> topics{{"t.a", old_log.get(), 5}};
  while ((*set)->fold(topics, 100)) {
  }
  CHECK((*set)->find("totals")->list("") == std::vector<std::pair<std::string, ViewValue>>{
                                                {"k", {ViewValue::Type::kInt, false, 5, 0, {}}}});
  // Deleted, then made again with more messages than it had: all of them count, none of the old.
  (*set)->topic_deleted("t.a");
  (*set)->topic_deleted("elsewhere");  // no view reads it: nothing changes
  auto new_log = log_of(8, 10);
  topics = {{"t.a", new_log.get(), 8}};
  while ((*set)->fold(topics, 100)) {
  }
  CHECK((*set)->find("totals")->list("") == std::vector<std::pair<std::string, ViewValue>>{
                                                {"k", {ViewValue::Type::kInt, false, 80, 0, {}}}});
}

}  // namespace eda::view_test
