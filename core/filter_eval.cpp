// Filter::evaluate: walks the tree of filter_program.h over one message with
// SQL three-valued logic; a NULL FieldValue stands for unknown.
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/filter.h"
#include "core/filter_program.h"

namespace eda {
namespace {

using Type = FieldValue::Type;
using Json = nlohmann::json;

FieldValue truth(Truth t) {
  return t == Truth::kUnknown ? FieldValue::null() : FieldValue::boolean(t == Truth::kTrue);
}

Truth truth_of(const FieldValue& v) {
  if (v.type != Type::kBool) return Truth::kUnknown;
  return v.b ? Truth::kTrue : Truth::kFalse;
}

Truth negate(Truth t) {
  return t == Truth::kUnknown ? t : t == Truth::kTrue ? Truth::kFalse : Truth::kTrue;
}

// A number, or a string spelling one; anything else has no numeric value.
std::optional<FieldValue> as_number(const FieldValue& v) {
  if (v.is_number()) return v;
  if (v.type == Type::kString) return parse_number(v.s);
  return std::nullopt;
}

std::optional<bool> as_bool(const FieldValue& v) {
  if (v.type == Type::kBool) return v.b;
  if (v.type == Type::kString) {
    if (equals_ignoring_case(v.s, "true")) return true;
    if (equals_ignoring_case(v.s, "false")) return false;
  }
  return std::nullopt;
}

bool is_nan(const FieldValue& v) {
  return v.type == Type::kDouble && std::isnan(v.d);
}

// The truth of `op` for operands whose order is `order` (<0, 0, >0).
Truth ordered(CompareOp op, int order) {
  bool r = false;
  switch (op) {
    case CompareOp::kEq:
      r = order == 0;
      break;
    case CompareOp::kNe:
      r = order != 0;
      break;
    case CompareOp::kLt:
      r = order < 0;
      break;
    case CompareOp::kLe:
      r = order <= 0;
      break;
    case CompareOp::kGt:
      r = order > 0;
      break;
    case CompareOp::kGe:
      r = order >= 0;
      break;
  }
  return r ? Truth::kTrue : Truth::kFalse;
}

template <class T>
int order_of(const T& a, const T& b) {
  return a < b ? -1 : b < a ? 1 : 0;
}

// Exact, where converting the integer to a double would round above 2^53.
int order_of(int64_t i, double d) {
  if (d >= 0x1p63) return -1;
  if (d < -0x1p63) return 1;
  double whole = std::trunc(d);
  if (int c = order_of(i, static_cast<int64_t>(whole))) return c;
  return order_of(0.0, d - whole);
}

int order_of(const FieldValue& a, const FieldValue& b) {  // both numbers
  if (a.type == Type::kInt && b.type == Type::kInt) return order_of(a.i, b.i);
  if (a.type == Type::kInt) return order_of(a.i, b.d);
  if (b.type == Type::kInt) return -order_of(b.i, a.d);
  return order_of(a.d, b.d);
}

Truth compare(CompareOp op, const FieldValue& a, const FieldValue& b) {
  if (a.is_null() || b.is_null() || a.type == Type::kComposite || b.type == Type::kComposite)
    return Truth::kUnknown;
  if (a.type == Type::kString && b.type == Type::kString) return ordered(op, a.s.compare(b.s));
  if (a.type == Type::kBool || b.type == Type::kBool) {
    auto x = as_bool(a), y = as_bool(b);
    if (!x || !y || (op != CompareOp::kEq && op != CompareOp::kNe)) return Truth::kUnknown;
    return ordered(op, order_of(*x, *y));
  }
  auto x = as_number(a), y = as_number(b);
  if (!x || !y || is_nan(*x) || is_nan(*y)) return Truth::kUnknown;  // NaN has no order
  return ordered(op, order_of(*x, *y));
}

FieldValue real_or_null(double d) {
  return std::isfinite(d) ? FieldValue::real(d) : FieldValue::null();
}

FieldValue arithmetic(ArithmeticOp op, const FieldValue& a, const FieldValue& b) {
  auto x = as_number(a), y = as_number(b);
  if (!x || !y) return FieldValue::null();
  if (x->type == Type::kInt && y->type == Type::kInt) {
    int64_t p = x->i, q = y->i, r = 0;
    switch (op) {
      case ArithmeticOp::kAdd:
        if (!__builtin_add_overflow(p, q, &r)) return FieldValue::integer(r);
        break;
      case ArithmeticOp::kSub:
        if (!__builtin_sub_overflow(p, q, &r)) return FieldValue::integer(r);
        break;
      case ArithmeticOp::kMul:
        if (!__builtin_mul_overflow(p, q, &r)) return FieldValue::integer(r);
        break;
      case ArithmeticOp::kDiv:
        if (q == 0) return FieldValue::null();
        if (p == INT64_MIN && q == -1) break;
        return FieldValue::integer(p / q);
      case ArithmeticOp::kMod:
        if (q == 0) return FieldValue::null();
        return FieldValue::integer(q == -1 ? 0 : p % q);
    }
    // Overflowed: on in decimals.
  }
  double p = x->as_double(), q = y->as_double();
  switch (op) {
    case ArithmeticOp::kAdd:
      return real_or_null(p + q);
    case ArithmeticOp::kSub:
      return real_or_null(p - q);
    case ArithmeticOp::kMul:
      return real_or_null(p * q);
    case ArithmeticOp::kDiv:
      return q == 0 ? FieldValue::null() : real_or_null(p / q);
    case ArithmeticOp::kMod:
      return q == 0 ? FieldValue::null() : real_or_null(std::fmod(p, q));
  }
  return FieldValue::null();
}

FieldValue json_value(const Json& j) {
  switch (j.type()) {
    case Json::value_t::string:
      return FieldValue::string(j.get_ref<const std::string&>());
    case Json::value_t::boolean:
      return FieldValue::boolean(j.get<bool>());
    case Json::value_t::number_integer:
      return FieldValue::integer(j.get<int64_t>());
    case Json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX))
        return FieldValue::integer(static_cast<int64_t>(u));
      return FieldValue::real(static_cast<double>(u));
    }
    case Json::value_t::number_float:
      return FieldValue::real(j.get<double>());
    case Json::value_t::object:
    case Json::value_t::array:
      return FieldValue::composite();
    default:
      return FieldValue::null();
  }
}

class Evaluator {
 public:
  Evaluator(const FilterProgram& p, const EnvelopeView& m) : p_(p), m_(m) {}

  Truth run() { return truth_of(eval(p_.root)); }

  // The root's value, owning what would die with this evaluator (a JSON
  // field's string, a JSON object or array as text) in `scratch`.
  FieldValue run_value(std::string& scratch) {
    FieldValue v = eval(p_.root);
    if (v.type == Type::kComposite && last_json_) {
      scratch = last_json_->dump(-1, ' ', false, Json::error_handler_t::replace);
      v.s = scratch;
    } else if (v.type == Type::kString && parsed_) {
      scratch.assign(v.s);
      v.s = scratch;
    }
    return v;
  }

 private:
  FieldValue eval(uint32_t index) {
    const FilterNode& n = p_.nodes[index];
    switch (n.op) {
      case FilterOp::kLiteral: {
        FieldValue v = n.literal;
        if (v.type == Type::kString) v.s = n.name;
        return v;
      }
      case FilterOp::kHeader:
      case FilterOp::kSys:
      case FilterOp::kPayload:
      case FilterOp::kPayloadPath: {
        bool present = false;
        return field(n, present);
      }
      case FilterOp::kAnd:
        return truth(chain(n, Truth::kFalse));
      case FilterOp::kOr:
        return truth(chain(n, Truth::kTrue));
      case FilterOp::kNot:
        return truth(negate(truth_of(eval(n.a))));
      case FilterOp::kCompare:
        return truth(compare(n.compare, eval(n.a), eval(n.b)));
      case FilterOp::kArithmetic:
        return arithmetic(n.arithmetic, eval(n.a), eval(n.b));
      case FilterOp::kNegate:
        return arithmetic(ArithmeticOp::kSub, FieldValue::integer(0), eval(n.a));
      case FilterOp::kLike: {
        FieldValue v = eval(n.a);
        if (v.type != Type::kString) return FieldValue::null();
        bool match = p_.patterns[n.pattern].matches(v.s);
        return FieldValue::boolean(match != n.negated);
      }
      case FilterOp::kIn:
        return truth(in_list(n));
      case FilterOp::kIsNull:
        return FieldValue::boolean(eval(n.a).is_null() != n.negated);
      case FilterOp::kExists: {
        bool present = false;
        field(p_.nodes[n.a], present);
        return FieldValue::boolean(present);
      }
      case FilterOp::kBetween: {
        FieldValue v = eval(n.a);
        Truth low = compare(CompareOp::kGe, v, eval(n.b));
        Truth high = compare(CompareOp::kLe, v, eval(n.c));
        Truth both = low == Truth::kFalse || high == Truth::kFalse ? Truth::kFalse
                     : low == Truth::kTrue && high == Truth::kTrue ? Truth::kTrue
                                                                   : Truth::kUnknown;
        return truth(n.negated ? negate(both) : both);
      }
    }
    return FieldValue::null();
  }

  // AND stops at the first false operand, OR at the first true one (`decisive`);
  // otherwise an unknown operand makes the result unknown.
  Truth chain(const FilterNode& n, Truth decisive) {
    Truth result = negate(decisive);
    for (uint32_t i = n.first; i < n.first + n.count; ++i) {
      Truth t = truth_of(eval(p_.lists[i]));
      if (t == decisive) return t;
      if (t == Truth::kUnknown) result = t;
    }
    return result;
  }

  Truth in_list(const FilterNode& n) {
    FieldValue v = eval(n.a);
    Truth found = Truth::kFalse;
    for (uint32_t i = n.first; i < n.first + n.count; ++i) {
      Truth t = compare(CompareOp::kEq, v, eval(p_.lists[i]));
      if (t == Truth::kTrue) {
        found = t;
        break;
      }
      if (t == Truth::kUnknown) found = t;
    }
    return n.negated ? negate(found) : found;
  }

  FieldValue field(const FilterNode& n, bool& present) {
    present = true;
    switch (n.op) {
      case FilterOp::kHeader:
        for (const HeaderField& h : m_.headers)
          if (equals_ignoring_case(h.name, n.name)) return h.value;
        present = false;
        return FieldValue::null();
      case FilterOp::kSys:
        return sys(n.sys, present);
      case FilterOp::kPayload:
        return FieldValue::string(m_.payload);
      case FilterOp::kPayloadPath:
        return json_path(n, present);
      default:
        present = false;
        return FieldValue::null();
    }
  }

  FieldValue sys(SysField f, bool& present) {
    switch (f) {
      case SysField::kId:
        return FieldValue::string(m_.id);
      case SysField::kTopic:
        return FieldValue::string(m_.topic);
      case SysField::kKey:
        present = m_.key.has_value();
        return present ? FieldValue::string(*m_.key) : FieldValue::null();
      case SysField::kTs:
        return FieldValue::integer(m_.ts);
      case SysField::kOffset:
        present = m_.offset != kNoOffset;
        return present ? FieldValue::integer(static_cast<int64_t>(m_.offset)) : FieldValue::null();
      case SysField::kSize:
        return FieldValue::integer(static_cast<int64_t>(m_.payload.size()));
    }
    return FieldValue::null();
  }

  FieldValue json_path(const FilterNode& n, bool& present) {
    present = false;
    if (!parsed_) {
      parsed_ = true;
      json_ = Json::parse(m_.payload, nullptr, /*allow_exceptions=*/false);
    }
    const Json* at = &json_;
    if (at->is_discarded()) return FieldValue::null();
    for (uint32_t i = n.first; i < n.first + n.count; ++i) {
      const PathStep& step = p_.steps[i];
      if (step.index >= 0) {
        if (!at->is_array() || static_cast<uint64_t>(step.index) >= at->size())
          return FieldValue::null();
        at = &(*at)[static_cast<size_t>(step.index)];
      } else {
        if (!at->is_object()) return FieldValue::null();
        auto it = at->find(step.key);
        if (it == at->end()) return FieldValue::null();
        at = &*it;
      }
    }
    present = true;
    last_json_ = at;
    return json_value(*at);
  }

  const FilterProgram& p_;
  const EnvelopeView& m_;
  bool parsed_ = false;
  Json json_;                        // the payload, parsed on first use
  const Json* last_json_ = nullptr;  // the JSON field read last
};

}  // namespace

Truth Filter::evaluate(const EnvelopeView& message) const {
  return Evaluator(*program_, message).run();
}

FieldValue Filter::value(const EnvelopeView& message, std::string& scratch) const {
  return Evaluator(*program_, message).run_value(scratch);
}

}  // namespace eda
