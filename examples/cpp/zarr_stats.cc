// zarr_stats: shape, dtype, chunks and min/max/mean of a Zarr array, read in blocks through the public LSIO API.
//
//   lsio_example_zarr_stats STORE [ARRAY_PATH] [--block-bytes N]
//   lsio_example_zarr_stats --demo-create DIR
//
// STORE is anything lsio::open_store accepts ("/data", "file:///data", "relative/dir"); ARRAY_PATH is the array's
// prefix in it ("" or absent: the store root is the array). The array is read in blocks of whole chunks (shards,
// when sharded) along its first dimension, each block at most N bytes (default 64 MiB) unless one chunk row is
// bigger. --demo-create writes a small sharded, zstd-compressed uint16 array (40 x 30, element (i, j) = 30 i + j:
// min 0, max 1199, mean 599.5) at DIR, replacing any array there.
//
// Exit status: 0 on success, 1 when LSIO reports an error (printed with the key it concerns), 2 on bad usage.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "lsio/store.h"
#include "lsio/zarr.h"

namespace {

using lsio::DataType;
using lsio::zarr::DimSelection;
using lsio::zarr::Selection;

int usage() {
  std::fprintf(stderr,
               "usage: lsio_example_zarr_stats STORE [ARRAY_PATH] [--block-bytes N]\n"
               "       lsio_example_zarr_stats --demo-create DIR\n");
  return 2;
}

int fail(const lsio::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.to_string().c_str());
  return 1;
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

// IEEE 754 binary16 -> double.
double half_to_double(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const double mantissa = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa == 0 ? sign * INFINITY : NAN;
  return sign * std::ldexp(1024.0 + mantissa, exponent - 25);
}

template <typename T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One element (native little-endian, as LSIO decodes it) as a double.
double element(DataType t, const std::byte* p) {
  switch (t) {
    case DataType::kBool:
      return load<uint8_t>(p) != 0;
    case DataType::kInt8:
      return load<int8_t>(p);
    case DataType::kInt16:
      return load<int16_t>(p);
    case DataType::kInt32:
      return load<int32_t>(p);
    case DataType::kInt64:
      return static_cast<double>(load<int64_t>(p));
    case DataType::kUInt8:
      return load<uint8_t>(p);
    case DataType::kUInt16:
      return load<uint16_t>(p);
    case DataType::kUInt32:
      return load<uint32_t>(p);
    case DataType::kUInt64:
      return static_cast<double>(load<uint64_t>(p));
    case DataType::kFloat16:
      return half_to_double(load<uint16_t>(p));
    case DataType::kFloat32:
      return load<float>(p);
    case DataType::kFloat64:
      return load<double>(p);
    case DataType::kComplex64:
    case DataType::kComplex128:
      break;  // refused before reading
  }
  return NAN;
}

int demo_create(const std::string& dir) {
  auto store = lsio::open_store(dir);
  if (!store) return fail(store.error());
  const char* metadata = R"({
    "zarr_format": 3, "node_type": "array", "shape": [40, 30], "data_type": "uint16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [20, 30]}},
    "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
    "codecs": [{"name": "sharding_indexed", "configuration": {
      "chunk_shape": [10, 10],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"level": 3}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]}}],
    "attributes": {"description": "lsio_example_zarr_stats demo: element (i, j) = 30 i + j"}
  })";
  auto array = lsio::zarr::Array::create(*store, "", metadata, "", /*overwrite=*/true);
  if (!array) return fail(array.error());
  std::vector<uint16_t> values(40 * 30);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint16_t>(i);
  const Selection all{DimSelection::slice(0, 40), DimSelection::slice(0, 30)};
  if (lsio::Status s = array->write(all, std::as_bytes(std::span(values))); !s.ok()) return fail(s);
  std::printf("created %s: a 40 x 30 uint16 array in 2 shards of 6 chunks\n", dir.c_str());
  return 0;
}

int stats(const std::string& url, const std::string& path, uint64_t block_bytes) {
  auto store = lsio::open_store(url);
  if (!store) return fail(store.error().with_context("open store " + url));
  auto opened = lsio::zarr::Array::open(*store, path);
  if (!opened) return fail(opened.error().with_context("store " + url));  // keys are relative to the store's root
  const lsio::zarr::Array& array = *opened;

  const std::vector<uint64_t>& shape = array.shape();
  const std::vector<uint64_t> shards = array.shard_shape();
  std::printf("store:  %s\n", url.c_str());
  std::printf("array:  '%s' (zarr v%d)\n", array.path().c_str(), array.zarr_format());
  std::printf("shape:  %s\n", shape_string(shape).c_str());
  std::printf("dtype:  %s (%s)\n", std::string(lsio::dtype_name(array.dtype())).c_str(), array.numpy_typestr().c_str());
  std::printf("chunks: %s\n", shape_string(array.chunk_shape()).c_str());
  std::printf("shards: %s\n", shards.empty() ? "none" : shape_string(shards).c_str());
  if (lsio::is_complex(array.dtype())) {
    std::fprintf(stderr, "error: %s elements have no order: min/max/mean are not computed\n",
                 std::string(lsio::dtype_name(array.dtype())).c_str());
    return 1;
  }

  // Blocks along dimension 0, a whole number of chunk (shard) rows each: every chunk is read once.
  uint64_t elements = 1, row_elements = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    elements *= shape[d];
    if (d > 0) row_elements *= shape[d];
  }
  if (elements == 0) {
    std::printf("elements: 0 (nothing to summarise)\n");
    return 0;
  }
  const uint64_t unit = shape.empty() ? 1 : (shards.empty() ? array.chunk_shape()[0] : shards[0]);
  const uint64_t unit_bytes = unit * row_elements * array.itemsize();
  const uint64_t rows_per_block = shape.empty() ? 1 : unit * std::max<uint64_t>(1, block_bytes / unit_bytes);
  const uint64_t rows = shape.empty() ? 1 : shape[0];

  double min = std::numeric_limits<double>::infinity(), max = -min, sum = 0;
  uint64_t counted = 0, nan = 0, blocks = 0;
  std::vector<std::byte> buffer;
  for (uint64_t r0 = 0; r0 < rows; r0 += rows_per_block) {
    const uint64_t r1 = std::min(rows, r0 + rows_per_block);
    Selection sel;
    for (size_t d = 0; d < shape.size(); ++d)
      sel.push_back(d == 0 ? DimSelection::slice(r0, r1) : DimSelection::slice(0, shape[d]));
    buffer.resize((shape.empty() ? 1 : (r1 - r0) * row_elements) * array.itemsize());
    if (lsio::Status s = array.read(sel, buffer); !s.ok()) return fail(s.with_context("store " + url));
    ++blocks;
    for (size_t i = 0; i < buffer.size(); i += array.itemsize()) {
      const double v = element(array.dtype(), buffer.data() + i);
      if (std::isnan(v)) {
        ++nan;
        continue;
      }
      min = std::min(min, v);
      max = std::max(max, v);
      sum += v;
      ++counted;
    }
  }
  std::printf("blocks: %" PRIu64 " (of up to %" PRIu64 " rows)\n", blocks, std::min(rows, rows_per_block));
  std::printf("elements: %" PRIu64 "\n", elements);
  if (nan != 0) std::printf("nan:    %" PRIu64 " (left out of min/max/mean)\n", nan);
  if (counted == 0) {
    std::printf("min/max/mean: undefined (every element is NaN)\n");
    return 0;
  }
  std::printf("min:    %.17g\n", min);
  std::printf("max:    %.17g\n", max);
  std::printf("mean:   %.17g\n", sum / static_cast<double>(counted));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--demo-create") return demo_create(std::string(args[1]));
  uint64_t block_bytes = 64ull << 20;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--block-bytes" && i + 1 < args.size()) {
      char* end = nullptr;
      const std::string n(args[++i]);
      block_bytes = std::strtoull(n.c_str(), &end, 10);
      if (n.empty() || *end != '\0' || block_bytes == 0) return usage();
    } else if (args[i].starts_with("--")) {
      return usage();
    } else {
      positional.emplace_back(args[i]);
    }
  }
  if (positional.empty() || positional.size() > 2) return usage();
  return stats(positional[0], positional.size() == 2 ? positional[1] : "", block_bytes);
}
