#include "store/remote/http_checks.h"

#include <charconv>

namespace lsio::remote {
namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

StatusCode code_for_http(long status) {
  switch (status) {
    case 404:
    case 410:
      return StatusCode::kNotFound;
    case 401:
    case 403:
      return StatusCode::kPermissionDenied;
    case 412:
      return StatusCode::kAborted;
    case 416:
      return StatusCode::kOutOfRange;
    default:
      return status >= 500 || status == 408 || status == 429 ? StatusCode::kUnavailable : StatusCode::kInvalidArgument;
  }
}

}  // namespace

std::optional<ContentRange> parse_content_range(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  const size_t slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ContentRange cr;
  const std::string_view span = v.substr(0, slash), total = v.substr(slash + 1);
  if (total != "*") {
    uint64_t t = 0;
    if (!parse_u64(total, t)) return std::nullopt;
    cr.total = t;
  }
  if (span == "*") {
    cr.unsatisfied = true;
    return cr;
  }
  const size_t dash = span.find('-');
  if (dash == std::string_view::npos || !parse_u64(span.substr(0, dash), cr.first) ||
      !parse_u64(span.substr(dash + 1), cr.last) || cr.last < cr.first) {
    return std::nullopt;
  }
  if (cr.total && cr.last >= *cr.total) return std::nullopt;
  return cr;
}

std::string range_text(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

Status response_status(const io::http::Response& r, std::string_view what, std::string_view detail,
                       std::string_view attempts) {
  std::string msg(what);
  StatusCode code = StatusCode::kUnavailable;
  if (r.cancelled) return Status(StatusCode::kCancelled, msg + ": cancelled");
  if (!r.local_error.empty()) {
    msg += ": " + r.local_error;
    code = StatusCode::kResourceExhausted;
  } else if (r.transport_code != 0 && (r.status == 0 || r.status / 100 == 2)) {
    msg += ": " + r.transport_error;
  } else {
    msg += ": HTTP " + std::to_string(r.status);
    code = code_for_http(r.status);
    // S3 answers some credential failures with 400 (a malformed or expired session token): they are
    // permission errors, not invalid arguments of the caller's read.
    for (std::string_view auth : {"InvalidToken:", "ExpiredToken:", "TokenRefreshRequired:", "InvalidAccessKeyId:"}) {
      if (detail.starts_with(auth)) code = StatusCode::kPermissionDenied;
    }
  }
  if (!detail.empty()) msg += ": " + std::string(detail);
  if (!attempts.empty()) msg += " (" + std::string(attempts) + ")";
  return Status(code, std::move(msg));
}

}  // namespace lsio::remote
