#include "core/envelope.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace eda {

size_t Envelope::size() const {
  size_t n = payload.size() + (key ? key->size() : 0);
  for (const auto& [name, value] : headers) {
    const auto* text = std::get_if<std::string>(&value);
    n += name.size() + (text ? text->size() : 8);
  }
  return n;
}

const HeaderValue* find_header(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (n == name) return &v;
  return nullptr;
}

namespace {

std::optional<HeaderValue> parse_typed(std::string_view text) {
  if (text == "true") return HeaderValue{true};
  if (text == "false") return HeaderValue{false};
  const char* end = text.data() + text.size();
  int64_t i = 0;
  if (auto [p, ec] = std::from_chars(text.data(), end, i); ec == std::errc() && p == end)
    return HeaderValue{i};
  double d = 0;
  if (auto [p, ec] = std::from_chars(text.data(), end, d);
      ec == std::errc() && p == end && std::isfinite(d))
    return HeaderValue{d};
  return std::nullopt;
}

}  // namespace

Result<std::pair<std::string, HeaderValue>> parse_header_arg(std::string_view arg) {
  auto eq = arg.find('=');
  if (eq == std::string_view::npos)
    return invalid_argument(fmt::format("header '{}' has no '=': use name=value or name:=42", arg));
  bool typed = eq > 0 && arg[eq - 1] == ':';
  std::string_view name = arg.substr(0, typed ? eq - 1 : eq);
  std::string_view text = arg.substr(eq + 1);
  if (name.empty()) return invalid_argument(fmt::format("header '{}' has an empty name", arg));
  if (!typed) return std::pair{std::string(name), HeaderValue{std::string(text)}};
  auto value = parse_typed(text);
  if (!value)
    return invalid_argument(fmt::format(
        "header '{}': '{}' is not a number or true/false (use name=value for text)", arg, text));
  return std::pair{std::string(name), *value};
}

}  // namespace eda
