// Topic names and NATS-style patterns (DESIGN §3).
//
// A topic is tokens of [A-Za-z0-9_-] joined by '.', 1..255 bytes, e.g.
// `orders.eu.created`. A first token starting with '$' marks a broker-owned
// name (`$sys.stats`); only the broker creates those.
// A pattern may use `*` for exactly one token and `>` for one or more trailing
// tokens (only as the last token). A pattern's literal tokens follow topic rules.
#pragma once

#include <string_view>

#include "core/result.h"

namespace eda {

inline constexpr size_t kMaxTopicBytes = 255;

// Namespaces isolate every name (topics, queues, groups), as Service Bus
// namespaces do. A namespace is 1..64 bytes of [A-Za-z0-9_-]: one directory
// of the broker's data directory, so never `.` or `/`.
inline constexpr std::string_view kDefaultNamespace = "default";
inline constexpr size_t kMaxNamespaceBytes = 64;
Status validate_namespace(std::string_view ns);

// A name a user may publish to. `$` names are refused with a message saying they
// are reserved. Errors name the topic and what is wrong with it.
Status validate_topic(std::string_view topic);

// A name as the broker itself may use: like validate_topic, but `$` first tokens pass.
Status validate_system_topic(std::string_view topic);

// A subscription pattern. `$` tokens are allowed (to watch broker topics).
Status validate_pattern(std::string_view pattern);

bool is_system_topic(std::string_view topic);
bool has_wildcard(std::string_view pattern);

// True when `topic` matches `pattern`. Both are assumed valid. A pattern
// starting with a wildcard does not match `$` topics (as in NATS), so `>` means
// "every user topic".
bool topic_matches(std::string_view pattern, std::string_view topic);

}  // namespace eda
