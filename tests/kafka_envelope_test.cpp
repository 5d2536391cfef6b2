// The envelope <-> Kafka message header mapping (transport/kafka/kafka_envelope.h).
#include "transport/kafka/kafka_envelope.h"

#include <catch2/catch.hpp>

namespace eda::kafka_envelope_test {

using KafkaHeaderList = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("kafka envelope: headers go to Kafka as text, in order, then edatool-id",
          "[kafka_envelope]") {
  Envelope e;
  e.id = "01J0000000000000000000000A";
  e.headers = {{"color", std::string("red")},
               {"qty", int64_t{5}},
               {"ratio", 1.5},
               {"ok", true},
               {"color", std::string("blue")}};
  CHECK(kafka_headers_of(e) == KafkaHeaderList{{"color", "red"},
                                               {"qty", "5"},
                                               {"ratio", "1.5"},
                                               {"ok", "true"},
                                               {"color", "blue"},
                                               {"edatool-id", "01J0000000000000000000000A"}});
}

TEST_CASE("kafka envelope: an envelope without id or headers has no Kafka headers",
          "[kafka_envelope]") {
  CHECK(kafka_headers_of(Envelope{}).empty());
}

TEST_CASE("kafka envelope: Kafka headers read back: edatool-id is the id, the rest strings",
          "[kafka_envelope]") {
  std::vector<KafkaHeaderView> in = {{"color", "red"},
                                     {"edatool-id", "ID1"},
                                     {"empty", std::nullopt},
                                     {"edatool-id", "ID2"},
                                     {"qty", "5"}};
  Envelope e;
  read_kafka_headers(in, e);
  CHECK(e.id == "ID1");
  Headers expected = {{"color", std::string("red")},
                      {"empty", std::string()},
                      {"edatool-id", std::string("ID2")},
                      {"qty", std::string("5")}};
  CHECK(e.headers == expected);
}

TEST_CASE("kafka envelope: a message from another producer has no id", "[kafka_envelope]") {
  Envelope e;
  std::vector<KafkaHeaderView> in = {{"h1", "v1"}};
  read_kafka_headers(in, e);
  CHECK(e.id.empty());
  CHECK(e.headers.size() == 1);
}

TEST_CASE("kafka envelope: headers survive the round trip as text", "[kafka_envelope]") {
  Envelope sent;
  sent.id = "X";
  sent.headers = {{"a", std::string("1")}, {"n", int64_t{-3}}};
  auto kafka = kafka_headers_of(sent);
  std::vector<KafkaHeaderView> views;
  for (const auto& [name, value] : kafka) views.push_back({name, value});
  Envelope got;
  read_kafka_headers(views, got);
  CHECK(got.id == "X");
  CHECK(got.headers == Headers{{"a", std::string("1")}, {"n", std::string("-3")}});
}

}  // namespace eda::kafka_envelope_test
