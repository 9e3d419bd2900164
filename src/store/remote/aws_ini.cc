#include "store/remote/aws_ini.h"

#include <algorithm>
#include <cctype>

namespace lsio::remote {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Splits "key = value" (or "key: value") at the first delimiter; false when there is none or the key is empty.
bool split_assignment(std::string_view line, std::string_view& key, std::string_view& value) {
  const size_t at = line.find_first_of("=:");
  if (at == std::string_view::npos) return false;
  key = trim(line.substr(0, at));
  value = trim(line.substr(at + 1));
  return !key.empty();
}

class Parser {
 public:
  explicit Parser(std::string_view path) { file_.path = path; }

  Status line(std::string_view raw, int number) {
    number_ = number;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const std::string_view text = trim(raw);
    if (text.empty() || text.front() == '#' || text.front() == ';') return Status();
    if (is_space(raw.front()) && key_ != nullptr) return indented(text);
    key_ = nullptr;
    if (text.front() == '[') return header(text);
    return assignment(text);
  }

  IniFile take() { return std::move(file_); }

 private:
  Status fail(std::string_view what) const {
    // Never the line itself: it may hold a secret.
    return Status(StatusCode::kInvalidArgument,
                  file_.path + " line " + std::to_string(number_) + ": " + std::string(what));
  }

  Status header(std::string_view text) {
    if (text.back() != ']') return fail("a section header must end with ']'");
    const std::string_view name = trim(text.substr(1, text.size() - 2));
    if (name.empty()) return fail("empty section name");
    auto [it, added] = file_.sections.try_emplace(std::string(name));
    if (added) it->second.line = number_;
    section_ = &it->second;
    return Status();
  }

  Status assignment(std::string_view text) {
    std::string_view key, value;
    if (!split_assignment(text, key, value)) return fail("expected 'name = value', '[section]' or a comment");
    if (section_ == nullptr) return fail("a setting before the first [section]");
    key_name_ = lower(key);
    key_ = &(section_->values[key_name_] = IniValue{std::string(value), number_});
    nested_ = value.empty();
    return Status();
  }

  // An indented line after a setting: a nested "name = value" when the setting's value was empty (botocore's
  // sub-sections, e.g. `s3 =` then `  endpoint_url = ...`), else a continuation of the value.
  Status indented(std::string_view text) {
    if (!nested_) {
      key_->value += '\n';
      key_->value += text;
      return Status();
    }
    std::string_view key, value;
    if (!split_assignment(text, key, value)) return fail("expected an indented 'name = value' (nested setting)");
    section_->values[key_name_ + "." + lower(key)] = IniValue{std::string(value), number_};
    return Status();
  }

  IniFile file_;
  IniSection* section_ = nullptr;
  IniValue* key_ = nullptr;  // the last setting, for indented lines after it
  std::string key_name_;
  bool nested_ = false;
  int number_ = 0;
};

}  // namespace

Result<IniFile> parse_aws_ini(std::string_view text, std::string_view path) {
  Parser parser(path);
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark (Windows editors)
  int number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    LSIO_RETURN_IF_ERROR(parser.line(line, ++number));
  }
  return parser.take();
}

}  // namespace lsio::remote
