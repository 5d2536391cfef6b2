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

void OutputTemplate::render(const EnvelopeView& v, std::string& out) const {
  for (const Part& p : parts_) {
    switch (p.field) {
      case Field::kLiteral:
        out += p.text;
        break;
      case Field::kTopic:
        out += v.topic;
        break;
      case Field::kPartition:
        if (v.partition >= 0) fmt::format_to(std::back_inserter(out), "{}", v.partition);
        break;
      case Field::kOffset:
        fmt::format_to(std::back_inserter(out), "{}", v.offset);
        break;
      case Field::kKey:
        if (v.key) out += *v.key;
        break;
      case Field::kPayload:
        out += v.payload;
        break;
      case Field::kTs:
        fmt::format_to(std::back_inserter(out), "{}", v.ts);
        break;
      case Field::kId:
        out += v.id;
        break;
      case Field::kHeaders:
        for (size_t i = 0; i < v.headers.size(); ++i) {
          if (i) out += ',';
          out += v.headers[i].name;
          out += '=';
          append_header_text(v.headers[i].value, out);
        }
        break;
      case Field::kHeader:
        for (const HeaderField& h : v.headers)
          if (h.name == p.text) {  // the first of that name, as find_header
            append_header_text(h.value, out);
            break;
          }
        break;
    }
  }
}

}  // namespace eda
