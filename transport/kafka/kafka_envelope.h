// How an Envelope maps onto a Kafka message and back (DESIGN §9, docs/KAFKA.md):
// key -> key, payload -> value, ts -> timestamp, headers -> headers (values
// as text: Kafka headers are bytes, so `-H n:=5` travels as "5" and reads back
// as the string "5", which filters still compare as a number), id -> the
// header `edatool-id`. Pure functions (but the last), so the mapping is
// tested without Kafka.
#pragma once

#include <librdkafka/rdkafka.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/envelope.h"

namespace eda {

inline constexpr std::string_view kKafkaIdHeader = "edatool-id";

// A Kafka header as librdkafka lists it: a name and a value that may be null.
struct KafkaHeaderView {
  std::string_view name;
  std::optional<std::string_view> value;
};

// The Kafka headers for `e`: its headers in order (values as text), then
// `edatool-id` when it has an id.
std::vector<std::pair<std::string, std::string>> kafka_headers_of(const Envelope& e);

// Sets `e.id` from the first `edatool-id` header and appends every other
// header to `e.headers` as a string (a null value reads as "").
void read_kafka_headers(std::span<const KafkaHeaderView> headers, Envelope& e);

// The envelope of a consumed message (m.err == 0): topic, partition, offset,
// key (null: none), payload, timestamp, id and headers as above.
Envelope kafka_message_envelope(const rd_kafka_message_t& m);

}  // namespace eda
