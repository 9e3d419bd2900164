#include "store/remote/credentials.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <vector>

#include "store/remote/aws_ini.h"

namespace lsio::remote {

void PrintTo(const Secret&, std::ostream* os) { *os << "***"; }

namespace {

constexpr std::string_view kDefaultRegion = "us-east-1";
constexpr size_t kMaxFileBytes = 1 << 20;  // credentials and config files are a few KiB; this stops /dev/zero

// ---- small helpers -------------------------------------------------------------------------------------------

// An environment variable; unset and empty are the same (botocore treats "" as unset too).
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// 'value' for messages, with non-printable bytes as \xNN and at most 80 bytes. Only for values that are not
// secret (regions, endpoints, profile names).
std::string quoted(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

std::string home_directory() {
  if (std::string home = env("HOME"); !home.empty()) return home;
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_dir) return pw.pw_dir;
  return "";
}

// The file's text, or nullopt when it does not exist (a missing ~/.aws/credentials is normal).
Result<std::optional<std::string>> read_optional_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return error(errno_status(errno, "open", path));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return error(errno_status(err, "read", path));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileBytes) {
      ::close(fd);
      return error(StatusCode::kInvalidArgument, path + ": larger than 1 MiB, not an AWS credentials or config file");
    }
  }
  ::close(fd);
  return text;
}

// ---- the profile's sections in the shared credentials and config files --------------------------------------

class ProfileFiles {
 public:
  ProfileFiles(std::string profile, std::string named_by)
      : profile_(std::move(profile)), named_by_(std::move(named_by)) {
    const std::string home = home_directory();
    credentials_path_ = file_path("AWS_SHARED_CREDENTIALS_FILE", home, "/.aws/credentials");
    config_path_ = file_path("AWS_CONFIG_FILE", home, "/.aws/config");
  }

  const std::string& profile() const { return profile_; }

  // Reads both files once. A profile named explicitly (options or AWS_PROFILE) must be in one of them.
  Status load() {
    if (loaded_) return Status();
    loaded_ = true;
    LSIO_ASSIGN_OR_RETURN(credentials_, read_ini(credentials_path_));
    LSIO_ASSIGN_OR_RETURN(config_, read_ini(config_path_));
    if (credentials_) credentials_section_ = credentials_->find(profile_);
    if (config_) {
      config_section_ = config_->find("profile " + profile_);
      if (!config_section_ && profile_ == "default") config_section_ = config_->find("default");
    }
    if (!named_by_.empty() && !credentials_section_ && !config_section_) {
      return Status(StatusCode::kInvalidArgument,
                    "profile " + quoted(profile_) + " (from " + named_by_ + ") is in neither " + describe_files());
    }
    return Status();
  }

  const IniSection* credentials_section() const { return credentials_section_; }
  const IniSection* config_section() const { return config_section_; }

  // "profile 'x' in /path" for messages about a value of that file.
  std::string where_credentials() const { return "profile " + quoted(profile_) + " in " + credentials_path_; }
  std::string where_config() const { return "profile " + quoted(profile_) + " in " + config_path_; }
  std::string describe_files() const {
    if (credentials_path_.empty() && config_path_.empty()) return "(no home directory, so no ~/.aws files)";
    return (credentials_path_.empty() ? "" : credentials_path_) +
           (credentials_path_.empty() || config_path_.empty() ? "" : " nor ") + config_path_;
  }
  std::string describe_search() const {
    return "profile " + quoted(profile_) + " in " +
           (credentials_path_.empty() && config_path_.empty() ? "(no home directory, so no ~/.aws files)"
                                                              : credentials_path_ + " and " + config_path_);
  }

  // A setting of the profile's config section (nullptr when absent or empty).
  const IniValue* config_value(std::string_view key) const {
    const IniValue* v = config_section_ ? config_section_->find(key) : nullptr;
    return v && !v->value.empty() ? v : nullptr;
  }

 private:
  // The variable's path ("~/" expanded, as botocore does), else home + default; "" without either.
  static std::string file_path(const char* variable, const std::string& home, std::string_view default_path) {
    std::string path = env(variable);
    if (path.starts_with("~/") && !home.empty()) path = home + path.substr(1);
    if (path.empty() && !home.empty()) path = home + std::string(default_path);
    return path;
  }

  static Result<std::optional<IniFile>> read_ini(const std::string& path) {
    if (path.empty()) return std::nullopt;
    LSIO_ASSIGN_OR_RETURN(std::optional<std::string> text, read_optional_file(path));
    if (!text) return std::nullopt;
    LSIO_ASSIGN_OR_RETURN(IniFile file, parse_aws_ini(*text, path));
    return file;
  }

  std::string profile_, named_by_;  // named_by_: "" for the implicit "default"
  std::string credentials_path_, config_path_;
  bool loaded_ = false;
  std::optional<IniFile> credentials_, config_;
  const IniSection* credentials_section_ = nullptr;
  const IniSection* config_section_ = nullptr;
};

// ---- credentials -----------------------------------------------------------------------------------------------

struct Found {
  Credentials credentials;
  CredentialSource source;
  std::string origin;
};

// A key id without a secret (or the other way round): names which one is missing and where, never a value.
Status partial(std::string_view where, std::string_view present, std::string_view missing) {
  return Status(StatusCode::kInvalidArgument, std::string(where) + ": " + std::string(present) + " is set but " +
                                                  std::string(missing) + " is not; give both (or neither)");
}

Credentials make(std::string id, std::string secret, std::string token) {
  return Credentials{std::move(id), Secret(std::move(secret)), Secret(std::move(token)), false};
}

Result<std::optional<Found>> from_options(const RemoteOptions& o) {
  const bool any = !o.access_key_id.empty() || !o.secret_access_key.empty() || !o.session_token.empty();
  if (o.anonymous) {
    if (any) {
      return error(StatusCode::kInvalidArgument,
                   "RemoteOptions: anonymous is set together with access_key_id / secret_access_key / session_token; "
                   "choose one");
    }
    return Found{Credentials{.anonymous = true}, CredentialSource::kAnonymous, "RemoteOptions::anonymous"};
  }
  if (!any) return std::nullopt;
  if (o.secret_access_key.empty()) return error(partial("RemoteOptions", "access_key_id", "secret_access_key"));
  if (o.access_key_id.empty()) return error(partial("RemoteOptions", "secret_access_key", "access_key_id"));
  return Found{make(o.access_key_id, o.secret_access_key, o.session_token), CredentialSource::kOptions,
               "RemoteOptions"};
}

Result<std::optional<Found>> from_environment() {
  std::string id = env("AWS_ACCESS_KEY_ID"), secret = env("AWS_SECRET_ACCESS_KEY");
  if (id.empty() && secret.empty()) return std::nullopt;  // a lone AWS_SESSION_TOKEN is ignored, as in botocore
  if (secret.empty()) return error(partial("environment", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"));
  if (id.empty()) return error(partial("environment", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"));
  std::string token = env("AWS_SESSION_TOKEN");
  std::string origin = token.empty() ? "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
                                     : "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)";
  return Found{make(std::move(id), std::move(secret), std::move(token)), CredentialSource::kEnvironment,
               std::move(origin)};
}

const IniValue* non_empty(const IniSection& s, std::string_view key) {
  const IniValue* v = s.find(key);
  return v && !v->value.empty() ? v : nullptr;
}

std::string at_line(std::string_view where, const IniValue& v) {
  return std::string(where) + " line " + std::to_string(v.line);
}

Result<std::optional<Found>> from_section(const IniSection* s, std::string_view where, CredentialSource source) {
  if (!s) return std::nullopt;
  const IniValue* id = non_empty(*s, "aws_access_key_id");
  const IniValue* secret = non_empty(*s, "aws_secret_access_key");
  if (!id && !secret) return std::nullopt;
  if (!secret) return error(partial(at_line(where, *id), "aws_access_key_id", "aws_secret_access_key"));
  if (!id) return error(partial(at_line(where, *secret), "aws_secret_access_key", "aws_access_key_id"));
  const IniValue* token = non_empty(*s, "aws_session_token");
  if (!token) token = non_empty(*s, "aws_security_token");  // the older name botocore still reads
  return Found{make(id->value, secret->value, token ? token->value : ""), source, std::string(where)};
}

// A profile that gets credentials some way LSIO does not implement: better a clear error than unsigned requests
// that fail with 403.
Status unsupported_kind(const IniSection* s, std::string_view where) {
  static constexpr std::string_view kKinds[] = {
      "credential_process", "role_arn", "sso_session", "sso_start_url", "web_identity_token_file", "credential_source"};
  if (!s) return Status();
  for (std::string_view kind : kKinds) {
    if (const IniValue* v = non_empty(*s, kind)) {
      return Status(StatusCode::kUnimplemented,
                    at_line(where, *v) + ": gets its credentials by " + std::string(kind) +
                        ", which LSIO does not support; give static keys (options or AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY, e.g. from `aws configure export-credentials --format env`)");
    }
  }
  return Status();
}

Result<Found> resolve_credentials(const RemoteOptions& o, ProfileFiles& files) {
  LSIO_ASSIGN_OR_RETURN(std::optional<Found> found, from_options(o));
  if (found) return std::move(*found);
  LSIO_ASSIGN_OR_RETURN(found, from_environment());
  if (found) return std::move(*found);
  LSIO_RETURN_IF_ERROR(files.load());
  LSIO_ASSIGN_OR_RETURN(
      found, from_section(files.credentials_section(), files.where_credentials(), CredentialSource::kCredentialsFile));
  if (found) return std::move(*found);
  LSIO_ASSIGN_OR_RETURN(found,
                        from_section(files.config_section(), files.where_config(), CredentialSource::kConfigFile));
  if (found) return std::move(*found);
  LSIO_RETURN_IF_ERROR(unsupported_kind(files.credentials_section(), files.where_credentials()));
  LSIO_RETURN_IF_ERROR(unsupported_kind(files.config_section(), files.where_config()));
  return Found{Credentials{.anonymous = true}, CredentialSource::kNone,
               "no credentials were found (RemoteOptions, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
                   files.describe_search() + "); requests are unsigned"};
}

// ---- region, endpoint, addressing ------------------------------------------------------------------------------

// A value and the name of where it came from, for messages.
struct Setting {
  std::string value;
  std::string origin;
};

// The first non-empty of options, environment variables, then the profile's config settings (read on demand).
Result<std::optional<Setting>> first_setting(const std::string& option, std::string_view option_name,
                                             std::initializer_list<const char*> variables,
                                             std::initializer_list<std::string_view> config_keys, ProfileFiles& files) {
  if (!option.empty()) return Setting{option, std::string(option_name)};
  for (const char* var : variables) {
    if (std::string v = env(var); !v.empty()) return Setting{std::move(v), var};
  }
  LSIO_RETURN_IF_ERROR(files.load());
  for (std::string_view key : config_keys) {
    if (const IniValue* v = files.config_value(key)) return Setting{v->value, at_line(files.where_config(), *v)};
  }
  return std::nullopt;
}

// Regions become part of host names and of the signing scope: letters, digits, '-', '_' and '.' only.
Status check_region(const Setting& region) {
  const bool ok = !region.value.empty() && std::ranges::all_of(region.value, [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
  if (ok) return Status();
  return Status(StatusCode::kInvalidArgument, "region " + quoted(region.value) + " (from " + region.origin +
                                                  "): only letters, digits, '-', '_' and '.' are allowed");
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

Result<std::string> normalize_endpoint(const Setting& endpoint) {
  std::string_view url = endpoint.value;
  const size_t scheme = starts_with_ci(url, "https://") ? 8 : starts_with_ci(url, "http://") ? 7 : 0;
  if (scheme == 0 || url.size() == scheme || url[scheme] == '/') {
    return error(StatusCode::kInvalidArgument, "endpoint " + quoted(url) + " (from " + endpoint.origin +
                                                   "): expected http://host[:port] or https://host[:port]");
  }
  while (url.size() > scheme && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

std::string aws_endpoint(std::string_view region) {
  const std::string_view domain = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://s3." + std::string(region) + "." + std::string(domain);
}

Result<S3Addressing> resolve_addressing(const RemoteOptions& o, bool custom_endpoint, ProfileFiles& files) {
  if (o.addressing != S3Addressing::kAuto) return o.addressing;
  const S3Addressing automatic = custom_endpoint ? S3Addressing::kPath : S3Addressing::kVirtualHost;
  LSIO_RETURN_IF_ERROR(files.load());
  const IniValue* style = files.config_value("s3.addressing_style");
  if (!style || style->value == "auto") return automatic;
  if (style->value == "path") return S3Addressing::kPath;
  if (style->value == "virtual") return S3Addressing::kVirtualHost;
  return error(StatusCode::kInvalidArgument, at_line(files.where_config(), *style) +
                                                 ": s3 addressing_style must be auto, path or virtual, not " +
                                                 quoted(style->value));
}

}  // namespace

Result<ResolvedS3Config> resolve_s3_config(const RemoteOptions& options) {
  // named_by: who chose the profile, for the "profile not found" error; empty for the implicit "default".
  std::string profile = options.profile, named_by = "RemoteOptions::profile";
  if (profile.empty()) {
    profile = env("AWS_PROFILE");
    named_by = "AWS_PROFILE";
  }
  if (profile.empty()) {
    profile = "default";
    named_by.clear();
  }
  ProfileFiles files(profile, named_by);

  ResolvedS3Config out;
  out.profile = profile;
  LSIO_ASSIGN_OR_RETURN(Found creds, resolve_credentials(options, files));
  out.credentials = std::move(creds.credentials);
  out.source = creds.source;
  out.credentials_origin = std::move(creds.origin);

  LSIO_ASSIGN_OR_RETURN(
      std::optional<Setting> region,
      first_setting(options.region, "RemoteOptions::region", {"AWS_REGION", "AWS_DEFAULT_REGION"}, {"region"}, files));
  if (region) LSIO_RETURN_IF_ERROR(check_region(*region));
  out.region = region ? region->value : std::string(kDefaultRegion);

  LSIO_ASSIGN_OR_RETURN(std::optional<Setting> endpoint, first_setting(options.endpoint, "RemoteOptions::endpoint",
                                                                       {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"},
                                                                       {"s3.endpoint_url", "endpoint_url"}, files));
  out.custom_endpoint = endpoint.has_value();
  if (endpoint) {
    LSIO_ASSIGN_OR_RETURN(out.endpoint, normalize_endpoint(*endpoint));
  } else {
    out.endpoint = aws_endpoint(out.region);
  }
  LSIO_ASSIGN_OR_RETURN(out.addressing, resolve_addressing(options, out.custom_endpoint, files));
  return out;
}

}  // namespace lsio::remote
