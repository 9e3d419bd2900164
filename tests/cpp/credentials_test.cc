// Credentials, region, endpoint and addressing from RemoteOptions, AWS_* variables and the ~/.aws files; the INI
// parser; and that no message ever holds a secret. Each test runs with every AWS_* variable it knows unset and HOME
// pointing at an empty temporary directory, and gets the environment back afterwards.
#include "store/remote/credentials.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <type_traits>

#include "store/remote/aws_ini.h"
#include "test_util.h"

namespace lsio::remote {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& os, const T& t) { os << t; };
static_assert(!Streamable<Secret>, "a Secret must not print its value");
static_assert(!std::is_convertible_v<Secret, std::string> && !std::is_convertible_v<Secret, std::string_view>);

constexpr const char* kVariables[] = {"AWS_ACCESS_KEY_ID",
                                      "AWS_SECRET_ACCESS_KEY",
                                      "AWS_SESSION_TOKEN",
                                      "AWS_REGION",
                                      "AWS_DEFAULT_REGION",
                                      "AWS_ENDPOINT_URL_S3",
                                      "AWS_ENDPOINT_URL",
                                      "AWS_PROFILE",
                                      "AWS_SHARED_CREDENTIALS_FILE",
                                      "AWS_CONFIG_FILE",
                                      "HOME"};

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
    ::setenv("HOME", home_.path().c_str(), 1);  // never the real ~/.aws
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }

  std::string aws_file(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(home_.path() + "/.aws");
    return write(home_.path() + "/.aws/" + name, text);
  }
  static std::string write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string home() const { return home_.path(); }

  static ResolvedS3Config resolve(const RemoteOptions& o = {}) {
    auto r = resolve_s3_config(o);
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    return r ? *r : ResolvedS3Config{};
  }
  static Status resolve_error(const RemoteOptions& o = {}) {
    auto r = resolve_s3_config(o);
    EXPECT_FALSE(r.has_value());
    return r ? Status() : r.error();
  }

 private:
  lsio::testing::TempDir home_;
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

bool contains(const Status& s, std::string_view text) { return s.message().find(text) != std::string_view::npos; }

// ---- Secret --------------------------------------------------------------------------------------------------

TEST(CredentialsSecret, PrintsStars) {
  const Secret s("hunter2");
  EXPECT_EQ(s.reveal(), "hunter2");
  EXPECT_EQ(s.to_string(), "***");
  EXPECT_EQ(::testing::PrintToString(s), "***");
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(Secret().empty());
}

// ---- precedence ----------------------------------------------------------------------------------------------

TEST_F(CredentialsTest, NothingFoundIsAnonymous) {
  const ResolvedS3Config c = resolve();
  EXPECT_TRUE(c.credentials.anonymous);
  EXPECT_EQ(c.source, CredentialSource::kNone);
  EXPECT_EQ(c.credentials_origin,
            "no credentials were found (RemoteOptions, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profile 'default' "
            "in " +
                home() + "/.aws/credentials and " + home() + "/.aws/config); requests are unsigned");
  EXPECT_EQ(c.profile, "default");
  EXPECT_EQ(c.region, "us-east-1");
  EXPECT_EQ(c.endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(c.custom_endpoint);
  EXPECT_EQ(c.addressing, S3Addressing::kVirtualHost);
}

TEST_F(CredentialsTest, OptionsBeatEnvironmentAndFiles) {
  ::setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  aws_file("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  RemoteOptions o;
  o.access_key_id = "OPTKEY";
  o.secret_access_key = "optsecret";
  o.session_token = "opttoken";
  const ResolvedS3Config c = resolve(o);
  EXPECT_EQ(c.source, CredentialSource::kOptions);
  EXPECT_EQ(c.credentials_origin, "RemoteOptions");
  EXPECT_FALSE(c.credentials.anonymous);
  EXPECT_EQ(c.credentials.access_key_id, "OPTKEY");
  EXPECT_EQ(c.credentials.secret_access_key.reveal(), "optsecret");
  EXPECT_EQ(c.credentials.session_token.reveal(), "opttoken");
}

TEST_F(CredentialsTest, EnvironmentBeatsFiles) {
  ::setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  ::setenv("AWS_SESSION_TOKEN", "envtoken", 1);
  aws_file("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  const ResolvedS3Config c = resolve();
  EXPECT_EQ(c.source, CredentialSource::kEnvironment);
  EXPECT_EQ(c.credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(c.credentials.secret_access_key.reveal(), "envsecret");
  EXPECT_EQ(c.credentials.session_token.reveal(), "envtoken");
  EXPECT_EQ(c.credentials_origin, "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)");
}

TEST_F(CredentialsTest, EmptyVariablesAreUnset) {
  ::setenv("AWS_ACCESS_KEY_ID", "", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "", 1);
  ::setenv("AWS_REGION", "", 1);
  ::setenv("AWS_SESSION_TOKEN", "lonely", 1);  // ignored without a key id and secret, as in botocore
  const ResolvedS3Config c = resolve();
  EXPECT_EQ(c.source, CredentialSource::kNone);
  EXPECT_EQ(c.region, "us-east-1");
}

TEST_F(CredentialsTest, AnonymousOption) {
  ::setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  RemoteOptions o;
  o.anonymous = true;
  const ResolvedS3Config c = resolve(o);
  EXPECT_TRUE(c.credentials.anonymous);
  EXPECT_EQ(c.source, CredentialSource::kAnonymous);
  EXPECT_TRUE(c.credentials.access_key_id.empty());

  o.access_key_id = "OPTKEY";
  const Status s = resolve_error(o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(s, "anonymous is set together with access_key_id")) << s.to_string();
}

TEST_F(CredentialsTest, PartialOptions) {
  RemoteOptions o;
  o.access_key_id = "OPTKEY";
  Status s = resolve_error(o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "RemoteOptions: access_key_id is set but secret_access_key is not; give both (or neither)");
  o = {};
  o.secret_access_key = "optsecret";
  s = resolve_error(o);
  EXPECT_EQ(s.message(), "RemoteOptions: secret_access_key is set but access_key_id is not; give both (or neither)");
  o = {};
  o.session_token = "opttoken";
  s = resolve_error(o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST_F(CredentialsTest, PartialEnvironment) {
  ::setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  Status s = resolve_error();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; give both (or neither)");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  s = resolve_error();
  EXPECT_EQ(s.message(),
            "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; give both (or neither)");
}

// ---- the shared files ----------------------------------------------------------------------------------------

TEST_F(CredentialsTest, CredentialsFileProfiles) {
  const std::string path = aws_file("credentials",
                                    "# comment\n"
                                    "[default]\n"
                                    "aws_access_key_id = DEFKEY\n"
                                    "aws_secret_access_key = defsecret\n"
                                    "\n"
                                    "[work]\n"
                                    "AWS_ACCESS_KEY_ID=WORKKEY\n"  // keys are case-insensitive
                                    "aws_secret_access_key=worksecret\n"
                                    "aws_session_token = worktoken\n"
                                    "[other]\n"
                                    "aws_access_key_id = OTHERKEY\n"
                                    "aws_secret_access_key = othersecret\n");
  ResolvedS3Config c = resolve();
  EXPECT_EQ(c.source, CredentialSource::kCredentialsFile);
  EXPECT_EQ(c.credentials.access_key_id, "DEFKEY");
  EXPECT_EQ(c.credentials.secret_access_key.reveal(), "defsecret");
  EXPECT_TRUE(c.credentials.session_token.empty());
  EXPECT_EQ(c.credentials_origin, "profile 'default' in " + path);

  ::setenv("AWS_PROFILE", "work", 1);
  c = resolve();
  EXPECT_EQ(c.profile, "work");
  EXPECT_EQ(c.credentials.access_key_id, "WORKKEY");
  EXPECT_EQ(c.credentials.session_token.reveal(), "worktoken");

  RemoteOptions o;
  o.profile = "other";  // beats AWS_PROFILE
  c = resolve(o);
  EXPECT_EQ(c.profile, "other");
  EXPECT_EQ(c.credentials.access_key_id, "OTHERKEY");
}

TEST_F(CredentialsTest, FileLocationsFromEnvironment) {
  const std::string creds = write(home() + "/my-creds", "[default]\naws_access_key_id=K\naws_secret_access_key=S\n");
  const std::string config = write(home() + "/my-config", "[default]\nregion = eu-west-3\n");
  aws_file("credentials", "[default]\naws_access_key_id=NOTTHIS\naws_secret_access_key=S\n");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", creds.c_str(), 1);
  ::setenv("AWS_CONFIG_FILE", config.c_str(), 1);
  const ResolvedS3Config c = resolve();
  EXPECT_EQ(c.credentials.access_key_id, "K");
  EXPECT_EQ(c.credentials_origin, "profile 'default' in " + creds);
  EXPECT_EQ(c.region, "eu-west-3");
  EXPECT_EQ(c.endpoint, "https://s3.eu-west-3.amazonaws.com");

  ::setenv("AWS_SHARED_CREDENTIALS_FILE", "~/my-creds", 1);  // "~/" is the home directory, as in botocore
  EXPECT_EQ(resolve().credentials_origin, "profile 'default' in " + creds);
}

TEST_F(CredentialsTest, ConfigFileProfiles) {
  const std::string path = aws_file("config",
                                    "[default]\n"
                                    "region = eu-central-1\n"
                                    "[profile minio]\n"
                                    "region = garage\n"
                                    "endpoint_url = http://localhost:9000/\n"
                                    "aws_access_key_id = MINIOKEY\n"  // credentials may live in config too
                                    "aws_secret_access_key = miniosecret\n"
                                    "[minio]\n"  // not a profile in the config file (needs "profile ")
                                    "region = wrong\n");
  ResolvedS3Config c = resolve();
  EXPECT_EQ(c.region, "eu-central-1");
  EXPECT_EQ(c.source, CredentialSource::kNone);

  ::setenv("AWS_PROFILE", "minio", 1);
  c = resolve();
  EXPECT_EQ(c.region, "garage");
  EXPECT_EQ(c.endpoint, "http://localhost:9000");
  EXPECT_TRUE(c.custom_endpoint);
  EXPECT_EQ(c.addressing, S3Addressing::kPath);
  EXPECT_EQ(c.source, CredentialSource::kConfigFile);
  EXPECT_EQ(c.credentials.access_key_id, "MINIOKEY");
  EXPECT_EQ(c.credentials_origin, "profile 'minio' in " + path);
}

TEST_F(CredentialsTest, ConfigFileS3Settings) {
  aws_file("config",
           "[profile p]\n"
           "endpoint_url = http://general:1\n"
           "s3 =\n"
           "  endpoint_url = http://s3-only:2\n"
           "  addressing_style = virtual\n"
           "[profile q]\n"
           "s3 =\n"
           "    addressing_style = path\n"
           "[profile bad]\n"
           "s3 =\n"
           "    addressing_style = sideways\n");
  RemoteOptions o;
  o.profile = "p";
  ResolvedS3Config c = resolve(o);
  EXPECT_EQ(c.endpoint, "http://s3-only:2");
  EXPECT_EQ(c.addressing, S3Addressing::kVirtualHost);  // the config's style beats "auto"
  o.addressing = S3Addressing::kPath;                   // ... and the options beat the config
  EXPECT_EQ(resolve(o).addressing, S3Addressing::kPath);

  o = {};
  o.profile = "q";
  c = resolve(o);
  EXPECT_FALSE(c.custom_endpoint);
  EXPECT_EQ(c.addressing, S3Addressing::kPath);

  o.profile = "bad";
  const Status s = resolve_error(o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(s, "/.aws/config line 11: s3 addressing_style must be auto, path or virtual, not 'sideways'"))
      << s.to_string();
}

TEST_F(CredentialsTest, DefaultProfileAlsoAsProfileDefault) {
  aws_file("config", "[profile default]\nregion = ap-south-1\n");
  EXPECT_EQ(resolve().region, "ap-south-1");
}

TEST_F(CredentialsTest, RegionPrecedence) {
  aws_file("config", "[default]\nregion = from-config\n");
  EXPECT_EQ(resolve().region, "from-config");
  ::setenv("AWS_DEFAULT_REGION", "from-default-region", 1);
  EXPECT_EQ(resolve().region, "from-default-region");
  ::setenv("AWS_REGION", "from-region", 1);
  EXPECT_EQ(resolve().region, "from-region");
  RemoteOptions o;
  o.region = "from-options";
  EXPECT_EQ(resolve(o).region, "from-options");
  EXPECT_EQ(resolve(o).endpoint, "https://s3.from-options.amazonaws.com");
}

TEST_F(CredentialsTest, EndpointPrecedence) {
  aws_file("config", "[default]\nendpoint_url = http://config:1\n");
  EXPECT_EQ(resolve().endpoint, "http://config:1");
  ::setenv("AWS_ENDPOINT_URL", "http://general:2", 1);
  EXPECT_EQ(resolve().endpoint, "http://general:2");
  ::setenv("AWS_ENDPOINT_URL_S3", "HTTPS://s3-specific:3//", 1);
  EXPECT_EQ(resolve().endpoint, "HTTPS://s3-specific:3");
  RemoteOptions o;
  o.endpoint = "http://options:4/prefix/";
  const ResolvedS3Config c = resolve(o);
  EXPECT_EQ(c.endpoint, "http://options:4/prefix");
  EXPECT_TRUE(c.custom_endpoint);
  EXPECT_EQ(c.addressing, S3Addressing::kPath);
  o.addressing = S3Addressing::kVirtualHost;
  EXPECT_EQ(resolve(o).addressing, S3Addressing::kVirtualHost);
}

TEST_F(CredentialsTest, ChinaRegionsUseTheirDomain) {
  RemoteOptions o;
  o.region = "cn-north-1";
  EXPECT_EQ(resolve(o).endpoint, "https://s3.cn-north-1.amazonaws.com.cn");
}

TEST_F(CredentialsTest, BadEndpointAndRegion) {
  ::setenv("AWS_ENDPOINT_URL", "localhost:9000", 1);
  Status s = resolve_error();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "endpoint 'localhost:9000' (from AWS_ENDPOINT_URL): expected http://host[:port] or https://host[:port]");
  ::setenv("AWS_ENDPOINT_URL", "http://", 1);
  EXPECT_EQ(resolve_error().code(), StatusCode::kInvalidArgument);
  ::unsetenv("AWS_ENDPOINT_URL");

  aws_file("config", "[default]\nregion = us-east-1 # a comment is part of the value\n");
  s = resolve_error();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(s, "region 'us-east-1 # a comment is part of the value' (from profile 'default' in " + home() +
                              "/.aws/config line 2): only letters, digits"))
      << s.to_string();
  RemoteOptions o;
  o.region = "evil.com/\n";
  s = resolve_error(o);
  EXPECT_TRUE(contains(s, "region 'evil.com/\\x0A' (from RemoteOptions::region)")) << s.to_string();
}

TEST_F(CredentialsTest, ExplicitProfileMustExist) {
  aws_file("credentials", "[default]\naws_access_key_id=K\naws_secret_access_key=S\n");
  ::setenv("AWS_PROFILE", "typo", 1);
  Status s = resolve_error();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "profile 'typo' (from AWS_PROFILE) is in neither " + home() + "/.aws/credentials nor " +
                             home() + "/.aws/config");
  RemoteOptions o;
  o.profile = "typo2";
  s = resolve_error(o);
  EXPECT_TRUE(contains(s, "profile 'typo2' (from RemoteOptions::profile)")) << s.to_string();
}

TEST_F(CredentialsTest, FilesAreNotReadWhenEverythingIsGiven) {
  aws_file("config", "this line is not INI\n");  // would be an error if read
  ::setenv("AWS_PROFILE", "missing", 1);         // would be an error if the files were consulted
  RemoteOptions o;
  o.access_key_id = "K";
  o.secret_access_key = "S";
  o.region = "eu-west-1";
  o.endpoint = "http://localhost:9000";
  o.addressing = S3Addressing::kPath;
  const ResolvedS3Config c = resolve(o);
  EXPECT_EQ(c.region, "eu-west-1");
  o.addressing = S3Addressing::kAuto;  // now the config's s3 addressing_style is needed
  EXPECT_EQ(resolve_error(o).code(), StatusCode::kInvalidArgument);
}

TEST_F(CredentialsTest, PartialProfile) {
  const std::string path = aws_file("credentials", "[default]\n\naws_access_key_id = K\n");
  Status s = resolve_error();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "profile 'default' in " + path +
                             " line 3: aws_access_key_id is set but aws_secret_access_key is not; give both (or "
                             "neither)");
  aws_file("credentials", "[default]\naws_secret_access_key = S\n");
  s = resolve_error();
  EXPECT_EQ(s.message(), "profile 'default' in " + path +
                             " line 2: aws_secret_access_key is set but aws_access_key_id is not; give both (or "
                             "neither)");
}

TEST_F(CredentialsTest, MalformedFileNamesFileAndLine) {
  const std::string path = aws_file("credentials", "[default]\naws_access_key_id = K\nnot a setting\n");
  const Status s = resolve_error();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), path + " line 3: expected 'name = value', '[section]' or a comment");
}

TEST_F(CredentialsTest, UnreadableFile) {
  std::filesystem::create_directories(home() + "/a-directory");
  ::setenv("AWS_CONFIG_FILE", (home() + "/a-directory").c_str(), 1);
  const Status s = resolve_error();
  EXPECT_TRUE(contains(s, home() + "/a-directory")) << s.to_string();
  ::setenv("AWS_CONFIG_FILE", (home() + "/missing-file").c_str(), 1);  // a missing file is no error
  EXPECT_EQ(resolve().region, "us-east-1");
}

TEST_F(CredentialsTest, UnsupportedCredentialKinds) {
  const std::string path = aws_file("config",
                                    "[profile sso]\nsso_session = corp\n[profile role]\nregion = x\n"
                                    "role_arn = arn:aws:iam::123:role/r\nsource_profile = default\n");
  RemoteOptions o;
  o.profile = "role";
  Status s = resolve_error(o);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(contains(s, "profile 'role' in " + path +
                              " line 5: gets its credentials by role_arn, which LSIO does "
                              "not support"))
      << s.to_string();
  o.profile = "sso";
  EXPECT_EQ(resolve_error(o).code(), StatusCode::kUnimplemented);
  o.anonymous = true;  // anonymous needs no credentials, so the profile's kind does not matter
  EXPECT_TRUE(resolve(o).credentials.anonymous);
}

// Sentinel secrets in every place a secret can come from; every error that can be provoked around them must not
// carry one (nor the key id, though it is not secret).
TEST_F(CredentialsTest, NoMessageContainsASecret) {
  const std::string kSecret = "SENTINEL-SECRET-8c1f";
  const std::string kToken = "SENTINEL-TOKEN-77aa";
  const std::string kKeyId = "SENTINELKEYID42";
  std::vector<Status> errors;
  auto provoke = [&](const RemoteOptions& o) {
    auto r = resolve_s3_config(o);
    if (r) {
      EXPECT_EQ(r->credentials_origin.find(kSecret), std::string::npos);
      EXPECT_EQ(r->credentials_origin.find(kToken), std::string::npos);
      EXPECT_EQ(r->credentials_origin.find(kKeyId), std::string::npos);
    } else {
      errors.push_back(r.error());
    }
  };
  RemoteOptions o;
  o.secret_access_key = kSecret;
  provoke(o);  // secret without key id
  o.session_token = kToken;
  provoke(o);
  o = {};
  o.access_key_id = kKeyId;
  o.session_token = kToken;
  provoke(o);  // key id without secret
  o.anonymous = true;
  o.secret_access_key = kSecret;
  provoke(o);  // anonymous with keys

  ::setenv("AWS_SECRET_ACCESS_KEY", kSecret.c_str(), 1);
  ::setenv("AWS_SESSION_TOKEN", kToken.c_str(), 1);
  provoke({});
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::setenv("AWS_ACCESS_KEY_ID", kKeyId.c_str(), 1);
  provoke({});
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SESSION_TOKEN");

  const std::string files[] = {
      "[default]\naws_secret_access_key = " + kSecret + "\naws_session_token = " + kToken + "\n",
      "[default]\naws_access_key_id = " + kKeyId + "\naws_session_token = " + kToken + "\n",
      "[default]\n" + kSecret + "\n",          // a pasted secret on its own line
      kSecret + " = x\n",                      // a setting before any section
      "[" + kSecret + "\n",                    // an unterminated header
      "[default]\ns3 =\n  " + kSecret + "\n",  // a bad nested setting
      "[default]\naws_access_key_id = " + kKeyId + "\naws_secret_access_key = " + kSecret +
          "\nregion = bad region\n",  // an error after valid credentials
      "[default]\naws_secret_access_key = " + kSecret + "\ncredential_process = /bin/" + kToken + "\n",
      "[default]\nendpoint_url = ftp://x\naws_access_key_id = " + kKeyId + "\naws_secret_access_key = " + kSecret +
          "\n",
  };
  for (const std::string& text : files) {
    aws_file("credentials", text);
    aws_file("config", text);
    provoke({});
    RemoteOptions p;
    p.profile = "other";  // a profile in neither file: that error names the files, not their contents
    provoke(p);
  }
  EXPECT_GE(errors.size(), 15u);
  for (const Status& s : errors) {
    const std::string text = s.to_string();
    EXPECT_EQ(text.find(kToken), std::string::npos) << text;
    EXPECT_EQ(text.find(kKeyId), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  }
}

// ---- the INI parser --------------------------------------------------------------------------------------------

TEST(CredentialsIni, Dialect) {
  const std::string text =
      "\xEF\xBB\xBF; a comment\r\n"
      "[ default ]\r\n"
      "Region = us-west-2  \r\n"
      "  # an indented comment\n"
      "output: json\n"
      "s3 =\n"
      "  Endpoint_URL = http://x\n"
      "\n"
      "  addressing_style=path\n"
      "multi = first\n"
      "  second\n"
      "empty =\n"
      "[profile a b]\n"
      "k = v = w\n"
      "[default]\n"
      "region = eu-west-1\n";
  auto file = parse_aws_ini(text, "/f");
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  EXPECT_EQ(file->path, "/f");
  ASSERT_EQ(file->sections.size(), 2u);
  const IniSection* d = file->find("default");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->line, 2);
  EXPECT_EQ(d->find("region")->value, "eu-west-1");  // merged; the last value wins
  EXPECT_EQ(d->find("region")->line, 16);
  EXPECT_EQ(d->find("output")->value, "json");
  EXPECT_EQ(d->find("s3")->value, "");
  EXPECT_EQ(d->find("s3.endpoint_url")->value, "http://x");
  EXPECT_EQ(d->find("s3.endpoint_url")->line, 7);
  EXPECT_EQ(d->find("s3.addressing_style")->value, "path");
  EXPECT_EQ(d->find("multi")->value, "first\nsecond");
  EXPECT_EQ(d->find("empty")->value, "");
  EXPECT_EQ(d->find("Region"), nullptr);  // keys are lower-cased
  const IniSection* p = file->find("profile a b");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->find("k")->value, "v = w");
  EXPECT_TRUE(parse_aws_ini("", "/empty").has_value());
}

TEST(CredentialsIni, ErrorsNameFileAndLineNotContent) {
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"key = value\n", "/f line 1: a setting before the first [section]"},
      {"[s]\n\nsecretvalue\n", "/f line 3: expected 'name = value', '[section]' or a comment"},
      {"[s\n", "/f line 1: a section header must end with ']'"},
      {"[s]\n[  ]\n", "/f line 2: empty section name"},
      {"[s]\ns3 =\n  secretvalue\n", "/f line 3: expected an indented 'name = value' (nested setting)"},
      {"[s]\n= value\n", "/f line 2: expected 'name = value', '[section]' or a comment"},
  };
  for (const Case& c : cases) {
    auto r = parse_aws_ini(c.text, "/f");
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), c.message);
    EXPECT_EQ(r.error().to_string().find("secretvalue"), std::string::npos);
  }
}

}  // namespace
}  // namespace lsio::remote
