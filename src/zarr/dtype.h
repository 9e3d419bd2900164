// Zarr data types: the v3 names, the v2 typestr forms, sizes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lsio/status.h"

namespace lsio::zarr {

enum class DataType : uint8_t {
  kBool,
  kInt8, kInt16, kInt32, kInt64,
  kUInt8, kUInt16, kUInt32, kUInt64,
  kFloat16, kFloat32, kFloat64,
  kComplex64, kComplex128,
};

enum class Endian : uint8_t { kLittle, kBig, kNotApplicable };

// Bytes per element (complex64: 8).
size_t dtype_size(DataType t);
// The v3 name ("uint16", "complex64", "bool", ...).
std::string_view dtype_name(DataType t);
// The numpy dtype string in native (little) endian order ("<u2", "|b1", "<c8").
std::string numpy_typestr(DataType t);
Result<DataType> parse_v3_dtype(std::string_view name);
// A v2 typestr such as "<u2", ">f8", "|u1", "|b1"; returns the type and its endianness.
struct V2Type {
  DataType type;
  Endian endian;
};
Result<V2Type> parse_v2_dtype(std::string_view typestr);
bool is_float(DataType t);    // float16/32/64
bool is_complex(DataType t);  // complex64/128
bool is_integer(DataType t);  // int8..int64, uint8..uint64
bool is_signed(DataType t);   // int8..int64, float*, complex*
// The numpy typestr in the given byte order: ">u2" for (kUInt16, kBig); "|u1"/"|b1" for one-byte types whatever
// `endian` says; kNotApplicable means little for multi-byte types.
std::string numpy_typestr(DataType t, Endian endian);

}  // namespace lsio::zarr
