// When to try a remote request again, and how long to wait first: full-jitter
// exponential backoff (a random wait in [0, min(max, initial * 2^n)]), a
// server's Retry-After honoured up to a cap, at most max_attempts attempts and
// never past max_time after the first one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "io/http/http_engine.h"
#include "lsio/remote_options.h"

namespace lsio::remote {

struct RetryPolicy {
  unsigned max_attempts = 10;
  std::chrono::nanoseconds max_time = std::chrono::seconds(180);
  std::chrono::nanoseconds initial = std::chrono::milliseconds(100);
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(15);
  std::chrono::nanoseconds retry_after_cap = std::chrono::seconds(60);

  static RetryPolicy from(const RemoteOptions& o);
};

// Statuses worth another attempt: 408, 429 and 5xx.
bool retryable_status(long status);
// Transport failures worth another attempt (connect, reset, timeout, truncated body),
// not TLS verification or malformed-URL errors.
bool retryable_transport(int curl_code);
// 503 and 429 ask the client to slow down.
bool is_throttle(long status);

// Retry-After as seconds or an HTTP date; nullopt when absent or unparsable.
std::optional<std::chrono::nanoseconds> parse_retry_after(std::string_view value);

// Tracks one request's attempts.
class Attempts {
 public:
  explicit Attempts(const RetryPolicy& policy) : policy_(&policy), first_(io::http::Clock::now()) {}
  unsigned made() const { return made_; }
  void start() { ++made_; }
  // When to try again after a failure, or nullopt when the attempts or the time are used up.
  std::optional<io::http::Clock::time_point> next(std::string_view retry_after);
  // "after 3 attempts over 1.2 s" (for messages).
  std::string summary() const;

 private:
  const RetryPolicy* policy_;
  io::http::Clock::time_point first_;
  unsigned made_ = 0;
};

}  // namespace lsio::remote
