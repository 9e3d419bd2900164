#include "store/remote/s3_xml.h"

#include <charconv>
#include <cstring>
#include <pugixml.hpp>
#include <unordered_map>

namespace lsio::remote {
namespace {

constexpr size_t kExcerptBytes = 200;

// At most kExcerptBytes of `s`, cut at a UTF-8 character boundary, control characters as spaces (one line).
std::string excerpt(std::string_view s, size_t max = kExcerptBytes) {
  size_t n = std::min(s.size(), max);
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // continuation byte
  std::string out(s.substr(0, n));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (n < s.size()) out += "...";
  return out;
}

Status data_loss(std::string_view what, std::string_view problem, std::string_view body) {
  const std::string quoted = body.empty() ? " (empty body)" : " (body: \"" + excerpt(body) + "\")";
  return Status(StatusCode::kDataLoss, std::string(what) + ": " + std::string(problem) + quoted);
}

// The element name without a namespace prefix ("s3:Key" -> "Key").
std::string_view local_name(const pugi::xml_node& node) {
  const std::string_view name = node.name();
  const size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c) == name) return c;
  }
  return {};
}

// All text and CDATA directly inside `node` ("a<![CDATA[b]]>c" -> "abc").
std::string text_of(const pugi::xml_node& node) {
  std::string out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  }
  return out;
}

// Parses `xml` and returns its root element, or a kDataLoss naming `what`.
Result<pugi::xml_node> parse_root(pugi::xml_document& doc, std::string_view xml, std::string_view what) {
  // parse_ws_pcdata_single keeps <Key> </Key>: a key of spaces is a valid key. No DTD entities are expanded.
  const unsigned options = pugi::parse_default | pugi::parse_ws_pcdata_single;
  const pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size(), options, pugi::encoding_utf8);
  if (!r) {
    return error(
        data_loss(what, std::string("not XML: ") + r.description() + " at byte " + std::to_string(r.offset), xml));
  }
  pugi::xml_node root = doc.document_element();
  if (!root) return error(data_loss(what, "no root element", xml));
  return root;
}

S3Error error_fields(const pugi::xml_node& root) {
  return S3Error{text_of(child(root, "Code")), text_of(child(root, "Message")), text_of(child(root, "RequestId"))};
}

Status s3_error_status(std::string_view what, const S3Error& e) {
  return Status(status_code_for_s3_error(e.code), std::string(what) + ": S3 error " + describe(e));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// EncodingType=url: %XX escapes and '+' for a space (S3 encodes like application/x-www-form-urlencoded; botocore
// decodes with unquote_plus). False on a bad escape.
bool url_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] != '%') {
      out += in[i];
    } else {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    }
  }
  return true;
}

class ListParser {
 public:
  explicit ListParser(std::string_view xml) : xml_(xml) {}

  Result<ListPage> parse() {
    pugi::xml_document doc;
    LSIO_ASSIGN_OR_RETURN(pugi::xml_node root, parse_root(doc, xml_, kWhat));
    if (local_name(root) == "Error") return error(s3_error_status(kWhat, error_fields(root)));
    if (local_name(root) != "ListBucketResult") {
      return error(fail("root element is <" + excerpt(root.name(), 60) + ">, not <ListBucketResult>"));
    }
    url_encoded_ = text_of(child(root, "EncodingType")) == "url";
    ListPage page;
    LSIO_ASSIGN_OR_RETURN(page.truncated, truncated(root));
    page.next_continuation_token = text_of(child(root, "NextContinuationToken"));
    if (page.truncated && page.next_continuation_token.empty()) {
      return error(fail("<IsTruncated> is true but there is no <NextContinuationToken>"));
    }
    size_t n_contents = 0, n_prefixes = 0;
    for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      if (local_name(c) == "Contents") {
        LSIO_ASSIGN_OR_RETURN(ListedObject o, object(c, n_contents++));
        page.objects.push_back(std::move(o));
      } else if (local_name(c) == "CommonPrefixes") {
        LSIO_ASSIGN_OR_RETURN(std::string p, common_prefix(c, n_prefixes++));
        page.common_prefixes.push_back(std::move(p));
      }
    }
    return page;
  }

 private:
  static constexpr std::string_view kWhat = "ListObjectsV2 response";

  Status fail(std::string_view problem) const { return data_loss(kWhat, problem, xml_); }

  Result<bool> truncated(const pugi::xml_node& root) const {
    const pugi::xml_node node = child(root, "IsTruncated");
    if (!node) return error(fail("no <IsTruncated>"));
    const std::string v = text_of(node);
    if (v == "true") return true;
    if (v == "false") return false;
    return error(fail("<IsTruncated> is \"" + excerpt(v, 20) + "\", not true or false"));
  }

  // The text of a key or prefix, decoded under EncodingType=url.
  Result<std::string> name(const pugi::xml_node& node, std::string_view element, size_t index) const {
    std::string raw = text_of(node);
    if (!url_encoded_) return raw;
    std::string decoded;
    if (!url_decode(raw, decoded)) {
      return error(fail(element_ref(element, index) + " has a bad %-escape under EncodingType=url"));
    }
    return decoded;
  }

  static std::string element_ref(std::string_view element, size_t index) {
    std::string out = "<";  // built step by step: GCC 12 warns (-Wrestrict, falsely) on "<" + std::string&&
    out += element;
    out += "> number ";
    out += std::to_string(index + 1);
    return out;
  }

  Result<ListedObject> object(const pugi::xml_node& node, size_t index) const {
    const pugi::xml_node key = child(node, "Key");
    if (!key) return error(fail(element_ref("Contents", index) + " has no <Key>"));
    const pugi::xml_node size = child(node, "Size");
    if (!size) return error(fail(element_ref("Contents", index) + " has no <Size>"));
    ListedObject o;
    LSIO_ASSIGN_OR_RETURN(o.key, name(key, "Contents", index));
    const std::string s = text_of(size);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), o.size);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
      return error(fail(element_ref("Contents", index) + ": <Size> \"" + excerpt(s, 30) +
                        "\" is not a non-negative 64-bit integer"));
    }
    o.etag = text_of(child(node, "ETag"));
    return o;
  }

  Result<std::string> common_prefix(const pugi::xml_node& node, size_t index) const {
    const pugi::xml_node prefix = child(node, "Prefix");
    if (!prefix) return error(fail(element_ref("CommonPrefixes", index) + " has no <Prefix>"));
    return name(prefix, "CommonPrefixes", index);
  }

  std::string_view xml_;
  bool url_encoded_ = false;
};

}  // namespace

Result<ListPage> parse_list_objects_v2(std::string_view xml) { return ListParser(xml).parse(); }

std::optional<S3Error> parse_s3_error(std::string_view body) {
  pugi::xml_document doc;
  auto root = parse_root(doc, body, "S3 error");
  if (!root || local_name(*root) != "Error") return std::nullopt;
  return error_fields(*root);
}

StatusCode status_code_for_s3_error(std::string_view code) {
  static const std::unordered_map<std::string_view, StatusCode> kCodes = {
      {"NoSuchKey", StatusCode::kNotFound},
      {"NoSuchBucket", StatusCode::kNotFound},
      {"NoSuchUpload", StatusCode::kNotFound},
      {"AccessDenied", StatusCode::kPermissionDenied},
      {"AllAccessDisabled", StatusCode::kPermissionDenied},
      {"AccountProblem", StatusCode::kPermissionDenied},
      {"InvalidAccessKeyId", StatusCode::kPermissionDenied},
      {"SignatureDoesNotMatch", StatusCode::kPermissionDenied},
      {"ExpiredToken", StatusCode::kPermissionDenied},
      {"InvalidToken", StatusCode::kPermissionDenied},
      {"TokenRefreshRequired", StatusCode::kPermissionDenied},
      {"RequestTimeTooSkewed", StatusCode::kPermissionDenied},
      {"InternalError", StatusCode::kUnavailable},
      {"ServiceUnavailable", StatusCode::kUnavailable},
      {"SlowDown", StatusCode::kUnavailable},
      {"RequestTimeout", StatusCode::kUnavailable},
      {"OperationAborted", StatusCode::kUnavailable},
      {"PreconditionFailed", StatusCode::kAborted},
      {"InvalidRange", StatusCode::kOutOfRange},
      {"InvalidArgument", StatusCode::kInvalidArgument},
      {"InvalidRequest", StatusCode::kInvalidArgument},
      {"InvalidBucketName", StatusCode::kInvalidArgument},
      {"InvalidPart", StatusCode::kInvalidArgument},
      {"InvalidPartOrder", StatusCode::kInvalidArgument},
      {"EntityTooSmall", StatusCode::kInvalidArgument},
      {"EntityTooLarge", StatusCode::kInvalidArgument},
      {"KeyTooLongError", StatusCode::kInvalidArgument},
      {"MalformedXML", StatusCode::kInvalidArgument},
      {"NotImplemented", StatusCode::kUnimplemented},
  };
  auto it = kCodes.find(code);
  return it == kCodes.end() ? StatusCode::kIoError : it->second;
}

std::string describe(const S3Error& e) {
  std::string out = e.code.empty() ? std::string("(no code)") : excerpt(e.code);
  if (!e.message.empty()) out += ": " + excerpt(e.message);
  if (!e.request_id.empty()) out += " (request id " + excerpt(e.request_id) + ")";
  return out;
}

Result<std::string> parse_initiate_multipart(std::string_view xml) {
  static constexpr std::string_view kWhat = "InitiateMultipartUpload response";
  pugi::xml_document doc;
  LSIO_ASSIGN_OR_RETURN(pugi::xml_node root, parse_root(doc, xml, kWhat));
  if (local_name(root) == "Error") return error(s3_error_status(kWhat, error_fields(root)));
  if (local_name(root) != "InitiateMultipartUploadResult") {
    return error(data_loss(kWhat, "root element is not <InitiateMultipartUploadResult>", xml));
  }
  std::string id = text_of(child(root, "UploadId"));
  if (id.empty()) return error(data_loss(kWhat, "no <UploadId>", xml));
  return id;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string complete_multipart_body(std::span<const std::string> etags) {
  std::string out = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                    R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)";
  for (size_t i = 0; i < etags.size(); ++i) {
    out +=
        "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(etags[i]) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

Status check_complete_multipart(std::string_view body) {
  static constexpr std::string_view kWhat = "CompleteMultipartUpload response";
  pugi::xml_document doc;
  LSIO_ASSIGN_OR_RETURN(pugi::xml_node root, parse_root(doc, body, kWhat));
  if (local_name(root) == "Error") return s3_error_status(kWhat, error_fields(root));
  if (local_name(root) != "CompleteMultipartUploadResult") {
    return data_loss(kWhat, "root element is <" + excerpt(root.name(), 60) + ">, not <CompleteMultipartUploadResult>",
                     body);
  }
  return Status();
}

}  // namespace lsio::remote
