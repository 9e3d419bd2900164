#include "codec/json_config.h"

namespace lsio::codec {

Result<CodecEntry> parse_codec_entry(const nlohmann::json& entry, std::string_view where) {
  if (entry.is_string()) return CodecEntry{entry.get<std::string>(), nullptr};
  const auto bad = [&](std::string_view what) {
    return error(StatusCode::kInvalidArgument,
                 std::string(where) + ": codec " + entry.dump() + ": " + std::string(what));
  };
  if (!entry.is_object()) return bad("must be an object or a name");
  const auto name = entry.find("name");
  if (name == entry.end() || !name->is_string()) return bad("has no \"name\" string");
  CodecEntry out{name->get<std::string>(), nullptr};
  for (const auto& [field, value] : entry.items()) {
    if (field == "name") continue;
    if (field == "configuration") {
      if (!value.is_object()) return bad("\"configuration\" must be an object");
      out.configuration = &value;
    } else if (field == "must_understand") {
      if (!value.is_boolean()) return bad("\"must_understand\" must be a boolean");
    } else {
      return bad("unknown field \"" + field + "\"");
    }
  }
  return out;
}

std::optional<uint64_t> as_unsigned(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return static_cast<uint64_t>(value.get<int64_t>());
  return std::nullopt;
}

ConfigReader::ConfigReader(const nlohmann::json* config, std::string_view codec, std::string_view where, bool strict)
    : config_(config && config->is_object() ? config : nullptr), codec_(codec), where_(where), strict_(strict) {}

Status ConfigReader::invalid(std::string_view what) const {
  return Status(StatusCode::kInvalidArgument, where_ + ": codec '" + codec_ + "': " + std::string(what));
}

const nlohmann::json* ConfigReader::find(std::string_view field) {
  seen_.emplace(field);
  if (config_ == nullptr) return nullptr;
  const auto it = config_->find(field);
  if (it == config_->end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json* ConfigReader::raw(std::string_view field) { return find(field); }

Result<int64_t> ConfigReader::integer(std::string_view field, std::optional<int64_t> fallback, int64_t min,
                                      int64_t max) {
  const nlohmann::json* v = find(field);
  const std::string range = " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (v == nullptr) {
    if (fallback) return *fallback;
    return error(invalid("missing \"" + std::string(field) + "\" (an integer" + range + ")"));
  }
  int64_t n = 0;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (max < 0 || u > static_cast<uint64_t>(max)) {
      return error(invalid("\"" + std::string(field) + "\" = " + std::to_string(u) + " is not" + range));
    }
    n = static_cast<int64_t>(u);
  } else if (v->is_number_integer()) {
    n = v->get<int64_t>();
  } else {
    return error(invalid("\"" + std::string(field) + "\" must be an integer" + range + ", not " + v->dump()));
  }
  if (n < min || n > max)
    return error(invalid("\"" + std::string(field) + "\" = " + std::to_string(n) + " is not" + range));
  return n;
}

Result<bool> ConfigReader::boolean(std::string_view field, std::optional<bool> fallback) {
  const nlohmann::json* v = find(field);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return error(invalid("missing \"" + std::string(field) + "\" (a boolean)"));
  }
  if (!v->is_boolean()) return error(invalid("\"" + std::string(field) + "\" must be a boolean, not " + v->dump()));
  return v->get<bool>();
}

Result<std::string> ConfigReader::string(std::string_view field, std::optional<std::string> fallback) {
  const nlohmann::json* v = find(field);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return error(invalid("missing \"" + std::string(field) + "\" (a string)"));
  }
  if (!v->is_string()) return error(invalid("\"" + std::string(field) + "\" must be a string, not " + v->dump()));
  return v->get<std::string>();
}

Result<std::vector<uint64_t>> ConfigReader::shape(std::string_view field) {
  const nlohmann::json* v = find(field);
  if (v == nullptr) return error(invalid("missing \"" + std::string(field) + "\" (a list of positive integers)"));
  std::vector<uint64_t> out;
  if (v->is_array()) {
    for (const auto& n : *v) {
      const auto u = as_unsigned(n);
      if (!u || *u == 0) break;
      out.push_back(*u);
    }
  }
  if (!v->is_array() || out.size() != v->size()) {
    return error(invalid("\"" + std::string(field) + "\" must be a list of positive integers, not " + v->dump()));
  }
  return out;
}

Status ConfigReader::finish() const {
  if (!strict_ || config_ == nullptr) return Status();
  for (const auto& [field, value] : config_->items()) {
    if (!seen_.contains(field)) return invalid("unknown configuration field \"" + field + "\"");
  }
  return Status();
}

}  // namespace lsio::codec
