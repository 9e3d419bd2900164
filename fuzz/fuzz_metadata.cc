// libFuzzer target for the Zarr metadata parsers (v3 zarr.json, v2 .zarray/.zattrs/.zgroup/.zmetadata) and the
// fill value codec. The input is one document; a NUL byte, when present, splits it into .zarray and .zattrs.
//
// Besides "never crash, never throw", it checks properties:
//   - every error message starts with the document's key;
//   - whatever parses, writes back to text that parses to the same metadata (v3 and v2);
//   - any bit pattern of any dtype survives fill_value_to_json -> parse_fill_value (v3).
// A property failure aborts with the details on stderr.
//
// Build with libFuzzer (clang >= 16; libstdc++ 12's <expected> needs __cpp_concepts >= 202002L, which clang 16
// implements but does not announce):
//   clang++-16 -std=c++2b -D__cpp_concepts=202002L -Wno-builtin-macro-redefined -g -O1
//     -fsanitize=fuzzer,address,undefined -Iinclude -Isrc fuzz/fuzz_metadata.cc src/core/dtype.cc
//     src/zarr/fill_value.cc src/zarr/metadata.cc src/core/status.cc -o fuzz_metadata
// Without libFuzzer (any compiler), -DLSIO_FUZZ_STANDALONE adds a main() that runs files given as arguments, or
// mutates built-in seed documents for a while: `fuzz_metadata [-max_total_time=S] [-runs=N] [-seed=N]
// [-write_seeds=DIR] [FILE_OR_DIR...]`. -write_seeds writes the seeds as a libFuzzer corpus.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "zarr/fill_value.h"
#include "zarr/metadata.h"

namespace {

using namespace lsio::zarr;
using lsio::DataType;
using lsio::dtype_size;

constexpr std::string_view kWhereV3 = "/fuzz/zarr.json";
constexpr std::string_view kWhereV2 = "/fuzz/.zarray";

[[noreturn]] void fail(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "fuzz_metadata: %.*s\n%.*s\n", static_cast<int>(property.size()), property.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

template <typename T>
void check_error_names_key(const lsio::Result<T>& r, std::string_view where) {
  if (r.has_value()) return;
  if (!r.error().message().starts_with(where)) fail("error does not name the key", r.error().to_string());
  if (r.error().code() == lsio::StatusCode::kOk) fail("error with code OK", r.error().to_string());
}

void check_v3_round_trip(const ArrayMetadata& m) {
  std::string text = to_v3_json(m);
  lsio::Result<ArrayMetadata> back = parse_v3_array(text, kWhereV3);
  if (!back.has_value()) fail("written v3 metadata does not parse", back.error().to_string() + "\n" + text);
  if (!(*back == m)) fail("v3 metadata changed through write + read", text);
}

void check_v2_round_trip(const ArrayMetadata& m) {
  std::string zarray = to_v2_zarray(m), zattrs = to_v2_zattrs(m);
  lsio::Result<ArrayMetadata> back = parse_v2_array(zarray, zattrs, kWhereV2);
  if (!back.has_value()) fail("written v2 metadata does not parse", back.error().to_string() + "\n" + zarray);
  if (!(*back == m)) fail("v2 metadata changed through write + read", zarray + "\n" + zattrs);
}

void fuzz_v3(std::string_view text) {
  lsio::Result<ArrayMetadata> array = parse_v3_array(text, kWhereV3);
  check_error_names_key(array, kWhereV3);
  if (array.has_value()) check_v3_round_trip(*array);
  auto node = parse_v3_node(text, kWhereV3);
  check_error_names_key(node, kWhereV3);
  if (node.has_value() && std::holds_alternative<GroupMetadata>(*node)) {
    const GroupMetadata& g = std::get<GroupMetadata>(*node);
    auto back = parse_v3_node(to_v3_json(g), kWhereV3);
    if (!back.has_value() || !std::holds_alternative<GroupMetadata>(*back) || !(std::get<GroupMetadata>(*back) == g)) {
      fail("v3 group changed through write + read", to_v3_json(g));
    }
  }
}

void fuzz_v2(std::string_view text) {
  size_t nul = text.find('\0');
  std::string_view zarray = text.substr(0, nul);
  std::string_view zattrs = nul == std::string_view::npos ? std::string_view() : text.substr(nul + 1);
  lsio::Result<ArrayMetadata> array = parse_v2_array(zarray, zattrs, kWhereV2);
  check_error_names_key(array, kWhereV2);
  if (array.has_value()) check_v2_round_trip(*array);
  check_error_names_key(parse_v2_group(zarray, zattrs, kWhereV2), kWhereV2);
  check_error_names_key(parse_v2_consolidated(text, kWhereV2), kWhereV2);
}

// The first bytes of the input as a fill value of every dtype: v3 JSON must give back the same bits.
void fuzz_fill_bits(std::string_view text) {
  for (int t = 0; t <= static_cast<int>(DataType::kComplex128); ++t) {
    DataType type = static_cast<DataType>(t);
    size_t n = dtype_size(type);
    if (text.size() < n) continue;
    std::vector<std::byte> bits(n);
    for (size_t i = 0; i < n; ++i) bits[i] = static_cast<std::byte>(text[i]);
    if (type == DataType::kBool) bits[0] &= std::byte{1};
    nlohmann::json j = nlohmann::json::parse(fill_value_to_json(bits, type, 3).dump());
    auto back = parse_fill_value(j, type, 3, "fill");
    if (!back.has_value() || *back != bits) fail("fill value bits changed through JSON", j.dump());
    auto v2 = parse_fill_value(fill_value_to_json(bits, type, 2), type, 2, "fill");
    if (!v2.has_value()) fail("v2 fill value JSON does not parse", v2.error().to_string());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_v3(text);
  fuzz_v2(text);
  fuzz_fill_bits(text);
  return 0;
}

#ifdef LSIO_FUZZ_STANDALONE
// A small stand-in for libFuzzer's driver: blind mutations of seed documents (no coverage feedback).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

namespace {

using namespace std::string_view_literals;

// (sv literals keep the embedded NUL that separates .zarray from .zattrs)
constexpr std::string_view kSeeds[] = {
    R"({"zarr_format": 3, "node_type": "array", "shape": [100, 200], "data_type": "uint16",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [10, 20]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}}, "fill_value": 7,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration":
        {"level": 0, "checksum": false}}], "attributes": {"units": "m"}, "dimension_names": ["y", null],
        "storage_transformers": []})"sv,
    R"({"zarr_format": 3, "node_type": "array", "shape": [64, 64], "data_type": "float32", "fill_value": "NaN",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [32, 32]}}, "chunk_key_encoding": "v2",
        "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [8, 8], "codecs": ["bytes",
        {"name": "zstd", "configuration": {"level": 1}}], "index_codecs": ["bytes", "crc32c"],
        "index_location": "start"}}], "x": {"must_understand": false}})"sv,
    R"({"zarr_format": 3, "node_type": "array", "shape": [], "data_type": {"name": "complex64"},
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": []}}, "chunk_key_encoding":
        {"name": "default"}, "fill_value": ["-Infinity", "0x7fc00001"], "codecs": ["bytes"]})"sv,
    R"({"zarr_format": 3, "node_type": "array", "shape": [5], "data_type": "float16", "fill_value": "0x7e01",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}}, "chunk_key_encoding":
        {"name": "default", "configuration": {"separator": "."}}, "codecs": [{"name": "bytes"}]})"sv,
    R"({"zarr_format": 3, "node_type": "group", "attributes": {"a": [1, NaN, {"b": null}]},
        "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {}}})"sv,
    R"({"zarr_format": 2, "shape": [10, 10], "chunks": [5, 5], "dtype": ">i4", "fill_value": null, "order": "F",
        "filters": [{"id": "delta", "dtype": ">i4"}], "dimension_separator": "/", "compressor": {"id": "zstd",
        "level": 0}})"sv,
    "{\"zarr_format\": 2, \"shape\": [3], \"chunks\": [2], \"dtype\": \"<c8\", \"fill_value\": [1.0, \"NaN\"], "
    "\"order\": \"C\", \"compressor\": null}\0{\"a\": Infinity}"sv,
    R"({"metadata": {".zgroup": {"zarr_format": 2}}, "zarr_consolidated_format": 1})"sv,
    R"({"zarr_format": 2})"sv,
};

const char* const kTokens[] = {"{",
                               "}",
                               "[",
                               "]",
                               ",",
                               ":",
                               "\"",
                               "null",
                               "true",
                               "false",
                               "-1",
                               "0",
                               "1e400",
                               "NaN",
                               "-3",
                               "65536",
                               "1.5",
                               "\"NaN\"",
                               "\"0x7fc00000\"",
                               "\"name\"",
                               "\"configuration\"",
                               "\"must_understand\": false",
                               "18446744073709551616",
                               "\"sharding_indexed\"",
                               "\"codecs\"",
                               "\"index_codecs\"",
                               "\\u0000",
                               "[[[[[[[["};

std::string seed_text(size_t i) { return std::string(kSeeds[i]); }

std::string mutate(std::string s, std::mt19937_64& rng) {
  size_t rounds = 1 + rng() % 4;
  for (size_t r = 0; r < rounds; ++r) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng());
        break;
      case 1:
        s.insert(pos, kTokens[rng() % std::size(kTokens)]);
        break;
      case 2:
        s.erase(pos, rng() % 16);
        break;
      case 3:
        s.resize(pos);
        break;
      case 4: {
        std::string other = seed_text(rng() % std::size(kSeeds));
        size_t from = other.empty() ? 0 : rng() % other.size();
        s.insert(pos, other.substr(from, rng() % 64));
        break;
      }
      default:
        if (pos < s.size()) s.insert(pos, s.substr(pos, rng() % 32));
        break;
    }
  }
  return s;
}

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

void run_path(const std::filesystem::path& p) {
  if (std::filesystem::is_directory(p)) {
    for (const auto& e : std::filesystem::directory_iterator(p)) run_path(e.path());
    return;
  }
  std::ifstream f(p, std::ios::binary);
  run(std::string(std::istreambuf_iterator<char>(f), {}));
}

}  // namespace

int main(int argc, char** argv) {
  double max_seconds = 5;
  uint64_t runs = UINT64_MAX, seed = std::random_device{}();
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("-max_total_time=")) {
      max_seconds = std::atof(argv[i] + 16);
    } else if (a.starts_with("-runs=")) {
      runs = std::strtoull(argv[i] + 6, nullptr, 10);
    } else if (a.starts_with("-seed=")) {
      seed = std::strtoull(argv[i] + 6, nullptr, 10);
    } else if (a.starts_with("-write_seeds=")) {
      std::filesystem::path dir(argv[i] + 13);
      std::filesystem::create_directories(dir);
      for (size_t k = 0; k < std::size(kSeeds); ++k) std::ofstream(dir / ("seed" + std::to_string(k))) << seed_text(k);
      return 0;
    } else if (!a.starts_with("-")) {
      paths.emplace_back(a);
    }
  }
  if (!paths.empty()) {
    for (const std::string& p : paths) run_path(p);
    std::printf("fuzz_metadata: ran %zu path(s)\n", paths.size());
    return 0;
  }
  std::mt19937_64 rng(seed);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(max_seconds);
  uint64_t n = 0;
  for (size_t k = 0; k < std::size(kSeeds); ++k) run(seed_text(k));
  for (; n < runs && std::chrono::steady_clock::now() < deadline; ++n) {
    run(mutate(seed_text(rng() % std::size(kSeeds)), rng));
  }
  std::printf("fuzz_metadata: %llu mutated inputs, seed %llu, no failure\n", static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(seed));
  return 0;
}
#endif  // LSIO_FUZZ_STANDALONE
