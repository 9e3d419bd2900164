// S3 credentials, region, endpoint and addressing, resolved the way the AWS CLI and boto3 do for static keys:
// RemoteOptions first, then the AWS_* environment variables, then the profile in the shared credentials and
// config files. Secrets are held in Secret, which prints as "***" and never appears in a Status message.
#pragma once

#include <iosfwd>
#include <string>
#include <utility>

#include "lsio/remote_options.h"
#include "lsio/status.h"

namespace lsio::remote {

// A secret string (a secret access key or session token). There is no operator<< and no conversion to a string:
// the only way to the value is reveal(), which the signer calls. Anything that prints one gets "***".
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  std::string to_string() const { return "***"; }
  // googletest's printer (found by ADL): without it a failing EXPECT would dump the bytes.
  friend void PrintTo(const Secret&, std::ostream* os);

 private:
  std::string value_;
};

struct Credentials {
  std::string access_key_id;  // not secret (it names the key), but still never put in messages here
  Secret secret_access_key;
  Secret session_token;    // empty unless temporary credentials
  bool anonymous = false;  // true: send unsigned requests (sign_v4 adds nothing)
};

// Where the credentials of a ResolvedS3Config came from.
enum class CredentialSource : uint8_t {
  kOptions,          // RemoteOptions::access_key_id / secret_access_key / session_token
  kAnonymous,        // RemoteOptions::anonymous
  kEnvironment,      // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
  kCredentialsFile,  // the profile's section of the shared credentials file
  kConfigFile,       // the profile's section of the config file
  kNone,             // nothing found anywhere: anonymous, unsigned requests (like a public bucket)
};

struct ResolvedS3Config {
  Credentials credentials;
  CredentialSource source = CredentialSource::kNone;
  // Says where the credentials came from, or for kNone where they were looked for, e.g.
  // "profile 'default' in /home/u/.aws/credentials" or "no credentials were found (RemoteOptions, AWS_ACCESS_KEY_ID
  // and AWS_SECRET_ACCESS_KEY, profile 'default' in /home/u/.aws/credentials and /home/u/.aws/config); requests are
  // unsigned". Never a key or secret. For error messages (a 403 on unsigned requests should quote it).
  std::string credentials_origin;
  std::string profile;  // the profile consulted: RemoteOptions::profile, AWS_PROFILE, else "default"
  std::string region;   // never empty: us-east-1 when nothing says otherwise
  // "scheme://host[:port][/path]" without a trailing '/': the configured endpoint, else
  // https://s3.<region>.amazonaws.com (.amazonaws.com.cn for cn-* regions).
  std::string endpoint;
  bool custom_endpoint = false;  // the endpoint came from options, environment or config, not the AWS default
  // kPath or kVirtualHost, never kAuto: kAuto is path style for a custom endpoint, virtual host on AWS. (A store
  // should still use path style for bucket names that are not valid DNS labels, e.g. with dots over https.)
  S3Addressing addressing = S3Addressing::kVirtualHost;
};

// Resolves, each item separately, in this order:
//   credentials: options.anonymous (-> anonymous); options' keys; AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//                (+ AWS_SESSION_TOKEN); the profile in AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials
//                ([name]); the profile in AWS_CONFIG_FILE or ~/.aws/config ([profile name], [default]); else none
//                (anonymous, source kNone). Key id, secret and token are taken together from one source.
//   region:      options.region, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region` in the config file,
//                else us-east-1.
//   endpoint:    options.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's `s3 = endpoint_url`
//                sub-setting, its `endpoint_url`, else the AWS endpoint of the region.
//   addressing:  options.addressing unless kAuto, the profile's `s3 = addressing_style` (path|virtual|auto), else
//                path style for a custom endpoint and virtual host for AWS.
// The profile is options.profile, AWS_PROFILE, else "default". The files are read unless the options give the
// credentials (or anonymous), region, endpoint and an addressing other than kAuto; a missing file is no error, an
// unreadable or malformed one is (naming the file and line). Errors:
// kInvalidArgument for a key id without a secret or the other way round (naming which and where, never a value), a
// profile named explicitly that neither file has, an endpoint without http:// or https://, a bad region;
// kUnimplemented for a profile that only has credential kinds LSIO does not support (credential_process, SSO,
// assume-role, web identity). Empty environment variables count as unset, as in botocore.
Result<ResolvedS3Config> resolve_s3_config(const RemoteOptions& options);

}  // namespace lsio::remote
