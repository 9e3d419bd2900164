// Reading codec configurations from JSON with errors that name the codec, the field and the array.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lsio/status.h"

namespace lsio::codec {

// One entry of a v3 "codecs" list: {"name": ..., "configuration": {...}} or a bare name.
struct CodecEntry {
  std::string name;
  const nlohmann::json* configuration = nullptr;  // null when absent
};
Result<CodecEntry> parse_codec_entry(const nlohmann::json& entry, std::string_view where);

// A JSON integer >= 0 (parsed as signed or unsigned), else nullopt.
std::optional<uint64_t> as_unsigned(const nlohmann::json& value);

// Typed access to the fields of one codec's configuration. Strict readers (v3) refuse
// fields that were never asked for (finish()); lenient ones (v2/numcodecs) ignore them.
class ConfigReader {
 public:
  ConfigReader(const nlohmann::json* config, std::string_view codec, std::string_view where, bool strict);

  Result<int64_t> integer(std::string_view field, std::optional<int64_t> fallback, int64_t min, int64_t max);
  Result<bool> boolean(std::string_view field, std::optional<bool> fallback);
  Result<std::string> string(std::string_view field, std::optional<std::string> fallback);
  // A field's raw value, or nullptr when absent.
  const nlohmann::json* raw(std::string_view field);
  // A list of positive integers.
  Result<std::vector<uint64_t>> shape(std::string_view field);
  // kInvalidArgument naming the first field nobody asked for (strict readers only).
  Status finish() const;

  const std::string& where() const { return where_; }
  // kInvalidArgument "<where>: codec '<codec>': <what>".
  Status invalid(std::string_view what) const;

 private:
  const nlohmann::json* find(std::string_view field);

  const nlohmann::json* config_;
  std::string codec_;
  std::string where_;
  bool strict_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace lsio::codec
