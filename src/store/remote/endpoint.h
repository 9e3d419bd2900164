// Endpoint: how one kind of server names objects and authorises requests.
// HttpEndpoint appends keys to a base URL; S3Endpoint builds path- or
// virtual-host-style URLs and signs every request with SigV4.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/http/http_engine.h"
#include "lsio/remote_options.h"
#include "lsio/status.h"

namespace lsio::remote {

using Query = std::vector<std::pair<std::string, std::string>>;  // raw (not encoded) names and values

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // Sets the URL of `key` (with `query`) and the headers that authorise
  // r.method on it; call again for every attempt (signatures carry the time).
  virtual Status prepare(io::http::Request& r, std::string_view key, const Query& query = {}) const = 0;
  // Names `key` in messages: "s3://bucket/prefix/key" or the http URL
  // (never with credentials).
  virtual std::string describe(std::string_view key) const = 0;
  // The server's error code and message in an error body ("SlowDown: Please
  // reduce your request rate"), or "".
  virtual std::string error_detail(std::string_view body) const = 0;
  // S3 can put, list and delete; plain HTTP is read only.
  virtual bool is_s3() const = 0;
  // Without credentials (anonymous S3, plain HTTP): said in 403 messages.
  virtual std::string auth_note() const { return ""; }
};

// "http(s)://[user:pass@]host[:port]/base/" (read only).
Result<std::unique_ptr<Endpoint>> make_http_endpoint(std::string_view url);
// "s3://bucket[/prefix]" with its options (credentials and region resolved here).
Result<std::unique_ptr<Endpoint>> make_s3_endpoint(std::string_view url, const RemoteOptions& options);

}  // namespace lsio::remote
