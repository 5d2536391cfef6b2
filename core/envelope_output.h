// Writing envelopes for a reader: `--format raw|json|msgpack` or `--template`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_view.h"
#include "core/output_template.h"
#include "core/result.h"

namespace eda {

// Receives envelopes in order and writes them somewhere.
class EnvelopeSink {
 public:
  virtual ~EnvelopeSink() = default;
  // The view need live only for the call: a sink copies what it keeps.
  virtual Status write(const EnvelopeView& v) = 0;
  // An owned envelope goes through its view, so each sink has one path.
  // (A sink that overrides write(view) says `using EnvelopeSink::write;`.)
  Status write(const Envelope& e) { return write(view_envelope(e, headers_)); }
  // No further message is waiting: what was written should reach its reader now.
  virtual Status flush() = 0;
  // True once the sink wants no more messages (replay --to reached).
  virtual bool done() const { return false; }

 private:
  std::vector<HeaderField> headers_;  // reused by write(Envelope)
};

enum class OutputFormat {
  kRaw,      // the payload and a newline
  kJson,     // one JSON object per line (core/envelope_json.h)
  kMsgpack,  // a stream of msgpack envelopes (core/envelope_codec.h), what `pub --msgpack` reads
};

Result<OutputFormat> parse_output_format(std::string_view name);

// Buffers output for a file descriptor (not owned) and writes it in large
// chunks, on flush() or when the buffer is full.
class FdSink : public EnvelopeSink {
 public:
  // A template, when given, replaces the format.
  FdSink(int fd, OutputFormat format, std::optional<OutputTemplate> tmpl = std::nullopt)
      : fd_(fd), format_(format), template_(std::move(tmpl)) {}
  ~FdSink() override { (void)flush(); }

  using EnvelopeSink::write;
  Status write(const EnvelopeView& v) override;
  Status flush() override;

 private:
  int fd_;
  OutputFormat format_;
  std::optional<OutputTemplate> template_;
  std::string buffer_;
};

}  // namespace eda
