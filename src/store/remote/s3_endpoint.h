// S3Endpoint: object URLs of one bucket (path or virtual-host style) under a
// key prefix, every request signed with SigV4 (or sent unsigned when anonymous).
#pragma once

#include "store/remote/credentials.h"
#include "store/remote/endpoint.h"

namespace lsio::remote {

class S3Endpoint final : public Endpoint {
 public:
  static Result<std::unique_ptr<S3Endpoint>> create(std::string_view url, const RemoteOptions& options);

  Status prepare(io::http::Request& r, std::string_view key, const Query& query = {}) const override;
  // A request on the bucket itself (ListObjectsV2).
  Status prepare_bucket(io::http::Request& r, const Query& query) const;
  std::string describe(std::string_view key) const override;
  std::string error_detail(std::string_view body) const override;
  bool is_s3() const override { return true; }
  std::string auth_note() const override;
  // "" or "some/prefix/": prepended to every key of the store.
  const std::string& prefix() const { return prefix_; }
  const std::string& bucket() const { return bucket_; }

 private:
  Status sign(io::http::Request& r, const std::string& host, const std::string& path, const Query& query) const;

  ResolvedS3Config config_;
  std::string bucket_;
  std::string prefix_;
  std::string scheme_;     // "http" or "https"
  std::string authority_;  // host[:port] of the endpoint
  std::string base_path_;  // the endpoint's own path ("" or "/x"), before the bucket
};

}  // namespace lsio::remote
