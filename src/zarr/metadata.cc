#include "zarr/metadata.h"

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <string>

#include "zarr/fill_value.h"

namespace lsio::zarr {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 128;

// ---- error messages --------------------------------------------------------------------------------------------

// Names fields the way messages show them: "shape", "shape"[1], "chunk_grid"."configuration"."chunk_shape"[0].
std::string field(std::string_view name) { return "\"" + std::string(name) + "\""; }
std::string field(std::string_view parent, std::string_view name) { return std::string(parent) + "." + field(name); }
std::string field(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

// The document being parsed: builds errors that start with its key.
class Doc {
 public:
  explicit Doc(std::string_view where) : where_(where) {}

  std::string context(std::string_view field_name) const {
    return std::string(where_) + ": " + std::string(field_name);
  }
  std::unexpected<Status> invalid(std::string_view field_name, std::string_view what) const {
    return fail(StatusCode::kInvalidArgument, field_name, what);
  }
  std::unexpected<Status> unsupported(std::string_view field_name, std::string_view what) const {
    return fail(StatusCode::kUnimplemented, field_name, what);
  }
  std::unexpected<Status> fail(StatusCode code, std::string_view field_name, std::string_view what) const {
    std::string msg = field_name.empty() ? std::string(where_) + ": " : context(field_name) + " ";
    msg += what;
    return error(code, std::move(msg));
  }
  // "must be <expected>, got <value>".
  std::unexpected<Status> wrong(std::string_view field_name, std::string_view expected, const json& got) const {
    return invalid(field_name, "must be " + std::string(expected) + ", got " + json_excerpt(got));
  }

 private:
  std::string_view where_;
};

// Returns the member `name` of `obj`, or nullptr when absent.
const json* member(const json& obj, std::string_view name) {
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

Result<const json*> required(const json& obj, std::string_view name, const Doc& doc) {
  const json* v = member(obj, name);
  if (v == nullptr) return doc.invalid("", "missing required field " + field(name));
  return v;
}

// ---- text -> JSON ----------------------------------------------------------------------------------------------

struct TooDeep {};

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Python's json module writes NaN, Infinity and -Infinity as bare tokens; rewrite them (outside strings) as
// strings so the document parses. Returns nullopt when there is nothing to rewrite.
std::optional<std::string> quote_nonfinite_tokens(std::string_view text) {
  if (text.find("NaN") == std::string_view::npos && text.find("Infinity") == std::string_view::npos) {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 3> kTokens = {"-Infinity", "Infinity", "NaN"};
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false, escaped = false, changed = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      in_string = escaped || c != '"';
      escaped = !escaped && c == '\\';
      out += c;
      continue;
    }
    in_string = c == '"';
    bool replaced = false;
    for (std::string_view tok : kTokens) {
      size_t end = i + tok.size();
      if (text.substr(i, tok.size()) != tok || (end < text.size() && is_identifier_char(text[end]))) continue;
      if (i > 0 && is_identifier_char(text[i - 1])) continue;
      out += "\"" + std::string(tok) + "\"";
      i = end - 1;
      replaced = changed = true;
      break;
    }
    if (!replaced) out += c;
  }
  if (!changed) return std::nullopt;
  return out;
}

std::string strip_exception_id(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  return std::string(what);
}

Result<json> parse_json_text(std::string_view text, const Doc& doc) {
  std::optional<std::string> rewritten = quote_nonfinite_tokens(text);
  if (rewritten) text = *rewritten;
  json::parser_callback_t limit_depth = [](int depth, json::parse_event_t event, json&) {
    bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth >= kMaxDepth) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), limit_depth);
  } catch (const TooDeep&) {
    return doc.invalid("", "JSON is nested more than " + std::to_string(kMaxDepth) + " levels deep");
  } catch (const json::parse_error& e) {
    return doc.fail(StatusCode::kDataLoss, "",
                    "not valid JSON (corrupt or truncated): " + strip_exception_id(e.what()));
  } catch (const std::exception& e) {
    return doc.invalid("", "cannot parse JSON: " + strip_exception_id(e.what()));
  }
}

Result<json> parse_object_text(std::string_view text, const Doc& doc) {
  LSIO_ASSIGN_OR_RETURN(json j, parse_json_text(text, doc));
  if (!j.is_object()) return doc.invalid("", "must contain a JSON object, got " + json_excerpt(j));
  return j;
}

// ---- common fields ---------------------------------------------------------------------------------------------

Status check_zarr_format(const json& obj, int expected, const Doc& doc) {
  LSIO_ASSIGN_OR_RETURN(const json* v, required(obj, "zarr_format", doc));
  if (!v->is_number_integer() || v->get<int64_t>() != expected) {
    return doc.wrong(field("zarr_format"), std::to_string(expected), *v).error();
  }
  return Status();
}

// "shape"-like lists: an array of non-negative (or, with `positive`, positive) integers.
Result<std::vector<uint64_t>> parse_extents(const json& v, std::string_view name, bool positive, const Doc& doc) {
  if (!v.is_array()) return doc.wrong(name, "an array of integers", v);
  std::vector<uint64_t> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const json& e = v[i];
    bool ok = e.is_number_unsigned() && (!positive || e.get<uint64_t>() > 0);
    if (!ok) return doc.wrong(field(name, i), positive ? "a positive integer" : "a non-negative integer", e);
    out.push_back(e.get<uint64_t>());
  }
  return out;
}

Result<json> parse_attributes(const json& obj, const Doc& doc) {
  const json* v = member(obj, "attributes");
  if (v == nullptr) return json::object();
  if (!v->is_object()) return doc.wrong(field("attributes"), "an object", *v);
  return *v;
}

Result<json> parse_zattrs_text(std::string_view text, std::string_view where) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  std::string attrs_where = std::string(where) + " (.zattrs)";
  Doc doc(attrs_where);
  return parse_object_text(text, doc);
}

// Unknown top-level members are refused unless they are objects with "must_understand": false.
Status check_unknown_members(const json& obj, std::span<const std::string_view> known, const Doc& doc) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    const json* mu = it->is_object() ? member(*it, "must_understand") : nullptr;
    if (mu != nullptr && mu->is_boolean() && !mu->get<bool>()) continue;
    return doc
        .invalid(field(it.key()), "is not a known field (only objects with \"must_understand\": false may be added)")
        .error();
  }
  return Status();
}

// ---- v3 extension objects --------------------------------------------------------------------------------------

struct Extension {
  std::string name;
  json configuration = json::object();
  std::optional<bool> must_understand;
};

// An extension point value: a bare name, or {"name": ..., "configuration": {...}, "must_understand": bool}.
Result<Extension> parse_extension(const json& v, std::string_view name, const Doc& doc) {
  Extension ext;
  if (v.is_string()) {
    ext.name = v.get<std::string>();
  } else if (v.is_object()) {
    const json* n = member(v, "name");
    if (n == nullptr || !n->is_string()) return doc.wrong(field(name, "name"), "a string", n ? *n : json());
    ext.name = n->get<std::string>();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "name") continue;
      if (it.key() == "configuration") {
        if (!it->is_object()) return doc.wrong(field(name, "configuration"), "an object", *it);
        ext.configuration = *it;
      } else if (it.key() == "must_understand") {
        if (!it->is_boolean()) return doc.wrong(field(name, "must_understand"), "true or false", *it);
        ext.must_understand = it->get<bool>();
      } else {
        return doc.invalid(field(name, it.key()), "is not a member of an extension object (name, configuration)");
      }
    }
  } else {
    return doc.wrong(name, "a name or an object {\"name\": ..., \"configuration\": {...}}", v);
  }
  if (ext.name.empty()) return doc.invalid(field(name, "name"), "must not be empty");
  return ext;
}

Status check_no_configuration(const Extension& ext, std::string_view name, const Doc& doc) {
  if (ext.configuration.empty()) return Status();
  return doc.invalid(field(name, "configuration"), "must be empty for \"" + ext.name + "\"").error();
}

Status check_configuration_members(const Extension& ext, std::span<const std::string_view> known, std::string_view name,
                                   const Doc& doc) {
  std::string config = field(name, "configuration");
  for (auto it = ext.configuration.begin(); it != ext.configuration.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    return doc.invalid(field(config, it.key()), "is not a member of the \"" + ext.name + "\" configuration").error();
  }
  return Status();
}

Result<DataType> parse_v3_data_type(const json& v, const Doc& doc) {
  std::string name = field("data_type");
  LSIO_ASSIGN_OR_RETURN(Extension ext, parse_extension(v, name, doc));
  Result<DataType> t = parse_dtype_name(ext.name);
  if (!t) return error(t.error().with_context(doc.context(name)));
  LSIO_RETURN_IF_ERROR(check_no_configuration(ext, name, doc));
  return *t;
}

Result<std::vector<uint64_t>> parse_chunk_grid(const json& v, const Doc& doc) {
  std::string name = field("chunk_grid");
  LSIO_ASSIGN_OR_RETURN(Extension ext, parse_extension(v, name, doc));
  if (ext.name != "regular") {
    return doc.unsupported(name, "\"" + ext.name + "\" is not supported (only \"regular\")");
  }
  static constexpr std::array<std::string_view, 1> kKnown = {"chunk_shape"};
  LSIO_RETURN_IF_ERROR(check_configuration_members(ext, kKnown, name, doc));
  std::string shape_field = field(field(name, "configuration"), "chunk_shape");
  const json* cs = member(ext.configuration, "chunk_shape");
  if (cs == nullptr) return doc.invalid("", "missing required field " + shape_field);
  return parse_extents(*cs, shape_field, /*positive=*/true, doc);
}

// The member `key` of `obj` ("/" or "."), or `default_sep` when absent or null.
Result<char> parse_separator(const json& obj, std::string_view key, std::string_view label, char default_sep,
                             const Doc& doc) {
  const json* s = member(obj, key);
  if (s == nullptr || s->is_null()) return default_sep;
  if (!s->is_string() || (*s != "/" && *s != ".")) return doc.wrong(label, "\"/\" or \".\"", *s);
  return s->get<std::string>()[0];
}

Result<ChunkKeyEncoding> parse_key_encoding(const json& v, const Doc& doc) {
  std::string name = field("chunk_key_encoding");
  LSIO_ASSIGN_OR_RETURN(Extension ext, parse_extension(v, name, doc));
  if (ext.name != "default" && ext.name != "v2") {
    return doc.unsupported(name, "\"" + ext.name + "\" is not supported (only \"default\" and \"v2\")");
  }
  static constexpr std::array<std::string_view, 1> kKnown = {"separator"};
  LSIO_RETURN_IF_ERROR(check_configuration_members(ext, kKnown, name, doc));
  ChunkKeyEncoding enc;
  enc.v2 = ext.name == "v2";
  std::string label = field(field(name, "configuration"), "separator");
  LSIO_ASSIGN_OR_RETURN(enc.separator, parse_separator(ext.configuration, "separator", label, enc.v2 ? '.' : '/', doc));
  return enc;
}

Result<json> normalize_codec(const json& v, std::string_view name, const Doc& doc);

Result<json> normalize_codec_list(const json& v, std::string_view name, const Doc& doc) {
  if (!v.is_array()) return doc.wrong(name, "an array of codecs", v);
  json out = json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    LSIO_ASSIGN_OR_RETURN(json codec, normalize_codec(v[i], field(name, i), doc));
    out.push_back(std::move(codec));
  }
  return out;
}

// {"name": ..., "configuration": {...}} for any extension form; the nested codec lists of sharding_indexed too.
Result<json> normalize_codec(const json& v, std::string_view name, const Doc& doc) {
  LSIO_ASSIGN_OR_RETURN(Extension ext, parse_extension(v, name, doc));
  if (ext.name == "sharding_indexed") {
    std::string config = field(name, "configuration");
    for (std::string_view list : {std::string_view("codecs"), std::string_view("index_codecs")}) {
      const json* inner = member(ext.configuration, list);
      if (inner == nullptr) continue;
      LSIO_ASSIGN_OR_RETURN(json normalized, normalize_codec_list(*inner, field(config, list), doc));
      ext.configuration[std::string(list)] = std::move(normalized);
    }
  }
  json out = {{"name", ext.name}, {"configuration", std::move(ext.configuration)}};
  if (ext.must_understand) out["must_understand"] = *ext.must_understand;
  return out;
}

Result<json> parse_codecs(const json& v, const Doc& doc) {
  std::string name = field("codecs");
  LSIO_ASSIGN_OR_RETURN(json codecs, normalize_codec_list(v, name, doc));
  if (codecs.empty())
    return doc.invalid(name, "must not be empty (an array -> bytes codec such as \"bytes\" is needed)");
  return codecs;
}

Status check_storage_transformers(const json& obj, const Doc& doc) {
  const json* v = member(obj, "storage_transformers");
  std::string name = field("storage_transformers");
  if (v == nullptr || v->is_null()) return Status();
  if (!v->is_array()) return doc.wrong(name, "an array", *v).error();
  for (size_t i = 0; i < v->size(); ++i) {
    LSIO_ASSIGN_OR_RETURN(Extension ext, parse_extension((*v)[i], field(name, i), doc));
    if (ext.must_understand == false) continue;
    return doc.unsupported(field(name, i), "\"" + ext.name + "\": storage transformers are not supported").error();
  }
  return Status();
}

Result<std::vector<std::optional<std::string>>> parse_dimension_names(const json& obj, size_t rank, const Doc& doc) {
  std::vector<std::optional<std::string>> out;
  const json* v = member(obj, "dimension_names");
  std::string name = field("dimension_names");
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return doc.wrong(name, "an array of strings or nulls", *v);
  if (v->size() != rank) {
    return doc.invalid(name, "has " + std::to_string(v->size()) + " entries but \"shape\" has " + std::to_string(rank) +
                                 " dimensions");
  }
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (e.is_null()) {
      out.emplace_back(std::nullopt);
    } else if (e.is_string()) {
      out.emplace_back(e.get<std::string>());
    } else {
      return doc.wrong(field(name, i), "a string or null", e);
    }
  }
  return out;
}

// Rank agreement, and a chunk's byte size must fit in 64 bits.
Status check_grid(const ArrayMetadata& m, std::string_view chunk_field, const Doc& doc) {
  if (m.chunk_shape.size() != m.shape.size()) {
    return doc
        .invalid(chunk_field, "has " + std::to_string(m.chunk_shape.size()) + " dimensions but \"shape\" has " +
                                  std::to_string(m.shape.size()))
        .error();
  }
  uint64_t bytes = dtype_size(m.dtype);
  for (uint64_t c : m.chunk_shape) {
    if (__builtin_mul_overflow(bytes, c, &bytes)) {
      return doc.invalid(chunk_field, "describes a chunk of more than 2^64 bytes").error();
    }
  }
  return Status();
}

// ---- v3 --------------------------------------------------------------------------------------------------------

constexpr std::array<std::string_view, 11> kV3ArrayMembers = {
    "zarr_format",        "node_type",  "shape",  "data_type",  "chunk_grid",
    "chunk_key_encoding", "fill_value", "codecs", "attributes", "storage_transformers",
    "dimension_names"};
constexpr std::array<std::string_view, 4> kV3GroupMembers = {"zarr_format", "node_type", "attributes",
                                                             "consolidated_metadata"};

Result<ArrayMetadata> v3_array_from_json(const json& j, const Doc& doc) {
  LSIO_RETURN_IF_ERROR(check_unknown_members(j, kV3ArrayMembers, doc));
  ArrayMetadata m;
  m.zarr_format = 3;
  LSIO_ASSIGN_OR_RETURN(const json* shape, required(j, "shape", doc));
  LSIO_ASSIGN_OR_RETURN(m.shape, parse_extents(*shape, field("shape"), /*positive=*/false, doc));
  LSIO_ASSIGN_OR_RETURN(const json* data_type, required(j, "data_type", doc));
  LSIO_ASSIGN_OR_RETURN(m.dtype, parse_v3_data_type(*data_type, doc));
  LSIO_ASSIGN_OR_RETURN(const json* grid, required(j, "chunk_grid", doc));
  LSIO_ASSIGN_OR_RETURN(m.chunk_shape, parse_chunk_grid(*grid, doc));
  LSIO_RETURN_IF_ERROR(check_grid(m, field(field(field("chunk_grid"), "configuration"), "chunk_shape"), doc));
  LSIO_ASSIGN_OR_RETURN(const json* encoding, required(j, "chunk_key_encoding", doc));
  LSIO_ASSIGN_OR_RETURN(m.key_encoding, parse_key_encoding(*encoding, doc));
  LSIO_ASSIGN_OR_RETURN(const json* fill, required(j, "fill_value", doc));
  LSIO_ASSIGN_OR_RETURN(m.fill_value, parse_fill_value(*fill, m.dtype, 3, doc.context(field("fill_value"))));
  LSIO_ASSIGN_OR_RETURN(const json* codecs, required(j, "codecs", doc));
  LSIO_ASSIGN_OR_RETURN(m.codecs, parse_codecs(*codecs, doc));
  LSIO_ASSIGN_OR_RETURN(m.attributes, parse_attributes(j, doc));
  LSIO_RETURN_IF_ERROR(check_storage_transformers(j, doc));
  LSIO_ASSIGN_OR_RETURN(m.dimension_names, parse_dimension_names(j, m.shape.size(), doc));
  return m;
}

Result<GroupMetadata> v3_group_from_json(const json& j, const Doc& doc) {
  LSIO_RETURN_IF_ERROR(check_unknown_members(j, kV3GroupMembers, doc));
  GroupMetadata g;
  g.zarr_format = 3;
  LSIO_ASSIGN_OR_RETURN(g.attributes, parse_attributes(j, doc));
  const json* consolidated = member(j, "consolidated_metadata");
  if (consolidated != nullptr && !consolidated->is_null()) {
    if (!consolidated->is_object())
      return doc.wrong(field("consolidated_metadata"), "an object or null", *consolidated);
    g.consolidated = *consolidated;
  }
  return g;
}

// Checks zarr_format and returns node_type ("array" or "group").
Result<std::string> v3_node_type(const json& j, const Doc& doc) {
  LSIO_RETURN_IF_ERROR(check_zarr_format(j, 3, doc));
  LSIO_ASSIGN_OR_RETURN(const json* node_type, required(j, "node_type", doc));
  if (!node_type->is_string() || (*node_type != "array" && *node_type != "group")) {
    return doc.wrong(field("node_type"), "\"array\" or \"group\"", *node_type);
  }
  return node_type->get<std::string>();
}

// ---- v2 --------------------------------------------------------------------------------------------------------

Result<DataType> parse_v2_data_type(const json& v, ArrayMetadata& m, const Doc& doc) {
  std::string name = field("dtype");
  if (v.is_array()) return doc.unsupported(name, "structured dtypes are not supported, got " + json_excerpt(v));
  if (!v.is_string()) return doc.wrong(name, "a numpy dtype string such as \"<u2\"", v);
  Result<NumpyType> t = parse_numpy_typestr(v.get<std::string>());
  if (!t) return error(t.error().with_context(doc.context(name)));
  m.v2_endian = t->endian;
  return t->type;
}

// A numcodecs configuration: an object with a string "id".
Status check_numcodecs_config(const json& v, std::string_view name, const Doc& doc) {
  const json* id = v.is_object() ? member(v, "id") : nullptr;
  if (id == nullptr || !id->is_string()) return doc.wrong(name, "an object with a string \"id\"", v).error();
  return Status();
}

Result<json> parse_v2_compressor(const json& j, const Doc& doc) {
  const json* v = member(j, "compressor");
  if (v == nullptr || v->is_null()) return json();
  LSIO_RETURN_IF_ERROR(check_numcodecs_config(*v, field("compressor"), doc));
  return *v;
}

Result<json> parse_v2_filters(const json& j, const Doc& doc) {
  const json* v = member(j, "filters");
  if (v == nullptr || v->is_null()) return json();
  if (!v->is_array()) return doc.wrong(field("filters"), "null or an array of codec objects", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    LSIO_RETURN_IF_ERROR(check_numcodecs_config((*v)[i], field(field("filters"), i), doc));
  }
  return *v;
}

Result<char> parse_v2_order(const json& j, const Doc& doc) {
  const json* v = member(j, "order");
  if (v == nullptr) return 'C';
  if (!v->is_string() || (*v != "C" && *v != "F")) return doc.wrong(field("order"), "\"C\" or \"F\"", *v);
  return v->get<std::string>()[0];
}

Result<ArrayMetadata> v2_array_from_json(const json& j, const Doc& doc) {
  LSIO_RETURN_IF_ERROR(check_zarr_format(j, 2, doc));
  ArrayMetadata m;
  m.zarr_format = 2;
  LSIO_ASSIGN_OR_RETURN(const json* shape, required(j, "shape", doc));
  LSIO_ASSIGN_OR_RETURN(m.shape, parse_extents(*shape, field("shape"), /*positive=*/false, doc));
  LSIO_ASSIGN_OR_RETURN(const json* chunks, required(j, "chunks", doc));
  LSIO_ASSIGN_OR_RETURN(m.chunk_shape, parse_extents(*chunks, field("chunks"), /*positive=*/true, doc));
  LSIO_ASSIGN_OR_RETURN(const json* dtype, required(j, "dtype", doc));
  LSIO_ASSIGN_OR_RETURN(m.dtype, parse_v2_data_type(*dtype, m, doc));
  LSIO_RETURN_IF_ERROR(check_grid(m, field("chunks"), doc));
  const json* fill = member(j, "fill_value");
  LSIO_ASSIGN_OR_RETURN(m.fill_value,
                        parse_fill_value(fill ? *fill : json(), m.dtype, 2, doc.context(field("fill_value"))));
  LSIO_ASSIGN_OR_RETURN(m.v2_order, parse_v2_order(j, doc));
  LSIO_ASSIGN_OR_RETURN(m.v2_compressor, parse_v2_compressor(j, doc));
  LSIO_ASSIGN_OR_RETURN(m.v2_filters, parse_v2_filters(j, doc));
  m.key_encoding.v2 = true;
  LSIO_ASSIGN_OR_RETURN(m.key_encoding.separator,
                        parse_separator(j, "dimension_separator", field("dimension_separator"), '.', doc));
  return m;
}

// ---- writing ---------------------------------------------------------------------------------------------------

// Written documents keep the members in the order of the specs (zarr_format first), as zarr-python writes them.
using ordered_json = nlohmann::ordered_json;

std::string dump(const ordered_json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

// Drops empty "configuration" members (writers such as zarr-python omit them), in the nested codec lists of
// sharding_indexed too (the lists normalize_codec normalised).
json compact_codecs(const json& codecs) {
  if (!codecs.is_array()) return codecs;
  json out = json::array();
  for (json c : codecs) {
    auto config = c.is_object() ? c.find("configuration") : c.end();
    if (config != c.end() && config->is_object()) {
      auto name = c.find("name");
      if (name != c.end() && name->is_string() && *name == "sharding_indexed") {
        for (const char* list : {"codecs", "index_codecs"}) {
          if (config->contains(list)) (*config)[list] = compact_codecs((*config)[list]);
        }
      }
      if (config->empty()) c.erase(config);
    }
    out.push_back(std::move(c));
  }
  return out;
}

json dimension_names_json(const ArrayMetadata& m) {
  json out = json::array();
  for (const auto& n : m.dimension_names) out.push_back(n ? json(*n) : json());
  return out;
}

template <typename Fn>
auto guarded(std::string_view where, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {  // a safety net: every access above is checked
    return error(StatusCode::kInvalidArgument, std::string(where) + ": " + strip_exception_id(e.what()));
  }
}

}  // namespace

std::string ChunkKeyEncoding::key(std::span<const uint64_t> chunk_index) const {
  std::string out = v2 ? "" : "c";
  if (v2 && chunk_index.empty()) return "0";
  for (size_t i = 0; i < chunk_index.size(); ++i) {
    if (!v2 || i > 0) out += separator;
    out += std::to_string(chunk_index[i]);
  }
  return out;
}

Result<ArrayMetadata> parse_v3_array(std::string_view json_text, std::string_view where) {
  return guarded(where, [&]() -> Result<ArrayMetadata> {
    Doc doc(where);
    LSIO_ASSIGN_OR_RETURN(json j, parse_object_text(json_text, doc));
    LSIO_ASSIGN_OR_RETURN(std::string node_type, v3_node_type(j, doc));
    if (node_type != "array") return doc.invalid(field("node_type"), "is \"group\": this is a group, not an array");
    return v3_array_from_json(j, doc);
  });
}

Result<std::variant<ArrayMetadata, GroupMetadata>> parse_v3_node(std::string_view json_text, std::string_view where) {
  using Node = std::variant<ArrayMetadata, GroupMetadata>;
  return guarded(where, [&]() -> Result<Node> {
    Doc doc(where);
    LSIO_ASSIGN_OR_RETURN(json j, parse_object_text(json_text, doc));
    LSIO_ASSIGN_OR_RETURN(std::string node_type, v3_node_type(j, doc));
    if (node_type == "array") {
      LSIO_ASSIGN_OR_RETURN(ArrayMetadata m, v3_array_from_json(j, doc));
      return Node(std::move(m));
    }
    LSIO_ASSIGN_OR_RETURN(GroupMetadata g, v3_group_from_json(j, doc));
    return Node(std::move(g));
  });
}

Result<ArrayMetadata> parse_v2_array(std::string_view zarray_text, std::string_view zattrs_text_or_empty,
                                     std::string_view where) {
  return guarded(where, [&]() -> Result<ArrayMetadata> {
    Doc doc(where);
    LSIO_ASSIGN_OR_RETURN(json j, parse_object_text(zarray_text, doc));
    LSIO_ASSIGN_OR_RETURN(ArrayMetadata m, v2_array_from_json(j, doc));
    LSIO_ASSIGN_OR_RETURN(m.attributes, parse_zattrs_text(zattrs_text_or_empty, where));
    return m;
  });
}

Result<GroupMetadata> parse_v2_group(std::string_view zgroup_text, std::string_view zattrs_text_or_empty,
                                     std::string_view where) {
  return guarded(where, [&]() -> Result<GroupMetadata> {
    Doc doc(where);
    LSIO_ASSIGN_OR_RETURN(json j, parse_object_text(zgroup_text, doc));
    LSIO_RETURN_IF_ERROR(check_zarr_format(j, 2, doc));
    GroupMetadata g;
    g.zarr_format = 2;
    LSIO_ASSIGN_OR_RETURN(g.attributes, parse_zattrs_text(zattrs_text_or_empty, where));
    return g;
  });
}

Result<json> parse_v2_consolidated(std::string_view zmetadata_text, std::string_view where) {
  return guarded(where, [&]() -> Result<json> {
    Doc doc(where);
    LSIO_ASSIGN_OR_RETURN(json j, parse_object_text(zmetadata_text, doc));
    LSIO_ASSIGN_OR_RETURN(const json* format, required(j, "zarr_consolidated_format", doc));
    if (!format->is_number_integer() || format->get<int64_t>() != 1) {
      return doc.wrong(field("zarr_consolidated_format"), "1", *format);
    }
    LSIO_ASSIGN_OR_RETURN(const json* metadata, required(j, "metadata", doc));
    if (!metadata->is_object()) return doc.wrong(field("metadata"), "an object", *metadata);
    return *metadata;
  });
}

int declared_zarr_format(std::string_view json_text) {
  const Result<json> j = parse_json_text(json_text, Doc(""));
  if (!j || !j->is_object()) return 3;
  const json* format = member(*j, "zarr_format");
  return format != nullptr && *format == 2 ? 2 : 3;
}

std::string to_v3_json(const ArrayMetadata& m) {
  ordered_json j = {
      {"zarr_format", 3},
      {"node_type", "array"},
      {"shape", m.shape},
      {"data_type", dtype_name(m.dtype)},
      {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", m.chunk_shape}}}}},
      {"chunk_key_encoding",
       {{"name", m.key_encoding.v2 ? "v2" : "default"},
        {"configuration", {{"separator", std::string(1, m.key_encoding.separator)}}}}},
      {"fill_value", ordered_json(fill_value_to_json(m.fill_value, m.dtype, 3))},
      {"codecs", ordered_json(compact_codecs(m.codecs))},
      {"attributes", ordered_json(m.attributes.is_object() ? m.attributes : json::object())},
  };
  if (!m.dimension_names.empty()) j["dimension_names"] = ordered_json(dimension_names_json(m));
  return dump(j);
}

std::string to_v2_zarray(const ArrayMetadata& m) {
  ordered_json j = {
      {"zarr_format", 2},
      {"shape", m.shape},
      {"chunks", m.chunk_shape},
      {"dtype", numpy_typestr(m.dtype, m.v2_endian)},
      {"fill_value", ordered_json(fill_value_to_json(m.fill_value, m.dtype, 2))},
      {"order", std::string(1, m.v2_order)},
      {"compressor", ordered_json(m.v2_compressor)},
      {"filters", ordered_json(m.v2_filters)},
      {"dimension_separator", std::string(1, m.key_encoding.separator)},
  };
  return dump(j);
}

std::string to_v2_zattrs(const ArrayMetadata& m) {
  return dump(ordered_json(m.attributes.is_object() ? m.attributes : json::object()));
}

std::string to_v3_json(const GroupMetadata& g) {
  ordered_json j = {{"zarr_format", 3},
                    {"node_type", "group"},
                    {"attributes", ordered_json(g.attributes.is_object() ? g.attributes : json::object())}};
  if (!g.consolidated.is_null()) j["consolidated_metadata"] = ordered_json(g.consolidated);
  return dump(j);
}

std::string to_v2_zgroup(const GroupMetadata&) { return dump(ordered_json{{"zarr_format", 2}}); }

uint64_t num_chunks(const ArrayMetadata& m, size_t dim) {
  if (dim >= m.shape.size() || dim >= m.chunk_shape.size() || m.chunk_shape[dim] == 0) return 0;
  uint64_t s = m.shape[dim], c = m.chunk_shape[dim];
  return s / c + (s % c != 0 ? 1 : 0);
}

}  // namespace lsio::zarr
