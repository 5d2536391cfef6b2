#include "core/envelope_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/envelope_codec.h"
#include "core/envelope_json.h"
#include "core/message_input.h"
#include "tests/envelope_copies.h"

namespace eda::envelope_output_test {
namespace {

// A temporary file, removed when the test ends; read back with contents().
class TempFile {
 public:
  TempFile() {
    char path[] = "/tmp/edatool_output_test_XXXXXX";
    fd_ = ::mkstemp(path);
    REQUIRE(fd_ >= 0);
    ::unlink(path);
  }
  ~TempFile() { ::close(fd_); }
  int fd() const { return fd_; }
  std::string contents() const {
    std::string out;
    char buf[65536];
    for (off_t at = 0;;) {
      ssize_t n = ::pread(fd_, buf, sizeof buf, at);
      REQUIRE(n >= 0);
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
      at += n;
    }
    return out;
  }

 private:
  int fd_ = -1;
};

std::vector<Envelope> samples() {
  std::vector<Envelope> v;
  for (int i = 0; i < 3; ++i) {
    Envelope e;
    e.id = "id-" + std::to_string(i);
    e.topic = "orders.eu";
    e.key = i == 1 ? std::optional<std::string>() : "k" + std::to_string(i);
    e.headers = {{"n", int64_t{i}}, {"s", std::string("v")}};
    e.ts = 1'714'564'800'000 + i;
    e.offset = static_cast<uint64_t>(10 + i);
    e.payload = "message " + std::to_string(i);
    v.push_back(e);
  }
  v[2].payload = std::string("bin\0\xff\n", 6);
  return v;
}

void write_all(EnvelopeSink& sink, const std::vector<Envelope>& v) {
  for (const Envelope& e : v) REQUIRE(sink.write(e).ok());
  REQUIRE(sink.flush().ok());
}

TEST_CASE("envelope output: parse_output_format", "[envelope_output]") {
  CHECK(*parse_output_format("raw") == OutputFormat::kRaw);
  CHECK(*parse_output_format("json") == OutputFormat::kJson);
  CHECK(*parse_output_format("msgpack") == OutputFormat::kMsgpack);
  for (const char* bad : {"", "RAW", "xml", "json "}) {
    INFO(bad);
    auto f = parse_output_format(bad);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().kind == ErrorKind::kInvalidArgument);
    CHECK_THAT(f.error().message, Catch::Contains(std::string("'") + bad + "'"));
  }
}

TEST_CASE("envelope output: raw writes the payload and a newline", "[envelope_output]") {
  TempFile file;
  FdSink sink(file.fd(), OutputFormat::kRaw);
  write_all(sink, samples());
  CHECK(file.contents() == "message 0\nmessage 1\n" + std::string("bin\0\xff\n\n", 7));
}

TEST_CASE("envelope output: json writes one parseable line per envelope", "[envelope_output]") {
  TempFile file;
  FdSink sink(file.fd(), OutputFormat::kJson);
  auto v = samples();
  write_all(sink, v);
  std::string text = file.contents();
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  std::vector<Envelope> back;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto e = envelope_from_json(std::string_view(text).substr(start, nl - start));
    REQUIRE(e.ok());
    back.push_back(*e);
  }
  CHECK(start == text.size());
  CHECK(back == v);
}

TEST_CASE("envelope output: msgpack writes a stream that pub --msgpack reads",
          "[envelope_output]") {
  TempFile file;
  FdSink sink(file.fd(), OutputFormat::kMsgpack);
  auto v = samples();
  write_all(sink, v);
  std::string bytes = file.contents();
  MessageInput in(InputFraming::kMsgpack, '\n', 1u << 20);
  in.feed(bytes);
  std::vector<Envelope> back;
  REQUIRE(drain_copies(in, true, back).ok());
  CHECK(back == v);
  CHECK(bytes == encode_envelope(v[0]) + encode_envelope(v[1]) + encode_envelope(v[2]));
}

TEST_CASE("envelope output: a template replaces the format", "[envelope_output]") {
  auto t = OutputTemplate::compile("%t/%o:%s|");
  REQUIRE(t.ok());
  TempFile file;
  FdSink sink(file.fd(), OutputFormat::kJson, *t);
  auto v = samples();
  v.pop_back();
  write_all(sink, v);
  CHECK(file.contents() == "orders.eu/10:message 0|orders.eu/11:message 1|");
}

TEST_CASE("envelope output: small writes are buffered until flush", "[envelope_output]") {
  TempFile file;
  FdSink sink(file.fd(), OutputFormat::kRaw);
  REQUIRE(sink.write(samples()[0]).ok());
  CHECK(file.contents().empty());
  REQUIRE(sink.flush().ok());
  CHECK(file.contents() == "message 0\n");
  REQUIRE(sink.flush().ok());  // nothing new: nothing written twice
  CHECK(file.contents() == "message 0\n");
}

TEST_CASE("envelope output: a full buffer is written without flush", "[envelope_output]") {
  TempFile file;
  FdSink sink(file.fd(), OutputFormat::kRaw);
  Envelope e;
  e.payload = std::string(4095, 'x');                         // 4 KiB a line
  for (int i = 0; i < 128; ++i) REQUIRE(sink.write(e).ok());  // 512 KiB
  size_t written = file.contents().size();
  CHECK(written >= 256u * 1024);
  CHECK(written % 4096 == 0);
  REQUIRE(sink.flush().ok());
  CHECK(file.contents().size() == 128u * 4096);
}

TEST_CASE("envelope output: the destructor flushes", "[envelope_output]") {
  TempFile file;
  {
    FdSink sink(file.fd(), OutputFormat::kRaw);
    REQUIRE(sink.write(samples()[1]).ok());
  }
  CHECK(file.contents() == "message 1\n");
}

TEST_CASE("envelope output: into a pipe read by another thread", "[envelope_output]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::string received;
  std::thread reader([&] {
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) received.append(buf, static_cast<size_t>(n));
  });
  std::string expected;
  {
    FdSink sink(fds[1], OutputFormat::kRaw);
    Envelope e;
    for (int i = 0; i < 20000; ++i) {  // well past the pipe's and the sink's buffers
      e.payload = "line " + std::to_string(i);
      expected += e.payload + "\n";
      REQUIRE(sink.write(e).ok());
    }
    REQUIRE(sink.flush().ok());
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  CHECK(received == expected);
}

TEST_CASE("envelope output: a write error is reported", "[envelope_output]") {
  int fd = ::open("/dev/null", O_RDONLY);
  REQUIRE(fd >= 0);
  {
    FdSink sink(fd, OutputFormat::kRaw);
    REQUIRE(sink.write(samples()[0]).ok());  // buffered
    Status s = sink.flush();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kRuntime);
    CHECK_THAT(s.error().message, Catch::Contains("writing output"));
  }
  ::close(fd);
}

}  // namespace
}  // namespace eda::envelope_output_test
