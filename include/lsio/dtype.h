// Element data types: the fixed-size numeric types LSIO decodes, with their names (the Zarr v3 / numpy names such as
// "uint16") and numpy typestrs ("<u2"), sizes and byte orders.
//
// This is the lowest layer that knows what an element is: codecs (src/codec) and Zarr (src/zarr, lsio/zarr.h) both
// describe elements with it, and neither depends on the other for it. Every function is pure and thread safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lsio/status.h"

namespace lsio {

enum class DataType : uint8_t {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat16,
  kFloat32,
  kFloat64,
  kComplex64,
  kComplex128,
};

// The byte order of stored elements. kNotApplicable: one-byte types (no order).
enum class Endian : uint8_t { kLittle, kBig, kNotApplicable };

// Bytes per element (complex64: 8).
size_t dtype_size(DataType t);
// The name ("uint16", "complex64", "bool", ...): the Zarr v3 data type name, which is also numpy's.
std::string_view dtype_name(DataType t);
// The numpy typestr in native (little) endian order ("<u2", "|b1", "<c8").
std::string numpy_typestr(DataType t);
// The numpy typestr in the given byte order: ">u2" for (kUInt16, kBig); "|u1"/"|b1" for one-byte types whatever
// `endian` says; kNotApplicable means little for multi-byte types.
std::string numpy_typestr(DataType t, Endian endian);

// A name as dtype_name() writes it ("uint16"). Errors (the name quoted, at most 64 characters of it):
// kUnimplemented for a registered Zarr v3 extension type this library does not support ("bfloat16", "string",
// "r16", ...), kInvalidArgument for anything else.
Result<DataType> parse_dtype_name(std::string_view name);

// A numpy typestr such as "<u2", ">f8", "|u1", "|b1" (the Zarr v2 "dtype" field): the type and its byte order
// (kNotApplicable for one-byte types). Errors: kUnimplemented for valid numpy types this library does not support
// (datetime, bytes, unicode, void, object, long double), kInvalidArgument for malformed strings.
struct NumpyType {
  DataType type;
  Endian endian;
};
Result<NumpyType> parse_numpy_typestr(std::string_view typestr);

bool is_float(DataType t);    // float16/32/64
bool is_complex(DataType t);  // complex64/128
bool is_integer(DataType t);  // int8..int64, uint8..uint64
bool is_signed(DataType t);   // int8..int64, float*, complex*

}  // namespace lsio
