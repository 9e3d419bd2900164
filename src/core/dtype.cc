#include "lsio/dtype.h"

#include <array>
#include <charconv>
#include <string>

namespace lsio {
namespace {

struct TypeInfo {
  DataType type;
  std::string_view v3_name;
  char numpy_kind;  // 'b', 'i', 'u', 'f', 'c'
  uint8_t size;
};

constexpr std::array<TypeInfo, 14> kTypes = {{
    {DataType::kBool, "bool", 'b', 1},
    {DataType::kInt8, "int8", 'i', 1},
    {DataType::kInt16, "int16", 'i', 2},
    {DataType::kInt32, "int32", 'i', 4},
    {DataType::kInt64, "int64", 'i', 8},
    {DataType::kUInt8, "uint8", 'u', 1},
    {DataType::kUInt16, "uint16", 'u', 2},
    {DataType::kUInt32, "uint32", 'u', 4},
    {DataType::kUInt64, "uint64", 'u', 8},
    {DataType::kFloat16, "float16", 'f', 2},
    {DataType::kFloat32, "float32", 'f', 4},
    {DataType::kFloat64, "float64", 'f', 8},
    {DataType::kComplex64, "complex64", 'c', 8},
    {DataType::kComplex128, "complex128", 'c', 16},
}};

const TypeInfo& info(DataType t) {
  for (const TypeInfo& i : kTypes) {
    if (i.type == t) return i;
  }
  return kTypes[0];  // unreachable for valid enum values
}

// Registered v3 data type extensions (and the raw "r<bits>" types) that are valid Zarr but not supported here.
constexpr std::array<std::string_view, 30> kKnownExtensionTypes = {
    "bytes",
    "string",
    "variable_length_bytes",
    "variable_length_utf8",
    "fixed_length_utf32",
    "fixed_length_ascii",
    "null_terminated_bytes",
    "numpy.datetime64",
    "numpy.timedelta64",
    "numpy.bytes",
    "numpy.void",
    "struct",
    "optional",
    "bfloat16",
    "complex_bfloat16",
    "complex_float16",
    "complex_float32",
    "complex_float64",
    "float4_e2m1fn",
    "float6_e2m3fn",
    "float6_e3m2fn",
    "float8_e3m4",
    "float8_e4m3",
    "float8_e4m3b11fnuz",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "int2",
    "int4",
};

bool is_raw_type_name(std::string_view name) {
  if (name.size() < 2 || name[0] != 'r') return false;
  for (char c : name.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool is_known_extension_type(std::string_view name) {
  if (is_raw_type_name(name) || name == "uint2" || name == "uint4") return true;
  for (std::string_view n : kKnownExtensionTypes) {
    if (n == name) return true;
  }
  return false;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 64)) out += (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') ? '?' : c;
  if (s.size() > 64) out += "...";
  return out + "\"";
}

// numpy kinds this library recognises as valid but does not support (datetime, bytes, unicode, void, object).
bool is_unsupported_numpy_kind(char kind) {
  return kind == 'M' || kind == 'm' || kind == 'S' || kind == 'U' || kind == 'V' || kind == 'O' || kind == 'a';
}

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// True when `rest` (what follows the kind character) is a well-formed size with an optional "[unit]" suffix.
bool is_wellformed_typestr_tail(std::string_view rest) {
  size_t bracket = rest.find('[');
  if (bracket == std::string_view::npos) return rest.empty() || is_digits(rest);
  std::string_view unit = rest.substr(bracket);
  if (unit.size() < 3 || unit.back() != ']') return false;
  return is_digits(rest.substr(0, bracket));
}

}  // namespace

size_t dtype_size(DataType t) { return info(t).size; }

std::string_view dtype_name(DataType t) { return info(t).v3_name; }

std::string numpy_typestr(DataType t) { return numpy_typestr(t, Endian::kLittle); }

std::string numpy_typestr(DataType t, Endian endian) {
  const TypeInfo& i = info(t);
  char order = i.size == 1 ? '|' : (endian == Endian::kBig ? '>' : '<');
  return std::string{order, i.numpy_kind} + std::to_string(i.size);
}

Result<DataType> parse_dtype_name(std::string_view name) {
  for (const TypeInfo& i : kTypes) {
    if (i.v3_name == name) return i.type;
  }
  if (is_known_extension_type(name)) {
    return error(StatusCode::kUnimplemented, "data type " + quoted(name) + " is not supported");
  }
  return error(StatusCode::kInvalidArgument, "unknown data type " + quoted(name));
}

Result<NumpyType> parse_numpy_typestr(std::string_view typestr) {
  auto invalid = [&] {
    return error(StatusCode::kInvalidArgument, "invalid numpy dtype string " + quoted(typestr) +
                                                   " (expected a byte order '<', '>' or '|', a kind and a size, "
                                                   "such as \"<u2\")");
  };
  if (typestr.size() < 2) return invalid();
  char order = typestr[0];
  if (order != '<' && order != '>' && order != '|') return invalid();
  char kind = typestr[1];
  std::string_view rest = typestr.substr(2);
  if (!is_wellformed_typestr_tail(rest)) return invalid();
  if (is_unsupported_numpy_kind(kind)) {
    return error(StatusCode::kUnimplemented, "numpy dtype " + quoted(typestr) + " is not supported");
  }
  if (!is_digits(rest)) return invalid();
  unsigned size = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), size);
  if (ec != std::errc() || ptr != rest.data() + rest.size()) return invalid();
  for (const TypeInfo& i : kTypes) {
    if (i.numpy_kind != kind || i.size != size) continue;
    if (size == 1) return NumpyType{i.type, Endian::kNotApplicable};
    if (order == '|') return invalid();  // a multi-byte type needs a byte order
    return NumpyType{i.type, order == '>' ? Endian::kBig : Endian::kLittle};
  }
  if ((kind == 'f' && (size == 12 || size == 16)) || (kind == 'c' && (size == 24 || size == 32))) {
    return error(StatusCode::kUnimplemented, "numpy dtype " + quoted(typestr) + " (long double) is not supported");
  }
  return invalid();
}

bool is_float(DataType t) { return info(t).numpy_kind == 'f'; }

bool is_complex(DataType t) { return info(t).numpy_kind == 'c'; }

bool is_integer(DataType t) { return info(t).numpy_kind == 'i' || info(t).numpy_kind == 'u'; }

bool is_signed(DataType t) { return info(t).numpy_kind != 'u' && info(t).numpy_kind != 'b'; }

}  // namespace lsio
