#include "core/output_template.h"

#include <fmt/format.h>

namespace eda {

Result<OutputTemplate> OutputTemplate::compile(std::string_view text) {
  OutputTemplate t;
  std::string literal;
  auto flush_literal = [&] {
    if (!literal.empty()) t.parts_.push_back({Field::kLiteral, std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      char n = text[++i];
      literal += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n == '0' ? '\0' : n;
      continue;
    }
    if (c != '%') {
      literal += c;
      continue;
    }
    if (i + 1 >= text.size())
      return invalid_argument("template ends with a lone '%' (write %% for a percent sign)");
    char token = text[++i];
    Field field;
    switch (token) {
      case '%':
        literal += '%';
        continue;
      case 't':
        field = Field::kTopic;
        break;
      case 'o':
        field = Field::kOffset;
        break;
      case 'p':
        field = Field::kPartition;
        break;
      case 'k':
        field = Field::kKey;
        break;
      case 's':
        field = Field::kPayload;
        break;
      case 'T':
        field = Field::kTs;
        break;
      case 'i':
        field = Field::kId;
        break;
      case 'h':
        field = Field::kHeaders;
        break;
      case '{': {
        size_t close = text.find('}', i);
        if (close == std::string_view::npos)
          return invalid_argument(
              fmt::format("template: '%{{' at column {} has no closing '}}'", i));
        flush_literal();
        t.parts_.push_back({Field::kHeader, std::string(text.substr(i + 1, close - i - 1))});
        i = close;
        continue;
      }
      default:
        return invalid_argument(fmt::format(
            "template: unknown token '%{}' (use %t %p %o %k %s %T %i %h %{{name}} or %%)", token));
    }
    flush_literal();
    t.parts_.push_back({field, {}});
  }
  flush_literal();
  return t;
}

void OutputTemplate::render(const Envelope& e, std::string& out) const {
  for (const Part& p : parts_) {
    switch (p.field) {
      case Field::kLiteral:
        out += p.text;
        break;
      case Field::kTopic:
        out += e.topic;
        break;
      case Field::kPartition:
        if (e.partition >= 0) fmt::format_to(std::back_inserter(out), "{}", e.partition);
        break;
      case Field::kOffset:
        fmt::format_to(std::back_inserter(out), "{}", e.offset);
        break;
      case Field::kKey:
        out += e.key.value_or("");
        break;
      case Field::kPayload:
        out += e.payload;
        break;
      case Field::kTs:
        fmt::format_to(std::back_inserter(out), "{}", e.ts);
        break;
      case Field::kId:
        out += e.id;
        break;
      case Field::kHeaders:
        for (size_t i = 0; i < e.headers.size(); ++i) {
          if (i) out += ',';
          out += e.headers[i].first;
          out += '=';
          out += header_value_text(e.headers[i].second);
        }
        break;
      case Field::kHeader:
        if (const HeaderValue* v = find_header(e.headers, p.text)) out += header_value_text(*v);
        break;
    }
  }
}

}  // namespace eda
