// Envelope: one message as the broker stores and delivers it (DESIGN §2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"

namespace eda {

// A header value keeps its type: `-H n=5` is a string, `-H n:=5` an integer.
using HeaderValue = std::variant<std::string, int64_t, double, bool>;
// Ordered as the publisher gave them; names may repeat.
using Headers = std::vector<std::pair<std::string, HeaderValue>>;

inline constexpr uint64_t kNoOffset = UINT64_MAX;
// The broker's default for --max-message-bytes (payload + key + headers).
inline constexpr size_t kDefaultMaxMessageBytes = 1u << 20;
// Most headers one message may carry, and the longest header name; the
// broker refuses a batch with a message beyond either (docs/PROTOCOL.md §14).
inline constexpr size_t kMaxHeaders = 256;
inline constexpr size_t kMaxHeaderNameBytes = 255;
// Most messages one PUBLISH may carry (edatool pub sends 1000).
inline constexpr size_t kMaxBatchMessages = 65536;

struct Envelope {
  std::string id;  // ULID chosen by the publisher, kept across retries
  std::string topic;
  std::optional<std::string> key;
  Headers headers;
  int64_t ts = 0;               // publish time, ms since the Unix epoch
  std::string payload;          // bytes, binary-safe
  uint64_t offset = kNoOffset;  // per-topic position, set once stored
  // Kafka only (docs/KAFKA.md): the partition `offset` counts in; -1 elsewhere.
  // Not part of the msgpack form.
  int32_t partition = -1;

  // The message size that --max-message-bytes limits: payload, key and
  // headers (names, text values, 8 bytes per typed value).
  size_t size() const;
  bool operator==(const Envelope&) const = default;
};

// The header's value as text, as `%h`, `%{name}` and the environment show it
// (defined with append_header_text in envelope_view.cpp: one formatting).
std::string header_value_text(const HeaderValue& value);

// The first header named `name`, or nullptr.
const HeaderValue* find_header(const Headers& headers, std::string_view name);

// Parses a `-H` argument: `name=text` gives a string; `name:=42`, `name:=1.5`,
// `name:=true` give a typed value. Fails on a missing name or a bad typed value.
Result<std::pair<std::string, HeaderValue>> parse_header_arg(std::string_view arg);

}  // namespace eda
