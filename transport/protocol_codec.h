// The pieces every protocol source file uses to write and read bodies
// (internal to transport/protocol*.cpp).
#pragma once

#include <fmt/format.h>

#include <msgpack.hpp>
#include <span>

#include "core/envelope_codec.h"
#include "transport/protocol.h"

namespace eda::proto {

using Packer = msgpack::packer<msgpack::sbuffer>;

// Starts a message whose body is an array of `fields` elements; `reserve`
// bytes up front spare a large body its reallocations.
struct Writer {
  Message m;
  Packer pk;
  Writer(Command c, uint32_t fields, size_t reserve = MSGPACK_SBUFFER_INIT_SIZE)
      : m{c, msgpack::sbuffer(reserve)}, pk(m.body) {
    pk.pack_array(fields);
  }
};

// Reads an array body field by field; the first mismatch is kept as the error.
class Reader {
 public:
  Reader(const msgpack::object& o, uint32_t fields, std::string_view what) : what_(what) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size < fields) {
      fail(fmt::format("body is not an array of {} fields", fields));
      return;
    }
    items_ = o.via.array.ptr;
    size_ = o.via.array.size;
  }
  const msgpack::object* next(std::string_view field) {
    if (!error_.empty()) return nullptr;
    if (index_ >= size_) return fail(fmt::format("{} is missing", field)), nullptr;
    return &items_[index_++];
  }
  uint64_t u64(std::string_view field) {
    const msgpack::object* o = next(field);
    if (o && o->type == msgpack::type::POSITIVE_INTEGER) return o->via.u64;
    if (o) fail(fmt::format("{} is not an unsigned integer", field));
    return 0;
  }
  int64_t i64(std::string_view field) {
    const msgpack::object* o = next(field);
    if (o && o->type == msgpack::type::NEGATIVE_INTEGER) return o->via.i64;
    if (o && o->type == msgpack::type::POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
      return static_cast<int64_t>(o->via.u64);
    if (o) fail(fmt::format("{} is not an integer", field));
    return 0;
  }
  std::string str(std::string_view field) {
    const msgpack::object* o = next(field);
    if (o && o->type == msgpack::type::STR) return std::string(o->via.str.ptr, o->via.str.size);
    if (o) fail(fmt::format("{} is not a string", field));
    return {};
  }
  bool boolean(std::string_view field) {
    const msgpack::object* o = next(field);
    if (o && o->type == msgpack::type::BOOLEAN) return o->via.boolean;
    if (o) fail(fmt::format("{} is not a bool", field));
    return false;
  }
  const msgpack::object* array(std::string_view field) {
    const msgpack::object* o = next(field);
    if (o && o->type != msgpack::type::ARRAY) fail(fmt::format("{} is not an array", field));
    return error_.empty() ? o : nullptr;
  }
  const msgpack::object* map(std::string_view field) {
    const msgpack::object* o = next(field);
    if (o && o->type != msgpack::type::MAP) fail(fmt::format("{} is not a map", field));
    return error_.empty() ? o : nullptr;
  }
  void fail(std::string text) {
    if (error_.empty()) error_ = std::move(text);
  }
  template <class T>
  Result<T> finish(T value) {
    if (!error_.empty()) return invalid_argument(fmt::format("{} body: {}", what_, error_));
    return value;
  }

 private:
  std::string_view what_;
  const msgpack::object* items_ = nullptr;
  uint32_t size_ = 0;
  uint32_t index_ = 0;
  std::string error_;
};

inline std::vector<Envelope> read_envelopes(Reader& r, std::string_view field) {
  const msgpack::object* o = r.array(field);
  if (!o) return {};
  auto batch = unpack_batch(*o);
  if (!batch) {
    r.fail(batch.error().message);
    return {};
  }
  return std::move(*batch);
}

// Specialized per message type, next to its encode().
template <class T>
Result<T> decode_fields(Reader& r);

template <class T>
Result<T> decode(std::string_view body) {
  try {
    size_t offset = 0;
    msgpack::object_handle handle = unpack_bounded(body.data(), body.size(), offset);
    Reader r(handle.get(), T::kFields, command_name(T::kCommand));
    return decode_fields<T>(r);
  } catch (const std::exception& ex) {
    return invalid_argument(
        fmt::format("{} body is not valid msgpack: {}", command_name(T::kCommand), ex.what()));
  }
}

}  // namespace eda::proto
