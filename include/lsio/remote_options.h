// RemoteOptions: how an s3:// or http(s):// store connects, signs and retries.
// Every field has a default that suits a cloud object store; empty strings
// mean "take it from the environment" (see each field).
#pragma once

#include <cstdint>
#include <string>

namespace lsio {

enum class S3Addressing : uint8_t {
  kAuto,         // path style for a custom endpoint, virtual-host style on AWS
  kPath,         // http://endpoint/bucket/key
  kVirtualHost,  // http://bucket.endpoint/key
};

struct RemoteOptions {
  // ---- S3 ----
  // "" : AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else https://s3.<region>.amazonaws.com.
  std::string endpoint;
  // "" : AWS_REGION, AWS_DEFAULT_REGION, the profile's region in ~/.aws/config, else us-east-1.
  std::string region;
  // Credentials. All empty: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
  // AWS_SESSION_TOKEN, else the profile in the shared credentials file
  // (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials). These values never
  // appear in any message, log or repr.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string profile;     // "" : AWS_PROFILE, else "default"
  bool anonymous = false;  // send unsigned requests (public buckets)
  S3Addressing addressing = S3Addressing::kAuto;

  // ---- HTTP transport (S3 and plain HTTP) ----
  unsigned max_connections = 64;  // per host; HTTP/1.1 needs one connection per request in flight
  // Requests in flight per store; halved on 503/429, regrows slowly. As many as connections: with 20 ms
  // per request, 32 in flight gave 1.0k ranges/s, 64 gave 1.8k (fault server, coalesce_gap=0).
  unsigned max_inflight = 64;
  // Body bytes of the GETs (and PUTs) in flight per store; 0: no limit. Big responses in flight slow each
  // other where the link, not the latency, is the limit: over loopback nginx, 16 GETs of 1 MiB in flight
  // read 1 GiB 20-40% slower than 4. The budget keeps many small requests in flight and few big ones
  // (lsio.tune sets it from a bandwidth probe); a request larger than the budget still goes, alone.
  uint64_t max_inflight_bytes = 0;
  bool http2 = false;  // HTTP/1.1 by default: measured several times faster for many ranges
  double connect_timeout_s = 5;
  // A transfer slower than low_speed_bytes per second for low_speed_time_s is
  // aborted (and retried). There is no total timeout: big bodies take the time they need.
  uint64_t low_speed_bytes = 1024;
  double low_speed_time_s = 30;
  bool verify_tls = true;
  std::string ca_bundle;  // "" : the system's

  // ---- planning defaults (a ReadOptions field that is set wins) ----
  // Ranges of one object closer than this are fetched by one GET (0: every
  // range its own GET). 1 MiB suits cloud latency (20-50 ms per request); on
  // a fast local server a gap of about latency x bandwidth (~64 KiB) reads less.
  uint64_t coalesce_gap = 1ull << 20;
  // Ranges are merged into fetches of at most max_merged bytes; no GET is
  // longer than part_size: a longer fetch, merged or not, goes out in
  // parallel parts.
  uint64_t max_merged = 16ull << 20;
  uint64_t part_size = 8ull << 20;

  // ---- retries: full-jitter exponential backoff ----
  unsigned max_attempts = 10;
  double max_retry_time_s = 180;  // give up when the next attempt would start later than this
  double backoff_initial_s = 0.1;
  double backoff_max_s = 15;
  double retry_after_cap_s = 60;  // a server's Retry-After is honoured up to this

  // ---- writes (S3) ----
  // put() of more than this many bytes is a multipart upload of equal parts
  // of multipart_part_size (raised as needed to stay within 10,000 parts).
  uint64_t multipart_threshold = 8ull << 20;
  uint64_t multipart_part_size = 8ull << 20;
};

}  // namespace lsio
