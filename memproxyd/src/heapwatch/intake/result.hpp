// The outcome of an operation that can fail for reasons outside the daemon's
// control (a full disk, a damaged file): a value, or the reason it could not
// be had. The daemon's loop logs the reason and goes on; nothing in the heap
// watch throws past its API.
#ifndef MEMPROXYD_HEAPWATCH_RESULT_HPP
#define MEMPROXYD_HEAPWATCH_RESULT_HPP

#include <optional>
#include <string>
#include <utility>

namespace memproxy::heapwatch {

// Success, or the reason for a failure (never empty on failure).
class [[nodiscard]] Status {
 public:
  static Status success() { return Status(); }
  static Status failure(std::string reason) {
    Status s;
    s.error_ = reason.empty() ? std::string("unknown error") : std::move(reason);
    return s;
  }

  bool ok() const { return error_.empty(); }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// A value, or the reason there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor): returned directly
  Result(Status failure) : error_(failure.ok() ? std::string("no value") : failure.error()) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // Only when ok().
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  // By value from a temporary, so `for (auto& x : *f())` holds what it loops over.
  T operator*() && { return std::move(*value_); }
  const T* operator->() const { return &*value_; }
  const std::string& error() const { return error_; }

 private:
  std::optional<T> value_;
  std::string error_;
};

}  // namespace memproxy::heapwatch

#endif
