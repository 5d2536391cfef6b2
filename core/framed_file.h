// Small files of one framed record holding a msgpack array (a topic's
// settings, a group's file): record framing (core/record_frame.h) plus the
// msgpack that only these files need.
#pragma once

#include <cstdint>
#include <msgpack.hpp>
#include <string_view>

#include "core/result.h"

namespace eda {

// The msgpack array of `fields` elements that a small file of one framed
// record holds (a topic's settings, a group's file). The error's message says
// what is wrong with the bytes ("bad checksum", "expected an array of 3
// fields"); the caller names the file.
Result<msgpack::object_handle> unpack_framed_array(std::string_view bytes, uint32_t fields);

}  // namespace eda
