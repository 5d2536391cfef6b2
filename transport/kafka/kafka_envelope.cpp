#include "transport/kafka/kafka_envelope.h"

#include <algorithm>

namespace eda {

std::vector<std::pair<std::string, std::string>> kafka_headers_of(const Envelope& e) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(e.headers.size() + 1);
  for (const auto& [name, value] : e.headers) out.emplace_back(name, header_value_text(value));
  if (!e.id.empty()) out.emplace_back(kKafkaIdHeader, e.id);
  return out;
}

void read_kafka_headers(std::span<const KafkaHeaderView> headers, Envelope& e) {
  bool have_id = false;
  for (const KafkaHeaderView& h : headers) {
    std::string value(h.value.value_or(std::string_view()));
    if (h.name == kKafkaIdHeader && !have_id) {
      e.id = std::move(value);
      have_id = true;
    } else {
      e.headers.emplace_back(std::string(h.name), HeaderValue{std::move(value)});
    }
  }
}

Envelope kafka_message_envelope(const rd_kafka_message_t& m) {
  Envelope e;
  e.topic = rd_kafka_topic_name(m.rkt);
  e.partition = m.partition;
  e.offset = static_cast<uint64_t>(m.offset);
  if (m.key) e.key = std::string(static_cast<const char*>(m.key), m.key_len);
  if (m.payload) e.payload.assign(static_cast<const char*>(m.payload), m.len);
  e.ts = std::max<int64_t>(0, rd_kafka_message_timestamp(&m, nullptr));
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return e;
  std::vector<KafkaHeaderView> views;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); ++i) {
    std::optional<std::string_view> text;
    if (value) text = std::string_view(static_cast<const char*>(value), size);
    views.push_back({name, text});
  }
  read_kafka_headers(views, e);
  return e;
}

}  // namespace eda
