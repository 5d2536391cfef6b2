// LikePattern: the pattern of SQL LIKE — % matches any run of characters,
// _ exactly one (a UTF-8 character, not a byte), the ESCAPE character makes
// the next one literal. Compiled once; matching allocates nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace eda {

class LikePattern {
 public:
  // `escape` is one UTF-8 character, or empty for none. Fails when the
  // pattern ends with the escape character.
  static Result<LikePattern> compile(std::string_view pattern, std::string_view escape);

  bool matches(std::string_view text) const;

 private:
  struct Piece {
    enum class Kind : uint8_t { kLiteral, kOne, kAny } kind;
    std::string text;  // kLiteral only
  };
  std::vector<Piece> pieces_;
};

// Bytes in the UTF-8 character starting at text[at] (1 for invalid bytes).
size_t utf8_length_at(std::string_view text, size_t at);

}  // namespace eda
