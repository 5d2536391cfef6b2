// Result<T>: a value or an Error, returned across layers instead of throwing.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace eda {

// What kind of failure, so cmd/ can pick the documented exit code.
enum class ErrorKind {
  kInvalidArgument,  // the user's input is wrong: exit 2
  kRuntime,          // broker unreachable, rejected, I/O: exit 1
  kTimeout,          // ran out of time: exit 3
  kCorruption,       // stored data failed a check: exit 1
  kNotFound,         // no such queue, group or topic: exit 1
  kConflict,         // exists already, differently: exit 1
  kInterrupted,      // SIGINT/SIGTERM: exit 130
};

struct Error {
  ErrorKind kind = ErrorKind::kRuntime;
  std::string message;  // one line a user can act on, without the "edatool:" prefix
};

inline Error invalid_argument(std::string message) {
  return {ErrorKind::kInvalidArgument, std::move(message)};
}
inline Error runtime_error(std::string message) {
  return {ErrorKind::kRuntime, std::move(message)};
}
inline Error corruption(std::string message) {
  return {ErrorKind::kCorruption, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

}  // namespace eda
