// kcat-style output templates for `sub --template` (DESIGN §4).
//
// Tokens: %t topic, %p partition (Kafka only; empty elsewhere), %o offset, %k key, %s payload, %T
// timestamp (ms), %i id, %h headers as name=value joined by ',', %{name} one header's value,
// %% a percent sign, \n newline, \t tab, \\ backslash. A template adds no
// newline of its own. Compiled once, rendered per message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/envelope_view.h"
#include "core/result.h"

namespace eda {

class OutputTemplate {
 public:
  // Fails on an unknown %x token or an unterminated %{.
  static Result<OutputTemplate> compile(std::string_view text);

  void render(const EnvelopeView& v, std::string& out) const;

 private:
  enum class Field {
    kLiteral,
    kTopic,
    kPartition,
    kOffset,
    kKey,
    kPayload,
    kTs,
    kId,
    kHeaders,
    kHeader
  };
  struct Part {
    Field field;
    std::string text;  // the literal, or the header name for kHeader
  };
  std::vector<Part> parts_;
};

}  // namespace eda
