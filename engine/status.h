// Errors as values. Every fallible engine call returns a Status (or a Result<T>), never throws across
// the engine's API. A Status names what failed and where (file, page, word offset) in its message.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace lsm {

enum class Code {
  kOk = 0,
  kNotFound,         // a key, file or page that does not exist
  kCorrupt,          // bytes on disk violate the format
  kNotADatabase,     // the file is not an LSM database at all
  kIoError,          // the Env reported a failure
  kBusy,             // a lock is held by someone else
  kMisuse,           // the API was called in a state that does not allow it
  kInvalidArgument,  // a parameter is out of range
  kFull,             // a format limit would be exceeded
};

std::string_view CodeName(Code code);

// One pointer wide and null when ok, so the success path every call returns costs a pointer test,
// not a string's construction and destruction.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : rep_(std::make_unique<Rep>(Rep{code, std::move(message)})) {}
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
  static Status NotADatabase(std::string m) { return {Code::kNotADatabase, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status Misuse(std::string m) { return {Code::kMisuse, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status Full(std::string m) { return {Code::kFull, std::move(m)}; }

  bool ok() const { return rep_ == nullptr || rep_->code == Code::kOk; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& message() const;
  // "corrupt: <message>", or "ok".
  std::string ToString() const;

  bool operator==(const Status& other) const { return code() == other.code() && message() == other.message(); }

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  std::unique_ptr<Rep> rep_;
};

// A value or the error explaining why there is none. E is Status unless a caller needs a richer,
// typed error (the checkpoint decoder names the field and word offset).
template <typename T, typename E = Status>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : error_(std::move(error)) {}   // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const E& status() const { return error_; }
  const E& error() const { return error_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  E error_{};
};

}  // namespace lsm

// Propagates a non-ok Status from an expression returning Status.
#define LSM_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::lsm::Status lsm_status_ = (expr);      \
    if (!lsm_status_.ok()) return lsm_status_; \
  } while (0)
