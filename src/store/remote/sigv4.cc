#include "store/remote/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace lsio::remote {
namespace {

constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// SigV4's Trimall: no white space at either end, each inner run of it one space (botocore: ' '.join(v.split())).
std::string trim_all(std::string_view v) {
  std::string out;
  bool gap = false;
  for (char c : v) {
    if (is_space(c)) {
      gap = !out.empty();
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    out += c;
  }
  return out;
}

std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

}  // namespace

std::string hex_encode(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    const auto v = static_cast<unsigned>(b);
    out += kHexLower[v >> 4];
    out += kHexLower[v & 15];
  }
  return out;
}

std::string hex_encode(std::string_view bytes) { return hex_encode(as_bytes(bytes)); }

std::string sha256_hex(std::span<const std::byte> data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest only fails when OpenSSL itself is broken (no SHA-256 provider); nothing sensible to recover.
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
  }
  return hex_encode(std::as_bytes(std::span(md, len)));
}

std::string sha256_hex(std::string_view data) { return sha256_hex(as_bytes(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // One-shot HMAC() (not the deprecated HMAC_CTX API). Key and data may be empty; OpenSSL wants non-null pointers.
  static const unsigned char kNothing = 0;
  const void* k = key.empty() ? &kNothing : static_cast<const void*>(key.data());
  const auto* d = data.empty() ? &kNothing : reinterpret_cast<const unsigned char*>(data.data());
  if (HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), md, &len) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC(SHA-256) failed");
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string uri_encode(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 15];
    }
  }
  return out;
}

std::string canonical_query_string(std::span<const std::pair<std::string, std::string>> query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
  std::ranges::sort(encoded);  // by encoded name, then encoded value
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

namespace sigv4_detail {

std::string amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, n);
}

std::string canonical_request(const SigningRequest& request, const HeaderList& extra, std::string* signed_headers) {
  // Lower-case names, sorted; values trimmed; a repeated name becomes one comma-separated value (stable sort keeps
  // the order the values were given in).
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(request.headers.size() + extra.size());
  for (const HeaderList* list : {&request.headers, &extra}) {
    for (const auto& [name, value] : *list) headers.emplace_back(lower(trim_all(name)), trim_all(value));
  }
  std::ranges::stable_sort(headers, {}, &std::pair<std::string, std::string>::first);

  std::string canonical_headers, names;
  for (size_t i = 0; i < headers.size(); ++i) {
    const bool same_as_previous = i > 0 && headers[i].first == headers[i - 1].first;
    if (same_as_previous) {
      canonical_headers.back() = ',';  // replaces the previous value's '\n'
    } else {
      if (!names.empty()) names += ';';
      names += headers[i].first;
      canonical_headers += headers[i].first;
      canonical_headers += ':';
    }
    canonical_headers += headers[i].second;
    canonical_headers += '\n';
  }

  std::string out(request.method);
  out += '\n';
  out += request.canonical_uri.empty() ? std::string_view("/") : request.canonical_uri;
  out += '\n';
  out += canonical_query_string(request.query);
  out += '\n';
  out += canonical_headers;
  out += '\n';
  out += names;
  out += '\n';
  out += request.payload_hash;
  if (signed_headers) *signed_headers = std::move(names);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256_hex(canonical_request);
  return out;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  const std::string k_date = hmac_sha256("AWS4" + std::string(secret), date);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

}  // namespace sigv4_detail

HeaderList sign_v4(const SigningRequest& request, const Credentials& credentials) {
  if (credentials.anonymous) return {};
  const std::string date_time = sigv4_detail::amz_date(request.time);
  const std::string_view date = std::string_view(date_time).substr(0, 8);
  const std::string scope =
      std::string(date) + "/" + std::string(request.region) + "/" + std::string(request.service) + "/aws4_request";

  HeaderList added = {{"x-amz-date", date_time}, {"x-amz-content-sha256", request.payload_hash}};
  if (!credentials.session_token.empty())
    added.emplace_back("x-amz-security-token", credentials.session_token.reveal());

  std::string signed_headers;
  const std::string canonical = sigv4_detail::canonical_request(request, added, &signed_headers);
  const std::string key =
      sigv4_detail::signing_key(credentials.secret_access_key.reveal(), date, request.region, request.service);
  const std::string signature = hex_encode(hmac_sha256(key, sigv4_detail::string_to_sign(date_time, scope, canonical)));

  added.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                                          scope + ", SignedHeaders=" + signed_headers + ", Signature=" + signature);
  return added;
}

}  // namespace lsio::remote
