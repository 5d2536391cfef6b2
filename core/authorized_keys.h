// The broker's list of CURVE public keys it admits, with each key's rights
// (`edatool broker --authorized-keys FILE`, docs/PROTOCOL.md "Security").
//
// One key per line: a 40-character Z85 public key, then optional rights
//   pub=PATTERN[,PATTERN...]   topics it may publish to
//   sub=PATTERN[,PATTERN...]   what it may subscribe to or receive from
//   admin                      list, create and delete topics, queues, groups
//   ns=NAME[,NAME...]          the namespaces it may use (default: all);
//                              the other rights apply within them
// A line with no rights grants all of them; a line with any right grants only
// those listed (`pub=orders.>` alone may publish to orders.> and nothing else).
// `ns=` is a limit, not a right: `KEY ns=shop` has every right within shop.
// Patterns are NATS-style topic patterns (core/topic.h). Empty lines and
// lines starting with '#' are ignored; a key listed twice is an error.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace eda {

inline constexpr size_t kZ85KeyChars = 40;  // a 32-byte CURVE key in Z85

// True when `text` is 40 characters of the Z85 alphabet (ZeroMQ RFC 32).
bool is_z85_key(std::string_view text);

// Whether every topic `inner` matches is also matched by `outer` (both valid
// patterns): a subscription to `inner` stays within rights `outer`.
bool pattern_covers(std::string_view outer, std::string_view inner);

struct KeyRights {
  bool unrestricted = true;  // the line lists no rights: everything is allowed
  std::vector<std::string> publish;
  std::vector<std::string> subscribe;
  bool admin = false;
  std::vector<std::string> namespaces;  // empty: every namespace

  bool may_use_namespace(std::string_view ns) const;
  bool may_publish(std::string_view topic) const;
  // A subscription pattern, or a queue's topic (a topic is a pattern without wildcards).
  bool may_subscribe(std::string_view pattern) const;
  bool may_admin() const { return unrestricted || admin; }
};

class AuthorizedKeys {
 public:
  // Parses the text of an authorized keys file; `source` names it in errors
  // ("keys.txt:3: ..."). Every error is kInvalidArgument.
  static Result<AuthorizedKeys> parse(std::string_view text, const std::string& source);
  // Reads and parses the file at `path`.
  static Result<AuthorizedKeys> load(const std::string& path);

  // The rights of `key`, or null when it is not listed. Valid until this
  // object is replaced or destroyed.
  const KeyRights* find(std::string_view key) const;
  size_t size() const { return keys_.size(); }

 private:
  std::unordered_map<std::string, KeyRights> keys_;
};

}  // namespace eda
