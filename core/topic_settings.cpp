#include "core/topic_settings.h"

#include <fmt/format.h>

#include <limits>
#include <msgpack.hpp>

#include "core/envelope_codec.h"
#include "core/framed_file.h"
#include "core/record_frame.h"

namespace eda {
namespace {

constexpr uint64_t kSettingsVersion = 1;
constexpr uint32_t kSettingsFields = 3;  // version, compact, tombstone_retention_ms

std::string settings_path(const std::string& topic_dir) {
  return fmt::format("{}/{}", topic_dir, kTopicSettingsFile);
}

Error bad_settings(const std::string& path, std::string_view what) {
  return Error{ErrorKind::kCorruption,
               fmt::format("{} is damaged ({}); restore it or delete the topic", path, what)};
}

}  // namespace

Status save_topic_settings(FileSystem& fs, const std::string& topic_dir, const TopicSettings& s) {
  std::string body;
  StringStream stream{body};
  msgpack::packer<StringStream> pk(stream);
  pk.pack_array(kSettingsFields);
  pk.pack(kSettingsVersion);
  pk.pack(s.compact);
  pk.pack(static_cast<uint64_t>(s.tombstone_retention_ms));
  std::string framed;
  append_frame(framed, 0, body);
  return replace_file(fs, settings_path(topic_dir), framed);
}

Result<TopicSettings> load_topic_settings(FileSystem& fs, const std::string& topic_dir) {
  std::string path = settings_path(topic_dir);
  if (!fs.exists(path)) return TopicSettings{};
  auto file = fs.open(path, OpenMode::kReadOnly);
  if (!file) return file.error();
  std::string bytes((*file)->size(), '\0');
  auto n = (*file)->read_at(0, bytes.data(), bytes.size());
  if (!n) return n.error();
  auto handle = unpack_framed_array(bytes, kSettingsFields);
  if (!handle) return bad_settings(path, handle.error().message);
  const msgpack::object& o = handle->get();
  const msgpack::object* f = o.via.array.ptr;
  if (f[0].type != msgpack::type::POSITIVE_INTEGER || f[0].via.u64 != kSettingsVersion)
    return bad_settings(path, "unknown version");
  if (f[1].type != msgpack::type::BOOLEAN || f[2].type != msgpack::type::POSITIVE_INTEGER ||
      f[2].via.u64 > uint64_t{std::numeric_limits<int64_t>::max()})
    return bad_settings(path, "fields of the wrong type");
  return TopicSettings{f[1].via.boolean, static_cast<int64_t>(f[2].via.u64)};
}

}  // namespace eda
