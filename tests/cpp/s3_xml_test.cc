// S3 XML documents: the AWS documentation's examples, bodies captured from moto 5 (boto3 against mock_aws), and
// malformed input.
#include "store/remote/s3_xml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lsio::remote {
namespace {

constexpr std::string_view kNs = R"(xmlns="http://s3.amazonaws.com/doc/2006-03-01/")";

ListPage parse_ok(std::string_view xml) {
  auto r = parse_list_objects_v2(xml);
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  return r ? *r : ListPage{};
}

Status parse_fails(std::string_view xml) {
  auto r = parse_list_objects_v2(xml);
  EXPECT_FALSE(r.has_value()) << xml;
  return r ? Status() : r.error();
}

std::string list_doc(std::string_view inner, std::string_view truncated = "false") {
  return "<ListBucketResult " + std::string(kNs) + "><IsTruncated>" + std::string(truncated) + "</IsTruncated>" +
         std::string(inner) + "</ListBucketResult>";
}

// ---- ListObjectsV2 -------------------------------------------------------------------------------------------

// The AWS ListObjectsV2 documentation, "Example 2: Listing keys using the delimiter and prefix parameters".
TEST(S3XmlList, AwsDocsDelimiterExample) {
  const ListPage page = parse_ok(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>example-bucket</Name>
  <Prefix>photos/2006/</Prefix>
  <KeyCount>3</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>false</IsTruncated>
  <Contents>
    <Key>photos/2006/index.html</Key>
    <LastModified>2019-11-20T15:52:00.000Z</LastModified>
    <ETag>"9ba9e7e3d3c3a7e2cbc7e0c9b5b3a1e0"</ETag>
    <Size>0</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <CommonPrefixes>
    <Prefix>photos/2006/February/</Prefix>
  </CommonPrefixes>
  <CommonPrefixes>
    <Prefix>photos/2006/January/</Prefix>
  </CommonPrefixes>
</ListBucketResult>)");
  ASSERT_EQ(page.objects.size(), 1u);
  EXPECT_EQ(page.objects[0].key, "photos/2006/index.html");
  EXPECT_EQ(page.objects[0].size, 0u);
  EXPECT_EQ(page.objects[0].etag, "\"9ba9e7e3d3c3a7e2cbc7e0c9b5b3a1e0\"");
  EXPECT_EQ(page.common_prefixes, (std::vector<std::string>{"photos/2006/February/", "photos/2006/January/"}));
  EXPECT_FALSE(page.truncated);
  EXPECT_EQ(page.next_continuation_token, "");
}

// The AWS documentation, "Example 1: Listing keys" with a continuation token (truncated page).
TEST(S3XmlList, AwsDocsTruncatedExample) {
  const ListPage page = parse_ok(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix></Prefix>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <KeyCount>1000</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>happyface.jpg</Key>
    <LastModified>2014-11-21T19:40:05.000Z</LastModified>
    <ETag>&quot;70ee1738b6b21e2c8a43f3a5ab0eee71&quot;</ETag>
    <Size>11</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>huge.bin</Key>
    <Size>18446744073709551615</Size>
  </Contents>
</ListBucketResult>)");
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "happyface.jpg");
  EXPECT_EQ(page.objects[0].size, 11u);
  EXPECT_EQ(page.objects[0].etag, "\"70ee1738b6b21e2c8a43f3a5ab0eee71\"");
  EXPECT_EQ(page.objects[1].size, 18446744073709551615u);
  EXPECT_EQ(page.objects[1].etag, "");  // optional
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

// moto 5.x (boto3 asks for EncodingType=url by default): xmlns on ListBucketResult, url-encoded keys and prefixes.
TEST(S3XmlList, MotoEncodingTypeUrl) {
  ListPage page = parse_ok(
      R"(<?xml version="1.0" encoding="utf-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>true</IsTruncated><Contents><Key>a%20b.txt</Key><LastModified>2026-11-30T14:19:31.000Z</LastModified><ETag>"5d41402abc4b2a76b9719d911017c592"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>dir/sub/1</Key><LastModified>2026-11-30T14:19:31.000Z</LastModified><ETag>"5d41402abc4b2a76b9719d911017c592"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents><Name>bkt</Name><Prefix/><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><KeyCount>2</KeyCount><NextContinuationToken>7d0f0d934b23de82d8e9154afe68f452</NextContinuationToken></ListBucketResult>)");
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "a b.txt");
  EXPECT_EQ(page.objects[1].key, "dir/sub/1");
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_continuation_token, "7d0f0d934b23de82d8e9154afe68f452");

  page = parse_ok(
      R"(<?xml version="1.0" encoding="utf-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>false</IsTruncated><Contents><Key>a%20b.txt</Key><LastModified>2026-11-30T14:19:31.000Z</LastModified><ETag>"5d41402abc4b2a76b9719d911017c592"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>x%2By%26z%3C%3E.bin</Key><LastModified>2026-11-30T14:19:31.000Z</LastModified><ETag>"5d41402abc4b2a76b9719d911017c592"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents><Name>bkt</Name><Prefix/><Delimiter>/</Delimiter><MaxKeys>1000</MaxKeys><CommonPrefixes><Prefix>dir/%C3%BC%20x/</Prefix></CommonPrefixes><EncodingType>url</EncodingType><KeyCount>3</KeyCount></ListBucketResult>)");
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[1].key, "x+y&z<>.bin");
  EXPECT_EQ(page.common_prefixes, std::vector<std::string>{"dir/ü x/"});
}

TEST(S3XmlList, UrlDecodingPlusIsSpace) {
  const ListPage page =
      parse_ok(list_doc("<EncodingType>url</EncodingType><Contents><Key>a+b%2Bc%2fd%25</Key>"
                        "<Size>1</Size></Contents>"));
  EXPECT_EQ(page.objects.at(0).key, "a b+c/d%");
}

TEST(S3XmlList, WithoutEncodingTypeKeysAreLiteral) {
  const ListPage page =
      parse_ok(list_doc("<Contents><Key>a+b%20&amp;&lt;&gt;&quot;&apos;&#x4E2D;</Key><Size>1</Size></Contents>"
                        "<Contents><Key> </Key><Size>2</Size></Contents>"           // a key of one space is a valid key
                        "<Contents><Key>  padded  </Key><Size>3</Size></Contents>"  // spaces around are part of the key
                        "<Contents><Key><![CDATA[<cdata>]]>tail</Key><Size>4</Size></Contents>"
                        "<Contents><Key></Key><Size>5</Size></Contents>"));
  ASSERT_EQ(page.objects.size(), 5u);
  EXPECT_EQ(page.objects[0].key, "a+b%20&<>\"'\xE4\xB8\xAD");
  EXPECT_EQ(page.objects[1].key, " ");
  EXPECT_EQ(page.objects[2].key, "  padded  ");
  EXPECT_EQ(page.objects[3].key, "<cdata>tail");
  EXPECT_EQ(page.objects[4].key, "");
}

TEST(S3XmlList, NamespacePrefixOrNone) {
  ListPage page = parse_ok(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>7</Size>"
      "</Contents></ListBucketResult>");
  EXPECT_EQ(page.objects.at(0).size, 7u);
  page = parse_ok(R"(<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">)"
                  "<s3:IsTruncated>false</s3:IsTruncated><s3:Contents><s3:Key>k</s3:Key><s3:Size>7</s3:Size>"
                  "</s3:Contents><s3:CommonPrefixes><s3:Prefix>p/</s3:Prefix></s3:CommonPrefixes>"
                  "</s3:ListBucketResult>");
  EXPECT_EQ(page.objects.at(0).key, "k");
  EXPECT_EQ(page.common_prefixes.at(0), "p/");
}

TEST(S3XmlList, EmptyListing) {
  const ListPage page = parse_ok(
      "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>"
      "<KeyCount>0</KeyCount></ListBucketResult>");
  EXPECT_TRUE(page.objects.empty());
  EXPECT_TRUE(page.common_prefixes.empty());
}

TEST(S3XmlList, Malformed) {
  struct Case {
    std::string xml, problem;
  };
  const std::vector<Case> cases = {
      {"", "not XML: No document element found at byte 0 (empty body)"},
      {"<ListBucketResult><IsTruncated>false</IsTruncated>", "not XML: Start-end tags mismatch"},
      {"{\"json\": true}", "not XML: No document element found"},
      {"<ListAllMyBucketsResult/>", "root element is <ListAllMyBucketsResult>, not <ListBucketResult>"},
      {"<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>", "no <IsTruncated>"},
      {list_doc("", "True"), "<IsTruncated> is \"True\", not true or false"},
      {list_doc("", "true"), "<IsTruncated> is true but there is no <NextContinuationToken>"},
      {list_doc("<NextContinuationToken></NextContinuationToken>", "true"),
       "<IsTruncated> is true but there is no <NextContinuationToken>"},
      {list_doc("<Contents><Key>a</Key><Size>1</Size></Contents><Contents><Size>1</Size></Contents>"),
       "<Contents> number 2 has no <Key>"},
      {list_doc("<Contents><Key>a</Key></Contents>"), "<Contents> number 1 has no <Size>"},
      {list_doc("<Contents><Key>a</Key><Size>-1</Size></Contents>"),
       "<Contents> number 1: <Size> \"-1\" is not a non-negative 64-bit integer"},
      {list_doc("<Contents><Key>a</Key><Size>12a</Size></Contents>"), "<Size> \"12a\" is not"},
      {list_doc("<Contents><Key>a</Key><Size></Size></Contents>"), "<Size> \"\" is not"},
      {list_doc("<Contents><Key>a</Key><Size> 1</Size></Contents>"), "<Size> \" 1\" is not"},
      {list_doc("<Contents><Key>a</Key><Size>18446744073709551616</Size></Contents>"),
       "<Size> \"18446744073709551616\" is not"},
      {list_doc("<CommonPrefixes></CommonPrefixes>"), "<CommonPrefixes> number 1 has no <Prefix>"},
      {list_doc("<EncodingType>url</EncodingType><Contents><Key>a%2</Key><Size>1</Size></Contents>"),
       "<Contents> number 1 has a bad %-escape under EncodingType=url"},
      {list_doc("<EncodingType>url</EncodingType><Contents><Key>%zz</Key><Size>1</Size></Contents>"), "bad %-escape"},
      {list_doc("<EncodingType>url</EncodingType><CommonPrefixes><Prefix>%</Prefix></CommonPrefixes>"),
       "<CommonPrefixes> number 1 has a bad %-escape"},
      {"<!DOCTYPE x [<!ENTITY e \"boom\">]><ListBucketResult><IsTruncated>&e;</IsTruncated></ListBucketResult>",
       "<IsTruncated> is"},  // DTD entities are not expanded
  };
  for (const Case& c : cases) {
    const Status s = parse_fails(c.xml);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
    EXPECT_TRUE(s.message().starts_with("ListObjectsV2 response: ")) << s.to_string();
    EXPECT_NE(s.message().find(c.problem), std::string_view::npos) << s.to_string() << "\nexpected: " << c.problem;
  }
}

TEST(S3XmlList, MessageQuotesAtMost200BytesOnOneLine) {
  std::string body = "<ListBucketResult>\n";
  for (int i = 0; i < 100; ++i) body += "<Contents><Key>k\xC3\xBC</Key><Size>1</Size></Contents>\n";
  body += "</ListBucketResult>";
  const Status s = parse_fails(body);
  EXPECT_EQ(s.message().find('\n'), std::string_view::npos);
  const std::string_view m = s.message();
  const size_t start = m.find("(body: \"");
  ASSERT_NE(start, std::string_view::npos) << m;
  const std::string_view quoted = m.substr(start + 8);
  EXPECT_LE(quoted.size(), 200u + 5u);  // the excerpt, "...", the closing quote and parenthesis
  EXPECT_TRUE(quoted.ends_with("...\")")) << quoted;
  EXPECT_EQ(s.message().substr(0, 47), "ListObjectsV2 response: no <IsTruncated> (body:");
}

TEST(S3XmlList, ErrorDocumentKeepsItsCode) {
  const Status s = parse_fails(
      R"(<?xml version="1.0" encoding="utf-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nosuch</BucketName><RequestId>up9KzQqOPueR4pZwxVV2tJhtceHegBTzAnSaiWwvNmj8Fzs6L8DU</RequestId><HostId>9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=</HostId></Error>)");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "ListObjectsV2 response: S3 error NoSuchBucket: The specified bucket does not exist (request id "
            "up9KzQqOPueR4pZwxVV2tJhtceHegBTzAnSaiWwvNmj8Fzs6L8DU)");
}

// ---- <Error> -------------------------------------------------------------------------------------------------

TEST(S3XmlError, Parse) {
  // The AWS documentation's example (ErrorResponses.html).
  auto e = parse_s3_error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>)");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The resource you requested does not exist");
  EXPECT_EQ(e->request_id, "4442587FB7D0A2F9");
  EXPECT_EQ(describe(*e), "NoSuchKey: The resource you requested does not exist (request id 4442587FB7D0A2F9)");

  e = parse_s3_error("<Error><Code>SlowDown</Code></Error>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->message, "");
  EXPECT_EQ(describe(*e), "SlowDown");
  EXPECT_EQ(describe(S3Error{}), "(no code)");

  EXPECT_FALSE(parse_s3_error(""));
  EXPECT_FALSE(parse_s3_error("<html><body>502 Bad Gateway</body></html>"));
  EXPECT_FALSE(parse_s3_error("<ListBucketResult/>"));
  EXPECT_FALSE(parse_s3_error("<Error><Code>x</Code>"));  // cut short
}

TEST(S3XmlError, StatusCodes) {
  EXPECT_EQ(status_code_for_s3_error("NoSuchKey"), StatusCode::kNotFound);
  EXPECT_EQ(status_code_for_s3_error("NoSuchUpload"), StatusCode::kNotFound);
  EXPECT_EQ(status_code_for_s3_error("AccessDenied"), StatusCode::kPermissionDenied);
  EXPECT_EQ(status_code_for_s3_error("SignatureDoesNotMatch"), StatusCode::kPermissionDenied);
  EXPECT_EQ(status_code_for_s3_error("SlowDown"), StatusCode::kUnavailable);
  EXPECT_EQ(status_code_for_s3_error("InternalError"), StatusCode::kUnavailable);
  EXPECT_EQ(status_code_for_s3_error("PreconditionFailed"), StatusCode::kAborted);
  EXPECT_EQ(status_code_for_s3_error("InvalidRange"), StatusCode::kOutOfRange);
  EXPECT_EQ(status_code_for_s3_error("EntityTooSmall"), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_code_for_s3_error("NotImplemented"), StatusCode::kUnimplemented);
  EXPECT_EQ(status_code_for_s3_error("SomethingNew"), StatusCode::kIoError);
  EXPECT_EQ(status_code_for_s3_error(""), StatusCode::kIoError);
}

// ---- multipart -----------------------------------------------------------------------------------------------

TEST(S3XmlMultipart, Initiate) {
  // The AWS documentation's example, then moto's.
  auto id = parse_initiate_multipart(R"(<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
</InitiateMultipartUploadResult>)");
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  EXPECT_EQ(*id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  id = parse_initiate_multipart(
      R"(<?xml version="1.0" encoding="utf-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bkt</Bucket><Key>big</Key><UploadId>ZQgAJTFfhOBvS985uGid1ymymrftaqhGbU79XBcNpOzcCH4D4tiZMOX7g</UploadId></InitiateMultipartUploadResult>)");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, "ZQgAJTFfhOBvS985uGid1ymymrftaqhGbU79XBcNpOzcCH4D4tiZMOX7g");

  for (std::string_view bad : {"", "<InitiateMultipartUploadResult/>",
                               "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>",
                               "<Other><UploadId>x</UploadId></Other>", "<InitiateMultipartUploadResult><UploadId>"}) {
    auto r = parse_initiate_multipart(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kDataLoss);
    EXPECT_TRUE(r.error().message().starts_with("InitiateMultipartUpload response: ")) << r.error().to_string();
  }
  auto r = parse_initiate_multipart("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.error().message(), "InitiateMultipartUpload response: S3 error AccessDenied: Access Denied");
}

TEST(S3XmlMultipart, CompleteBody) {
  const std::vector<std::string> etags = {"\"a54357aff0632cce46d942af68356b38\"",
                                          "\"0c78aef83f66abc1fa1e8477f296d394\"", "odd<&>'"};
  EXPECT_EQ(complete_multipart_body(etags),
            R"(<?xml version="1.0" encoding="UTF-8"?>)"
            R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part>"
            "<Part><PartNumber>3</PartNumber><ETag>odd&lt;&amp;&gt;&apos;</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_EQ(complete_multipart_body({}),
            R"(<?xml version="1.0" encoding="UTF-8"?>)"
            R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></CompleteMultipartUpload>)");
  EXPECT_EQ(xml_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
}

TEST(S3XmlMultipart, CheckComplete) {
  // The AWS documentation's example response, and moto's.
  EXPECT_TRUE(check_complete_multipart(R"(<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>http://Example-Bucket.s3.us-east-1.amazonaws.com/Example-Object</Location>
  <Bucket>Example-Bucket</Bucket>
  <Key>Example-Object</Key>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
</CompleteMultipartUploadResult>)")
                  .ok());
  EXPECT_TRUE(check_complete_multipart(
                  R"(<?xml version="1.0" encoding="utf-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://bkt.s3.amazonaws.com/big</Location><Bucket>bkt</Bucket><Key>big</Key><ETag>"cb8d7289925309a05b2db09b7709c264-1"</ETag></CompleteMultipartUploadResult>)")
                  .ok());

  // A 200 whose body is an error (the AWS documentation's example), after the white space S3 streams meanwhile.
  const std::string error_body = std::string(300, ' ') + "\n" + R"(<?xml version="1.0" encoding="UTF-8"?>

<Error>
<Code>InternalError</Code>
<Message>We encountered an internal error. Please try again.</Message>
<RequestId>656c76696e6727732072657175657374</RequestId>
<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>
</Error>)";
  Status s = check_complete_multipart(error_body);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "CompleteMultipartUpload response: S3 error InternalError: We encountered an internal error. Please try "
            "again. (request id 656c76696e6727732072657175657374)");
  s = check_complete_multipart(
      "<Error><Code>InvalidPart</Code><Message>One or more parts could not be found."
      "</Message></Error>");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);

  for (std::string_view bad : {"", "   ", "<CompleteMultipartUploadResult>", "<Other/>", "not xml"}) {
    s = check_complete_multipart(bad);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << bad;
    EXPECT_TRUE(s.message().starts_with("CompleteMultipartUpload response: ")) << s.to_string();
  }
}

}  // namespace
}  // namespace lsio::remote
