// bench/zmq_reference.cpp: bare ZeroMQ, the physical reference for edatool's
// transport (docs/PERFORMANCE.md "Side by side"). One sender thread and one
// receiver thread in this process, over tcp loopback, one message per frame,
// every message the same --size bytes; the clock runs from the first send
// until the receiver has all --messages. Both patterns are lossless here:
//   push-pull  PUSH -> PULL, default high-water marks (a full pipe blocks the sender)
//   pub-sub    PUB -> SUB with ZMQ_XPUB_NODROP (a full pipe blocks instead of dropping);
//              empty frames are sent until the SUB gets one, so it is subscribed
//              before the clock starts (the slow-joiner problem)
// The receiver counts what it gets; a shortfall (nothing for 10 s) is an error (exit 1).
//
// Build: g++ -O2 -std=c++20 bench/zmq_reference.cpp -lzmq -lpthread -o zmq_reference
// Usage: zmq_reference [--messages N] [--size BYTES] [--pattern push-pull|pub-sub|both] [--json]
#define FMT_HEADER_ONLY
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <zmq.hpp>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kGiveUpMs = 10'000;  // a receive or send blocked this long: messages were lost

struct Run {
  std::string pattern;
  uint64_t received = 0;
  double seconds = 0;
};

// Sends `n` frames of `size` bytes from `out` while a thread receives them on
// `in`; `warm_up` (pub-sub) sends empty frames until the receiver has one.
Run measure(std::string pattern, zmq::socket_t& out, zmq::socket_t& in, uint64_t n, size_t size,
            bool warm_up) {
  Run run{std::move(pattern)};
  in.set(zmq::sockopt::rcvtimeo, kGiveUpMs);
  out.set(zmq::sockopt::sndtimeo, kGiveUpMs);
  std::atomic<bool> joined{!warm_up};
  Clock::time_point end;
  std::thread receiver([&] {
    zmq::message_t m;
    while (run.received < n) {
      if (!in.recv(m)) break;
      if (m.size() == 0) {
        joined = true;  // a warm-up frame: not counted
        continue;
      }
      ++run.received;
    }
    end = Clock::now();
  });
  while (!joined) {
    out.send(zmq::message_t(), zmq::send_flags::none);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string payload(size, 'x');
  auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i)
    if (!out.send(zmq::buffer(payload), zmq::send_flags::none)) break;
  receiver.join();
  run.seconds = std::chrono::duration<double>(end - start).count();
  return run;
}

Run push_pull(uint64_t n, size_t size) {
  zmq::context_t context;
  zmq::socket_t pull(context, zmq::socket_type::pull);
  pull.bind("tcp://127.0.0.1:*");
  zmq::socket_t push(context, zmq::socket_type::push);
  push.connect(pull.get(zmq::sockopt::last_endpoint));
  return measure("push-pull", push, pull, n, size, false);
}

Run pub_sub(uint64_t n, size_t size) {
  zmq::context_t context;
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, "");
  sub.bind("tcp://127.0.0.1:*");
  zmq::socket_t pub(context, zmq::socket_type::pub);
  pub.set(zmq::sockopt::xpub_nodrop, 1);
  pub.connect(sub.get(zmq::sockopt::last_endpoint));
  return measure("pub-sub", pub, sub, n, size, true);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bare ZeroMQ throughput over tcp loopback, one message per frame"};
  uint64_t n = 1'000'000;
  size_t size = 100;
  std::string pattern = "both";
  bool json = false;
  app.add_option("--messages", n, "messages per pattern")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--size", size, "bytes per message")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--pattern", pattern, "which sockets")
      ->capture_default_str()
      ->check(CLI::IsMember({"push-pull", "pub-sub", "both"}));
  app.add_flag("--json", json, "one JSON object per pattern");
  CLI11_PARSE(app, argc, argv);

  std::vector<Run> runs;
  if (pattern != "pub-sub") runs.push_back(push_pull(n, size));
  if (pattern != "push-pull") runs.push_back(pub_sub(n, size));
  int status = 0;
  for (const Run& r : runs) {
    double rate = r.received / r.seconds;
    if (json)
      fmt::print("{}\n", nlohmann::ordered_json{{"pattern", r.pattern},
                                                {"messages", n},
                                                {"size", size},
                                                {"received", r.received},
                                                {"seconds", r.seconds},
                                                {"msg_per_s", rate},
                                                {"mb_per_s", rate * size / 1e6}}
                             .dump());
    else
      fmt::print("{}: {} msgs of {} B in {:.3f} s: {:.0f} msg/s, {:.1f} MB/s\n", r.pattern,
                 r.received, size, r.seconds, rate, rate * size / 1e6);
    if (r.received != n) {
      fmt::print(stderr, "zmq_reference: {} received {} of {}\n", r.pattern, r.received, n);
      status = 1;
    }
  }
  return status;
}
