// The S3 XML documents LSIO reads and writes: ListObjectsV2 pages, <Error> bodies, and the multipart upload
// exchange. On pugixml, which expands no DTD entities (no XXE, no entity bombs). Elements are matched by their
// local name, so the default namespace S3 sends (and moto, MinIO), a prefixed one, or none all parse the same.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lsio/status.h"

namespace lsio::remote {

struct ListedObject {
  std::string key;  // decoded when the page says <EncodingType>url</EncodingType>
  uint64_t size = 0;
  std::string etag;  // as S3 sends it, quotes included ("\"9b2cf...\""); empty when the server omits it
};

struct ListPage {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;  // decoded like keys
  bool truncated = false;
  std::string next_continuation_token;  // non-empty when truncated
};

// A ListObjectsV2 response (<ListBucketResult>). Malformed documents, a missing <IsTruncated>, <Key> or <Size>, a
// bad size, a bad %-escape under EncodingType=url, or a truncated page without <NextContinuationToken> are
// kDataLoss, quoting at most ~200 bytes of the body. An <Error> document is an error with the code of
// status_code_for_s3_error.
Result<ListPage> parse_list_objects_v2(std::string_view xml);

struct S3Error {
  std::string code;  // "NoSuchKey", "AccessDenied", "SlowDown", ...
  std::string message;
  std::string request_id;
};

// The <Error> document of a failed request, or nullopt when `body` is not one (empty, HTML from a proxy, ...).
std::optional<S3Error> parse_s3_error(std::string_view body);

// A suggested StatusCode for an S3 error code: NoSuchKey/NoSuchBucket/NoSuchUpload -> kNotFound, AccessDenied and
// the signature and token errors -> kPermissionDenied, InternalError/SlowDown/ServiceUnavailable/RequestTimeout ->
// kUnavailable (retryable), PreconditionFailed -> kAborted, InvalidRange -> kOutOfRange, request errors
// (InvalidPart, EntityTooSmall, ...) -> kInvalidArgument, NotImplemented -> kUnimplemented, else kIoError.
StatusCode status_code_for_s3_error(std::string_view code);

// "NoSuchKey: The specified key does not exist. (request id 4442587FB7D0A2F9)", each field capped at 200 bytes.
std::string describe(const S3Error& e);

// The UploadId of an <InitiateMultipartUploadResult>; kDataLoss when absent or empty.
Result<std::string> parse_initiate_multipart(std::string_view xml);

// The <CompleteMultipartUpload> request body: one <Part> per ETag, numbered from 1, ETags XML-escaped.
std::string complete_multipart_body(std::span<const std::string> etags);

// The body of a CompleteMultipartUpload response. S3 answers 200 and may still fail the request, with an <Error>
// body (sent after whitespace it streams while it assembles the parts): that is an error here, with the code of
// status_code_for_s3_error. A <CompleteMultipartUploadResult> is OK; anything else is kDataLoss.
Status check_complete_multipart(std::string_view body);

// &, <, >, " and ' as entities.
std::string xml_escape(std::string_view s);

}  // namespace lsio::remote
