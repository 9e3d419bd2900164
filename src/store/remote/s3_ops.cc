// The writing and listing half of RemoteStore (S3 only): ListObjectsV2,
// PUT (multipart above the threshold), DELETE.
#include <algorithm>

#include "store/remote/remote_store.h"
#include "store/remote/s3_endpoint.h"
#include "store/remote/s3_xml.h"

namespace lsio::remote {
namespace {

constexpr uint64_t kMinPart = 5ull << 20;  // S3's smallest part (but the last)
constexpr uint64_t kMaxParts = 10000;

}  // namespace

Result<Listing> RemoteStore::list(std::string_view prefix, bool recursive) {
  LSIO_RETURN_IF_ERROR(check_not_in_callback("list"));
  const auto* s3 = dynamic_cast<const S3Endpoint*>(endpoint_.get());
  if (!s3) {
    return error(StatusCode::kUnimplemented, "list " + url_ + ": HTTP servers offer no listing (use s3://)");
  }
  Listing out;
  std::string token;
  const std::string full_prefix = s3->prefix() + std::string(prefix);
  for (int page = 0;; ++page) {
    Query q = {{"list-type", "2"}, {"prefix", full_prefix}};
    if (!recursive) q.emplace_back("delimiter", "/");
    if (!token.empty()) q.emplace_back("continuation-token", token);
    auto calls = call_many(1, [&](size_t, io::http::Request& r) { return s3->prepare_bucket(r, q); });
    const std::string what = "list " + s3->describe(std::string(prefix)) + " (page " + std::to_string(page + 1) + ")";
    if (!calls[0].error.ok() || calls[0].failed) return error(failure(calls[0], what));
    auto parsed = parse_list_objects_v2(calls[0].response.body.as_string_view());
    if (!parsed) return error(parsed.error().with_context(what));
    for (ListedObject& o : parsed->objects) {
      if (!o.key.starts_with(s3->prefix())) continue;
      out.objects.push_back(ListEntry{o.key.substr(s3->prefix().size()), o.size, std::move(o.etag)});
    }
    for (std::string& p : parsed->common_prefixes) {
      if (p.starts_with(s3->prefix())) out.prefixes.push_back(p.substr(s3->prefix().size()));
    }
    if (!parsed->truncated) break;
    token = std::move(parsed->next_continuation_token);
  }
  std::sort(out.objects.begin(), out.objects.end(), [](auto& a, auto& b) { return a.path < b.path; });
  std::sort(out.prefixes.begin(), out.prefixes.end());
  return out;
}

std::vector<Status> RemoteStore::write(std::span<const WriteRequest> requests) {
  Status s = writable("write");
  if (s.ok()) {
    s = Status(StatusCode::kUnimplemented, "write " + url_ +
                                               ": S3 objects cannot be written in place at an offset; "
                                               "use put() to replace a whole object");
  }
  return std::vector<Status>(requests.size(), s);
}

std::vector<Status> RemoteStore::remove(std::span<const std::string> paths) {
  if (Status s = check_not_in_callback("remove"); !s.ok()) return std::vector<Status>(paths.size(), s);
  if (Status s = writable("remove"); !s.ok()) return std::vector<Status>(paths.size(), s);
  auto calls = call_many(paths.size(), [&](size_t i, io::http::Request& r) {
    r.method = "DELETE";
    return endpoint_->prepare(r, paths[i]);
  });
  std::vector<Status> out(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    const Call& c = calls[i];
    if ((!c.error.ok() || c.failed) && c.response.status != 404) {
      out[i] = failure(c, "DELETE " + endpoint_->describe(paths[i]));
    }
  }
  return out;
}

Status RemoteStore::put(std::string_view path, std::span<const std::byte> data, const PutOptions&) {
  LSIO_RETURN_IF_ERROR(check_not_in_callback("put"));
  LSIO_RETURN_IF_ERROR(writable("put"));
  if (data.size() > options_.multipart_threshold) return put_multipart(path, data);
  auto calls = call_many(1, [&](size_t, io::http::Request& r) {
    r.method = "PUT";
    r.upload = data;
    return endpoint_->prepare(r, path);
  });
  if (!calls[0].error.ok() || calls[0].failed) return failure(calls[0], "PUT " + endpoint_->describe(path));
  return {};
}

// Equal parts of multipart_part_size (raised to stay within 10,000 parts, at
// least 5 MiB), sent concurrently; the upload is aborted when anything fails,
// so no half-written object ever appears.
Status RemoteStore::put_multipart(std::string_view path, std::span<const std::byte> data) {
  const std::string what = "multipart PUT " + endpoint_->describe(path);
  uint64_t part = std::max(kMinPart, options_.multipart_part_size);
  part = std::max(part, (data.size() + kMaxParts - 1) / kMaxParts);
  const size_t parts = (data.size() + part - 1) / part;
  auto init = call_many(1, [&](size_t, io::http::Request& r) {
    r.method = "POST";
    return endpoint_->prepare(r, path, {{"uploads", ""}});
  });
  if (!init[0].error.ok() || init[0].failed) return failure(init[0], what + ": initiate");
  auto upload_id = parse_initiate_multipart(init[0].response.body.as_string_view());
  if (!upload_id) return upload_id.error().with_context(what + ": initiate");
  const Query id_query = {{"uploadId", *upload_id}};
  auto abort = [&](Status why) {
    call_many(1, [&](size_t, io::http::Request& r) {
      r.method = "DELETE";
      return endpoint_->prepare(r, path, id_query);
    });
    return why;
  };
  auto sent = call_many(parts, [&](size_t i, io::http::Request& r) {
    r.method = "PUT";
    r.upload = data.subspan(i * part, std::min<uint64_t>(part, data.size() - i * part));
    return endpoint_->prepare(r, path, {{"partNumber", std::to_string(i + 1)}, {"uploadId", *upload_id}});
  });
  std::vector<std::string> etags;
  for (size_t i = 0; i < parts; ++i) {
    if (!sent[i].error.ok() || sent[i].failed) {
      return abort(failure(sent[i], what + ": part " + std::to_string(i + 1) + " of " + std::to_string(parts)));
    }
    if (sent[i].response.etag.empty()) {
      return abort(Status(StatusCode::kDataLoss, what + ": part " + std::to_string(i + 1) + " got no ETag"));
    }
    etags.push_back(sent[i].response.etag);
  }
  const std::string body = complete_multipart_body(etags);
  const auto body_bytes = std::as_bytes(std::span(body));
  // S3 may answer 200 with an <Error> body here: that is retried too.
  Status last;
  for (unsigned attempt = 0; attempt < std::max(1u, options_.max_attempts); ++attempt) {
    auto done = call_many(1, [&](size_t, io::http::Request& r) {
      r.method = "POST";
      r.upload = body_bytes;
      return endpoint_->prepare(r, path, id_query);
    });
    if (!done[0].error.ok() || done[0].failed) return abort(failure(done[0], what + ": complete"));
    last = check_complete_multipart(done[0].response.body.as_string_view());
    if (last.ok()) return {};
  }
  return abort(last.with_context(what + ": complete"));
}

}  // namespace lsio::remote
