// A librdkafka mock Kafka cluster in its own process, for end-to-end tests
// (tests/e2e/kafka_test.sh): starts 3 brokers on loopback, prints the
// bootstrap address ("127.0.0.1:PORT,...") as one line on stdout, and serves
// until stdin closes or SIGINT/SIGTERM arrives. edatool and kcat, as other
// processes, reach it over TCP.
//
// Usage: edatool_kafka_mock_cluster [TOPIC:PARTITIONS]...
//   each argument creates a topic with that many partitions up front;
//   other topics are created on first use with the mock's default (4 partitions).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
  stop_requested = 1;
}

}  // namespace

int main(int argc, char** argv) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The mock cluster needs a client instance to live in; it is never used otherwise.
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "kafka_mock_cluster: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, 3);
  if (!cluster) {
    std::fprintf(stderr, "kafka_mock_cluster: cannot create the mock cluster\n");
    return 1;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t colon = arg.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "kafka_mock_cluster: expected TOPIC:PARTITIONS, got %s\n", argv[i]);
      return 2;
    }
    int partitions = std::atoi(arg.c_str() + colon + 1);
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(cluster, arg.substr(0, colon).c_str(), partitions, 3);
    if (e) {
      std::fprintf(stderr, "kafka_mock_cluster: %s: %s\n", argv[i], rd_kafka_err2str(e));
      return 1;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  // Serve until stdin reaches its end (the test harness went away) or a signal.
  pollfd in{0, POLLIN, 0};
  while (!stop_requested) {
    int n = ::poll(&in, 1, 200);
    if (n > 0) {
      char buf[256];
      if (::read(0, buf, sizeof buf) <= 0) break;
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
