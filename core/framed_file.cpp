#include "core/framed_file.h"

#include <fmt/format.h>

#include "core/envelope_codec.h"
#include "core/record_frame.h"

namespace eda {

Result<msgpack::object_handle> unpack_framed_array(std::string_view bytes, uint32_t fields) {
  Frame frame = check_frame(bytes);
  if (frame.status != FrameStatus::kOk)
    return corruption(std::string(frame_status_name(frame.status)));
  if (frame.size != bytes.size())
    return corruption(fmt::format("{} bytes after its record", bytes.size() - frame.size));
  msgpack::object_handle handle;
  try {
    size_t read = 0;
    handle = unpack_bounded(frame.body.data(), frame.body.size(), read);
    if (read != frame.body.size()) return corruption("bytes after its msgpack value");
  } catch (const std::exception& ex) {
    return corruption(ex.what());
  }
  const msgpack::object& o = handle.get();
  if (o.type != msgpack::type::ARRAY || o.via.array.size != fields)
    return corruption(fmt::format("expected an array of {} fields", fields));
  return handle;
}

}  // namespace eda
