// View: a materialized view (DESIGN §4 `view`, README "Views") — a key ->
// value table folded from the messages of the topics matching a pattern.
// Pure fold logic: the caller reads the log and hands over each message in
// offset order per topic; ViewSet (core/view_set.h) does that in the broker.
//
// Per message: the --filter must hold (when given); the --key expression
// gives the key (NULL: the message is skipped; numbers and booleans as their
// text, a JSON object or array as JSON text). A tombstone (is_tombstone in
// core/envelope_view.h: a message key, an empty payload and the header
// `tombstone:=true`) deletes that key, whatever the reducer. Otherwise the
// --value expression gives the value (without one: the payload; an empty
// payload is the empty text, not a deletion) and the reducer changes the
// key's entry; a NULL value leaves it as it is:
//   last   the value. Without --value, a payload that is a JSON object or
//          array is kept as JSON, anything else (the empty payload too) as text.
//   count  the number of messages whose value is not NULL
//   sum    the sum of the numeric values (numbers, or strings spelling one);
//   min    others (the empty text too) are skipped. Integers stay integers
//   max    until a sum overflows.
//   merge  JSON objects merged field by field (RFC 7386 merge patch: a null
//          field deletes that field, objects merge recursively); a value that
//          is no object (the empty payload too) is skipped.
//
// Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope_view.h"
#include "core/filter.h"
#include "core/result.h"
#include "core/view_table.h"

namespace eda {

enum class Reducer : uint8_t { kLast, kCount, kSum, kMin, kMax, kMerge };

std::string_view reducer_name(Reducer r);
// "last", "count", ...; anything else is a usage error.
Result<Reducer> parse_reducer(std::string_view text);

// What `view create` says; the broker keeps it with the view.
struct ViewSpec {
  std::string name;
  std::string from;    // a topic pattern
  std::string key;     // value expression
  std::string filter;  // condition; empty: every message
  std::string value;   // value expression; empty: the payload
  Reducer reduce = Reducer::kLast;
  bool operator==(const ViewSpec&) const = default;
};

// One entry of the table.
struct ViewValue {
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kJson };
  Type type = Type::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;  // kString: the bytes; kJson: JSON text of an object or array
  bool operator==(const ViewValue&) const = default;
};

// The value as `view get` prints it: text as is, JSON as JSON text, numbers
// and booleans as JSON writes them.
std::string format_view_value(const ViewValue& v);
// The value as one JSON value (`view list --format json`); text that is not
// UTF-8 has its bad bytes replaced.
std::string view_value_json(const ViewValue& v);

// A value as msgpack: [type, value] (docs/PROTOCOL.md "Views"). Unpacking
// throws std::exception on anything else. Stream: msgpack::sbuffer or
// StringStream (core/envelope_codec.h).
template <class Stream>
void pack_view_value(msgpack::packer<Stream>& pk, const ViewValue& v);
// The definition as six strings: name, from, key, filter, value, reduce
// (the wire's CREATE_VIEW fields, and a snapshot's).
template <class Stream>
void pack_view_spec(msgpack::packer<Stream>& pk, const ViewSpec& spec);
ViewValue unpack_view_value(const msgpack::object& o);

class View {
 public:
  // Checks the name, pattern and expressions; a bad one is kInvalidArgument
  // with the parser's message and caret.
  static Result<View> create(ViewSpec spec);

  const ViewSpec& spec() const { return spec_; }
  bool reads(std::string_view topic) const;

  // Folds one message of topic m.topic whose offset is m.offset, the next one
  // this view needs of that topic (or later, after a gap retention made).
  void fold(const EnvelopeView& m);

  // The next offset this view needs of `topic` (0 when it read none).
  uint64_t next_offset(std::string_view topic) const;
  // Moves past offsets that can no longer be read (retention), or back.
  void set_next_offset(const std::string& topic, uint64_t next) { next_[topic] = next; }
  const std::map<std::string, uint64_t, std::less<>>& offsets() const { return next_; }
  // Messages folded since the last clear() (or the snapshot's count).
  uint64_t folded() const { return folded_; }

  const ViewValue* get(std::string_view key) const;
  size_t size() const { return table_.size(); }
  // Entries whose key starts with `prefix`, in key order.
  std::vector<std::pair<std::string, ViewValue>> list(std::string_view prefix) const;

  // Forgets the table and the offsets (a rebuild folds everything again).
  void clear();

  // The whole view as one msgpack document (docs/STORAGE.md "Views"), and back.
  std::string snapshot() const;
  // The same document made in slices, so that a big table never holds the
  // caller for long: begin_snapshot() writes all but the table's entries,
  // each add_to_snapshot() appends up to `max` of them and says whether all
  // are in. The view must not change in between (ViewSet stops folding it).
  struct SnapshotProgress {
    std::string bytes;
    size_t next = 0;  // the next entry to add
  };
  void begin_snapshot(SnapshotProgress& p) const;
  bool add_to_snapshot(SnapshotProgress& p, size_t max) const;
  static Result<View> from_snapshot(std::string_view bytes);

 private:
  View(ViewSpec spec, std::optional<Filter> filter, Filter key, std::optional<Filter> value);
  void reduce(std::string_view key, const FieldValue& value);

  ViewSpec spec_;
  std::optional<Filter> filter_;
  Filter key_;
  std::optional<Filter> value_;
  ViewTable<ViewValue> table_;
  std::map<std::string, uint64_t, std::less<>> next_;
  uint64_t folded_ = 0;
  std::string key_scratch_, value_scratch_, key_text_;
};

}  // namespace eda
