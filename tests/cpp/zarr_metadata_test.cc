// Zarr metadata: dtypes, fill values, key encodings, v3 zarr.json and v2 .zarray/.zattrs/.zgroup/.zmetadata.
// The "real" documents below were written by zarr-python 3.1 and tensorstore.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <string>
#include <variant>

#include "lsio/dtype.h"
#include "zarr/fill_value.h"
#include "zarr/metadata.h"

namespace lsio::zarr {
namespace {

using nlohmann::json;

static_assert(std::endian::native == std::endian::little, "the tests compare fill bytes with native values");

// ---- helpers ---------------------------------------------------------------------------------------------------

template <typename T>
std::vector<std::byte> bytes_of(T value) {
  std::vector<std::byte> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

std::vector<std::byte> bits_le(uint64_t bits, size_t width) {
  std::vector<std::byte> out(width);
  for (size_t i = 0; i < width && i < 8; ++i) out[i] = static_cast<std::byte>(bits >> (8 * i));
  return out;
}

std::vector<std::byte> concat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Expects an error with `code` whose message contains every one of `parts`.
template <typename T>
void expect_error(const Result<T>& r, StatusCode code, std::initializer_list<std::string_view> parts) {
  ASSERT_FALSE(r.has_value()) << "expected an error containing " << *parts.begin();
  EXPECT_EQ(r.error().code(), code) << r.error().to_string();
  for (std::string_view p : parts) {
    EXPECT_NE(r.error().message().find(p), std::string_view::npos)
        << "message lacks [" << p << "]: " << r.error().message();
  }
}

ArrayMetadata must_v3(std::string_view text) {
  Result<ArrayMetadata> r = parse_v3_array(text, "/t/zarr.json");
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  return r.has_value() ? *r : ArrayMetadata{};
}

ArrayMetadata must_v2(std::string_view zarray, std::string_view zattrs = "") {
  Result<ArrayMetadata> r = parse_v2_array(zarray, zattrs, "/t/.zarray");
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  return r.has_value() ? *r : ArrayMetadata{};
}

// A minimal valid v3 array document; `patch` replaces (or, with a null value, removes) top-level members.
std::string v3_doc(const json& patch = json::object()) {
  json j = {{"zarr_format", 3},
            {"node_type", "array"},
            {"shape", {10, 20}},
            {"data_type", "uint8"},
            {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", {5, 5}}}}}},
            {"chunk_key_encoding", {{"name", "default"}, {"configuration", {{"separator", "/"}}}}},
            {"fill_value", 0},
            {"codecs", json::parse(R"([{"name": "bytes"}])")}};
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) {
      j.erase(it.key());
    } else {
      j[it.key()] = *it;
    }
  }
  return j.dump();
}

std::string v2_doc(const json& patch = json::object()) {
  json j = {{"zarr_format", 2}, {"shape", {10, 20}}, {"chunks", {5, 5}},      {"dtype", "<u2"},
            {"fill_value", 0},  {"order", "C"},      {"compressor", nullptr}, {"filters", nullptr}};
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) {
      j.erase(it.key());
    } else {
      j[it.key()] = *it;
    }
  }
  return j.dump();
}

Result<std::vector<std::byte>> fill3(const json& v, DataType t) { return parse_fill_value(v, t, 3, "/t: \"fill\""); }
Result<std::vector<std::byte>> fill2(const json& v, DataType t) { return parse_fill_value(v, t, 2, "/t: \"fill\""); }

// ---- documents written by zarr-python 3.1 and tensorstore --------------------------------------------------------

constexpr std::string_view kZarrPythonUint16 = R"({
  "shape": [100, 200], "data_type": "uint16",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [10, 20]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": 7,
  "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
             {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {"units": "m"}, "dimension_names": ["y", null],
  "zarr_format": 3, "node_type": "array", "storage_transformers": []
})";

constexpr std::string_view kZarrPythonSharded = R"({
  "shape": [64, 64, 64], "data_type": "float32",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [32, 32, 32]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": "NaN",
  "codecs": [{"name": "sharding_indexed", "configuration": {
      "chunk_shape": [8, 8, 8],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                 {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
      "index_location": "end"}}],
  "attributes": {}, "zarr_format": 3, "node_type": "array", "storage_transformers": []
})";

constexpr std::string_view kZarrPythonComplex = R"({
  "shape": [5], "data_type": "complex128",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": ["Infinity", -1.5],
  "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
             {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {}, "zarr_format": 3, "node_type": "array", "storage_transformers": []
})";

constexpr std::string_view kZarrPythonScalarBool = R"({
  "shape": [], "data_type": "bool",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": []}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": true,
  "codecs": [{"name": "bytes"}, {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {}, "zarr_format": 3, "node_type": "array", "storage_transformers": []
})";

constexpr std::string_view kZarrPythonHalfV2Keys = R"({
  "shape": [4], "data_type": "float16",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}},
  "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "."}},
  "fill_value": "-Infinity",
  "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
             {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {}, "zarr_format": 3, "node_type": "array", "storage_transformers": []
})";

constexpr std::string_view kZarrPythonGroup = R"({
  "attributes": {"title": "t"}, "zarr_format": 3,
  "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {"x": {
      "shape": [3], "data_type": "int8",
      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [3]}},
      "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
      "fill_value": 0, "codecs": [{"name": "bytes"}], "attributes": {},
      "zarr_format": 3, "node_type": "array", "storage_transformers": []}}},
  "node_type": "group"
})";

constexpr std::string_view kTensorstoreSharded =
    R"({"chunk_grid":{"configuration":{"chunk_shape":[50,50]},"name":"regular"},)"
    R"("chunk_key_encoding":{"name":"default"},"codecs":[{"configuration":{"chunk_shape":[10,10],)"
    R"("codecs":[{"configuration":{"endian":"little"},"name":"bytes"},)"
    R"({"configuration":{"checksum":false,"level":3},"name":"zstd"}],)"
    R"("index_codecs":[{"configuration":{"endian":"little"},"name":"bytes"},{"name":"crc32c"}],)"
    R"("index_location":"start"},"name":"sharding_indexed"}],"data_type":"int64",)"
    R"("fill_value":0,"node_type":"array","shape":[100,100],"zarr_format":3})";

constexpr std::string_view kTensorstoreHexNaN =
    R"({"chunk_grid":{"configuration":{"chunk_shape":[10]},"name":"regular"},"chunk_key_encoding":)"
    R"({"configuration":{"separator":"."},"name":"default"},"codecs":[{"configuration":{"endian":"little"},)"
    R"("name":"bytes"}],"data_type":"float64","dimension_names":["t"],"fill_value":"0x7ff8000000000001",)"
    R"("node_type":"array","shape":[10],"zarr_format":3})";

constexpr std::string_view kZarrPythonV2BigEndianF = R"({
  "shape": [10, 10], "chunks": [5, 5], "dtype": ">i4", "fill_value": null, "order": "F", "filters": null,
  "dimension_separator": "/", "compressor": {"id": "zstd", "level": 0}, "zarr_format": 2
})";

constexpr std::string_view kZarrPythonV2NaN = R"({
  "shape": [10], "chunks": [5], "dtype": "<f8", "fill_value": "NaN", "order": "C", "filters": null,
  "dimension_separator": ".", "compressor": null, "zarr_format": 2
})";

constexpr std::string_view kZarrPythonV2Complex = R"({
  "shape": [10], "chunks": [5], "dtype": "<c8", "fill_value": [1.0, "NaN"], "order": "C", "filters": null,
  "dimension_separator": ".", "compressor": {"id": "zstd", "level": 0}, "zarr_format": 2
})";

constexpr std::string_view kTensorstoreV2 =
    R"({"chunks":[3,4],"compressor":{"id":"zstd","level":1},"dimension_separator":".","dtype":">u8",)"
    R"("fill_value":null,"filters":null,"order":"F","shape":[10,4],"zarr_format":2})";

constexpr std::string_view kZarrPythonV2Zmetadata =
    R"({"metadata": {".zgroup": {"zarr_format": 2}, ".zattrs": {}, "x/.zattrs": {}, "x/.zarray": {"shape": [3], )"
    R"("chunks": [3], "dtype": "|i1", "fill_value": 0, "order": "C", "filters": null, "dimension_separator": ".", )"
    R"("compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}, "zarr_format": 2}}, )"
    R"("zarr_consolidated_format": 1})";

// ---- data types ------------------------------------------------------------------------------------------------

TEST(ZarrMetaDtype, EveryV3NameRoundTripsWithItsSize) {
  struct Case {
    std::string_view name;
    DataType type;
    size_t size;
    std::string_view typestr;
  };
  const Case cases[] = {
      {"bool", DataType::kBool, 1, "|b1"},           {"int8", DataType::kInt8, 1, "|i1"},
      {"int16", DataType::kInt16, 2, "<i2"},         {"int32", DataType::kInt32, 4, "<i4"},
      {"int64", DataType::kInt64, 8, "<i8"},         {"uint8", DataType::kUInt8, 1, "|u1"},
      {"uint16", DataType::kUInt16, 2, "<u2"},       {"uint32", DataType::kUInt32, 4, "<u4"},
      {"uint64", DataType::kUInt64, 8, "<u8"},       {"float16", DataType::kFloat16, 2, "<f2"},
      {"float32", DataType::kFloat32, 4, "<f4"},     {"float64", DataType::kFloat64, 8, "<f8"},
      {"complex64", DataType::kComplex64, 8, "<c8"}, {"complex128", DataType::kComplex128, 16, "<c16"},
  };
  for (const Case& c : cases) {
    Result<DataType> t = parse_dtype_name(c.name);
    ASSERT_TRUE(t.has_value()) << c.name;
    EXPECT_EQ(*t, c.type);
    EXPECT_EQ(dtype_name(c.type), c.name);
    EXPECT_EQ(dtype_size(c.type), c.size) << c.name;
    EXPECT_EQ(numpy_typestr(c.type), c.typestr);
    Result<NumpyType> v2 = parse_numpy_typestr(c.typestr);
    ASSERT_TRUE(v2.has_value()) << c.typestr;
    EXPECT_EQ(v2->type, c.type);
  }
  EXPECT_TRUE(is_float(DataType::kFloat16));
  EXPECT_FALSE(is_float(DataType::kComplex64));
  EXPECT_TRUE(is_complex(DataType::kComplex128));
  EXPECT_TRUE(is_integer(DataType::kUInt64));
  EXPECT_FALSE(is_integer(DataType::kBool));
  EXPECT_TRUE(is_signed(DataType::kInt8));
  EXPECT_FALSE(is_signed(DataType::kUInt8));
}

TEST(ZarrMetaDtype, V2TypestrsOfBothByteOrders) {
  struct Case {
    std::string_view typestr;
    DataType type;
    Endian endian;
  };
  const Case cases[] = {
      {"<u2", DataType::kUInt16, Endian::kLittle},       {">u2", DataType::kUInt16, Endian::kBig},
      {">i4", DataType::kInt32, Endian::kBig},           {"<i8", DataType::kInt64, Endian::kLittle},
      {"|u1", DataType::kUInt8, Endian::kNotApplicable}, {"<u1", DataType::kUInt8, Endian::kNotApplicable},
      {"|i1", DataType::kInt8, Endian::kNotApplicable},  {"|b1", DataType::kBool, Endian::kNotApplicable},
      {"<f2", DataType::kFloat16, Endian::kLittle},      {">f4", DataType::kFloat32, Endian::kBig},
      {">f8", DataType::kFloat64, Endian::kBig},         {"<c8", DataType::kComplex64, Endian::kLittle},
      {">c16", DataType::kComplex128, Endian::kBig},
  };
  for (const Case& c : cases) {
    Result<NumpyType> t = parse_numpy_typestr(c.typestr);
    ASSERT_TRUE(t.has_value()) << c.typestr << ": " << t.error().to_string();
    EXPECT_EQ(t->type, c.type) << c.typestr;
    EXPECT_EQ(t->endian, c.endian) << c.typestr;
  }
  EXPECT_EQ(numpy_typestr(DataType::kUInt16, Endian::kBig), ">u2");
  EXPECT_EQ(numpy_typestr(DataType::kComplex128, Endian::kBig), ">c16");
  EXPECT_EQ(numpy_typestr(DataType::kUInt8, Endian::kBig), "|u1");
  EXPECT_EQ(numpy_typestr(DataType::kFloat32, Endian::kNotApplicable), "<f4");
}

TEST(ZarrMetaDtype, UnsupportedAndInvalidNames) {
  for (std::string_view name : {"string", "r16", "bfloat16", "numpy.datetime64", "int4"}) {
    expect_error(parse_dtype_name(name), StatusCode::kUnimplemented, {name, "not supported"});
  }
  for (std::string_view name : {"uint17", "", "Float32", "float"}) {
    expect_error(parse_dtype_name(name), StatusCode::kInvalidArgument, {"unknown data type"});
  }
  for (std::string_view s : {"<M8[ns]", "|S10", "<U4", "|O", "|V8", "<m8[s]", "<f16"}) {
    expect_error(parse_numpy_typestr(s), StatusCode::kUnimplemented, {s, "not supported"});
  }
  for (std::string_view s : {"u2", "|u2", "<u3", "<x4", "", "<", "<u", "<u2x", "=u2", "<M8[ns", "<f-4"}) {
    expect_error(parse_numpy_typestr(s), StatusCode::kInvalidArgument, {"invalid numpy dtype string"});
  }
}

// ---- fill values -----------------------------------------------------------------------------------------------

TEST(ZarrMetaFill, BoolForms) {
  EXPECT_EQ(*fill3(true, DataType::kBool), bytes_of<uint8_t>(1));
  EXPECT_EQ(*fill3(false, DataType::kBool), bytes_of<uint8_t>(0));
  expect_error(fill3(1, DataType::kBool), StatusCode::kInvalidArgument,
               {"/t: \"fill\" must be true or false", "got 1"});
  EXPECT_EQ(*fill2(1, DataType::kBool), bytes_of<uint8_t>(1));
  EXPECT_EQ(*fill2(nullptr, DataType::kBool), bytes_of<uint8_t>(0));
  expect_error(fill2(2, DataType::kBool), StatusCode::kInvalidArgument, {"true or false"});
}

TEST(ZarrMetaFill, IntegersInRangeAndOut) {
  EXPECT_EQ(*fill3(-128, DataType::kInt8), bytes_of<int8_t>(-128));
  EXPECT_EQ(*fill3(127, DataType::kInt8), bytes_of<int8_t>(127));
  EXPECT_EQ(*fill3(255, DataType::kUInt8), bytes_of<uint8_t>(255));
  EXPECT_EQ(*fill3(-32768, DataType::kInt16), bytes_of<int16_t>(-32768));
  EXPECT_EQ(*fill3(65535, DataType::kUInt16), bytes_of<uint16_t>(65535));
  EXPECT_EQ(*fill3(-5, DataType::kInt32), bytes_of<int32_t>(-5));
  EXPECT_EQ(*fill3(4294967295u, DataType::kUInt32), bytes_of<uint32_t>(4294967295u));
  EXPECT_EQ(*fill3(json::parse("-9223372036854775808"), DataType::kInt64), bytes_of<int64_t>(INT64_MIN));
  EXPECT_EQ(*fill3(json::parse("18446744073709551615"), DataType::kUInt64), bytes_of<uint64_t>(UINT64_MAX));
  EXPECT_EQ(*fill3(json::parse("5.0"), DataType::kUInt8), bytes_of<uint8_t>(5));  // as zarr-python accepts
  EXPECT_EQ(*fill3(json::parse("-2.0"), DataType::kInt64), bytes_of<int64_t>(-2));

  expect_error(fill3(300, DataType::kUInt8), StatusCode::kInvalidArgument,
               {"/t: \"fill\" 300 is out of range for uint8 [0, 255]"});
  expect_error(fill3(128, DataType::kInt8), StatusCode::kInvalidArgument, {"128", "int8 [-128, 127]"});
  expect_error(fill3(-129, DataType::kInt8), StatusCode::kInvalidArgument, {"-129", "out of range"});
  expect_error(fill3(-1, DataType::kUInt64), StatusCode::kInvalidArgument, {"-1", "uint64"});
  expect_error(fill3(json::parse("9223372036854775808"), DataType::kInt64), StatusCode::kInvalidArgument,
               {"out of range for int64"});
  expect_error(fill3(json::parse("1e20"), DataType::kUInt64), StatusCode::kInvalidArgument, {"must be an integer"});
  expect_error(fill3(json::parse("5.5"), DataType::kInt16), StatusCode::kInvalidArgument,
               {"must be an integer for int16, got 5.5"});
  expect_error(fill3("5", DataType::kInt16), StatusCode::kInvalidArgument, {"got \"5\""});
  expect_error(fill3("NaN", DataType::kInt32), StatusCode::kInvalidArgument, {"must be an integer"});
  expect_error(fill3(true, DataType::kUInt8), StatusCode::kInvalidArgument, {"must be an integer"});
  expect_error(fill3(nullptr, DataType::kUInt8), StatusCode::kInvalidArgument, {"got null"});
  EXPECT_EQ(*fill2(nullptr, DataType::kInt64), bytes_of<int64_t>(0));
}

TEST(ZarrMetaFill, FloatNumbersSpecialStringsAndHex) {
  EXPECT_EQ(*fill3(1.5, DataType::kFloat32), bytes_of<float>(1.5f));
  EXPECT_EQ(*fill3(0.1, DataType::kFloat32), bits_le(0x3dcccccd, 4));
  EXPECT_EQ(*fill3(0.1, DataType::kFloat64), bits_le(0x3fb999999999999a, 8));
  EXPECT_EQ(*fill3(3, DataType::kFloat64), bytes_of<double>(3.0));
  EXPECT_EQ(*fill3(json::parse("-0.0"), DataType::kFloat64), bits_le(0x8000000000000000, 8));
  EXPECT_EQ(*fill3("NaN", DataType::kFloat32), bits_le(0x7fc00000, 4));
  EXPECT_EQ(*fill3("NaN", DataType::kFloat64), bits_le(0x7ff8000000000000, 8));
  EXPECT_EQ(*fill3("NaN", DataType::kFloat16), bits_le(0x7e00, 2));
  EXPECT_EQ(*fill3("Infinity", DataType::kFloat32), bits_le(0x7f800000, 4));
  EXPECT_EQ(*fill3("-Infinity", DataType::kFloat32), bits_le(0xff800000, 4));
  EXPECT_EQ(*fill3("-Infinity", DataType::kFloat16), bits_le(0xfc00, 2));
  EXPECT_EQ(*fill3("Infinity", DataType::kFloat64), bits_le(0x7ff0000000000000, 8));
  EXPECT_EQ(*fill3("0x7fc00001", DataType::kFloat32), bits_le(0x7fc00001, 4));
  EXPECT_EQ(*fill3("0x3F800000", DataType::kFloat32), bytes_of<float>(1.0f));
  EXPECT_EQ(*fill3("0x7ff8000000000001", DataType::kFloat64), bits_le(0x7ff8000000000001, 8));
  EXPECT_EQ(*fill3("0x7e01", DataType::kFloat16), bits_le(0x7e01, 2));
  EXPECT_EQ(*fill3(json::parse("3.4028234663852886e+38"), DataType::kFloat32), bytes_of<float>(FLT_MAX));

  expect_error(fill3("0x7fc0", DataType::kFloat32), StatusCode::kInvalidArgument,
               {"\"0x7fc0\" must have exactly 8 hex digits", "float32"});
  expect_error(fill3("0x7fc00000", DataType::kFloat64), StatusCode::kInvalidArgument, {"16 hex digits"});
  expect_error(fill3("0x7fc0000g", DataType::kFloat32), StatusCode::kInvalidArgument, {"not a valid hex string"});
  expect_error(fill3(1e300, DataType::kFloat32), StatusCode::kInvalidArgument, {"out of range for float32"});
  expect_error(fill3(70000, DataType::kFloat16), StatusCode::kInvalidArgument, {"70000 is out of range for float16"});
  expect_error(fill3("nan", DataType::kFloat32), StatusCode::kInvalidArgument,
               {"must be a number, \"NaN\", \"Infinity\", \"-Infinity\" or a hex bit pattern", "got \"nan\""});
  expect_error(fill3(nullptr, DataType::kFloat64), StatusCode::kInvalidArgument, {"got null"});
  expect_error(fill3(json::array({1.0}), DataType::kFloat64), StatusCode::kInvalidArgument, {"got [1.0]"});
  // v2 knows the special strings but not hex bit patterns.
  EXPECT_EQ(*fill2("NaN", DataType::kFloat64), bits_le(0x7ff8000000000000, 8));
  EXPECT_EQ(*fill2("-Infinity", DataType::kFloat16), bits_le(0xfc00, 2));
  EXPECT_EQ(*fill2(nullptr, DataType::kFloat32), bits_le(0, 4));
  expect_error(fill2("0x7fc00000", DataType::kFloat32), StatusCode::kInvalidArgument, {"\"NaN\", \"Infinity\""});
}

TEST(ZarrMetaFill, HalfPrecisionRoundsToNearestEven) {
  // Expected bit patterns from numpy.float16.
  const std::pair<double, uint16_t> cases[] = {
      {1.0, 0x3c00},
      {65504.0, 0x7bff},
      {65519.0, 0x7bff},
      {1 + 0x1p-11, 0x3c00},
      {1 + 3 * 0x1p-11, 0x3c02},
      {0x1p-25, 0x0000},
      {3 * 0x1p-25, 0x0002},
      {0x1p-24, 0x0001},
      {0.333, 0x3554},
      {-2.5, 0xc100},
      {6.1e-05, 0x03ff},
      {0x1p-14 * (1 - 0x1p-11), 0x0400},
      {1e-8, 0x0000},
      {-0.0, 0x8000},
  };
  for (auto [value, bits] : cases) {
    uint16_t got = 0;
    ASSERT_TRUE(double_to_half_bits(value, &got)) << value;
    EXPECT_EQ(got, bits) << value;
  }
  uint16_t ignored = 0;
  EXPECT_FALSE(double_to_half_bits(65520.0, &ignored));
  EXPECT_FALSE(double_to_half_bits(-1e10, &ignored));
  // Every non-NaN half survives half -> double -> half.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    double d = half_bits_to_double(static_cast<uint16_t>(b));
    if (std::isnan(d)) continue;
    uint16_t back = 0;
    ASSERT_TRUE(double_to_half_bits(d, &back)) << b;
    ASSERT_EQ(back, b) << std::hex << b;
  }
}

TEST(ZarrMetaFill, ComplexPairsWithSpecialForms) {
  EXPECT_EQ(*fill3(json::array({1, 2}), DataType::kComplex64), concat(bytes_of<float>(1), bytes_of<float>(2)));
  EXPECT_EQ(*fill3(json::array({"-Infinity", "NaN"}), DataType::kComplex64),
            concat(bits_le(0xff800000, 4), bits_le(0x7fc00000, 4)));
  EXPECT_EQ(*fill3(json::array({"0x7ff8000000000001", -1.5}), DataType::kComplex128),
            concat(bits_le(0x7ff8000000000001, 8), bytes_of<double>(-1.5)));
  EXPECT_EQ(*fill2(json::array({1.0, "NaN"}), DataType::kComplex64),
            concat(bytes_of<float>(1), bits_le(0x7fc00000, 4)));
  EXPECT_EQ(*fill2(nullptr, DataType::kComplex128), bits_le(0, 16));

  expect_error(fill3(1, DataType::kComplex64), StatusCode::kInvalidArgument,
               {"must be a two-element array [real, imaginary] for complex64, got 1"});
  expect_error(fill3(json::array({1, 2, 3}), DataType::kComplex128), StatusCode::kInvalidArgument, {"two-element"});
  expect_error(fill3(json::array({1, "x"}), DataType::kComplex64), StatusCode::kInvalidArgument,
               {"/t: \"fill\"[1] must be a number", "got \"x\""});
  expect_error(fill3(json::array({"0x7ff8000000000001", 0}), DataType::kComplex64), StatusCode::kInvalidArgument,
               {"\"fill\"[0]", "8 hex digits"});
}

TEST(ZarrMetaFill, ToJsonIsCanonicalAndRoundTrips) {
  EXPECT_EQ(fill_value_to_json(bits_le(0x7fc00000, 4), DataType::kFloat32, 3), json("NaN"));
  EXPECT_EQ(fill_value_to_json(bits_le(0x7fc00001, 4), DataType::kFloat32, 3), json("0x7fc00001"));
  EXPECT_EQ(fill_value_to_json(bits_le(0x7fc00001, 4), DataType::kFloat32, 2), json("NaN"));
  EXPECT_EQ(fill_value_to_json(bits_le(0xfc00, 2), DataType::kFloat16, 3), json("-Infinity"));
  EXPECT_EQ(fill_value_to_json(bytes_of<double>(-1.5), DataType::kFloat64, 3), json(-1.5));
  EXPECT_EQ(fill_value_to_json(bytes_of<int16_t>(-7), DataType::kInt16, 3), json(-7));
  EXPECT_EQ(fill_value_to_json(bytes_of<uint64_t>(UINT64_MAX), DataType::kUInt64, 3), json(UINT64_MAX));
  EXPECT_EQ(fill_value_to_json(bytes_of<uint8_t>(1), DataType::kBool, 2), json(true));
  EXPECT_EQ(fill_value_to_json(concat(bytes_of<float>(1), bits_le(0x7f800000, 4)), DataType::kComplex64, 3),
            json::array({1.0, "Infinity"}));
  // Arbitrary bit patterns of every type survive bytes -> JSON text -> bytes in v3.
  const DataType types[] = {DataType::kBool,      DataType::kInt8,      DataType::kInt16,   DataType::kInt32,
                            DataType::kInt64,     DataType::kUInt8,     DataType::kUInt16,  DataType::kUInt32,
                            DataType::kUInt64,    DataType::kFloat16,   DataType::kFloat32, DataType::kFloat64,
                            DataType::kComplex64, DataType::kComplex128};
  uint64_t seed = 0x9e3779b97f4a7c15;
  for (DataType t : types) {
    for (int i = 0; i < 200; ++i) {
      std::vector<std::byte> b(dtype_size(t));
      for (auto& x : b) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x = static_cast<std::byte>(seed >> 56);
      }
      if (t == DataType::kBool) b[0] = static_cast<std::byte>(static_cast<uint8_t>(b[0]) & 1);
      json text = json::parse(fill_value_to_json(b, t, 3).dump());
      Result<std::vector<std::byte>> back = fill3(text, t);
      ASSERT_TRUE(back.has_value()) << dtype_name(t) << " " << text.dump() << ": " << back.error().to_string();
      ASSERT_EQ(*back, b) << dtype_name(t) << " " << text.dump();
    }
  }
}

TEST(ZarrMetaFill, ExcerptIsShortForHugeValues) {
  json big = json::array();
  for (int i = 0; i < 10000; ++i) big.push_back(i);
  EXPECT_LT(json_excerpt(big).size(), 100u);
  EXPECT_EQ(json_excerpt(json::parse(R"([[[[[1]]]]])")), "[[[[...]]]]");
  EXPECT_EQ(json_excerpt(json(-3)), "-3");
  EXPECT_EQ(json_excerpt(json::parse(R"({"a": "b"})")), R"({"a": "b"})");
}

// ---- chunk key encodings ---------------------------------------------------------------------------------------

TEST(ZarrMetaKey, DefaultAndV2EncodingsWithBothSeparators) {
  const uint64_t idx[] = {1, 2, 30};
  EXPECT_EQ((ChunkKeyEncoding{false, '/'}.key(idx)), "c/1/2/30");
  EXPECT_EQ((ChunkKeyEncoding{false, '.'}.key(idx)), "c.1.2.30");
  EXPECT_EQ((ChunkKeyEncoding{true, '.'}.key(idx)), "1.2.30");
  EXPECT_EQ((ChunkKeyEncoding{true, '/'}.key(idx)), "1/2/30");
  EXPECT_EQ((ChunkKeyEncoding{false, '/'}.key({})), "c");
  EXPECT_EQ((ChunkKeyEncoding{true, '.'}.key({})), "0");
  const uint64_t one[] = {0};
  EXPECT_EQ((ChunkKeyEncoding{false, '/'}.key(one)), "c/0");
  EXPECT_EQ((ChunkKeyEncoding{true, '.'}.key(one)), "0");
}

TEST(ZarrMetaKey, ParsedFromEveryForm) {
  struct Case {
    json encoding;
    bool v2;
    char sep;
  };
  const Case cases[] = {
      {json("default"), false, '/'},
      {json("v2"), true, '.'},
      {json::parse(R"({"name": "default"})"), false, '/'},
      {json::parse(R"({"name": "default", "configuration": {"separator": "."}})"), false, '.'},
      {json::parse(R"({"name": "v2", "configuration": {"separator": "/"}})"), true, '/'},
      {json::parse(R"({"name": "v2", "configuration": {}})"), true, '.'},
  };
  for (const Case& c : cases) {
    ArrayMetadata m = must_v3(v3_doc({{"chunk_key_encoding", c.encoding}}));
    EXPECT_EQ(m.key_encoding.v2, c.v2) << c.encoding.dump();
    EXPECT_EQ(m.key_encoding.separator, c.sep) << c.encoding.dump();
  }
  expect_error(
      parse_v3_array(v3_doc({{"chunk_key_encoding", {{"name", "v2"}, {"configuration", {{"separator", "-"}}}}}}),
                     "/k/zarr.json"),
      StatusCode::kInvalidArgument,
      {"/k/zarr.json: \"chunk_key_encoding\".\"configuration\".\"separator\" must be \"/\" or \".\", got \"-\""});
  expect_error(parse_v3_array(v3_doc({{"chunk_key_encoding", "hashed"}}), "/k/zarr.json"), StatusCode::kUnimplemented,
               {"/k/zarr.json: \"chunk_key_encoding\" \"hashed\" is not supported"});
  expect_error(
      parse_v3_array(v3_doc({{"chunk_key_encoding", {{"name", "default"}, {"configuration", {{"sep", "/"}}}}}}),
                     "/k/zarr.json"),
      StatusCode::kInvalidArgument, {"\"chunk_key_encoding\".\"configuration\".\"sep\" is not a member"});
}

// ---- v3 documents ----------------------------------------------------------------------------------------------

TEST(ZarrMetaV3, ZarrPythonUint16WithAttributesAndDimensionNames) {
  ArrayMetadata m = must_v3(kZarrPythonUint16);
  EXPECT_EQ(m.zarr_format, 3);
  EXPECT_EQ(m.shape, (std::vector<uint64_t>{100, 200}));
  EXPECT_EQ(m.chunk_shape, (std::vector<uint64_t>{10, 20}));
  EXPECT_EQ(m.dtype, DataType::kUInt16);
  EXPECT_EQ(m.fill_value, bytes_of<uint16_t>(7));
  EXPECT_EQ(m.key_encoding, (ChunkKeyEncoding{false, '/'}));
  EXPECT_EQ(m.codecs, json::parse(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                                      {"name": "zstd", "configuration": {"level": 0, "checksum": false}}])"));
  EXPECT_EQ(m.attributes, json::parse(R"({"units": "m"})"));
  ASSERT_EQ(m.dimension_names.size(), 2u);
  EXPECT_EQ(m.dimension_names[0], "y");
  EXPECT_EQ(m.dimension_names[1], std::nullopt);
  EXPECT_EQ(num_chunks(m, 0), 10u);
  EXPECT_EQ(num_chunks(m, 1), 10u);
}

TEST(ZarrMetaV3, ShardingCodecIsKeptIntact) {
  ArrayMetadata m = must_v3(kZarrPythonSharded);
  EXPECT_EQ(m.dtype, DataType::kFloat32);
  EXPECT_EQ(m.fill_value, bits_le(0x7fc00000, 4));
  EXPECT_EQ(m.chunk_shape, (std::vector<uint64_t>{32, 32, 32}));
  json written = json::parse(kZarrPythonSharded)["codecs"];
  written[0]["configuration"]["index_codecs"][1]["configuration"] = json::object();  // the only normalisation
  EXPECT_EQ(m.codecs, written);
  EXPECT_EQ(m.codecs[0]["configuration"]["index_location"], "end");
  EXPECT_EQ(m.attributes, json::object());
  EXPECT_TRUE(m.dimension_names.empty());
}

TEST(ZarrMetaV3, TensorstoreShardedIndexAtStart) {
  ArrayMetadata m = must_v3(kTensorstoreSharded);
  EXPECT_EQ(m.dtype, DataType::kInt64);
  EXPECT_EQ(m.fill_value, bytes_of<int64_t>(0));
  EXPECT_EQ(m.key_encoding, (ChunkKeyEncoding{false, '/'}));
  const json& config = m.codecs[0]["configuration"];
  EXPECT_EQ(m.codecs[0]["name"], "sharding_indexed");
  EXPECT_EQ(config["chunk_shape"], json::parse("[10, 10]"));
  EXPECT_EQ(config["index_location"], "start");
  EXPECT_EQ(config["codecs"][1], json::parse(R"({"name": "zstd", "configuration": {"checksum": false, "level": 3}})"));
  EXPECT_EQ(num_chunks(m, 0), 2u);
}

TEST(ZarrMetaV3, BareNamesAreNormalisedAtEveryShardingLevel) {
  json codecs = json::parse(R"([{"name": "sharding_indexed", "configuration": {
      "chunk_shape": [2, 2], "index_location": "start", "index_codecs": ["bytes", "crc32c"],
      "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [1, 1], "codecs": ["bytes"],
                                                                  "index_codecs": ["bytes"]}}, "crc32c"]}}])");
  ArrayMetadata m = must_v3(v3_doc({{"codecs", codecs}}));
  const json& outer = m.codecs[0]["configuration"];
  EXPECT_EQ(outer["index_codecs"],
            json::parse(R"([{"name": "bytes", "configuration": {}}, {"name": "crc32c", "configuration": {}}])"));
  EXPECT_EQ(outer["codecs"][1], json::parse(R"({"name": "crc32c", "configuration": {}})"));
  EXPECT_EQ(outer["codecs"][0]["configuration"]["codecs"], json::parse(R"([{"name": "bytes", "configuration": {}}])"));
  EXPECT_EQ(outer["index_location"], "start");
  // A bare top-level name, and must_understand kept.
  m = must_v3(v3_doc({{"codecs", json::parse(R"(["bytes", {"name": "x.checksum", "must_understand": false}])")}}));
  EXPECT_EQ(m.codecs, json::parse(R"([{"name": "bytes", "configuration": {}},
                                     {"name": "x.checksum", "configuration": {}, "must_understand": false}])"));
}

TEST(ZarrMetaV3, ScalarBoolComplexHalfAndHexNaN) {
  ArrayMetadata b = must_v3(kZarrPythonScalarBool);
  EXPECT_TRUE(b.shape.empty());
  EXPECT_TRUE(b.chunk_shape.empty());
  EXPECT_EQ(b.fill_value, bytes_of<uint8_t>(1));
  EXPECT_EQ(b.codecs[0], json::parse(R"({"name": "bytes", "configuration": {}})"));
  EXPECT_EQ(b.key_encoding.key({}), "c");

  ArrayMetadata c = must_v3(kZarrPythonComplex);
  EXPECT_EQ(c.dtype, DataType::kComplex128);
  EXPECT_EQ(c.fill_value, concat(bits_le(0x7ff0000000000000, 8), bytes_of<double>(-1.5)));
  EXPECT_EQ(num_chunks(c, 0), 3u);

  ArrayMetadata h = must_v3(kZarrPythonHalfV2Keys);
  EXPECT_EQ(h.dtype, DataType::kFloat16);
  EXPECT_EQ(h.fill_value, bits_le(0xfc00, 2));
  EXPECT_EQ(h.key_encoding, (ChunkKeyEncoding{true, '.'}));

  ArrayMetadata t = must_v3(kTensorstoreHexNaN);
  EXPECT_EQ(t.fill_value, bits_le(0x7ff8000000000001, 8));
  EXPECT_EQ(t.key_encoding, (ChunkKeyEncoding{false, '.'}));
  ASSERT_EQ(t.dimension_names.size(), 1u);
  EXPECT_EQ(t.dimension_names[0], "t");
}

TEST(ZarrMetaV3, EveryDtypeInADocument) {
  const std::pair<std::string_view, json> cases[] = {
      {"bool", false},
      {"int8", -1},
      {"int16", -300},
      {"int32", 70000},
      {"int64", -5},
      {"uint8", 200},
      {"uint16", 60000},
      {"uint32", 4000000000u},
      {"uint64", 1},
      {"float16", 0.5},
      {"float32", "NaN"},
      {"float64", "-Infinity"},
      {"complex64", json::array({0, "NaN"})},
      {"complex128", json::array({"0x3ff0000000000000", 2.5})},
  };
  for (const auto& [name, fill] : cases) {
    ArrayMetadata m = must_v3(v3_doc({{"data_type", name}, {"fill_value", fill}}));
    EXPECT_EQ(dtype_name(m.dtype), name);
    EXPECT_EQ(m.fill_value.size(), dtype_size(m.dtype)) << name;
    EXPECT_EQ(parse_v3_array(to_v3_json(m), "/rt").value(), m) << name;
  }
}

TEST(ZarrMetaV3, DataTypeAsExtensionObject) {
  EXPECT_EQ(must_v3(v3_doc({{"data_type", {{"name", "int32"}}}})).dtype, DataType::kInt32);
  EXPECT_EQ(must_v3(v3_doc({{"data_type", {{"name", "int32"}, {"configuration", json::object()}}}})).dtype,
            DataType::kInt32);
  expect_error(parse_v3_array(v3_doc({{"data_type", {{"name", "int32"}, {"configuration", {{"x", 1}}}}}}), "/d"),
               StatusCode::kInvalidArgument, {"/d: \"data_type\".\"configuration\" must be empty"});
  expect_error(
      parse_v3_array(v3_doc({{"data_type", {{"name", "numpy.datetime64"}, {"configuration", {{"unit", "s"}}}}}}), "/d"),
      StatusCode::kUnimplemented, {"/d: \"data_type\": data type \"numpy.datetime64\" is not supported"});
  expect_error(parse_v3_array(v3_doc({{"data_type", "uint17"}}), "/d"), StatusCode::kInvalidArgument,
               {"/d: \"data_type\": unknown data type \"uint17\""});
  expect_error(parse_v3_array(v3_doc({{"data_type", 5}}), "/d"), StatusCode::kInvalidArgument,
               {"\"data_type\" must be a name or an object", "got 5"});
  expect_error(parse_v3_array(v3_doc({{"data_type", {{"configuration", json::object()}}}}), "/d"),
               StatusCode::kInvalidArgument, {"\"data_type\".\"name\" must be a string, got null"});
}

TEST(ZarrMetaV3, UnknownFieldsNeedMustUnderstandFalse) {
  ArrayMetadata m = must_v3(v3_doc({{"x_ext", {{"must_understand", false}, {"foo", 1}}}}));
  EXPECT_EQ(m.dtype, DataType::kUInt8);
  expect_error(parse_v3_array(v3_doc({{"x_ext", {{"must_understand", true}}}}), "/u/zarr.json"),
               StatusCode::kInvalidArgument, {"/u/zarr.json: \"x_ext\" is not a known field"});
  expect_error(parse_v3_array(v3_doc({{"dimensions_names", json::array({"a", "b"})}}), "/u/zarr.json"),
               StatusCode::kInvalidArgument, {"\"dimensions_names\" is not a known field"});
  expect_error(parse_v3_array(v3_doc({{"x_ext", {{"must_understand", "false"}}}}), "/u/zarr.json"),
               StatusCode::kInvalidArgument, {"\"x_ext\""});
  // Extension objects may only carry name, configuration and must_understand.
  expect_error(parse_v3_array(v3_doc({{"codecs", json::parse(R"([{"name": "bytes", "conf": {}}])")}}), "/u"),
               StatusCode::kInvalidArgument, {"/u: \"codecs\"[0].\"conf\" is not a member of an extension object"});
}

TEST(ZarrMetaV3, StorageTransformers) {
  EXPECT_EQ(must_v3(v3_doc({{"storage_transformers", json::array()}})).dtype, DataType::kUInt8);
  EXPECT_EQ(must_v3(v3_doc({{"storage_transformers", json::parse(R"([{"name": "cache", "must_understand": false}])")}}))
                .dtype,
            DataType::kUInt8);
  expect_error(parse_v3_array(v3_doc({{"storage_transformers", json::parse(R"([{"name": "sharding"}])")}}), "/s"),
               StatusCode::kUnimplemented, {"/s: \"storage_transformers\"[0] \"sharding\": storage transformers"});
  expect_error(parse_v3_array(v3_doc({{"storage_transformers", 3}}), "/s"), StatusCode::kInvalidArgument,
               {"\"storage_transformers\" must be an array"});
}

TEST(ZarrMetaV3, GroupsAndNodes) {
  Result<std::variant<ArrayMetadata, GroupMetadata>> node = parse_v3_node(kZarrPythonGroup, "/g/zarr.json");
  ASSERT_TRUE(node.has_value()) << node.error().to_string();
  ASSERT_TRUE(std::holds_alternative<GroupMetadata>(*node));
  const GroupMetadata& g = std::get<GroupMetadata>(*node);
  EXPECT_EQ(g.zarr_format, 3);
  EXPECT_EQ(g.attributes, json::parse(R"({"title": "t"})"));
  EXPECT_EQ(g.consolidated["kind"], "inline");
  EXPECT_EQ(g.consolidated["metadata"]["x"]["data_type"], "int8");
  // The inline documents are themselves valid array metadata.
  ArrayMetadata x = must_v3(g.consolidated["metadata"]["x"].dump());
  EXPECT_EQ(x.dtype, DataType::kInt8);

  Result<std::variant<ArrayMetadata, GroupMetadata>> array = parse_v3_node(kZarrPythonSharded, "/a/zarr.json");
  ASSERT_TRUE(array.has_value());
  EXPECT_TRUE(std::holds_alternative<ArrayMetadata>(*array));

  Result<std::variant<ArrayMetadata, GroupMetadata>> plain =
      parse_v3_node(R"({"zarr_format": 3, "node_type": "group"})", "/p/zarr.json");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(std::get<GroupMetadata>(*plain).attributes, json::object());
  EXPECT_TRUE(std::get<GroupMetadata>(*plain).consolidated.is_null());

  expect_error(parse_v3_array(kZarrPythonGroup, "/g/zarr.json"), StatusCode::kInvalidArgument,
               {"/g/zarr.json: \"node_type\" is \"group\""});
  expect_error(parse_v3_node(R"({"zarr_format": 3, "node_type": "folder"})", "/n/zarr.json"),
               StatusCode::kInvalidArgument, {"/n/zarr.json: \"node_type\" must be \"array\" or \"group\""});
  expect_error(parse_v3_node(R"({"zarr_format": 3, "node_type": "group", "shape": [1]})", "/n/zarr.json"),
               StatusCode::kInvalidArgument, {"\"shape\" is not a known field"});
  expect_error(parse_v3_node(R"({"zarr_format": 3, "node_type": "group", "attributes": []})", "/n/zarr.json"),
               StatusCode::kInvalidArgument, {"\"attributes\" must be an object, got []"});
}

TEST(ZarrMetaV3, PythonNonFiniteTokensAreRead) {
  std::string text = v3_doc({{"data_type", "float32"}});
  text.insert(text.size() - 1,
              R"(, "attributes": {"nodata": NaN, "range": [-Infinity, Infinity], "s": "NaN Infinity"})");
  text.replace(text.find(R"("fill_value":0)"), 14, R"("fill_value":NaN)");
  ArrayMetadata m = must_v3(text);
  EXPECT_EQ(m.fill_value, bits_le(0x7fc00000, 4));
  EXPECT_EQ(m.attributes["nodata"], "NaN");
  EXPECT_EQ(m.attributes["range"], json::parse(R"(["-Infinity", "Infinity"])"));
  EXPECT_EQ(m.attributes["s"], "NaN Infinity");
  // Only whole tokens outside strings are rewritten.
  expect_error(parse_v3_array(R"({"a": NaNa})", "/n"), StatusCode::kDataLoss, {"/n: not valid JSON"});
}

// ---- bad v3 documents ------------------------------------------------------------------------------------------

TEST(ZarrMetaErrors, TruncatedAndCorruptJsonAreDataLoss) {
  std::string full(kZarrPythonSharded);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{40}, full.size() / 2, full.size() - 2}) {
    expect_error(parse_v3_array(std::string_view(full).substr(0, cut), "/x.zarr/zarr.json"), StatusCode::kDataLoss,
                 {"/x.zarr/zarr.json: not valid JSON (corrupt or truncated)"});
  }
  expect_error(parse_v3_array(full + "}", "/x/zarr.json"), StatusCode::kDataLoss, {"/x/zarr.json"});
  expect_error(parse_v3_array(std::string("{\"a\":\0}", 7), "/x/zarr.json"), StatusCode::kDataLoss, {"/x/zarr.json"});
  expect_error(parse_v3_node("\xff\xfe{}", "/x/zarr.json"), StatusCode::kDataLoss, {"/x/zarr.json"});
  expect_error(parse_v2_array("{\"zarr_format\": 2", "", "/v/.zarray"), StatusCode::kDataLoss, {"/v/.zarray"});
  expect_error(parse_v3_array("[1, 2]", "/x/zarr.json"), StatusCode::kInvalidArgument,
               {"/x/zarr.json: must contain a JSON object, got [1, 2]"});
  expect_error(parse_v3_array("1e999", "/x/zarr.json"), StatusCode::kInvalidArgument, {"/x/zarr.json"});
}

TEST(ZarrMetaErrors, DeepNestingIsRefusedNotACrash) {
  std::string deep = R"({"zarr_format": 3, "node_type": "group", "attributes": {"a": )" + std::string(100000, '[') +
                     std::string(100000, ']') + "}}";
  expect_error(parse_v3_node(deep, "/deep/zarr.json"), StatusCode::kInvalidArgument,
               {"/deep/zarr.json: JSON is nested more than 128 levels deep"});
  std::string ok = R"({"zarr_format": 3, "node_type": "group", "attributes": {"a": )" + std::string(100, '[') +
                   std::string(100, ']') + "}}";
  EXPECT_TRUE(parse_v3_node(ok, "/ok").has_value());
}

TEST(ZarrMetaErrors, ShapeMustBeNonNegativeIntegers) {
  expect_error(parse_v3_array(v3_doc({{"shape", {10, -3}}}), "/x/zarr.json"), StatusCode::kInvalidArgument,
               {"/x/zarr.json: \"shape\"[1] must be a non-negative integer, got -3"});
  expect_error(parse_v3_array(v3_doc({{"shape", {10, 2.5}}}), "/x/zarr.json"), StatusCode::kInvalidArgument,
               {"\"shape\"[1] must be a non-negative integer, got 2.5"});
  expect_error(parse_v3_array(v3_doc({{"shape", "10"}}), "/x/zarr.json"), StatusCode::kInvalidArgument,
               {"\"shape\" must be an array of integers, got \"10\""});
  expect_error(parse_v3_array(v3_doc({{"shape", json::parse("[1e30, 1]")}}), "/x/zarr.json"),
               StatusCode::kInvalidArgument, {"\"shape\"[0]"});
  // Zero-length dimensions are fine.
  ArrayMetadata m = must_v3(v3_doc({{"shape", {0, 20}}}));
  EXPECT_EQ(num_chunks(m, 0), 0u);
  EXPECT_EQ(num_chunks(m, 1), 4u);
}

TEST(ZarrMetaErrors, ChunkGridChecks) {
  expect_error(
      parse_v3_array(
          v3_doc({{"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", json::array({5})}}}}}}),
          "/x/zarr.json"),
      StatusCode::kInvalidArgument,
      {"/x/zarr.json: \"chunk_grid\".\"configuration\".\"chunk_shape\" has 1 dimensions but \"shape\" has 2"});
  expect_error(parse_v3_array(
                   v3_doc({{"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", {5, 0}}}}}}}), "/x"),
               StatusCode::kInvalidArgument,
               {"/x: \"chunk_grid\".\"configuration\".\"chunk_shape\"[1] must be a positive integer, got 0"});
  expect_error(parse_v3_array(
                   v3_doc({{"chunk_grid", {{"name", "rectilinear"}, {"configuration", {{"kind", "inline"}}}}}}), "/x"),
               StatusCode::kUnimplemented, {"/x: \"chunk_grid\" \"rectilinear\" is not supported (only \"regular\")"});
  expect_error(parse_v3_array(v3_doc({{"chunk_grid", "regular"}}), "/x"), StatusCode::kInvalidArgument,
               {"/x: missing required field \"chunk_grid\".\"configuration\".\"chunk_shape\""});
  expect_error(parse_v3_array(v3_doc({{"chunk_grid", {{"name", "regular"}, {"configuration", 7}}}}), "/x"),
               StatusCode::kInvalidArgument, {"\"chunk_grid\".\"configuration\" must be an object, got 7"});
  expect_error(
      parse_v3_array(
          v3_doc({{"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", {5, 5}}, {"x", 1}}}}}}),
          "/x"),
      StatusCode::kInvalidArgument, {"\"chunk_grid\".\"configuration\".\"x\" is not a member"});
  json huge = {
      {"shape", {1, 1, 1}},
      {"data_type", "float64"},
      {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", {1u << 31, 1u << 31, 1u << 31}}}}}}};
  expect_error(parse_v3_array(v3_doc(huge), "/x"), StatusCode::kInvalidArgument, {"more than 2^64 bytes"});
}

TEST(ZarrMetaErrors, RequiredFieldsAndVersions) {
  for (std::string_view name : {"shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs"}) {
    expect_error(parse_v3_array(v3_doc({{std::string(name), nullptr}}), "/r/zarr.json"), StatusCode::kInvalidArgument,
                 {"/r/zarr.json: missing required field \"" + std::string(name) + "\""});
  }
  expect_error(parse_v3_array(v3_doc({{"zarr_format", 2}}), "/r/zarr.json"), StatusCode::kInvalidArgument,
               {"/r/zarr.json: \"zarr_format\" must be 3, got 2"});
  expect_error(parse_v3_array(v3_doc({{"zarr_format", "3"}}), "/r/zarr.json"), StatusCode::kInvalidArgument,
               {"\"zarr_format\" must be 3, got \"3\""});
  expect_error(parse_v3_array(v3_doc({{"zarr_format", nullptr}}), "/r"), StatusCode::kInvalidArgument,
               {"missing required field \"zarr_format\""});
  expect_error(parse_v3_array(v3_doc({{"node_type", nullptr}}), "/r"), StatusCode::kInvalidArgument,
               {"missing required field \"node_type\""});
}

TEST(ZarrMetaErrors, WrongTypesNameTheField) {
  expect_error(parse_v3_array(v3_doc({{"codecs", json::array()}}), "/w"), StatusCode::kInvalidArgument,
               {"/w: \"codecs\" must not be empty"});
  expect_error(parse_v3_array(v3_doc({{"codecs", {{"name", "bytes"}}}}), "/w"), StatusCode::kInvalidArgument,
               {"/w: \"codecs\" must be an array of codecs"});
  expect_error(parse_v3_array(v3_doc({{"codecs", json::parse("[1]")}}), "/w"), StatusCode::kInvalidArgument,
               {"/w: \"codecs\"[0] must be a name or an object"});
  expect_error(parse_v3_array(v3_doc({{"codecs", json::parse(R"([{"name": ""}])")}}), "/w"),
               StatusCode::kInvalidArgument, {"\"codecs\"[0].\"name\" must not be empty"});
  json bad_inner = json::parse(R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [1, 1],
                                     "codecs": ["bytes"], "index_codecs": ["bytes", 7]}}])");
  expect_error(parse_v3_array(v3_doc({{"codecs", bad_inner}}), "/w"), StatusCode::kInvalidArgument,
               {"/w: \"codecs\"[0].\"configuration\".\"index_codecs\"[1] must be a name or an object", "got 7"});
  expect_error(parse_v3_array(v3_doc({{"attributes", "x"}}), "/w"), StatusCode::kInvalidArgument,
               {"\"attributes\" must be an object, got \"x\""});
  expect_error(parse_v3_array(v3_doc({{"dimension_names", json::array({"a"})}}), "/w"), StatusCode::kInvalidArgument,
               {"/w: \"dimension_names\" has 1 entries but \"shape\" has 2 dimensions"});
  expect_error(parse_v3_array(v3_doc({{"dimension_names", json::array({"a", 1})}}), "/w"), StatusCode::kInvalidArgument,
               {"\"dimension_names\"[1] must be a string or null, got 1"});
  expect_error(parse_v3_array(v3_doc({{"fill_value", 300}}), "/w/zarr.json"), StatusCode::kInvalidArgument,
               {"/w/zarr.json: \"fill_value\" 300 is out of range for uint8"});
  expect_error(parse_v3_array(v3_doc({{"data_type", "complex64"}, {"fill_value", json::array({1, "bad"})}}), "/w"),
               StatusCode::kInvalidArgument, {"/w: \"fill_value\"[1] must be a number"});
}

// ---- v2 --------------------------------------------------------------------------------------------------------

TEST(ZarrMetaV2, ZarrPythonBigEndianFortranWithSlashSeparator) {
  ArrayMetadata m = must_v2(kZarrPythonV2BigEndianF);
  EXPECT_EQ(m.zarr_format, 2);
  EXPECT_EQ(m.dtype, DataType::kInt32);
  EXPECT_EQ(m.v2_endian, Endian::kBig);
  EXPECT_EQ(m.v2_order, 'F');
  EXPECT_EQ(m.fill_value, bytes_of<int32_t>(0));  // null -> zeros
  EXPECT_EQ(m.key_encoding, (ChunkKeyEncoding{true, '/'}));
  EXPECT_EQ(m.v2_compressor, json::parse(R"({"id": "zstd", "level": 0})"));
  EXPECT_TRUE(m.v2_filters.is_null());
  EXPECT_TRUE(m.codecs.is_null());
  EXPECT_EQ(m.attributes, json::object());
  const uint64_t idx[] = {1, 0};
  EXPECT_EQ(m.key_encoding.key(idx), "1/0");
}

TEST(ZarrMetaV2, NaNComplexAndAttributes) {
  ArrayMetadata f = must_v2(kZarrPythonV2NaN, R"({"a": 1})");
  EXPECT_EQ(f.dtype, DataType::kFloat64);
  EXPECT_EQ(f.v2_endian, Endian::kLittle);
  EXPECT_EQ(f.fill_value, bits_le(0x7ff8000000000000, 8));
  EXPECT_EQ(f.key_encoding, (ChunkKeyEncoding{true, '.'}));
  EXPECT_TRUE(f.v2_compressor.is_null());
  EXPECT_EQ(f.attributes, json::parse(R"({"a": 1})"));

  ArrayMetadata c = must_v2(kZarrPythonV2Complex);
  EXPECT_EQ(c.dtype, DataType::kComplex64);
  EXPECT_EQ(c.fill_value, concat(bytes_of<float>(1), bits_le(0x7fc00000, 4)));

  ArrayMetadata t = must_v2(kTensorstoreV2, "  \n");
  EXPECT_EQ(t.dtype, DataType::kUInt64);
  EXPECT_EQ(t.v2_endian, Endian::kBig);
  EXPECT_EQ(t.v2_order, 'F');
  EXPECT_EQ(t.v2_compressor["level"], 1);
  EXPECT_EQ(num_chunks(t, 0), 4u);
  EXPECT_EQ(num_chunks(t, 1), 1u);
}

TEST(ZarrMetaV2, EveryDtypeBothByteOrdersAndDefaults) {
  const std::pair<std::string_view, json> cases[] = {
      {"|b1", true},
      {"|i1", -3},
      {"<i2", 5},
      {">i2", -5},
      {"<i4", 1},
      {">i8", 2},
      {"|u1", 255},
      {"<u2", 7},
      {">u4", 9},
      {"<u8", 0},
      {"<f2", "NaN"},
      {">f2", 1.5},
      {"<f4", "Infinity"},
      {">f8", "-Infinity"},
      {"<c8", json::array({1, 2})},
      {">c16", json::array({"NaN", 0})},
  };
  for (const auto& [typestr, fill] : cases) {
    ArrayMetadata m = must_v2(v2_doc({{"dtype", typestr}, {"fill_value", fill}}));
    EXPECT_EQ(numpy_typestr(m.dtype, m.v2_endian), typestr);
    ArrayMetadata back = parse_v2_array(to_v2_zarray(m), to_v2_zattrs(m), "/rt").value();
    EXPECT_EQ(back, m) << typestr << "\n" << to_v2_zarray(m);
  }
  // Optional members: no dimension_separator means ".", no order means "C", no compressor/filters means null.
  ArrayMetadata d = must_v2(v2_doc({{"order", nullptr}, {"compressor", nullptr}, {"filters", nullptr}}));
  EXPECT_EQ(d.key_encoding, (ChunkKeyEncoding{true, '.'}));
  EXPECT_EQ(d.v2_order, 'C');
  std::string null_separator = v2_doc({{"dimension_separator", "/"}});
  null_separator.replace(null_separator.find(R"("/")"), 3, "null");
  EXPECT_EQ(must_v2(null_separator).key_encoding.separator, '.');
  // Filters are kept as written; unknown members ignored.
  ArrayMetadata k = must_v2(v2_doc({{"filters", json::parse(R"([{"id": "delta", "dtype": "<u2"}])")}, {"extra", 1}}));
  EXPECT_EQ(k.v2_filters[0]["id"], "delta");
}

TEST(ZarrMetaV2, BadDocuments) {
  expect_error(parse_v2_array(v2_doc({{"dtype", json::parse(R"([["a", "<i4"], ["b", "<f8"]])")}}), "", "/s/.zarray"),
               StatusCode::kUnimplemented, {"/s/.zarray: \"dtype\" structured dtypes are not supported"});
  expect_error(parse_v2_array(v2_doc({{"dtype", "<M8[ns]"}}), "", "/s/.zarray"), StatusCode::kUnimplemented,
               {"/s/.zarray: \"dtype\": numpy dtype \"<M8[ns]\" is not supported"});
  expect_error(parse_v2_array(v2_doc({{"dtype", "uint16"}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"/s/.zarray: \"dtype\": invalid numpy dtype string \"uint16\""});
  expect_error(parse_v2_array(v2_doc({{"order", "X"}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"/s/.zarray: \"order\" must be \"C\" or \"F\", got \"X\""});
  expect_error(parse_v2_array(v2_doc({{"dimension_separator", "-"}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"\"dimension_separator\" must be \"/\" or \".\", got \"-\""});
  expect_error(parse_v2_array(v2_doc({{"zarr_format", 3}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"\"zarr_format\" must be 2, got 3"});
  expect_error(parse_v2_array(v2_doc({{"chunks", json::array({5})}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"/s/.zarray: \"chunks\" has 1 dimensions but \"shape\" has 2"});
  expect_error(parse_v2_array(v2_doc({{"chunks", {5, 0}}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"\"chunks\"[1] must be a positive integer, got 0"});
  expect_error(parse_v2_array(v2_doc({{"shape", {-1, 5}}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"\"shape\"[0] must be a non-negative integer, got -1"});
  expect_error(parse_v2_array(v2_doc({{"compressor", "zstd"}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"\"compressor\" must be an object with a string \"id\", got \"zstd\""});
  expect_error(parse_v2_array(v2_doc({{"filters", json::parse(R"([{"level": 1}])")}}), "", "/s/.zarray"),
               StatusCode::kInvalidArgument, {"\"filters\"[0] must be an object with a string \"id\""});
  expect_error(parse_v2_array(v2_doc({{"fill_value", 70000}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"/s/.zarray: \"fill_value\" 70000 is out of range for uint16"});
  expect_error(parse_v2_array(v2_doc({{"chunks", nullptr}}), "", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"missing required field \"chunks\""});
  expect_error(parse_v2_array(v2_doc(), "{\"a\": ", "/s/.zarray"), StatusCode::kDataLoss,
               {"/s/.zarray (.zattrs): not valid JSON"});
  expect_error(parse_v2_array(v2_doc(), "[]", "/s/.zarray"), StatusCode::kInvalidArgument,
               {"/s/.zarray (.zattrs): must contain a JSON object"});
}

TEST(ZarrMetaV2, GroupsAndConsolidatedMetadata) {
  Result<GroupMetadata> g = parse_v2_group(R"({"zarr_format": 2})", R"({"title": "x"})", "/g/.zgroup");
  ASSERT_TRUE(g.has_value()) << g.error().to_string();
  EXPECT_EQ(g->zarr_format, 2);
  EXPECT_EQ(g->attributes["title"], "x");
  EXPECT_TRUE(g->consolidated.is_null());
  expect_error(parse_v2_group(R"({"zarr_format": 3})", "", "/g/.zgroup"), StatusCode::kInvalidArgument,
               {"/g/.zgroup: \"zarr_format\" must be 2, got 3"});

  Result<json> meta = parse_v2_consolidated(kZarrPythonV2Zmetadata, "/g/.zmetadata");
  ASSERT_TRUE(meta.has_value()) << meta.error().to_string();
  EXPECT_TRUE(meta->contains(".zgroup"));
  ArrayMetadata x = must_v2((*meta)["x/.zarray"].dump(), (*meta)["x/.zattrs"].dump());
  EXPECT_EQ(x.dtype, DataType::kInt8);
  EXPECT_EQ(x.v2_compressor["cname"], "lz4");
  expect_error(parse_v2_consolidated(R"({"zarr_consolidated_format": 2, "metadata": {}})", "/g/.zmetadata"),
               StatusCode::kInvalidArgument, {"/g/.zmetadata: \"zarr_consolidated_format\" must be 1, got 2"});
  expect_error(parse_v2_consolidated(R"({"zarr_consolidated_format": 1, "metadata": []})", "/g/.zmetadata"),
               StatusCode::kInvalidArgument, {"\"metadata\" must be an object"});
  expect_error(parse_v2_consolidated(R"({"zarr_consolidated_format": 1})", "/g/.zmetadata"),
               StatusCode::kInvalidArgument, {"missing required field \"metadata\""});
}

// ---- writing ---------------------------------------------------------------------------------------------------

TEST(ZarrMetaRoundTrip, RealV3DocumentsSurviveWriteAndRead) {
  for (std::string_view doc : {kZarrPythonUint16, kZarrPythonSharded, kZarrPythonComplex, kZarrPythonScalarBool,
                               kZarrPythonHalfV2Keys, kTensorstoreSharded, kTensorstoreHexNaN}) {
    ArrayMetadata m = must_v3(doc);
    std::string text = to_v3_json(m);
    Result<ArrayMetadata> back = parse_v3_array(text, "/rt/zarr.json");
    ASSERT_TRUE(back.has_value()) << back.error().to_string() << "\n" << text;
    EXPECT_EQ(*back, m) << text;
  }
}

TEST(ZarrMetaRoundTrip, WrittenV3DocumentLooksLikeZarrPython) {
  ArrayMetadata m = must_v3(kZarrPythonSharded);
  json written = json::parse(to_v3_json(m));
  json original = json::parse(kZarrPythonSharded);
  original.erase("storage_transformers");  // an empty list is not written
  EXPECT_EQ(written, original);
  EXPECT_EQ(json::parse(to_v3_json(must_v3(kTensorstoreHexNaN)))["fill_value"], "0x7ff8000000000001");
}

TEST(ZarrMetaRoundTrip, RealV2DocumentsAndGroups) {
  for (std::string_view doc : {kZarrPythonV2BigEndianF, kZarrPythonV2NaN, kZarrPythonV2Complex, kTensorstoreV2}) {
    ArrayMetadata m = must_v2(doc, R"({"k": [1, 2]})");
    Result<ArrayMetadata> back = parse_v2_array(to_v2_zarray(m), to_v2_zattrs(m), "/rt/.zarray");
    ASSERT_TRUE(back.has_value()) << back.error().to_string();
    EXPECT_EQ(*back, m) << to_v2_zarray(m);
  }
  json zarray = json::parse(to_v2_zarray(must_v2(kTensorstoreV2)));
  json expected = json::parse(kTensorstoreV2);
  expected["fill_value"] = 0;  // null is read as zeros and written as 0
  EXPECT_EQ(zarray, expected);

  GroupMetadata g;
  g.attributes = {{"a", 1}};
  g.consolidated = json::parse(R"({"kind": "inline", "must_understand": false, "metadata": {}})");
  auto node = parse_v3_node(to_v3_json(g), "/g");
  ASSERT_TRUE(node.has_value()) << node.error().to_string();
  EXPECT_EQ(std::get<GroupMetadata>(*node), g);
  GroupMetadata g2{2, json::object(), json()};
  EXPECT_EQ(parse_v2_group(to_v2_zgroup(g2), "", "/g").value(), g2);
}

TEST(ZarrMetaRoundTrip, NumChunksCeilsAndGuards) {
  ArrayMetadata m;
  m.shape = {100, 90, 0, UINT64_MAX};
  m.chunk_shape = {30, 30, 7, 2};
  EXPECT_EQ(num_chunks(m, 0), 4u);
  EXPECT_EQ(num_chunks(m, 1), 3u);
  EXPECT_EQ(num_chunks(m, 2), 0u);
  EXPECT_EQ(num_chunks(m, 3), UINT64_MAX / 2 + 1);
  EXPECT_EQ(num_chunks(m, 4), 0u);
}

}  // namespace
}  // namespace lsio::zarr
