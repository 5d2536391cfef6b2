#include "core/like_pattern.h"

namespace eda {

size_t utf8_length_at(std::string_view text, size_t at) {
  size_t n = 1;
  while (at + n < text.size() && (static_cast<uint8_t>(text[at + n]) & 0xc0) == 0x80) ++n;
  return n;
}

Result<LikePattern> LikePattern::compile(std::string_view pattern, std::string_view escape) {
  LikePattern p;
  auto literal = [&](std::string_view bytes) {
    if (p.pieces_.empty() || p.pieces_.back().kind != Piece::Kind::kLiteral)
      p.pieces_.push_back({Piece::Kind::kLiteral, {}});
    p.pieces_.back().text.append(bytes);
  };
  for (size_t i = 0; i < pattern.size();) {
    std::string_view c = pattern.substr(i, utf8_length_at(pattern, i));
    i += c.size();
    if (!escape.empty() && c == escape) {
      if (i == pattern.size())
        return invalid_argument("the LIKE pattern ends with its escape character");
      std::string_view next = pattern.substr(i, utf8_length_at(pattern, i));
      i += next.size();
      literal(next);
    } else if (c == "%") {
      if (p.pieces_.empty() || p.pieces_.back().kind != Piece::Kind::kAny)
        p.pieces_.push_back({Piece::Kind::kAny, {}});
    } else if (c == "_") {
      p.pieces_.push_back({Piece::Kind::kOne, {}});
    } else {
      literal(c);
    }
  }
  return p;
}

// Every piece but % has a fixed length once its start is known, so on a
// mismatch it is enough to let the latest % absorb one more character.
bool LikePattern::matches(std::string_view s) const {
  const size_t n = pieces_.size();
  size_t si = 0, pi = 0;
  size_t any_piece = SIZE_MAX, any_start = 0;
  while (si < s.size() || (pi < n && pieces_[pi].kind != Piece::Kind::kAny)) {
    if (pi < n) {
      const Piece& piece = pieces_[pi];
      if (piece.kind == Piece::Kind::kAny) {
        any_piece = pi++;
        any_start = si;
        continue;
      }
      if (piece.kind == Piece::Kind::kOne && si < s.size()) {
        si += utf8_length_at(s, si);
        ++pi;
        continue;
      }
      if (piece.kind == Piece::Kind::kLiteral && s.substr(si).starts_with(piece.text)) {
        si += piece.text.size();
        ++pi;
        continue;
      }
    }
    if (any_piece == SIZE_MAX || any_start >= s.size()) return false;
    any_start += utf8_length_at(s, any_start);
    si = any_start;
    pi = any_piece + 1;
  }
  while (pi < n && pieces_[pi].kind == Piece::Kind::kAny) ++pi;
  return pi == n;
}

}  // namespace eda
