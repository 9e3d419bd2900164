// Zarr array and group metadata: v3 zarr.json and v2 .zarray/.zattrs/.zgroup/.zmetadata, parsed and validated into
// one ArrayMetadata, and written back.
//
// Every parse function returns a Status on error (never throws) whose message starts with `where` (the key of the
// document, e.g. "/data/x.zarr/zarr.json") and names the field, e.g.
//   /x/zarr.json: "shape"[1] must be a non-negative integer, got -3
// Codes: kDataLoss for text that is not JSON (syntax error, truncation), kInvalidArgument for JSON that is not valid
// metadata, kUnimplemented for valid metadata this library does not support (extension data types, chunk grids
// other than "regular", storage transformers, v2 structured dtypes...).
//
// Leniencies for interoperability: the bare tokens NaN, Infinity and -Infinity (written by Python's json module,
// e.g. in attributes) are read as the strings "NaN", "Infinity" and "-Infinity"; integral JSON floats (5.0) are
// accepted as integer fill values; unknown keys of a v2 .zarray are ignored. JSON nested more than 128 levels deep
// is refused (kInvalidArgument).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lsio/dtype.h"
#include "lsio/status.h"

namespace lsio::zarr {

// How chunk grid coordinates become store keys (relative to the array's prefix).
struct ChunkKeyEncoding {
  bool v2 = false;       // false: v3 "default" encoding; true: "v2" encoding (and every v2 array)
  char separator = '/';  // '/' or '.'
  // default: "c/1/2/3" ("c" for a 0-d array); v2: "1.2.3" ("0" for a 0-d array).
  std::string key(std::span<const uint64_t> chunk_index) const;
  bool operator==(const ChunkKeyEncoding&) const = default;
};

struct ArrayMetadata {
  int zarr_format = 3;  // 2 or 3
  std::vector<uint64_t> shape;
  std::vector<uint64_t> chunk_shape;  // regular grid; same rank as shape; every entry > 0
  DataType dtype = DataType::kUInt8;
  std::vector<std::byte> fill_value;  // one element, little-endian bytes, dtype_size(dtype) long
  ChunkKeyEncoding key_encoding;
  // v3: the "codecs" array, each entry normalised to {"name": ..., "configuration": {...}} (configuration {} when
  // absent; a "must_understand" member is kept). Inside a "sharding_indexed" configuration, "codecs" and
  // "index_codecs" entries are normalised the same way; everything else is kept as written. null for v2.
  nlohmann::json codecs;
  // v2 only: "compressor" (null or an object with "id"), "filters" (null or an array of such objects), "order",
  // and the byte order of "dtype" (kNotApplicable for one-byte types). Unused for v3.
  nlohmann::json v2_compressor;
  nlohmann::json v2_filters;
  char v2_order = 'C';
  Endian v2_endian = Endian::kLittle;
  nlohmann::json attributes = nlohmann::json::object();     // {} when none
  std::vector<std::optional<std::string>> dimension_names;  // empty when absent, else one per dimension

  bool operator==(const ArrayMetadata&) const = default;
};

struct GroupMetadata {
  int zarr_format = 3;
  nlohmann::json attributes = nlohmann::json::object();  // {} when none
  // v3: the "consolidated_metadata" member as written (zarr-python: {"kind": "inline", "must_understand": false,
  // "metadata": {path: node document}}); v2: the "metadata" object of .zmetadata (see parse_v2_consolidated).
  // null when there is none.
  nlohmann::json consolidated;

  bool operator==(const GroupMetadata&) const = default;
};

// v3 zarr.json text -> array metadata ("node_type" must be "array").
Result<ArrayMetadata> parse_v3_array(std::string_view json_text, std::string_view where);
// v3 zarr.json text -> array or group metadata, by "node_type".
Result<std::variant<ArrayMetadata, GroupMetadata>> parse_v3_node(std::string_view json_text, std::string_view where);
// v2 .zarray text (+ .zattrs text, empty when the key is absent) -> array metadata. `where` names the .zarray key;
// errors in .zattrs name `where` with "(.zattrs)".
Result<ArrayMetadata> parse_v2_array(std::string_view zarray_text, std::string_view zattrs_text_or_empty,
                                     std::string_view where);
// v2 .zgroup text (+ .zattrs text or empty) -> group metadata (consolidated is null).
Result<GroupMetadata> parse_v2_group(std::string_view zgroup_text, std::string_view zattrs_text_or_empty,
                                     std::string_view where);
// v2 .zmetadata text -> its "metadata" object ({".zgroup": {...}, "x/.zarray": {...}, ...}), after checking
// "zarr_consolidated_format" is 1. Store it in GroupMetadata::consolidated.
Result<nlohmann::json> parse_v2_consolidated(std::string_view zmetadata_text, std::string_view where);

// The format a metadata document declares: 2 when `json_text` is a JSON object (read with the leniencies above)
// whose "zarr_format" is 2, else 3 (also for text that is not JSON: parse_v3_array then says what is wrong).
int declared_zarr_format(std::string_view json_text);

// The v3 zarr.json document of `m` (which must be v3 metadata: codecs set). parse_v3_array(to_v3_json(m)) == m.
std::string to_v3_json(const ArrayMetadata& m);
// The v2 .zarray document of `m`; attributes go to .zattrs (to_v2_zattrs).
// parse_v2_array(to_v2_zarray(m), to_v2_zattrs(m)) == m for v2 metadata.
std::string to_v2_zarray(const ArrayMetadata& m);
std::string to_v2_zattrs(const ArrayMetadata& m);
// Group documents: v3 zarr.json (with consolidated_metadata when not null) and v2 .zgroup.
std::string to_v3_json(const GroupMetadata& g);
std::string to_v2_zgroup(const GroupMetadata& g);

// Number of chunks along `dim`: ceil(shape[dim] / chunk_shape[dim]) (0 for an empty dimension).
uint64_t num_chunks(const ArrayMetadata& m, size_t dim);

}  // namespace lsio::zarr
