// Test helpers: what a MessageInput or an EnvelopeSource hands out are views
// that end at the next call, so tests that collect across calls keep copies.
#pragma once

#include <vector>

#include "core/envelope_source.h"
#include "core/envelope_view.h"
#include "core/message_input.h"

namespace eda {

inline void append_copies(const std::vector<EnvelopeView>& views, std::vector<Envelope>& out) {
  for (const EnvelopeView& v : views) out.push_back(copy_envelope(v));
}

// MessageInput::drain into owned envelopes.
inline Status drain_copies(MessageInput& in, bool at_end, std::vector<Envelope>& out) {
  std::vector<EnvelopeView> views;
  Status s = in.drain(at_end, views);
  append_copies(views, out);
  return s;
}

// EnvelopeSource::read into owned envelopes.
inline Status read_copies(EnvelopeSource& source, std::vector<Envelope>& out, bool& at_end) {
  std::vector<EnvelopeView> views;
  Status s = source.read(views, at_end);
  append_copies(views, out);
  return s;
}

}  // namespace eda
