// HttpEngine: HTTP requests on libcurl's multi interface, driven by one event
// thread. Our own queue admits at most `limit` transfers into curl at a time
// and, with a byte budget, no more body bytes than the budget (many small
// requests in flight, few big ones: big responses in flight slow each other).
// Curl's timeouts therefore never count time spent waiting for a slot, and a
// 503/429 can halve the limit (it grows back by one per `limit` successes).
//
// Bodies land where the caller says: straight into a caller span (a ranged GET
// of known length: no copy) or into a buffer allocated from Content-Length.
// A request's `done` runs exactly once on the event thread, with the response,
// a transport error or `cancelled`; it must not block and must not throw.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lsio/bytes.h"
#include "lsio/status.h"

namespace lsio::io::http {

using Clock = std::chrono::steady_clock;

struct TransportOptions {
  unsigned max_connections = 64;  // per host
  unsigned max_inflight = 64;     // transfers admitted into curl at once (adaptive, never above this)
  // Body bytes (into-span or upload) of the admitted transfers; 0: no limit. One transfer is always admitted,
  // whatever its size, so a budget below one part only serialises.
  uint64_t max_inflight_bytes = 0;
  bool http2 = false;
  double connect_timeout_s = 5;
  uint64_t low_speed_bytes = 1024;  // abort a transfer slower than this per second ...
  double low_speed_time_s = 30;     // ... for this long
  bool verify_tls = true;
  std::string ca_bundle;
};

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // PUT/POST body; must stay valid until done runs.
  std::span<const std::byte> upload;
  // A 2xx body is written here and must fit (more is an overflow error);
  // must stay valid until done runs. Empty: the body is buffered instead.
  std::span<std::byte> into;
  bool write_into = false;  // use `into` (it may be empty for a zero-length body)
  // A buffered body larger than this is refused (kResourceExhausted).
  uint64_t max_buffered = 256ull << 20;
};

struct Response {
  bool cancelled = false;
  // A transport failure (connect, reset, timeout, ...): curl's code and text; 0 when none.
  int transport_code = 0;
  std::string transport_error;
  long status = 0;  // the HTTP status, 0 when no response arrived
  std::string content_range, etag, retry_after, content_type;
  std::optional<uint64_t> content_length;
  Bytes body;               // a buffered 2xx body (exact size)
  std::string error_body;   // the first 64 KiB of a non-2xx body
  uint64_t received = 0;    // 2xx body bytes received (into `into` or `body`)
  bool overflow = false;    // the server sent more than `into` holds
  std::string local_error;  // an error of ours while receiving (allocation, size limit)
};

using Done = std::function<void(Response&&)>;

class Engine {
 public:
  static Result<std::shared_ptr<Engine>> create(const TransportOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues `request`; it starts no earlier than `not_before`. Returns an id for cancel().
  uint64_t submit(Request request, Done done, Clock::time_point not_before = {});
  // `done` of that request runs with cancelled=true unless it already ran.
  void cancel(uint64_t id);
  // A server asked us to slow down (503 SlowDown, 429): halves the in-flight
  // limit, at most once per 200 ms (one burst of refusals is one signal).
  void throttle();
  unsigned inflight_limit() const;
  bool on_event_thread() const;
  std::string description() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lsio::io::http
