// The parsed form of a Filter: a tree of nodes in one vector, children by
// index. filter_parse.cpp builds it; filter_eval.cpp walks it. Internal to
// the filter; users see core/filter.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/field_value.h"
#include "core/like_pattern.h"

namespace eda {

enum class FilterOp : uint8_t {
  kLiteral,      // literal (a string's bytes in `name`)
  kHeader,       // the first header named `name`, any case
  kSys,          // a system field: `sys`
  kPayload,      // the payload's bytes as text
  kPayloadPath,  // a JSON payload field: steps [first, first + count)
  kAnd,          // lists[first, first + count) all hold
  kOr,           // one of lists[first, first + count) holds
  kNot,          // NOT a
  kCompare,      // a <compare> b
  kArithmetic,   // a <arithmetic> b
  kNegate,       // -a
  kLike,         // a [NOT] LIKE patterns[pattern]
  kIn,           // a [NOT] IN (lists[first, first + count))
  kIsNull,       // a IS [NOT] NULL
  kExists,       // EXISTS(a), a being a field
  kBetween,      // a [NOT] BETWEEN b AND c
};

enum class SysField : uint8_t { kId, kTopic, kKey, kTs, kOffset, kSize };
enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
enum class ArithmeticOp : uint8_t { kAdd, kSub, kMul, kDiv, kMod };

struct FilterNode {
  explicit FilterNode(FilterOp o) : op(o) {}
  FilterOp op;
  bool negated = false;  // NOT LIKE, NOT IN, IS NOT NULL, NOT BETWEEN
  SysField sys = SysField::kId;
  CompareOp compare = CompareOp::kEq;
  ArithmeticOp arithmetic = ArithmeticOp::kAdd;
  uint32_t a = 0, b = 0, c = 0;
  uint32_t first = 0, count = 0;
  uint32_t pattern = 0;
  FieldValue literal;
  std::string name;
};

// One step of a JSON path: a key, or an index into an array.
struct PathStep {
  std::string key;
  int64_t index = -1;  // >= 0: an index step
};

struct FilterProgram {
  std::string text;
  std::vector<FilterNode> nodes;
  std::vector<uint32_t> lists;  // IN list items (node indexes)
  std::vector<PathStep> steps;
  std::vector<LikePattern> patterns;
  uint32_t root = 0;
  bool reads_json = false;
};

}  // namespace eda
