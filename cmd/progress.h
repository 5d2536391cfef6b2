// Progress for long commands, shown on stderr only when it is a terminal and
// -q was not given: decorators that count what passes through them.
#pragma once

#include <memory>

#include "core/envelope_output.h"
#include "core/envelope_source.h"
#include "core/progress.h"

namespace eda {

// Counts the messages read from `inner`. When `inner` reads a regular file
// (stdin redirected from one), its read position gives percent and ETA.
class ProgressSource : public EnvelopeSource {
 public:
  ProgressSource(EnvelopeSource& inner, std::string what)
      : inner_(inner), meter_(std::move(what), "messages") {}
  int fd() const override { return inner_.fd(); }
  Status read(std::vector<EnvelopeView>& out, bool& at_end) override;
  void set_max_message_bytes(size_t n) override { inner_.set_max_message_bytes(n); }

 private:
  EnvelopeSource& inner_;
  ProgressMeter meter_;
  uint64_t count_ = 0;
};

// Counts the messages written to `inner`.
class ProgressSink : public EnvelopeSink {
 public:
  ProgressSink(EnvelopeSink& inner, std::string what)
      : inner_(inner), meter_(std::move(what), "messages") {}
  using EnvelopeSink::write;
  Status write(const EnvelopeView& v) override;
  Status flush() override { return inner_.flush(); }
  bool done() const override { return inner_.done(); }

 private:
  EnvelopeSink& inner_;
  ProgressMeter meter_;
  uint64_t count_ = 0;
};

}  // namespace eda
