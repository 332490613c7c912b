#pragma once
// Errors as values across component boundaries. std::expected is C++23 and tl::expected is
// not packaged in Debian 12, so Steward carries its own small Result<T>.

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace steward {

// What went wrong, in terms a caller can branch on. ErrorTable (error_code.cpp) maps each
// code to its HTTP status, JSON-RPC code and run/step state.
enum class ErrorCode {
  kInvalidArgument,   // the caller sent something malformed; fixing the request fixes it
  kConfig,            // the configuration file is wrong
  kNotFound,
  kUnauthenticated,   // no or bad token
  kPermissionDenied,  // authenticated but not allowed (policy, approval denied)
  kConflict,          // state changed underneath (duplicate, already answered)
  kUnavailable,       // a dependency (provider, worker, database) is down; retrying may help
  kDeadlineExceeded,
  kCancelled,
  kBudgetExceeded,
  kInternal,          // a bug in Steward
};

struct ErrorInfo {
  std::string_view name;  // stable machine-readable name, e.g. "invalid_argument"
  int http_status;
  int json_rpc_code;
  std::string_view run_state;  // what a run/step that ends with this error is marked
};

// One table for every mapping of ErrorCode; see error_code.cpp.
[[nodiscard]] const ErrorInfo& Describe(ErrorCode code);

// An error a user can act on: `message` says what was wrong and what was expected;
// `context` says where (a file and key path, a field, a tool name).
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string context;

  // "context: message" or just the message.
  [[nodiscard]] std::string ToString() const {
    return context.empty() ? message : context + ": " + message;
  }
};

inline Error MakeError(ErrorCode code, std::string message, std::string context = {}) {
  return Error{code, std::move(message), std::move(context)};
}

// Holds either a T or an Error. Cheap to move; check ok() before value().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}         // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status Ok() { return Status(); }

  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace steward

// Propagates an error from an expression yielding Status or Result<T>.
#define STEWARD_RETURN_IF_ERROR(expr)            \
  do {                                           \
    auto steward_status_ = (expr);               \
    if (!steward_status_.ok()) return steward_status_.error(); \
  } while (0)
