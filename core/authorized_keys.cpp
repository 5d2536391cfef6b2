#include "core/authorized_keys.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/topic.h"

namespace eda {
namespace {

constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

std::vector<std::string_view> split_on(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Words separated by spaces or tabs.
std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// "pub=a.>,b.*" into `into`, each pattern checked.
Status parse_patterns(std::string_view list, std::vector<std::string>& into) {
  for (std::string_view pattern : split_on(list, ',')) {
    if (pattern.empty()) return invalid_argument("an empty pattern in a rights list");
    if (Status s = validate_pattern(pattern); !s) return s.error();
    into.emplace_back(pattern);
  }
  return ok_status();
}

// "ns=shop,billing": limits the key to those namespaces; not a right of its
// own, so `KEY ns=shop` has every right within shop.
Status parse_namespaces(std::string_view list, std::vector<std::string>& into) {
  for (std::string_view ns : split_on(list, ',')) {
    if (Status s = validate_namespace(ns); !s) return s.error();
    into.emplace_back(ns);
  }
  return ok_status();
}

Status parse_right(std::string_view word, KeyRights& rights) {
  if (word.starts_with("ns=")) return parse_namespaces(word.substr(3), rights.namespaces);
  rights.unrestricted = false;
  if (word == "admin") {
    rights.admin = true;
    return ok_status();
  }
  if (word.starts_with("pub=")) return parse_patterns(word.substr(4), rights.publish);
  if (word.starts_with("sub=")) return parse_patterns(word.substr(4), rights.subscribe);
  return invalid_argument(fmt::format(
      "unknown right '{}' (expected pub=PATTERNS, sub=PATTERNS, admin or ns=NAMES)", word));
}

}  // namespace

bool is_z85_key(std::string_view text) {
  return text.size() == kZ85KeyChars && std::all_of(text.begin(), text.end(), [](char c) {
           return kZ85Alphabet.find(c) != std::string_view::npos;
         });
}

bool pattern_covers(std::string_view outer, std::string_view inner) {
  std::vector<std::string_view> o = split_on(outer, '.');
  std::vector<std::string_view> in = split_on(inner, '.');
  // As topic_matches: a leading wildcard does not reach `$` topics.
  if ((o[0] == "*" || o[0] == ">") && in[0].starts_with('$')) return false;
  for (size_t i = 0; i < o.size(); ++i) {
    if (o[i] == ">") return i < in.size();
    if (i >= in.size() || in[i] == ">") return false;
    if (o[i] != "*" && o[i] != in[i]) return false;
  }
  return o.size() == in.size();
}

bool KeyRights::may_publish(std::string_view topic) const {
  return unrestricted || std::any_of(publish.begin(), publish.end(),
                                     [&](const std::string& p) { return topic_matches(p, topic); });
}

bool KeyRights::may_use_namespace(std::string_view ns) const {
  return namespaces.empty() ||
         std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
}

bool KeyRights::may_subscribe(std::string_view pattern) const {
  return unrestricted || std::any_of(subscribe.begin(), subscribe.end(), [&](const std::string& p) {
           return pattern_covers(p, pattern);
         });
}

Result<AuthorizedKeys> AuthorizedKeys::parse(std::string_view text, const std::string& source) {
  AuthorizedKeys keys;
  size_t number = 0;
  for (std::string_view line : split_on(text, '\n')) {
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::vector<std::string_view> words = words_of(line);
    if (words.empty() || words[0].starts_with('#')) continue;
    auto fail = [&](const std::string& what) {
      return invalid_argument(fmt::format("{}:{}: {}", source, number, what));
    };
    std::string key(words[0]);
    if (!is_z85_key(key))
      return fail(
          fmt::format("'{}' is not a CURVE public key (40 Z85 characters, as in a .pub "
                      "file from edatool keygen)",
                      key));
    if (keys.keys_.count(key)) return fail(fmt::format("key {} is listed twice", key));
    KeyRights rights;
    for (size_t i = 1; i < words.size(); ++i)
      if (Status s = parse_right(words[i], rights); !s) return fail(s.error().message);
    keys.keys_.emplace(std::move(key), std::move(rights));
  }
  return keys;
}

Result<AuthorizedKeys> AuthorizedKeys::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return invalid_argument(
        fmt::format("cannot read authorized keys file {}: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

const KeyRights* AuthorizedKeys::find(std::string_view key) const {
  auto it = keys_.find(std::string(key));
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace eda
