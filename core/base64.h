// Standard base64 (RFC 4648, with padding), for binary payloads in JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace eda {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

}  // namespace eda
