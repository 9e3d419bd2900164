// The INI dialect of the AWS shared credentials and config files, as botocore reads it (Python's configparser):
//   [section]            section names are case-sensitive, trimmed
//   key = value          or key: value; keys are lower-cased; values trimmed; no inline comments
//   # or ; comment       whole-line comments only
//   s3 =                 a key with an empty value followed by indented `name = value` lines: nested settings,
//     endpoint_url = x   stored as "s3.endpoint_url"
// A section that appears twice is merged, a key set twice keeps the last value. Error messages name the file and
// line but never quote the line: these files hold secrets.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "lsio/status.h"

namespace lsio::remote {

struct IniValue {
  std::string value;
  int line = 0;  // 1-based
};

struct IniSection {
  int line = 0;  // the line of its (first) header
  std::map<std::string, IniValue, std::less<>> values;

  const IniValue* find(std::string_view key) const {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  }
};

struct IniFile {
  std::string path;  // as given; used in messages
  std::map<std::string, IniSection, std::less<>> sections;

  const IniSection* find(std::string_view section) const {
    auto it = sections.find(section);
    return it == sections.end() ? nullptr : &it->second;
  }
};

// Parses `text`; `path` names the file in error messages ("<path> line N: ...", kInvalidArgument).
Result<IniFile> parse_aws_ini(std::string_view text, std::string_view path);

}  // namespace lsio::remote
