#include "core/view.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "core/envelope_codec.h"
#include "core/topic.h"

namespace eda {
namespace {

using Json = nlohmann::json;
using VType = ViewValue::Type;

constexpr std::array<std::string_view, 6> kReducerNames = {"last", "count", "sum",
                                                           "min",  "max",   "merge"};
// The first element of a snapshot, and its layout's version.
constexpr std::string_view kViewMagic = "edatool-view";
constexpr uint64_t kViewFormat = 1;

// The number a value stands for: a number, or a string spelling one.
std::optional<FieldValue> numeric_value(const FieldValue& v) {
  if (v.is_number()) return v;
  if (v.type == FieldValue::Type::kString) return parse_number(v.s);
  return std::nullopt;
}

bool looks_like_json_container(std::string_view s) {
  size_t i = s.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && (s[i] == '{' || s[i] == '[');
}

void key_text(const FieldValue& k, std::string& out) {
  switch (k.type) {
    case FieldValue::Type::kString:
    case FieldValue::Type::kComposite:
      out.assign(k.s);
      return;
    case FieldValue::Type::kInt:
      out = fmt::format("{}", k.i);
      return;
    case FieldValue::Type::kDouble:
      out = fmt::format("{}", k.d);
      return;
    case FieldValue::Type::kBool:
      out = k.b ? "true" : "false";
      return;
    case FieldValue::Type::kNull:
      out.clear();
      return;
  }
}

ViewValue number_value(const FieldValue& n) {
  ViewValue v;
  if (n.type == FieldValue::Type::kInt) {
    v.type = VType::kInt;
    v.i = n.i;
  } else {
    v.type = VType::kDouble;
    v.d = n.d;
  }
  return v;
}

double as_double(const ViewValue& v) {
  return v.type == VType::kInt ? static_cast<double>(v.i) : v.d;
}

// a < b for two numbers, exactly when both are integers.
bool number_less(const FieldValue& a, const ViewValue& b) {
  if (a.type == FieldValue::Type::kInt && b.type == VType::kInt) return a.i < b.i;
  return a.as_double() < as_double(b);
}
bool number_greater(const FieldValue& a, const ViewValue& b) {
  if (a.type == FieldValue::Type::kInt && b.type == VType::kInt) return a.i > b.i;
  return a.as_double() > as_double(b);
}

void add_number(ViewValue& sum, const FieldValue& n) {
  if (sum.type == VType::kInt && n.type == FieldValue::Type::kInt) {
    int64_t r = 0;
    if (!__builtin_add_overflow(sum.i, n.i, &r)) {
      sum.i = r;
      return;
    }
  }
  double total = as_double(sum) + n.as_double();
  sum.type = VType::kDouble;
  sum.d = total;
}

Json json_of(const ViewValue& v) {
  switch (v.type) {
    case VType::kNull:
      return nullptr;
    case VType::kBool:
      return v.b;
    case VType::kInt:
      return v.i;
    case VType::kDouble:
      return v.d;
    case VType::kString:
      return v.s;
    case VType::kJson:
      return Json::parse(v.s, nullptr, false);
  }
  return nullptr;
}

}  // namespace

template <class Stream>
void pack_view_value(msgpack::packer<Stream>& pk, const ViewValue& v) {
  pk.pack_array(2);
  pk.pack(static_cast<uint8_t>(v.type));
  switch (v.type) {
    case VType::kNull:
      pk.pack_nil();
      break;
    case VType::kBool:
      pk.pack(v.b);
      break;
    case VType::kInt:
      pk.pack(v.i);
      break;
    case VType::kDouble:
      pack_float64(pk, v.d);
      break;
    case VType::kString:
    case VType::kJson:
      pk.pack_bin(static_cast<uint32_t>(v.s.size()));
      pk.pack_bin_body(v.s.data(), static_cast<uint32_t>(v.s.size()));
      break;
  }
}

ViewValue unpack_view_value(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 2)
    throw std::runtime_error("an entry's value is not [type, value]");
  ViewValue v;
  uint8_t type = o.via.array.ptr[0].as<uint8_t>();
  if (type > static_cast<uint8_t>(VType::kJson)) throw std::runtime_error("unknown value type");
  v.type = static_cast<VType>(type);
  const msgpack::object& x = o.via.array.ptr[1];
  switch (v.type) {
    case VType::kNull:
      break;
    case VType::kBool:
      v.b = x.as<bool>();
      break;
    case VType::kInt:
      v.i = x.as<int64_t>();
      break;
    case VType::kDouble:
      v.d = x.as<double>();
      break;
    case VType::kString:
    case VType::kJson:
      if (x.type != msgpack::type::BIN) throw std::runtime_error("a text value is not bin");
      v.s.assign(x.via.bin.ptr, x.via.bin.size);
      break;
  }
  return v;
}

template <class Stream>
void pack_view_spec(msgpack::packer<Stream>& pk, const ViewSpec& s) {
  pk.pack(s.name);
  pk.pack(s.from);
  pk.pack(s.key);
  pk.pack(s.filter);
  pk.pack(s.value);
  pk.pack(reducer_name(s.reduce));
}

template void pack_view_value(msgpack::packer<msgpack::sbuffer>&, const ViewValue&);
template void pack_view_value(msgpack::packer<StringStream>&, const ViewValue&);
template void pack_view_spec(msgpack::packer<msgpack::sbuffer>&, const ViewSpec&);
template void pack_view_spec(msgpack::packer<StringStream>&, const ViewSpec&);

std::string_view reducer_name(Reducer r) {
  return kReducerNames[static_cast<size_t>(r)];
}

Result<Reducer> parse_reducer(std::string_view text) {
  for (size_t i = 0; i < kReducerNames.size(); ++i)
    if (text == kReducerNames[i]) return static_cast<Reducer>(i);
  return invalid_argument(
      fmt::format("unknown reducer '{}'; use last, count, sum, min, max or merge", text));
}

std::string format_view_value(const ViewValue& v) {
  switch (v.type) {
    case VType::kString:
    case VType::kJson:
      return v.s;
    default:
      return view_value_json(v);
  }
}

std::string view_value_json(const ViewValue& v) {
  return json_of(v).dump(-1, ' ', false, Json::error_handler_t::replace);
}

View::View(ViewSpec spec, std::optional<Filter> filter, Filter key, std::optional<Filter> value)
    : spec_(std::move(spec)),
      filter_(std::move(filter)),
      key_(std::move(key)),
      value_(std::move(value)) {}

Result<View> View::create(ViewSpec spec) {
  if (Status s = validate_topic(spec.name); !s)
    return invalid_argument(fmt::format("bad view name: {}", s.error().message));
  if (Status s = validate_pattern(spec.from); !s) return s.error();
  auto key = Filter::parse_value(spec.key, "--key");
  if (!key) return key.error();
  std::optional<Filter> filter, value;
  if (!spec.filter.empty()) {
    auto f = Filter::parse(spec.filter);
    if (!f) return f.error();
    filter = std::move(*f);
  }
  if (!spec.value.empty()) {
    auto v = Filter::parse_value(spec.value, "--value");
    if (!v) return v.error();
    value = std::move(*v);
  }
  return View(std::move(spec), std::move(filter), std::move(*key), std::move(value));
}

bool View::reads(std::string_view topic) const {
  return topic_matches(spec_.from, topic);
}

uint64_t View::next_offset(std::string_view topic) const {
  auto it = next_.find(topic);
  return it == next_.end() ? 0 : it->second;
}

void View::fold(const EnvelopeView& m) {
  auto it = next_.find(m.topic);
  if (it == next_.end()) it = next_.emplace(std::string(m.topic), 0).first;
  it->second = m.offset + 1;
  ++folded_;
  if (filter_ && !filter_->matches(m)) return;
  FieldValue k = key_.value(m, key_scratch_);
  if (k.is_null()) return;
  key_text(k, key_text_);
  if (is_tombstone(m)) {
    table_.erase(key_text_);
    return;
  }
  reduce(key_text_, value_ ? value_->value(m, value_scratch_) : FieldValue::string(m.payload));
}

void View::reduce(std::string_view key, const FieldValue& value) {
  bool inserted = false;
  switch (spec_.reduce) {
    case Reducer::kLast: {
      if (value.is_null()) return;
      ViewValue& e = table_.find_or_insert(key, inserted);
      switch (value.type) {
        case FieldValue::Type::kBool:
          e = {VType::kBool, value.b, 0, 0, {}};
          break;
        case FieldValue::Type::kInt:
        case FieldValue::Type::kDouble:
          e = number_value(value);
          break;
        case FieldValue::Type::kComposite:
          e.type = VType::kJson;
          e.s.assign(value.s);
          break;
        default:  // a string, or the payload
          e.type = !value_ && looks_like_json_container(value.s) && Json::accept(value.s)
                       ? VType::kJson
                       : VType::kString;
          e.s.assign(value.s);
          break;
      }
      return;
    }
    case Reducer::kCount: {
      if (value.is_null()) return;
      ViewValue& e = table_.find_or_insert(key, inserted);
      e.type = VType::kInt;
      ++e.i;
      return;
    }
    case Reducer::kSum:
    case Reducer::kMin:
    case Reducer::kMax: {
      auto n = numeric_value(value);
      if (!n || (n->type == FieldValue::Type::kDouble && std::isnan(n->d))) return;
      ViewValue& e = table_.find_or_insert(key, inserted);
      if (inserted) {
        e = number_value(*n);
      } else if (spec_.reduce == Reducer::kSum) {
        add_number(e, *n);
      } else if (spec_.reduce == Reducer::kMin ? number_less(*n, e) : number_greater(*n, e)) {
        e = number_value(*n);
      }
      return;
    }
    case Reducer::kMerge: {
      if (value.type != FieldValue::Type::kComposite && value.type != FieldValue::Type::kString)
        return;
      Json patch = Json::parse(value.s, nullptr, false);
      if (!patch.is_object()) return;
      ViewValue& e = table_.find_or_insert(key, inserted);
      Json merged = e.type == VType::kJson ? Json::parse(e.s, nullptr, false) : Json::object();
      merged.merge_patch(patch);
      e.type = VType::kJson;
      e.s = merged.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
    }
  }
}

const ViewValue* View::get(std::string_view key) const {
  return table_.find(key);
}

std::vector<std::pair<std::string, ViewValue>> View::list(std::string_view prefix) const {
  std::vector<std::pair<std::string, ViewValue>> out;
  for (const auto& [k, v] : table_.entries())
    if (k.starts_with(prefix)) out.emplace_back(k, v);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void View::clear() {
  table_.clear();
  next_.clear();
  folded_ = 0;
}

std::string View::snapshot() const {
  SnapshotProgress p;
  begin_snapshot(p);
  add_to_snapshot(p, SIZE_MAX);
  return std::move(p.bytes);
}

void View::begin_snapshot(SnapshotProgress& p) const {
  p.bytes.clear();
  p.next = 0;
  StringStream out{p.bytes};
  msgpack::packer<StringStream> pk(out);
  pk.pack_array(6);
  pk.pack(kViewMagic);
  pk.pack(kViewFormat);
  pk.pack_array(6);
  pack_view_spec(pk, spec_);
  pk.pack(next_);
  pk.pack(folded_);
  pk.pack_array(static_cast<uint32_t>(table_.size()));
}

bool View::add_to_snapshot(SnapshotProgress& p, size_t max) const {
  StringStream out{p.bytes};
  msgpack::packer<StringStream> pk(out);
  const auto& entries = table_.entries();
  size_t first = p.next, end = first + std::min(max, entries.size() - first);
  for (; p.next < end; ++p.next) {
    const auto& [k, v] = entries[p.next];
    pk.pack_array(2);
    pk.pack_bin(static_cast<uint32_t>(k.size()));
    pk.pack_bin_body(k.data(), static_cast<uint32_t>(k.size()));
    pack_view_value(pk, v);
  }
  // After the first slice, room for the rest as big as it: growing a big
  // string later would copy it whole within one slice.
  if (first == 0 && p.next > 0 && p.next < entries.size())
    p.bytes.reserve(p.bytes.size() / p.next * entries.size() * 9 / 8);
  return p.next == entries.size();
}

Result<View> View::from_snapshot(std::string_view bytes) {
  auto corrupt = [](std::string_view what) {
    return Error{ErrorKind::kCorruption, fmt::format("view snapshot: {}", what)};
  };
  try {
    msgpack::object_handle h = msgpack::unpack(bytes.data(), bytes.size());
    const msgpack::object& o = h.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 6)
      return corrupt("not an array of 6 fields");
    const msgpack::object* f = o.via.array.ptr;
    if (f[0].as<std::string>() != kViewMagic) return corrupt("not a view snapshot");
    if (f[1].as<uint64_t>() != kViewFormat)
      return corrupt(fmt::format("format {} is unknown here", f[1].as<uint64_t>()));
    auto spec_fields = f[2].as<std::vector<std::string>>();
    if (spec_fields.size() != 6) return corrupt("the definition is not 6 strings");
    auto reduce = parse_reducer(spec_fields[5]);
    if (!reduce) return corrupt(reduce.error().message);
    auto view = View::create(
        {spec_fields[0], spec_fields[1], spec_fields[2], spec_fields[3], spec_fields[4], *reduce});
    if (!view) return corrupt(view.error().message);
    for (auto& [topic, next] : f[3].as<std::map<std::string, uint64_t>>())
      view->next_.emplace(topic, next);
    view->folded_ = f[4].as<uint64_t>();
    if (f[5].type != msgpack::type::ARRAY) return corrupt("the table is not an array");
    for (const msgpack::object& e : std::span(f[5].via.array.ptr, f[5].via.array.size)) {
      if (e.type != msgpack::type::ARRAY || e.via.array.size != 2 ||
          e.via.array.ptr[0].type != msgpack::type::BIN)
        return corrupt("an entry is not [key, value]");
      const auto& k = e.via.array.ptr[0].via.bin;
      bool inserted = false;
      view->table_.find_or_insert(std::string_view(k.ptr, k.size), inserted) =
          unpack_view_value(e.via.array.ptr[1]);
    }
    return std::move(*view);
  } catch (const std::exception& ex) {
    return corrupt(ex.what());
  }
}

}  // namespace eda
