#include "store/remote/retry.h"

#include <curl/curl.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>

namespace lsio::remote {
namespace {

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(std::max(0.0, s)));
}

uint64_t random_below(uint64_t n) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return n == 0 ? 0 : rng() % n;
}

}  // namespace

RetryPolicy RetryPolicy::from(const RemoteOptions& o) {
  RetryPolicy p;
  p.max_attempts = std::max(1u, o.max_attempts);
  p.max_time = seconds(o.max_retry_time_s);
  p.initial = seconds(o.backoff_initial_s);
  p.max_backoff = seconds(o.backoff_max_s);
  p.retry_after_cap = seconds(o.retry_after_cap_s);
  return p;
}

bool retryable_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

bool is_throttle(long status) { return status == 503 || status == 429; }

bool retryable_transport(int code) {
  switch (static_cast<CURLcode>(code)) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_AGAIN:
      return true;
    default:
      return false;
  }
}

std::optional<std::chrono::nanoseconds> parse_retry_after(std::string_view v) {
  if (v.empty()) return std::nullopt;
  const std::string s(v);
  char* end = nullptr;
  const double secs = std::strtod(s.c_str(), &end);
  if (end != s.c_str() && *end == '\0') return seconds(secs);
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  const std::time_t when = timegm(&tm);
  return seconds(std::difftime(when, std::time(nullptr)));
}

std::optional<io::http::Clock::time_point> Attempts::next(std::string_view retry_after) {
  const auto now = io::http::Clock::now();
  if (made_ >= policy_->max_attempts) return std::nullopt;
  const unsigned shift = std::min(made_ - 1, 30u);
  const auto ceiling = std::min(policy_->max_backoff, policy_->initial * (int64_t{1} << shift));
  auto wait = std::chrono::nanoseconds(random_below(static_cast<uint64_t>(ceiling.count()) + 1));
  if (auto ra = parse_retry_after(retry_after)) wait = std::min(*ra, policy_->retry_after_cap);
  if (now + wait - first_ > policy_->max_time) return std::nullopt;
  return now + wait;
}

std::string Attempts::summary() const {
  const double secs = std::chrono::duration<double>(io::http::Clock::now() - first_).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f s", secs);
  return "after " + std::to_string(made_) + (made_ == 1 ? " attempt" : " attempts") + " over " + buf;
}

}  // namespace lsio::remote
