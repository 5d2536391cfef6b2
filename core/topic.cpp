#include "core/topic.h"

#include <fmt/format.h>

#include <string>

namespace eda {

namespace {

enum class NameKind { kTopic, kSystemTopic, kPattern };

constexpr std::string_view kTopicRules = "topics are tokens of A-Z a-z 0-9 _ - joined by '.'";
constexpr std::string_view kPatternRules =
    "patterns are topic tokens joined by '.', with '*' for one token and '>' for the rest";

// Splits on '.', yielding every token, empty ones included ("" yields one empty token).
class TokenReader {
 public:
  explicit TokenReader(std::string_view text) : rest_(text) {}
  bool done() const { return done_; }
  std::string_view next() {
    size_t dot = rest_.find('.');
    std::string_view token = rest_.substr(0, dot);
    if (dot == std::string_view::npos) {
      done_ = true;
      rest_ = {};
    } else {
      rest_.remove_prefix(dot + 1);
    }
    return token;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_wildcard(std::string_view token) {
  return token == "*" || token == ">";
}

std::string_view rules_for(NameKind kind) {
  return kind == NameKind::kPattern ? kPatternRules : kTopicRules;
}

// Printable characters quoted, anything else as a byte value, so the message stays one line.
std::string describe_char(char c) {
  if (c >= ' ' && c < 0x7f) return fmt::format("character '{}'", c);
  return fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
}

// Long names are shortened so the message stays readable.
std::string shorten(std::string_view text) {
  constexpr size_t kShown = 40;
  if (text.size() <= kShown) return std::string(text);
  return fmt::format("{}...", text.substr(0, kShown));
}

Error invalid_name(NameKind kind, std::string_view text, std::string_view problem) {
  std::string_view what = kind == NameKind::kPattern ? "pattern" : "topic";
  return invalid_argument(fmt::format("invalid {} '{}': {}", what, shorten(text), problem));
}

// What is wrong with a non-empty token, or "" when it is fine.
std::string token_problem(std::string_view token, bool first, bool last, NameKind kind) {
  bool pattern = kind == NameKind::kPattern;
  if (is_wildcard(token)) {
    if (!pattern)
      return fmt::format("'{}' is a wildcard, only allowed in subscription patterns", token);
    if (token == ">" && !last) return "'>' is only allowed as the last token";
    return "";
  }
  if (token[0] == '$') {
    if (!first) return "'$' may only start the first token";
    if (kind == NameKind::kTopic)
      return "names starting with '$' are reserved for the broker; choose a name without '$'";
    if (token.size() == 1) return "'$' must be followed by a name, as in '$sys'";
    token.remove_prefix(1);
  }
  for (char c : token) {
    if (is_token_char(c)) continue;
    if (pattern && (c == '*' || c == '>'))
      return fmt::format("'{}' must be a whole token, as in 'orders.{}'", c, c);
    return fmt::format("{} is not allowed ({})", describe_char(c), rules_for(kind));
  }
  return "";
}

Status validate_name(std::string_view text, NameKind kind) {
  if (text.empty())
    return invalid_name(kind, text, "it is empty (give a name like 'orders.eu.created')");
  if (text.size() > kMaxTopicBytes)
    return invalid_name(
        kind, text, fmt::format("it is {} bytes, the limit is {}", text.size(), kMaxTopicBytes));
  if (text.front() == '.')
    return invalid_name(kind, text, fmt::format("it starts with '.' ({})", rules_for(kind)));
  if (text.back() == '.')
    return invalid_name(kind, text, fmt::format("it ends with '.' ({})", rules_for(kind)));
  TokenReader tokens(text);
  for (bool first = true; !tokens.done(); first = false) {
    std::string_view token = tokens.next();
    if (token.empty())
      return invalid_name(kind, text,
                          fmt::format("empty token between dots ({})", rules_for(kind)));
    std::string problem = token_problem(token, first, tokens.done(), kind);
    if (!problem.empty()) return invalid_name(kind, text, problem);
  }
  return ok_status();
}

}  // namespace

Status validate_topic(std::string_view topic) {
  return validate_name(topic, NameKind::kTopic);
}

Status validate_system_topic(std::string_view topic) {
  return validate_name(topic, NameKind::kSystemTopic);
}

Status validate_pattern(std::string_view pattern) {
  return validate_name(pattern, NameKind::kPattern);
}

Status validate_namespace(std::string_view ns) {
  if (ns.empty())
    return invalid_argument("namespace is empty (it is 1 to 64 bytes of A-Z a-z 0-9 _ -)");
  if (ns.size() > kMaxNamespaceBytes)
    return invalid_argument(fmt::format("namespace '{}' is {} bytes, at most {} are allowed",
                                        shorten(ns), ns.size(), kMaxNamespaceBytes));
  for (char c : ns)
    if (!is_token_char(c))
      return invalid_argument(
          fmt::format("namespace '{}' has {}: a namespace is A-Z a-z 0-9 _ - only", shorten(ns),
                      describe_char(c)));
  return ok_status();
}

bool is_system_topic(std::string_view topic) {
  return !topic.empty() && topic.front() == '$';
}

bool has_wildcard(std::string_view pattern) {
  TokenReader tokens(pattern);
  while (!tokens.done())
    if (is_wildcard(tokens.next())) return true;
  return false;
}

bool topic_matches(std::string_view pattern, std::string_view topic) {
  TokenReader p(pattern);
  TokenReader t(topic);
  for (bool first = true; !p.done(); first = false) {
    std::string_view want = p.next();
    // As in NATS, broker topics are only seen by patterns that name '$' explicitly.
    if (first && is_wildcard(want) && is_system_topic(topic)) return false;
    if (want == ">") return !t.done();
    if (t.done()) return false;
    std::string_view got = t.next();
    if (want != "*" && want != got) return false;
  }
  return t.done();
}

}  // namespace eda
