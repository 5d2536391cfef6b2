// edatool pub: publishes arguments or stdin to a topic and waits for confirmations.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "cmd/broker_io.h"
#include "cmd/command.h"
#include "cmd/progress.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/topic.h"

namespace eda {
namespace {

struct PubOptions {
  std::string topic;
  std::vector<std::string> messages;
  std::string key;
  std::vector<std::string> headers;
  std::string id;
  std::string delimiter;
  bool null_delimited = false;
  bool whole = false;
  std::vector<std::string> files;
  bool json = false;
  bool msgpack = false;
  double rate = 0;
  bool no_confirm = false;
  bool print_offsets = false;
  std::string timeout;
};

// --print-offsets: "TOPIC:OFFSET" per message, in input order, as `view get
// --after` takes it. Confirmations may come out of order; they wait here.
class OffsetPrinter {
 public:
  explicit OffsetPrinter(std::string topic) : topic_(std::move(topic)) {}
  void confirmed(uint64_t first, const std::vector<uint64_t>& offsets) {
    waiting_.emplace(first, offsets);
    for (auto it = waiting_.begin(); it != waiting_.end() && it->first == next_;
         it = waiting_.erase(it)) {
      for (uint64_t offset : it->second) fmt::print("{}:{}\n", topic_, offset);
      next_ += it->second.size();
    }
    std::fflush(stdout);
  }

 private:
  std::string topic_;
  uint64_t next_ = 1;  // the number of the next message to print
  std::map<uint64_t, std::vector<uint64_t>> waiting_;
};

Result<char> parse_delimiter(const std::string& d) {
  if (d.size() == 1) return d[0];
  if (d == "\\n") return '\n';
  if (d == "\\t") return '\t';
  if (d == "\\0") return '\0';
  return invalid_argument(
      fmt::format("delimiter '{}' must be one character (or \\n, \\t, \\0)", d));
}

Result<std::vector<Envelope>> read_files(const std::vector<std::string>& files) {
  std::vector<Envelope> out;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return runtime_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    std::ostringstream content;
    content << in.rdbuf();
    out.emplace_back().payload = std::move(content).str();
  }
  return out;
}

// Where messages come from: arguments, files, or stdin in one of its framings.
Result<std::unique_ptr<EnvelopeSource>> make_source(const PubOptions& o) {
  int stdin_modes = !o.delimiter.empty() + o.null_delimited + o.whole + o.json + o.msgpack;
  if (stdin_modes > 1)
    return invalid_argument("choose one of -d, -0, --whole, --json and --msgpack");
  if (!o.messages.empty() + !o.files.empty() + (stdin_modes > 0) > 1)
    return invalid_argument("give messages as arguments, with -f, or on stdin, not several");
  size_t known_count = o.messages.size() + o.files.size() + (o.whole ? 1 : 0);
  if (!o.id.empty() && known_count != 1)
    return invalid_argument("--id names one message: give one MESSAGE, one -f FILE, or --whole");
  if (!o.messages.empty()) {
    std::vector<Envelope> list(o.messages.size());
    for (size_t i = 0; i < list.size(); ++i) list[i].payload = o.messages[i];
    return std::unique_ptr<EnvelopeSource>(new ListSource(std::move(list)));
  }
  if (!o.files.empty()) {
    auto list = read_files(o.files);
    if (!list) return list.error();
    return std::unique_ptr<EnvelopeSource>(new ListSource(std::move(*list)));
  }
  InputFraming framing = o.whole     ? InputFraming::kWhole
                         : o.json    ? InputFraming::kJsonLines
                         : o.msgpack ? InputFraming::kMsgpack
                                     : InputFraming::kDelimited;
  char delimiter = o.null_delimited ? '\0' : '\n';
  if (!o.delimiter.empty()) {
    auto d = parse_delimiter(o.delimiter);
    if (!d) return d.error();
    delimiter = *d;
  }
  return std::unique_ptr<EnvelopeSource>(
      new StreamSource(0, MessageInput(framing, delimiter, kDefaultMaxMessageBytes)));
}

int run_pub(const PubOptions& o, const GlobalOptions& g) {
  if (Status s = validate_topic(o.topic); !s) return report(s.error());
  EnvelopeStamp stamp{o.topic, {}, {}, {}};
  if (!o.key.empty()) stamp.key = o.key;
  if (!o.id.empty()) stamp.id = o.id;
  for (const std::string& h : o.headers) {
    auto header = parse_header_arg(h);
    if (!header) return report(header.error());
    stamp.headers.push_back(std::move(*header));
  }
  PublishConfig config;
  config.confirm = !o.no_confirm;
  config.rate = o.rate;
  OffsetPrinter printer(o.topic);
  if (o.print_offsets) {
    if (o.no_confirm)
      return report(invalid_argument("--print-offsets needs confirmations; drop --no-confirm"));
    if (uses_kafka(g))
      return report(invalid_argument(
          "--print-offsets works with edatool's broker only, not with kafka:// (Kafka offsets are "
          "per partition: read them back with sub --format json)"));
    config.on_confirmed = [&printer](uint64_t first, const std::vector<uint64_t>& offsets) {
      printer.confirmed(first, offsets);
    };
  }
  if (o.rate < 0) return report(invalid_argument("--rate must be positive"));
  if (!o.timeout.empty()) {
    auto t = parse_duration(o.timeout);
    if (!t) return report(t.error());
    config.timeout = *t;
  }
  auto source = make_source(o);
  if (!source) return report(source.error());
  const std::atomic<bool>& stop = install_stop_signals();
  PublishReport counts;
  std::optional<ProgressSource> progress;
  if (progress_wanted(g.quiet, false)) progress.emplace(**source, "pub");
  EnvelopeSource& input = progress ? static_cast<EnvelopeSource&>(*progress) : **source;
  Status s = publish_to_broker(g, input, stamp, config, stop, counts);
  if (!s) return report(s.error());
  log_debug("published {} messages to {}: {} confirmed, {} of them already stored before",
            counts.sent, o.topic, counts.confirmed, counts.duplicates);
  return kExitOk;
}

}  // namespace

Runner setup_pub(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<PubOptions>();
  app.add_option("TOPIC", o->topic, "topic to publish to")->required();
  app.add_option("MESSAGE", o->messages, "messages, one per argument (default: read stdin)");
  app.add_option("-k,--key", o->key, "message key")->type_name("KEY");
  app.add_option("-H,--header", o->headers,
                 "header name=value, or name:=42 / name:=true for typed values (repeatable)")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
  app.add_option("--id", o->id, "message id (for one message; default: a new ULID)")
      ->type_name("ID");
  app.add_option("-d,--delimiter", o->delimiter, "split stdin at CHAR instead of newlines")
      ->type_name("CHAR");
  app.add_flag("-0,--null", o->null_delimited, "split stdin at NUL bytes");
  app.add_flag("--whole", o->whole, "all of stdin is one message");
  app.add_option("-f,--file", o->files, "publish FILE's content as one message (repeatable)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_flag("--json", o->json, "stdin lines are JSON envelopes, as `sub --format json` writes");
  app.add_flag("--msgpack", o->msgpack,
               "stdin is msgpack envelopes, as `sub --format msgpack` writes");
  app.add_option("--rate", o->rate, "publish at most N messages per second")->type_name("N");
  app.add_flag("--no-confirm", o->no_confirm, "do not wait for the broker to confirm storage");
  app.add_flag("--print-offsets", o->print_offsets,
               "print TOPIC:OFFSET of each message once stored (for view get --after)");
  app.add_option("--timeout", o->timeout, "give up after DUR (exit 3), e.g. 5s")->type_name("DUR");
  return [o, &global] { return run_pub(*o, global); };
}

}  // namespace eda
