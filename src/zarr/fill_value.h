// Zarr fill values: JSON <-> one element's bytes (little-endian), for v3 and v2 metadata.
//
// v3 (core spec, "Permitted fill values"): bool -> true/false; integers -> a JSON integer in range (an integral
// JSON float such as 5.0 is accepted too, as zarr-python does); floats -> a number (rounded to nearest; a finite
// number too large for the type is an error), "NaN" (the quiet NaN with only the top mantissa bit set),
// "Infinity", "-Infinity", or "0x..." with exactly 2 * sizeof(float) hex digits giving the bit pattern; complex ->
// [re, im], each part in the float forms of its component type.
// v2: null -> all-zero bytes; the same forms without hex strings; bool also accepts 0 and 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lsio/dtype.h"
#include "lsio/status.h"

namespace lsio::zarr {

// Parses `value` into dtype_size(type) little-endian bytes. `context` starts every error message, for example
// "/x/zarr.json: \"fill_value\"" gives "/x/zarr.json: \"fill_value\" 300 is out of range for uint8".
// Errors are kInvalidArgument. Never throws.
Result<std::vector<std::byte>> parse_fill_value(const nlohmann::json& value, DataType type, int zarr_format,
                                                std::string_view context);

// The JSON form of a fill value (dtype_size(type) little-endian bytes), in the canonical form of `zarr_format`:
// v3 writes a NaN other than the canonical one as a hex string; v2 writes every NaN as "NaN".
nlohmann::json fill_value_to_json(std::span<const std::byte> bytes, DataType type, int zarr_format);

// IEEE 754 binary16 conversions (round to nearest even). Returns false when a finite `value` overflows.
bool double_to_half_bits(double value, uint16_t* bits);
double half_bits_to_double(uint16_t bits);

// A short rendering of a JSON value for error messages ("-3", "\"abc\"", "[1, 2, ...]"): at most about 60
// characters and 3 levels deep, whatever the size of `value`.
std::string json_excerpt(const nlohmann::json& value);

}  // namespace lsio::zarr
