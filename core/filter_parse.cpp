// Filter::parse: a lexer and a recursive-descent parser for the grammar
//   or        := and (OR and)*
//   and       := not (AND not)*
//   not       := NOT not | predicate
//   predicate := sum [ compare sum | [NOT] LIKE 'p' [ESCAPE 'c']
//                     | [NOT] IN '(' sum (',' sum)* ')' | IS [NOT] NULL
//                     | [NOT] BETWEEN sum AND sum ]
//   sum       := product (('+' | '-') product)*
//   product   := unary (('*' | '/' | '%') unary)*
//   unary     := '-' unary | '+' unary | primary
//   primary   := number | 'string' | TRUE | FALSE | NULL | field
//                | EXISTS '(' field ')' | '(' or ')'
#include <fmt/format.h>

#include <array>
#include <charconv>

#include "core/filter.h"
#include "core/filter_program.h"

namespace eda {
namespace {

// Deeper trees are refused so that parsing and evaluating stay within the stack.
constexpr int kMaxDepth = 256;

struct SyntaxError {
  std::string what;
  size_t pos;  // byte offset into the text
};

enum class Tok : uint8_t { kEnd, kNumber, kString, kWord, kName, kSymbol };

struct Token {
  Tok type = Tok::kEnd;
  size_t pos = 0;
  std::string_view raw;  // as written
  std::string value;     // kString: unquoted; kName: unbracketed
  FieldValue number;     // kNumber
};

bool is_word_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80);
}

bool is_word_char(char c) {
  return is_word_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '.';
}

// "payload" followed by nothing, '.' or '['.
bool is_payload_path(std::string_view word) {
  constexpr std::string_view kPayload = "payload";
  return word.size() >= kPayload.size() &&
         equals_ignoring_case(word.substr(0, kPayload.size()), kPayload) &&
         (word.size() == kPayload.size() || word[kPayload.size()] == '.' ||
          word[kPayload.size()] == '[');
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  Token next() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    Token t;
    t.pos = i_;
    if (i_ == s_.size()) return t;
    char c = s_[i_];
    if (std::isdigit(static_cast<unsigned char>(c)))
      number(t);
    else if (c == '\'')
      quoted(t, '\'', Tok::kString, "unterminated string; close it with '");
    else if (c == '[')
      quoted(t, ']', Tok::kName, "unterminated [name]; close it with ]");
    else if (is_word_start(c))
      word(t);
    else
      symbol(t);
    t.raw = s_.substr(t.pos, i_ - t.pos);
    return t;
  }

 private:
  void number(Token& t) {
    auto digits = [&] {
      size_t start = i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
      return i_ > start;
    };
    bool ok = digits();
    if (i_ < s_.size() && s_[i_] == '.') ++i_, ok = digits();
    if (ok && i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      ok = digits();
    }
    while (i_ < s_.size() && is_word_char(s_[i_])) ++i_, ok = false;
    std::string_view text = s_.substr(t.pos, i_ - t.pos);
    auto value = ok ? parse_number(text) : std::nullopt;
    if (!value) throw SyntaxError{fmt::format("malformed number '{}'", text), t.pos};
    t.type = Tok::kNumber;
    t.number = *value;
  }

  // 'text' and [name]: the closing character doubled stands for itself.
  void quoted(Token& t, char close, Tok type, const char* unterminated) {
    for (++i_;; ++i_) {
      if (i_ >= s_.size()) throw SyntaxError{unterminated, t.pos};
      if (s_[i_] != close) {
        t.value += s_[i_];
      } else if (i_ + 1 < s_.size() && s_[i_ + 1] == close) {
        t.value += close;
        ++i_;
      } else {
        ++i_;
        break;
      }
    }
    t.type = type;
  }

  // A field name; a payload path may index arrays right after a name:
  // payload.items[0], payload[1]. Elsewhere '[' starts a [bracketed name].
  void word(Token& t) {
    while (i_ < s_.size()) {
      if (is_word_char(s_[i_])) {
        ++i_;
      } else if (s_[i_] == '[' && is_payload_path(s_.substr(t.pos, i_ - t.pos))) {
        size_t open = i_++;
        size_t digits = i_;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        if (i_ == digits || i_ == s_.size() || s_[i_] != ']')
          throw SyntaxError{"expected an array index such as [0]", open};
        ++i_;
      } else {
        break;
      }
    }
    t.type = Tok::kWord;
  }

  void symbol(Token& t) {
    static constexpr std::array<std::string_view, 14> kSymbols = {
        "<>", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")"};
    for (std::string_view sym : kSymbols)
      if (s_.substr(i_).starts_with(sym)) {
        i_ += sym.size();
        t.type = Tok::kSymbol;
        return;
      }
    if (s_[i_] == ',') {
      ++i_;
      t.type = Tok::kSymbol;
      return;
    }
    throw SyntaxError{
        fmt::format("unexpected character '{}'", s_.substr(i_, utf8_length_at(s_, i_))), i_};
  }

  std::string_view s_;
  size_t i_ = 0;
};

// What a node is known to give before evaluation: conditions may be
// combined with AND/OR/NOT; numbers and strings may not.
enum class Kind : uint8_t { kCondition, kNumber, kString, kAny };

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {
    program_ = std::make_shared<FilterProgram>();
    program_->text = std::string(text);
    advance();
  }

  // `value`: any value may stand at the root (a value expression), not only a condition.
  std::shared_ptr<FilterProgram> parse(bool value) {
    value_ = value;
    if (tok_.type == Tok::kEnd)
      throw SyntaxError{value ? "empty expression; write a field such as sys.key or payload.id"
                              : "empty filter; write a condition such as color = 'red'",
                        0};
    uint32_t root = value ? or_expr() : condition(or_expr());
    if (tok_.type != Tok::kEnd)
      throw SyntaxError{fmt::format("unexpected {} after a complete {}", describe(tok_),
                                    value ? "expression" : "condition"),
                        tok_.pos};
    program_->root = root;
    return std::move(program_);
  }

 private:
  struct Info {
    Kind kind;
    int depth;
    size_t start;
  };

  void advance() { tok_ = lexer_.next(); }
  bool at_symbol(std::string_view s) const { return tok_.type == Tok::kSymbol && tok_.raw == s; }
  bool at_keyword(std::string_view k) const {
    return tok_.type == Tok::kWord && equals_ignoring_case(tok_.raw, k);
  }
  bool accept_keyword(std::string_view k) {
    if (!at_keyword(k)) return false;
    advance();
    return true;
  }

  std::string describe(const Token& t) const {
    if (t.type == Tok::kEnd) return value_ ? "end of the expression" : "end of the filter";
    return fmt::format("'{}'", t.raw);
  }

  [[noreturn]] void fail(std::string_view expected) const {
    if (tok_.type == Tok::kEnd)
      throw SyntaxError{fmt::format("unexpected {}; {}", describe(tok_), expected), tok_.pos};
    throw SyntaxError{fmt::format("{}, found {}", expected, describe(tok_)), tok_.pos};
  }

  uint32_t add(FilterNode node, Kind kind, size_t start, const std::vector<uint32_t>& children) {
    int depth = 1;
    for (uint32_t c : children) depth = std::max(depth, info_[c].depth + 1);
    if (depth > kMaxDepth)
      throw SyntaxError{
          fmt::format("the filter nests deeper than {} levels; simplify it", kMaxDepth), start};
    program_->nodes.push_back(std::move(node));
    info_.push_back({kind, depth, start});
    return static_cast<uint32_t>(program_->nodes.size() - 1);
  }

  uint32_t condition(uint32_t node) const {
    const Info& info = info_[node];
    if (info.kind == Kind::kNumber || info.kind == Kind::kString)
      throw SyntaxError{fmt::format("expected a condition, found a {}",
                                    info.kind == Kind::kNumber ? "number" : "string"),
                        info.start};
    return node;
  }

  // a OR b OR c is one node with every operand, so long generated chains
  // add no depth.
  uint32_t chain(FilterOp op, std::string_view keyword, uint32_t (Parser::*operand)()) {
    std::vector<uint32_t> items{(this->*operand)()};
    while (accept_keyword(keyword)) {
      if (items.size() == 1) condition(items[0]);
      items.push_back(condition((this->*operand)()));
    }
    if (items.size() == 1) return items[0];
    FilterNode n{op};
    n.first = static_cast<uint32_t>(program_->lists.size());
    n.count = static_cast<uint32_t>(items.size());
    program_->lists.insert(program_->lists.end(), items.begin(), items.end());
    return add(std::move(n), Kind::kCondition, info_[items[0]].start, items);
  }

  uint32_t or_expr() { return chain(FilterOp::kOr, "OR", &Parser::and_expr); }
  uint32_t and_expr() { return chain(FilterOp::kAnd, "AND", &Parser::not_expr); }

  uint32_t not_expr() {
    if (!at_keyword("NOT")) return predicate();
    size_t start = tok_.pos;
    advance();
    Nesting nesting(*this, start);
    FilterNode n{FilterOp::kNot};
    n.a = condition(not_expr());
    return add(std::move(n), Kind::kCondition, start, {n.a});
  }

  uint32_t predicate() {
    uint32_t left = sum();
    size_t start = info_[left].start;
    static constexpr std::array<std::pair<std::string_view, CompareOp>, 7> kCompare = {{
        {"=", CompareOp::kEq},
        {"<>", CompareOp::kNe},
        {"!=", CompareOp::kNe},
        {"<", CompareOp::kLt},
        {"<=", CompareOp::kLe},
        {">", CompareOp::kGt},
        {">=", CompareOp::kGe},
    }};
    for (auto [symbol, op] : kCompare)
      if (at_symbol(symbol)) {
        advance();
        FilterNode n{FilterOp::kCompare};
        n.compare = op;
        n.a = left;
        n.b = sum();
        return add(std::move(n), Kind::kCondition, start, {n.a, n.b});
      }
    if (accept_keyword("IS")) {
      FilterNode n{FilterOp::kIsNull};
      n.negated = accept_keyword("NOT");
      if (!accept_keyword("NULL")) fail("expected NULL or NOT NULL after IS");
      n.a = left;
      return add(std::move(n), Kind::kCondition, start, {left});
    }
    bool negated = accept_keyword("NOT");
    if (accept_keyword("LIKE")) return like(left, negated);
    if (accept_keyword("IN")) return in_list(left, negated);
    if (accept_keyword("BETWEEN")) {
      FilterNode n{FilterOp::kBetween};
      n.negated = negated;
      n.a = left;
      n.b = sum();
      if (!accept_keyword("AND")) fail("expected AND in BETWEEN ... AND ...");
      n.c = sum();
      return add(std::move(n), Kind::kCondition, start, {n.a, n.b, n.c});
    }
    if (negated) fail("expected LIKE, IN or BETWEEN after NOT");
    return left;
  }

  uint32_t like(uint32_t left, bool negated) {
    if (tok_.type != Tok::kString) fail("LIKE needs a quoted pattern, e.g. name LIKE 'abc%'");
    Token pattern = std::move(tok_);
    advance();
    std::string escape;
    if (accept_keyword("ESCAPE")) {
      if (tok_.type != Tok::kString || tok_.value.empty() ||
          utf8_length_at(tok_.value, 0) != tok_.value.size())
        fail("ESCAPE needs one quoted character, e.g. ESCAPE '!'");
      escape = tok_.value;
      advance();
    }
    auto compiled = LikePattern::compile(pattern.value, escape);
    if (!compiled) throw SyntaxError{compiled.error().message, pattern.pos};
    FilterNode n{FilterOp::kLike};
    n.negated = negated;
    n.a = left;
    n.pattern = static_cast<uint32_t>(program_->patterns.size());
    program_->patterns.push_back(std::move(*compiled));
    return add(std::move(n), Kind::kCondition, info_[left].start, {left});
  }

  uint32_t in_list(uint32_t left, bool negated) {
    if (!at_symbol("(")) fail("expected '(' after IN");
    advance();
    std::vector<uint32_t> items;
    for (;;) {
      items.push_back(sum());
      if (at_symbol(")")) break;
      if (!at_symbol(",")) fail("expected ',' or ')' in the IN list");
      advance();
    }
    advance();
    FilterNode n{FilterOp::kIn};
    n.negated = negated;
    n.a = left;
    n.first = static_cast<uint32_t>(program_->lists.size());
    n.count = static_cast<uint32_t>(items.size());
    program_->lists.insert(program_->lists.end(), items.begin(), items.end());
    items.push_back(left);
    return add(std::move(n), Kind::kCondition, info_[left].start, items);
  }

  using Operators = std::initializer_list<std::pair<std::string_view, ArithmeticOp>>;

  // Left-associative: operand (op operand)*.
  uint32_t arithmetic_chain(uint32_t (Parser::*operand)(), Operators operators) {
    uint32_t left = (this->*operand)();
    for (;;) {
      auto op = std::find_if(operators.begin(), operators.end(),
                             [&](const auto& o) { return at_symbol(o.first); });
      if (op == operators.end()) return left;
      advance();
      left = arithmetic(op->second, left, (this->*operand)());
    }
  }

  uint32_t sum() {
    return arithmetic_chain(&Parser::product,
                            {{"+", ArithmeticOp::kAdd}, {"-", ArithmeticOp::kSub}});
  }

  uint32_t product() {
    return arithmetic_chain(
        &Parser::unary,
        {{"*", ArithmeticOp::kMul}, {"/", ArithmeticOp::kDiv}, {"%", ArithmeticOp::kMod}});
  }

  uint32_t arithmetic(ArithmeticOp op, uint32_t a, uint32_t b) {
    FilterNode n{FilterOp::kArithmetic};
    n.arithmetic = op;
    n.a = a, n.b = b;
    return add(std::move(n), Kind::kNumber, info_[a].start, {a, b});
  }

  uint32_t unary() {
    if (!at_symbol("-") && !at_symbol("+")) return primary();
    size_t start = tok_.pos;
    bool minus = at_symbol("-");
    advance();
    Nesting nesting(*this, start);
    uint32_t operand = unary();
    if (!minus)
      return arithmetic(ArithmeticOp::kAdd, operand, literal(FieldValue::integer(0), start));
    FilterNode n{FilterOp::kNegate};
    n.a = operand;
    return add(std::move(n), Kind::kNumber, start, {operand});
  }

  uint32_t literal(FieldValue value, size_t start, std::string text = {}) {
    FilterNode n{FilterOp::kLiteral};
    n.literal = value;
    n.name = std::move(text);
    Kind kind = value.type == FieldValue::Type::kString ? Kind::kString
                : value.is_number()                     ? Kind::kNumber
                : value.is_null()                       ? Kind::kAny
                                                        : Kind::kCondition;
    return add(std::move(n), kind, start, {});
  }

  uint32_t primary() {
    size_t start = tok_.pos;
    if (tok_.type == Tok::kNumber || tok_.type == Tok::kString) {
      Token t = std::move(tok_);
      advance();
      if (t.type == Tok::kNumber) return literal(t.number, start);
      return literal(FieldValue::string({}), start, std::move(t.value));
    }
    if (at_symbol("(")) {
      advance();
      Nesting nesting(*this, start);
      uint32_t inner = or_expr();
      if (!at_symbol(")"))
        fail(fmt::format("expected ')' to close the '(' at column {}", column_of(start)));
      advance();
      return inner;
    }
    for (auto [word, value] :
         {std::pair{"TRUE", FieldValue::boolean(true)},
          std::pair{"FALSE", FieldValue::boolean(false)}, std::pair{"NULL", FieldValue::null()}})
      if (accept_keyword(word)) return literal(value, start);
    if (accept_keyword("EXISTS")) {
      if (!at_symbol("(")) fail("EXISTS needs a field in parentheses, e.g. EXISTS(color)");
      advance();
      if (!at_field()) fail("EXISTS needs a field in parentheses, e.g. EXISTS(color)");
      FilterNode n{FilterOp::kExists};
      n.a = field();
      if (!at_symbol(")")) fail("expected ')' after the field of EXISTS");
      advance();
      return add(std::move(n), Kind::kCondition, start, {n.a});
    }
    if (!at_field()) fail("expected a value");
    return field();
  }

  bool at_field() const {
    static constexpr std::array<std::string_view, 12> kKeywords = {
        "AND", "OR",   "NOT",  "LIKE",  "ESCAPE",  "IN",
        "IS",  "NULL", "TRUE", "FALSE", "BETWEEN", "EXISTS"};
    if (tok_.type == Tok::kName) return true;
    if (tok_.type != Tok::kWord) return false;
    for (std::string_view k : kKeywords)
      if (equals_ignoring_case(tok_.raw, k)) return false;
    return true;
  }

  uint32_t field() {
    Token t = std::move(tok_);
    advance();
    FilterNode n{FilterOp::kHeader};
    if (t.type == Tok::kName) {
      n.name = std::move(t.value);
      return add(std::move(n), Kind::kAny, t.pos, {});
    }
    std::string_view text = t.raw;
    size_t dot = text.find('.');
    if (dot != std::string_view::npos && equals_ignoring_case(text.substr(0, dot), "sys")) {
      n.op = FilterOp::kSys;
      n.sys = sys_field(text, t.pos);
    } else if (equals_ignoring_case(text, "payload")) {
      n.op = FilterOp::kPayload;
    } else if (is_payload_path(text)) {
      n.op = FilterOp::kPayloadPath;
      n.first = static_cast<uint32_t>(program_->steps.size());
      path(text.substr(7), t.pos + 7);
      n.count = static_cast<uint32_t>(program_->steps.size() - n.first);
      program_->reads_json = true;
    } else {
      n.name = std::string(text);
    }
    return add(std::move(n), Kind::kAny, t.pos, {});
  }

  static SysField sys_field(std::string_view text, size_t pos) {
    static constexpr std::array<std::pair<std::string_view, SysField>, 6> kFields = {{
        {"sys.id", SysField::kId},
        {"sys.topic", SysField::kTopic},
        {"sys.key", SysField::kKey},
        {"sys.ts", SysField::kTs},
        {"sys.offset", SysField::kOffset},
        {"sys.size", SysField::kSize},
    }};
    for (auto [name, field] : kFields)
      if (equals_ignoring_case(text, name)) return field;
    throw SyntaxError{fmt::format("unknown system field '{}'; known: sys.id, sys.topic, sys.key, "
                                  "sys.ts, sys.offset, sys.size",
                                  text),
                      pos};
  }

  // .a.b[0].c or [0].a: what follows "payload", starting at byte `pos`.
  void path(std::string_view text, size_t pos) {
    for (size_t i = 0; i < text.size();) {
      if (text[i] == '[') {  // the lexer checked it is [digits]
        size_t close = text.find(']', i);
        int64_t index = 0;
        if (std::from_chars(text.data() + i + 1, text.data() + close, index).ec != std::errc())
          throw SyntaxError{"the array index is too large", pos + i};
        program_->steps.push_back({{}, index});
        i = close + 1;
      } else if (text[i] == '.') {
        std::string_view key = text.substr(i + 1, text.find_first_of(".[", i + 1) - i - 1);
        if (key.empty()) throw SyntaxError{"expected a field name after '.'", pos + i + 1};
        program_->steps.push_back({std::string(key), -1});
        i += 1 + key.size();
      } else {
        throw SyntaxError{"expected '.' or '[' after an array index", pos + i};
      }
    }
  }

  size_t column_of(size_t pos) const;

  // Counts recursion that adds no node yet — '(', NOT, unary signs.
  struct Nesting {
    Nesting(Parser& p, size_t pos) : parser(p) {
      if (++parser.nesting_ > kMaxDepth)
        throw SyntaxError{
            fmt::format("the filter nests deeper than {} levels; simplify it", kMaxDepth), pos};
    }
    ~Nesting() { --parser.nesting_; }
    Parser& parser;
  };

  Lexer lexer_;
  Token tok_;
  std::shared_ptr<FilterProgram> program_;
  std::vector<Info> info_;
  int nesting_ = 0;
  bool value_ = false;  // parsing a value expression, not a condition
};

size_t column_at(std::string_view text, size_t pos) {
  size_t column = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i)
    if ((static_cast<uint8_t>(text[i]) & 0xc0) != 0x80) ++column;
  return column;
}

size_t Parser::column_of(size_t pos) const {
  return column_at(program_->text, pos);
}

// The expression on one line (control characters as spaces) and a caret under `column`.
std::string syntax_message(std::string_view label, std::string_view text,
                           const FilterSyntaxError& e) {
  std::string line(text);
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return fmt::format("{}: {} (column {})\n  {}\n  {}^", label, e.what, e.column, line,
                     std::string(e.column - 1, ' '));
}

Result<Filter> parse_program(std::string_view text, bool value, std::string_view label,
                             FilterSyntaxError* detail,
                             Filter (*make)(std::shared_ptr<const FilterProgram>)) {
  if (text.size() > kMaxFilterBytes)
    return invalid_argument(fmt::format("{} is {} bytes, longer than the limit of {} bytes", label,
                                        text.size(), kMaxFilterBytes));
  try {
    return make(Parser(text).parse(value));
  } catch (const SyntaxError& e) {
    FilterSyntaxError error{e.what, column_at(text, e.pos)};
    std::string message = syntax_message(label, text, error);
    if (detail) *detail = std::move(error);
    return invalid_argument(std::move(message));
  }
}

}  // namespace

Result<Filter> Filter::parse(std::string_view text, FilterSyntaxError* detail) {
  return parse_program(text, false, "filter", detail, &Filter::make);
}

Result<Filter> Filter::parse_value(std::string_view text, std::string_view label,
                                   FilterSyntaxError* detail) {
  return parse_program(text, true, label, detail, &Filter::make);
}

Filter Filter::make(std::shared_ptr<const FilterProgram> program) {
  return Filter(std::move(program));
}

const std::string& Filter::text() const {
  return program_->text;
}

bool Filter::reads_payload_json() const {
  return program_->reads_json;
}

}  // namespace eda
