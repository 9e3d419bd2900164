// Decode-path driver for callgrind (docs/architecture.md, "Decoding into the output"): writes a few compressed
// Zarr arrays once, then reads one workload per process so that `valgrind --tool=callgrind` counts only that read.
//
//   build/release/bench/decode_bench prepare DIR
//   valgrind --tool=callgrind --callgrind-out-file=cg.out build/release/bench/decode_bench read DIR zstd_all
//   callgrind_annotate --threshold=100 cg.out | grep -E 'PROGRAM TOTALS|memcpy|memmove|memset'
// (bench/decode_callgrind.sh runs every workload this way.)
//
// Workloads: {zstd,blosc,gzip}_all (whole (64, 512, 512) float32 array, chunks (16, 512, 512): every chunk is one
// contiguous run of the output), zstd_rows (a (64, 512, 400) selection of it: every chunk is cut, the
// decode-into-scratch path), shard_crops (64 random (48, 48, 48) crops of a (256, 256, 256) uint16 array, shards of
// 128^3, inner chunks of 32^3, zstd), shard_all (a (256, 256, 256) uint16 array, shards (64, 256, 256), inner chunks
// (8, 256, 256), zstd, read whole) and zstd_cast (the shard_crops crops of zstd_all cast to float32 with a scale).
// With --hash a read prints an FNV-1a hash of its output so that two builds can be checked byte for byte (leave it
// out under callgrind: hashing costs more instructions than decoding).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lsio/zarr.h"

namespace {

using lsio::zarr::Array;
using lsio::zarr::DimSelection;
using lsio::zarr::Selection;

int fail(const std::string& what) {
  std::fprintf(stderr, "decode_bench: %s\n", what.c_str());
  return 1;
}

uint64_t fnv1a(std::span<const std::byte> data) {
  uint64_t h = 1469598103934665603ull;
  for (std::byte b : data) h = (h ^ static_cast<uint64_t>(b)) * 1099511628211ull;
  return h;
}

std::string metadata(const std::string& shape, const std::string& dtype, const std::string& chunks,
                     const std::string& codecs) {
  return R"({"zarr_format": 3, "node_type": "array", "shape": )" + shape + R"(, "data_type": ")" + dtype +
         R"(", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": )" + chunks +
         R"(}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": )" + codecs + "}";
}

const std::string kBytes = R"({"name": "bytes", "configuration": {"endian": "little"}})";

std::string sharded(const std::string& inner) {
  return R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": )" + inner + R"(, "codecs": [)" + kBytes +
         R"(, {"name": "zstd", "configuration": {"level": 1, "checksum": false}}], "index_codecs": [)" + kBytes +
         R"(], "index_location": "end"}}])";
}

// A smooth field plus a little noise: compresses like measured data, not like zeros.
template <typename T>
std::vector<T> field(size_t n, double amplitude) {
  std::vector<T> v(n);
  std::mt19937 rng(7);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<T>(amplitude * (1.0 + std::sin(static_cast<double>(i % 4093) * 0.01)) + (rng() & 7));
  }
  return v;
}

lsio::Status write_array(const std::shared_ptr<lsio::Store>& store, const std::string& name, const std::string& meta,
                         std::span<const std::byte> data, const std::vector<uint64_t>& shape) {
  auto a = Array::create(store, name, meta, {}, true);
  if (!a) return a.error();
  Selection all;
  for (uint64_t n : shape) all.push_back(DimSelection::slice(0, n));
  return a->write(all, data);
}

int prepare(const std::string& dir) {
  auto store = lsio::open_store(dir);
  if (!store) return fail(store.error().to_string());
  const std::vector<uint64_t> big = {64, 512, 512}, cube = {256, 256, 256};
  const auto f32 = field<float>(64 * 512 * 512, 1000.0);
  const auto u16 = field<uint16_t>(256 * 256 * 256, 1000.0);
  const std::vector<std::pair<std::string, std::string>> compressors = {
      {"zstd_all", R"({"name": "zstd", "configuration": {"level": 1, "checksum": false}})"},
      {"blosc_all", R"({"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle",
                        "typesize": 4, "blocksize": 0}})"},
      {"gzip_all", R"({"name": "gzip", "configuration": {"level": 1}})"},
  };
  for (const auto& [name, codec] : compressors) {
    const std::string meta = metadata("[64, 512, 512]", "float32", "[16, 512, 512]", "[" + kBytes + ", " + codec + "]");
    if (auto s = write_array(*store, name, meta, std::as_bytes(std::span(f32)), big); !s.ok()) {
      return fail(s.to_string());
    }
  }
  const auto u16_bytes = std::as_bytes(std::span(u16));
  if (auto s = write_array(*store, "shard_crops",
                           metadata("[256, 256, 256]", "uint16", "[128, 128, 128]", sharded("[32, 32, 32]")), u16_bytes,
                           cube);
      !s.ok()) {
    return fail(s.to_string());
  }
  if (auto s = write_array(*store, "shard_all",
                           metadata("[256, 256, 256]", "uint16", "[64, 256, 256]", sharded("[8, 256, 256]")), u16_bytes,
                           cube);
      !s.ok()) {
    return fail(s.to_string());
  }
  return 0;
}

std::vector<int64_t> crop_starts(size_t count, uint64_t crop, std::span<const uint64_t> shape) {
  std::mt19937 rng(11);
  std::vector<int64_t> starts;
  for (size_t i = 0; i < count; ++i) {
    for (uint64_t n : shape) starts.push_back(static_cast<int64_t>(rng() % (n - crop + 1)));
  }
  return starts;
}

int read(const std::string& dir, const std::string& workload, bool hash) {
  lsio::StoreOptions options;
  options.workers = 2;
  auto store = lsio::open_store(dir, options);
  if (!store) return fail(store.error().to_string());
  const bool whole = workload.ends_with("_all");
  const std::string name = workload == "zstd_cast" || workload == "zstd_rows" ? "zstd_all" : workload;
  auto a = Array::open(*store, name);
  if (!a) return fail(a.error().to_string());
  // Uninitialised like numpy.empty: the read writes every byte.
  std::unique_ptr<std::byte[]> buffer;
  std::span<std::byte> out;
  auto allocate = [&](size_t n) {
    buffer = std::make_unique_for_overwrite<std::byte[]>(n);
    out = {buffer.get(), n};
  };
  lsio::Status s;
  if (whole || workload == "zstd_rows") {
    Selection sel;
    uint64_t bytes = a->itemsize();
    for (uint64_t n : a->shape()) {
      const uint64_t stop = workload == "zstd_rows" && sel.size() == 2 ? 400 : n;
      sel.push_back(DimSelection::slice(0, stop));
      bytes *= stop;
    }
    allocate(bytes);
    s = a->read(sel, out);
  } else {
    const uint64_t crop = 48;
    const auto starts = crop_starts(64, crop, a->shape());
    const std::vector<uint64_t> shape(a->shape().size(), crop);
    lsio::zarr::Conversion cast{lsio::DataType::kFloat32, 0, {0.5}, {-1.0}};
    const bool convert = workload == "zstd_cast";
    allocate(64 * crop * crop * crop * (convert ? 4 : a->itemsize()));
    s = a->read_crops(starts, shape, out, convert ? &cast : nullptr);
  }
  if (!s.ok()) return fail(s.to_string());
  if (hash) {
    std::printf("%s: %zu bytes, fnv1a %016llx\n", workload.c_str(), out.size(),
                static_cast<unsigned long long>(fnv1a(out)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "prepare") return prepare(argv[2]);
  const bool hash = argc == 5 && std::string(argv[4]) == "--hash";
  if ((argc == 4 || hash) && std::string(argv[1]) == "read") return read(argv[2], argv[3], hash);
  return fail(
      "usage: decode_bench prepare DIR | read DIR "
      "{zstd_all,blosc_all,gzip_all,zstd_rows,zstd_cast,shard_crops,shard_all} [--hash]");
}
