// Where a publisher's messages come from: a fixed list (arguments, files) or a
// stream (stdin) split by MessageInput.
#pragma once

#include <vector>

#include "core/envelope.h"
#include "core/envelope_view.h"
#include "core/message_input.h"
#include "core/result.h"

namespace eda {

// A source hands out views, so that reading stdin costs no allocation per
// message: the publisher encodes each one before it reads again.
class EnvelopeSource {
 public:
  virtual ~EnvelopeSource() = default;
  // A descriptor to poll for readability before read(), or -1 when read()
  // never blocks.
  virtual int fd() const = 0;
  // Appends what is available now to `out`; sets `at_end` after the last one.
  // The views stay valid until the next read(). On error, messages before
  // the bad one are still appended.
  virtual Status read(std::vector<EnvelopeView>& out, bool& at_end) = 0;
  // The broker's message size limit, learned when connecting.
  virtual void set_max_message_bytes(size_t) {}
};

class ListSource : public EnvelopeSource {
 public:
  explicit ListSource(std::vector<Envelope> envelopes) : envelopes_(std::move(envelopes)) {}
  int fd() const override { return -1; }
  // All of them in the first read().
  Status read(std::vector<EnvelopeView>& out, bool& at_end) override;

 private:
  std::vector<Envelope> envelopes_;
  std::vector<HeaderField> headers_;
  bool given_ = false;
};

// Reads `fd` (not owned) in large chunks; one read() per call.
class StreamSource : public EnvelopeSource {
 public:
  StreamSource(int fd, MessageInput input) : fd_(fd), input_(std::move(input)) {}
  int fd() const override { return fd_; }
  Status read(std::vector<EnvelopeView>& out, bool& at_end) override;
  void set_max_message_bytes(size_t n) override { input_.set_max_message_bytes(n); }

 private:
  int fd_;
  MessageInput input_;
  std::vector<char> chunk_ = std::vector<char>(256 * 1024);
};

}  // namespace eda
