// libFuzzer target for the S3 XML documents (src/store/remote/s3_xml.h). The input is one response body, given to
// every parser; split at NUL bytes it is also a list of ETags for complete_multipart_body.
//
// Properties (a failure aborts with the details on stderr):
//   - never crash, hang or throw;
//   - every parse error is kDataLoss prefixed with the document's name, or (for an <Error> document) the code of
//     status_code_for_s3_error; messages are one line and quote at most ~200 bytes of the body;
//   - an accepted ListObjectsV2 page that is truncated has a continuation token;
//   - an <Error> document is recognised the same way by every parser;
//   - complete_multipart_body of any ETags is a document whose ETags read back (checked with pugixml itself).
//
// Build: cmake -DLSIO_FUZZ=ON with clang (see the Makefile's test-fuzz); seeds in fuzz/corpus/fuzz_s3_xml.
// Without libFuzzer (any compiler), -DLSIO_FUZZ_STANDALONE adds a main() that runs the files given as arguments.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "store/remote/s3_xml.h"

namespace {

using lsio::Status;
using lsio::StatusCode;
using namespace lsio::remote;

[[noreturn]] void fail(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "fuzz_s3_xml: %.*s\n%.*s\n", static_cast<int>(property.size()), property.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// A parse error must name the document; an S3 <Error> keeps its mapped code, anything else is kDataLoss.
void check_error(const Status& s, std::string_view what, const std::optional<S3Error>& as_error) {
  if (!s.message().starts_with(what)) fail("error without the document's name", s.to_string());
  if (s.message().find('\n') != std::string_view::npos) fail("multi-line error message", s.to_string());
  // Excerpts are capped at 200 bytes, S3 error fields at 200 each, plus fixed text.
  if (s.message().size() > 1200) fail("error message too long", s.to_string());
  const StatusCode want = as_error ? status_code_for_s3_error(as_error->code) : StatusCode::kDataLoss;
  if (s.code() != want) fail("wrong error code", s.to_string());
}

void check_list(std::string_view body, const std::optional<S3Error>& as_error) {
  auto page = parse_list_objects_v2(body);
  if (!page) return check_error(page.error(), "ListObjectsV2 response: ", as_error);
  if (as_error) fail("an <Error> document parsed as a listing", "");
  if (page->truncated && page->next_continuation_token.empty()) fail("truncated page without a token", "");
}

void check_initiate(std::string_view body, const std::optional<S3Error>& as_error) {
  auto id = parse_initiate_multipart(body);
  if (!id) return check_error(id.error(), "InitiateMultipartUpload response: ", as_error);
  if (as_error) fail("an <Error> document parsed as InitiateMultipartUploadResult", "");
  if (id->empty()) fail("accepted an empty UploadId", "");
}

void check_complete(std::string_view body, const std::optional<S3Error>& as_error) {
  const Status s = check_complete_multipart(body);
  if (!s.ok()) return check_error(s, "CompleteMultipartUpload response: ", as_error);
  if (as_error) fail("an <Error> document accepted as CompleteMultipartUploadResult", "");
}

// ETags without the bytes XML 1.0 cannot carry (NUL) or that a parser normalises (CR), which S3 never sends.
std::vector<std::string> etags_of(std::string_view data) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || data[i] == '\0') {
      std::string tag(data.substr(start, i - start));
      std::erase(tag, '\r');
      out.push_back(std::move(tag));
      start = i + 1;
    }
  }
  return out;
}

void check_complete_body(std::string_view data) {
  const std::vector<std::string> etags = etags_of(data);
  const std::string body = complete_multipart_body(etags);
  pugi::xml_document doc;
  const unsigned options = pugi::parse_default | pugi::parse_ws_pcdata_single;
  if (!doc.load_buffer(body.data(), body.size(), options, pugi::encoding_utf8)) fail("body is not XML", body);
  size_t n = 0;
  for (pugi::xml_node part : doc.document_element().children("Part")) {
    if (n >= etags.size()) fail("more parts than ETags", body);
    if (part.child("PartNumber").text().as_ullong() != n + 1) fail("parts not numbered from 1", body);
    if (etags[n] != part.child("ETag").text().get()) fail("an ETag does not read back", body);
    ++n;
  }
  if (n != etags.size()) fail("fewer parts than ETags", body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::optional<S3Error> as_error = parse_s3_error(body);
  if (as_error) (void)describe(*as_error);
  check_list(body, as_error);
  check_initiate(body, as_error);
  check_complete(body, as_error);
  if (size <= 4096) check_complete_body(body);
  return 0;
}

#ifdef LSIO_FUZZ_STANDALONE
#include <fstream>
#include <iterator>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::fprintf(stderr, "fuzz_s3_xml: %d inputs clean\n", argc - 1);
  return 0;
}
#endif
