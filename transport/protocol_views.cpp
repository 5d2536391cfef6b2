// Bodies of the materialized view commands (CREATE_VIEW ... VIEW_STATS_LIST).
#include "transport/protocol.h"
#include "transport/protocol_codec.h"

namespace eda::proto {
namespace {

constexpr uint32_t kViewStatsFields = 10;

ViewValue read_view_value(Reader& r, std::string_view field) {
  const msgpack::object* o = r.next(field);
  if (!o) return {};
  try {
    return unpack_view_value(*o);
  } catch (const std::exception& e) {
    r.fail(fmt::format("{} is not a view value: {}", field, e.what()));
    return {};
  }
}

ViewSpec read_spec(Reader& r) {
  ViewSpec s;
  s.name = r.str("name");
  s.from = r.str("from");
  s.key = r.str("key");
  s.filter = r.str("filter");
  s.value = r.str("value");
  std::string reduce = r.str("reduce");
  if (auto parsed = parse_reducer(reduce))
    s.reduce = *parsed;
  else
    r.fail(parsed.error().message);
  return s;
}

// [req_id, name]: DROP_VIEW, REBUILD_VIEW, VIEW_STATS.
template <class T>
Result<T> decode_named(Reader& r) {
  T m;
  m.req_id = r.u64("req_id");
  m.name = r.str("name");
  return r.finish(std::move(m));
}
template <class T>
Message encode_named(const T& m) {
  Writer w(T::kCommand, T::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.name);
  return std::move(w.m);
}

}  // namespace

template <>
Result<CreateView> decode_fields(Reader& r) {
  CreateView m;
  m.req_id = r.u64("req_id");
  m.spec = read_spec(r);
  return r.finish(std::move(m));
}
Message encode(const CreateView& m) {
  Writer w(CreateView::kCommand, CreateView::kFields);
  w.pk.pack(m.req_id);
  pack_view_spec(w.pk, m.spec);
  return std::move(w.m);
}

template <>
Result<DropView> decode_fields(Reader& r) {
  return decode_named<DropView>(r);
}
Message encode(const DropView& m) {
  return encode_named(m);
}
template <>
Result<RebuildView> decode_fields(Reader& r) {
  return decode_named<RebuildView>(r);
}
Message encode(const RebuildView& m) {
  return encode_named(m);
}
template <>
Result<ViewStatsRequest> decode_fields(Reader& r) {
  return decode_named<ViewStatsRequest>(r);
}
Message encode(const ViewStatsRequest& m) {
  return encode_named(m);
}

template <>
Result<ViewGet> decode_fields(Reader& r) {
  ViewGet m;
  m.req_id = r.u64("req_id");
  m.name = r.str("name");
  m.key = r.str("key");
  m.after_topic = r.str("after_topic");
  m.after_offset = r.u64("after_offset");
  m.wait_ms = r.u64("wait_ms");
  return r.finish(std::move(m));
}
Message encode(const ViewGet& m) {
  Writer w(ViewGet::kCommand, ViewGet::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.name);
  w.pk.pack(m.key);
  w.pk.pack(m.after_topic);
  w.pk.pack(m.after_offset);
  w.pk.pack(m.wait_ms);
  return std::move(w.m);
}

template <>
Result<ViewValueReply> decode_fields(Reader& r) {
  ViewValueReply m;
  m.req_id = r.u64("req_id");
  m.value = read_view_value(r, "value");
  return r.finish(std::move(m));
}
Message encode(const ViewValueReply& m) {
  Writer w(ViewValueReply::kCommand, ViewValueReply::kFields);
  w.pk.pack(m.req_id);
  pack_view_value(w.pk, m.value);
  return std::move(w.m);
}

template <>
Result<ViewList> decode_fields(Reader& r) {
  ViewList m;
  m.req_id = r.u64("req_id");
  m.name = r.str("name");
  m.prefix = r.str("prefix");
  return r.finish(std::move(m));
}
Message encode(const ViewList& m) {
  Writer w(ViewList::kCommand, ViewList::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack(m.name);
  w.pk.pack(m.prefix);
  return std::move(w.m);
}

template <>
Result<ViewRows> decode_fields(Reader& r) {
  ViewRows m;
  m.req_id = r.u64("req_id");
  if (const msgpack::object* a = r.array("rows")) {
    m.rows.reserve(a->via.array.size);
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      Reader row(o, 2, "row");
      std::string key = row.str("key");
      ViewValue value = read_view_value(row, "value");
      if (auto checked = row.finish(0); !checked) r.fail(checked.error().message);
      m.rows.emplace_back(std::move(key), std::move(value));
    }
  }
  return r.finish(std::move(m));
}
Message encode(const ViewRows& m) {
  Writer w(ViewRows::kCommand, ViewRows::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack_array(static_cast<uint32_t>(m.rows.size()));
  for (const auto& [key, value] : m.rows) {
    w.pk.pack_array(2);
    w.pk.pack(key);
    pack_view_value(w.pk, value);
  }
  return std::move(w.m);
}

template <>
Result<ViewStatsList> decode_fields(Reader& r) {
  ViewStatsList m;
  m.req_id = r.u64("req_id");
  if (const msgpack::object* a = r.array("views")) {
    for (const auto& o : std::span(a->via.array.ptr, a->via.array.size)) {
      Reader v(o, kViewStatsFields, "view");
      ViewStats s;
      s.spec = read_spec(v);
      s.keys = v.u64("keys");
      s.folded = v.u64("folded");
      s.lag = v.u64("lag");
      if (const msgpack::object* offsets = v.map("offsets")) {
        for (const auto& kv : std::span(offsets->via.map.ptr, offsets->via.map.size)) {
          if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::POSITIVE_INTEGER) {
            v.fail("offsets is not {topic: offset}");
            break;
          }
          s.offsets.emplace(std::string(kv.key.via.str.ptr, kv.key.via.str.size), kv.val.via.u64);
        }
      }
      if (auto checked = v.finish(0); !checked) r.fail(checked.error().message);
      m.views.push_back(std::move(s));
    }
  }
  return r.finish(std::move(m));
}
Message encode(const ViewStatsList& m) {
  Writer w(ViewStatsList::kCommand, ViewStatsList::kFields);
  w.pk.pack(m.req_id);
  w.pk.pack_array(static_cast<uint32_t>(m.views.size()));
  for (const ViewStats& s : m.views) {
    w.pk.pack_array(kViewStatsFields);
    pack_view_spec(w.pk, s.spec);
    w.pk.pack(s.keys);
    w.pk.pack(s.folded);
    w.pk.pack(s.lag);
    w.pk.pack(s.offsets);
  }
  return std::move(w.m);
}

template Result<CreateView> decode(std::string_view);
template Result<DropView> decode(std::string_view);
template Result<RebuildView> decode(std::string_view);
template Result<ViewGet> decode(std::string_view);
template Result<ViewValueReply> decode(std::string_view);
template Result<ViewList> decode(std::string_view);
template Result<ViewRows> decode(std::string_view);
template Result<ViewStatsRequest> decode(std::string_view);
template Result<ViewStatsList> decode(std::string_view);

}  // namespace eda::proto
