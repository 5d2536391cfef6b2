#include "transport/kafka/kafka_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace eda {

bool is_kafka_url(std::string_view url) {
  return url.starts_with(kKafkaScheme);
}

Result<std::string> parse_kafka_url(std::string_view url) {
  if (!is_kafka_url(url))
    return invalid_argument(fmt::format("broker URL '{}' is not kafka://HOST:PORT", url));
  std::string_view rest = url.substr(kKafkaScheme.size());
  auto bad = [&](std::string_view why) {
    return invalid_argument(
        fmt::format("broker URL '{}': {} (expected kafka://HOST:PORT[,HOST:PORT]...)", url, why));
  };
  if (rest.empty()) return bad("no host");
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = std::min(rest.find(',', start), rest.size());
    std::string_view entry = rest.substr(start, comma - start);
    size_t colon = entry.rfind(':');
    if (entry.empty()) return bad("an empty host");
    if (colon == std::string_view::npos || colon == 0)
      return bad(fmt::format("'{}' needs HOST:PORT", entry));
    std::string_view port = entry.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) > 65535)
      return bad(fmt::format("'{}' has no valid port", entry));
    start = comma + 1;
  }
  return std::string(rest);
}

Result<KafkaSetting> parse_kafka_setting(std::string_view arg) {
  size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return invalid_argument(
        fmt::format("-X '{}' is not name=value (e.g. -X message.max.bytes=2000000)", arg));
  return KafkaSetting{std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
}

Result<std::vector<KafkaSetting>> parse_kafka_config_text(std::string_view text,
                                                          std::string_view source) {
  std::vector<KafkaSetting> settings;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return invalid_argument(
          fmt::format("{} line {}: '{}' is not name=value", source, line_no, line));
    std::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    settings.emplace_back(std::string(name), std::string(value));
  }
  return settings;
}

Result<std::vector<KafkaSetting>> read_kafka_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return invalid_argument(
        fmt::format("cannot read the Kafka config file {}: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_kafka_config_text(text.str(), path);
}

std::string kafka_topic_regex(std::string_view pattern) {
  if (pattern.find_first_of("*>") == std::string_view::npos) return std::string(pattern);
  std::string out = "^";
  size_t start = 0;
  while (true) {
    size_t dot = pattern.find('.', start);
    std::string_view token =
        pattern.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (start > 0) out += "\\.";
    if (token == "*") {
      out += "[^.]+";
    } else if (token == ">") {
      out += ".+";
    } else {
      // Topic tokens are [A-Za-z0-9_-] (core/topic.h); escape the rest anyway.
      for (char c : token) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        out += c;
      }
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out + "$";
}

}  // namespace eda
