#include "lsio/status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace lsio {

std::string_view code_name(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "Cancelled";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kOutOfRange: return "OutOfRange";
    case StatusCode::kDataLoss: return "DataLoss";
    case StatusCode::kIoError: return "IoError";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kUnimplemented: return "Unimplemented";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
  }
  return "Unknown";
}

Status::Status(StatusCode code, std::string message, int sys_errno) {
  if (code != StatusCode::kOk) rep_ = std::make_shared<const Rep>(Rep{code, sys_errno, std::move(message)});
}

std::string_view Status::message() const noexcept { return rep_ ? std::string_view(rep_->message) : std::string_view(); }

std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string out(code_name(rep_->code));
  out += ": ";
  out += rep_->message;
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += rep_->message;
  return Status(rep_->code, std::move(msg), rep_->sys_errno);
}

StatusCode code_from_errno(int err) noexcept {
  switch (err) {
    case 0: return StatusCode::kOk;
    case ENOENT:
    case ENOTDIR: return StatusCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS: return StatusCode::kPermissionDenied;
    case EISDIR:
    case EINVAL:
    case ENAMETOOLONG:
    case EBADF: return StatusCode::kInvalidArgument;
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ENOSPC:
    case EDQUOT: return StatusCode::kResourceExhausted;
    case ECANCELED: return StatusCode::kCancelled;
    case EOPNOTSUPP:
    case ENOSYS: return StatusCode::kUnimplemented;
    case EAGAIN: return StatusCode::kUnavailable;
    default: return StatusCode::kIoError;
  }
}

Status errno_status(int err, std::string_view op, std::string_view path, uint64_t offset, uint64_t length) {
  std::string msg(op);
  msg += ' ';
  msg += path;
  if (offset != 0 || length != 0) {
    msg += " [offset " + std::to_string(offset) + ", length " + std::to_string(length) + "]";
  }
  char buf[128];
  msg += ": ";
  msg += strerror_r(err, buf, sizeof buf);
  msg += " (errno " + std::to_string(err) + ")";
  return Status(code_from_errno(err), std::move(msg), err);
}

}  // namespace lsio
