#include "store/remote/s3_endpoint.h"

#include "store/remote/s3_xml.h"
#include "store/remote/sigv4.h"

namespace lsio::remote {
namespace {

// Bucket names S3 accepts (3-63 of a-z 0-9 . -, starting and ending with a letter or digit).
bool valid_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return b.front() != '.' && b.front() != '-' && b.back() != '.' && b.back() != '-';
}

}  // namespace

Result<std::unique_ptr<S3Endpoint>> S3Endpoint::create(std::string_view url, const RemoteOptions& options) {
  std::string_view rest = url.substr(5);  // after "s3://"
  const size_t slash = rest.find('/');
  auto ep = std::unique_ptr<S3Endpoint>(new S3Endpoint());
  ep->bucket_ = std::string(rest.substr(0, slash));
  if (!valid_bucket(ep->bucket_)) {
    return error(StatusCode::kInvalidArgument, "S3 URL " + std::string(url) + ": '" + ep->bucket_ +
                                                   "' is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')");
  }
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (prefix.ends_with('/')) prefix.remove_suffix(1);
    if (!prefix.empty()) ep->prefix_ = std::string(prefix) + "/";
  }
  LSIO_ASSIGN_OR_RETURN(ep->config_, resolve_s3_config(options));
  const std::string& endpoint = ep->config_.endpoint;
  const size_t scheme_end = endpoint.find("://");
  ep->scheme_ = endpoint.substr(0, scheme_end);
  const std::string after = endpoint.substr(scheme_end + 3);
  const size_t path = after.find('/');
  ep->authority_ = after.substr(0, path);
  if (path != std::string::npos) {
    ep->base_path_ = after.substr(path);
    while (ep->base_path_.ends_with('/')) ep->base_path_.pop_back();
  }
  // Virtual hosts need a DNS-safe bucket; dots break TLS wildcard certificates.
  if (ep->config_.addressing == S3Addressing::kVirtualHost && ep->bucket_.find('.') != std::string::npos &&
      ep->scheme_ == "https") {
    ep->config_.addressing = S3Addressing::kPath;
  }
  return ep;
}

Status S3Endpoint::sign(io::http::Request& r, const std::string& host, const std::string& path,
                        const Query& query) const {
  r.url = scheme_ + "://" + host + path;
  if (!query.empty()) r.url += "?" + canonical_query_string(query);
  r.headers.push_back("Host: " + host);
  SigningRequest sr;
  sr.method = r.method;
  sr.canonical_uri = path;
  sr.query = query;
  sr.headers = {{"host", host}};
  sr.payload_hash =
      r.method == "PUT" || r.method == "POST" ? std::string(kUnsignedPayload) : std::string(kEmptyPayloadSha256);
  sr.region = config_.region;
  sr.time = std::chrono::system_clock::now();
  for (auto& [name, value] : sign_v4(sr, config_.credentials)) r.headers.push_back(name + ": " + value);
  return {};
}

Status S3Endpoint::prepare(io::http::Request& r, std::string_view key, const Query& query) const {
  const std::string object = uri_encode(prefix_ + std::string(key), /*encode_slash=*/false);
  if (config_.addressing == S3Addressing::kPath) {
    return sign(r, authority_, base_path_ + "/" + bucket_ + "/" + object, query);
  }
  return sign(r, bucket_ + "." + authority_, base_path_ + "/" + object, query);
}

Status S3Endpoint::prepare_bucket(io::http::Request& r, const Query& query) const {
  if (config_.addressing == S3Addressing::kPath) return sign(r, authority_, base_path_ + "/" + bucket_, query);
  return sign(r, bucket_ + "." + authority_, base_path_ + "/", query);
}

std::string S3Endpoint::describe(std::string_view key) const {
  return "s3://" + bucket_ + "/" + prefix_ + std::string(key);
}

std::string S3Endpoint::error_detail(std::string_view body) const {
  auto e = parse_s3_error(body);
  if (!e) return "";
  return e->message.empty() ? e->code : e->code + ": " + e->message;
}

std::string S3Endpoint::auth_note() const {
  return config_.source == CredentialSource::kNone ? config_.credentials_origin
                                                   : "credentials from " + config_.credentials_origin;
}

}  // namespace lsio::remote
