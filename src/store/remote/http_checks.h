// Checks of HTTP responses shared by the remote stores: Content-Range parsing
// and the Status a failed response becomes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "io/http/http_engine.h"
#include "lsio/status.h"

namespace lsio::remote {

// "bytes 0-99/1000" -> {0, 99, 1000}; "bytes */1000" -> unsatisfied with total 1000;
// "bytes 0-99/*" -> total unknown.
struct ContentRange {
  bool unsatisfied = false;
  uint64_t first = 0;
  uint64_t last = 0;
  std::optional<uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

// The Status of a response that failed for good: code from the HTTP status
// (404 NotFound, 401/403 PermissionDenied, 412 Aborted, other 4xx
// InvalidArgument, 5xx Unavailable) or the transport error (Unavailable), with
// "<what>: HTTP 503 SlowDown: Please reduce your request rate (after 3 attempts over 1.2 s)".
// `detail` is the server's error code and message, if it sent one.
Status response_status(const io::http::Response& r, std::string_view what, std::string_view detail,
                       std::string_view attempts);

// "[a, b)" byte range text for messages.
std::string range_text(uint64_t begin, uint64_t end);

}  // namespace lsio::remote
