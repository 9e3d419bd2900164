// HttpEndpoint: objects are files under a base URL, read with plain GETs.
#include "store/remote/endpoint.h"

#include <cstring>

#include "store/remote/sigv4.h"

namespace lsio::remote {
namespace {

class HttpEndpoint final : public Endpoint {
 public:
  HttpEndpoint(std::string base, std::string shown) : base_(std::move(base)), shown_(std::move(shown)) {}

  Status prepare(io::http::Request& r, std::string_view key, const Query& query) const override {
    r.url = base_ + uri_encode(key, /*encode_slash=*/false);
    if (!query.empty()) r.url += "?" + canonical_query_string(query);
    return {};
  }
  std::string describe(std::string_view key) const override { return shown_ + std::string(key); }
  std::string error_detail(std::string_view) const override { return ""; }
  bool is_s3() const override { return false; }

 private:
  std::string base_;   // as given, with a trailing '/'
  std::string shown_;  // without user:password@
};

// The URL without "user:password@" (for messages).
std::string without_userinfo(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t host = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t path = url.find('/', host);
  const size_t at = url.substr(0, path).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return std::string(url.substr(0, host)) + std::string(url.substr(at + 1));
}

}  // namespace

Result<std::unique_ptr<Endpoint>> make_http_endpoint(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || url.size() <= scheme + 3 || url[scheme + 3] == '/') {
    return error(StatusCode::kInvalidArgument, "HTTP store URL " + without_userinfo(url) + " has no host");
  }
  if (url.find_first_of("?#") != std::string_view::npos) {
    return error(StatusCode::kInvalidArgument,
                 "HTTP store URL " + without_userinfo(url) + " has a query or fragment; give the base folder only");
  }
  std::string base(url);
  if (base.find('/', scheme + 3) == std::string::npos || base.back() != '/') base += '/';
  std::string shown = without_userinfo(base);
  return std::make_unique<HttpEndpoint>(std::move(base), std::move(shown));
}

}  // namespace lsio::remote
