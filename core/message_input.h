// Splits a publisher's input stream into envelopes (`pub` reading stdin).
//
// Framings: delimited text (one message per line, or per `-d CHAR`, or per NUL),
// the whole stream as one message, JSON lines (what `sub --format json` writes),
// or a stream of msgpack envelopes (what `sub --format msgpack` writes).
// A last record without a trailing delimiter is still a message; a trailing
// delimiter does not make an empty extra one. Empty records in the middle are
// empty messages.
#pragma once

#include <memory>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_view.h"
#include "core/result.h"

namespace eda {

enum class InputFraming { kDelimited, kWhole, kJsonLines, kMsgpack };

class MessageInput {
 public:
  MessageInput(InputFraming framing, char delimiter, size_t max_message_bytes);

  // Adds bytes read from the input. Views from drain() end here.
  void feed(std::string_view bytes);

  // Appends a view of every complete message to `out` (only payload, or for
  // JSON and msgpack also id, key and headers), valid until the next feed()
  // or drain(). With `at_end`, what remains is the last message. Fails on a
  // message over the size limit or a record that does not parse, naming the
  // record number; messages before it are still in `out`.
  Status drain(bool at_end, std::vector<EnvelopeView>& out);

  // The broker's limit, once known (pub learns it when it connects).
  void set_max_message_bytes(size_t n) { max_bytes_ = n; }

  // Records produced so far (for error messages).
  size_t records() const { return records_; }

 private:
  Status take_record(std::string_view record, std::vector<EnvelopeView>& out);
  Status drain_msgpack(bool at_end);
  // Forgets what the last drain() took (its views end).
  void release();

  InputFraming framing_;
  char delimiter_;
  size_t max_bytes_;
  std::string buffer_;
  size_t taken_ = 0;    // bytes of buffer_ drained, kept while their views live
  size_t scanned_ = 0;  // bytes of buffer_ known to hold no delimiter
  size_t records_ = 0;
  // JSON and msgpack records are decoded (they are rarely the fast path);
  // their views point into these.
  std::vector<Envelope> decoded_;
  std::vector<HeaderField> decoded_headers_;
};

}  // namespace eda
