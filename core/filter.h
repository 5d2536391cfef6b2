// Filter: a compiled --filter expression (DESIGN §6), the Service Bus SQL
// rule subset plus JSON payload fields. Parsed once, evaluated per message
// without allocating (except to parse a JSON payload, once per evaluation,
// and only when the expression reads `payload.…`).
//
// Language
//   conditions  AND OR NOT; = <> != < <= > >=; [NOT] LIKE 'p%_' [ESCAPE 'c'];
//               [NOT] IN (v, ...); IS [NOT] NULL; EXISTS(field);
//               [NOT] BETWEEN a AND b; parentheses
//   values      + - * / % and unary minus; 'text' ('' is a quote);
//               42, 1.5, 1e3; TRUE FALSE NULL
//   fields      a header: `color`, `user.name`, `[name with spaces]` (]] is a ])
//               a system field: sys.id sys.topic sys.key sys.ts sys.offset
//                 sys.size (payload bytes); any other sys.* is a syntax error
//               the payload: `payload` (its bytes as text), `payload.a.b`,
//                 `payload.items[0].sku` (fields of a JSON payload)
//   Keywords, header names and the `sys`/`payload` prefixes are
//   case-insensitive; system field names too; JSON keys are not.
//
// Semantics (SQL three-valued logic; unknown is NULL)
//   - A missing field is NULL: a header not sent, sys.key without a key,
//     a JSON path that is absent or a payload that is not JSON.
//   - A comparison with NULL is unknown; NOT unknown is unknown;
//     false AND unknown is false; true OR unknown is true.
//   - Numbers compare as numbers (integers and decimals mix). A string
//     compared with a number, or used in arithmetic, counts as the number it
//     spells ("42", "1.5"); when it spells none the result is unknown. A string
//     compared with TRUE/FALSE counts as 'true'/'false' in any case; otherwise
//     unknown. Strings compare byte by byte, case-sensitively. Booleans only
//     compare with = and <>. A JSON object or array compares as unknown.
//   - Typed headers (`-H n:=5`) are numbers or booleans; `-H n=5` is a string.
//   - Integer arithmetic stays integer (division truncates); it overflows into
//     a decimal. Division or % by zero is NULL.
//   - LIKE applies to strings (else unknown): % any run, _ one character,
//     ESCAPE makes the next character literal. The pattern is a quoted string.
//   - x IN (a, b) is x = a OR x = b; x BETWEEN a AND b is x >= a AND x <= b.
//   - IS NULL is never unknown. EXISTS(f) is true when f is present, even when
//     it is a JSON null.
//   - A message matches when the whole expression is TRUE. A bare field is a
//     condition that holds when its value is TRUE; `--filter 5` is an error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope_view.h"
#include "core/result.h"

namespace eda {

enum class Truth : uint8_t { kFalse, kTrue, kUnknown };

// Where and why a filter does not parse; column counts characters from 1.
struct FilterSyntaxError {
  std::string what;
  size_t column = 0;
};

struct FilterProgram;  // the parsed tree (filter_program.h)

// The longest filter text accepted anywhere (sub --filter, rules), in bytes.
inline constexpr size_t kMaxFilterBytes = 65536;

class Filter {
 public:
  // Text over kMaxFilterBytes is kInvalidArgument saying so.
  // A syntax error is kInvalidArgument with the message
  //   filter: <what> (column N)
  //     <the expression>
  //     <spaces>^
  // and, when `detail` is given, its parts there.
  static Result<Filter> parse(std::string_view text, FilterSyntaxError* detail = nullptr);

  // A value expression (`view --key`, `--value`): the same operands and
  // operators, but any value may stand at the root — a field, arithmetic, a
  // condition (a boolean). Syntax errors read as parse()'s with `label` in
  // place of "filter".
  static Result<Filter> parse_value(std::string_view text, std::string_view label,
                                    FilterSyntaxError* detail = nullptr);

  Truth evaluate(const EnvelopeView& message) const;

  // The expression's value for `message`. A string points into `message`,
  // the filter or `scratch`; a JSON object or array is kComposite with its
  // JSON text in `s` (held in `scratch`). Valid until `scratch` changes.
  FieldValue value(const EnvelopeView& message, std::string& scratch) const;
  bool matches(const EnvelopeView& message) const { return evaluate(message) == Truth::kTrue; }

  const std::string& text() const;
  // Whether evaluating parses the payload as JSON (it reads `payload.…`).
  bool reads_payload_json() const;

 private:
  explicit Filter(std::shared_ptr<const FilterProgram> program) : program_(std::move(program)) {}
  static Filter make(std::shared_ptr<const FilterProgram> program);
  std::shared_ptr<const FilterProgram> program_;  // immutable, so copies share it
};

}  // namespace eda
