// AWS Signature Version 4 for S3 requests (header-based: an Authorization header, not presigned URLs), on
// OpenSSL's SHA-256 and HMAC. https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/remote/credentials.h"

namespace lsio::remote {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;

// The payload hash of a request without a body (SHA-256 of nothing), and the marker for a body not hashed.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Lower-case hex of bytes.
std::string hex_encode(std::span<const std::byte> bytes);
std::string hex_encode(std::string_view bytes);
// Lower-case hex SHA-256. These throw std::runtime_error only when OpenSSL cannot compute SHA-256 at all (a broken
// installation), never for any input.
std::string sha256_hex(std::span<const std::byte> data);
std::string sha256_hex(std::string_view data);
// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' when !encode_slash) as %XX, upper-case hex,
// byte by byte (so UTF-8 becomes one %XX per byte). Nothing is normalised: "a//b" stays "a//b", "a/./b" stays.
std::string uri_encode(std::string_view s, bool encode_slash);

// The query as SigV4 signs it: each name and value uri_encode'd (slashes too), sorted by encoded name then value,
// "name=value" joined with '&' ("name=" for an empty value). Build the request URL's query with this same string,
// so what is sent is what was signed.
std::string canonical_query_string(std::span<const std::pair<std::string, std::string>> query);

struct SigningRequest {
  std::string_view method;         // "GET", "PUT", ...
  std::string_view canonical_uri;  // the path as sent, already encoded: "/bucket/my%20key" ("" means "/")
  QueryList query;                 // raw (decoded) names and values
  // Every header sent that should be signed; must include "host" (with ":port" when not the scheme's default).
  // Names in any case; the same name twice is signed as one "a,b" value, as HTTP folds them. Leave out headers a
  // proxy may rewrite (user-agent, expect) and the ones sign_v4 adds.
  HeaderList headers;
  std::string payload_hash;  // hex SHA-256 of the body, kEmptyPayloadSha256, or kUnsignedPayload
  std::string_view region;
  std::string_view service = "s3";
  std::chrono::system_clock::time_point time;  // the request time; S3 refuses requests 15 min off its clock
};

// The headers to add to the request: x-amz-date, x-amz-content-sha256, x-amz-security-token (only with a session
// token) and Authorization. Nothing for anonymous credentials (an unsigned request).
HeaderList sign_v4(const SigningRequest& request, const Credentials& credentials);

// The steps, exposed for tests and for debugging a SignatureDoesNotMatch (S3 returns its canonical request).
namespace sigv4_detail {
std::string amz_date(std::chrono::system_clock::time_point t);  // "20130524T000000Z"
// `extra` are the x-amz-* headers sign_v4 adds; they are signed like the request's own.
std::string canonical_request(const SigningRequest& request, const HeaderList& extra, std::string* signed_headers);
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
}  // namespace sigv4_detail

}  // namespace lsio::remote
