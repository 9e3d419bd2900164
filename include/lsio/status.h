// Status and Result: the error model of LSIO.
//
// Every fallible operation returns Result<T> (std::expected<T, Status>). A Status
// carries a code and a message naming the operation, the path or key, the byte
// offset and length, and the errno. Copies are cheap (shared, immutable
// representation), so one failure can be handed to many requests of one file.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

namespace lsio {

enum class StatusCode : uint8_t {
  kOk = 0,
  kCancelled,
  kInvalidArgument,
  kNotFound,
  kPermissionDenied,
  kOutOfRange,         // a byte range past the end of a file
  kDataLoss,           // corrupt or truncated data
  kIoError,            // the operating system reported an I/O failure
  kUnavailable,        // a service or feature is not available here
  kResourceExhausted,  // out of memory, descriptors, ...
  kUnimplemented,
  kInternal,
  kDeadlineExceeded,   // a timeout ran out before the work was done
  kAborted,            // a file or object changed while it was being read (version mismatch)
  kFailedPrecondition, // the call is not allowed in this state (e.g. from a store's own callback)
};

std::string_view code_name(StatusCode code) noexcept;

class Status {
 public:
  Status() noexcept = default;  // OK
  Status(StatusCode code, std::string message, int sys_errno = 0);
  // So that `return error(s);` works in functions returning Status or Result<T>.
  Status(std::unexpected<Status> e) : Status(std::move(e.error())) {}  // NOLINT(implicit)

  bool ok() const noexcept { return rep_ == nullptr; }
  StatusCode code() const noexcept { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message without the code name; empty when ok().
  std::string_view message() const noexcept;
  // The errno that caused this error, or 0.
  int sys_errno() const noexcept { return rep_ ? rep_->sys_errno : 0; }
  // "NotFound: open /x: No such file or directory (errno 2)".
  std::string to_string() const;
  // A new Status with "context: " prepended to the message.
  Status with_context(std::string_view context) const;

 private:
  struct Rep {
    StatusCode code;
    int sys_errno;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

template <typename T>
using Result = std::expected<T, Status>;

inline std::unexpected<Status> error(Status status) { return std::unexpected<Status>(std::move(status)); }
inline std::unexpected<Status> error(StatusCode code, std::string message, int sys_errno = 0) {
  return std::unexpected<Status>(Status(code, std::move(message), sys_errno));
}

// The StatusCode that best describes an errno value (ENOENT -> kNotFound, ...).
StatusCode code_from_errno(int err) noexcept;

// An error for a failed system call on a file:
// "<op> <path> [offset O, length L]: <strerror> (errno E)". offset/length are
// omitted when length == 0 and offset == 0.
Status errno_status(int err, std::string_view op, std::string_view path, uint64_t offset = 0, uint64_t length = 0);

}  // namespace lsio

#define LSIO_CONCAT_INNER_(a, b) a##b
#define LSIO_CONCAT_(a, b) LSIO_CONCAT_INNER_(a, b)

// Returns the error of a Status-returning expression from the enclosing function.
#define LSIO_RETURN_IF_ERROR(expr)                           \
  do {                                                       \
    ::lsio::Status lsio_status_ = (expr);                    \
    if (!lsio_status_.ok()) return ::lsio::error(lsio_status_); \
  } while (0)

// `LSIO_ASSIGN_OR_RETURN(auto x, f());` unwraps a Result or returns its error.
#define LSIO_ASSIGN_OR_RETURN(lhs, expr) LSIO_ASSIGN_OR_RETURN_IMPL_(LSIO_CONCAT_(lsio_r_, __LINE__), lhs, expr)
#define LSIO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)             \
  auto tmp = (expr);                                           \
  if (!tmp.has_value()) return ::lsio::error(std::move(tmp).error()); \
  lhs = std::move(tmp).value()
