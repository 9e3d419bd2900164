// Array round trips through real stores, through the public API (lsio/zarr.h): write selections, read random
// selections back, compare with a plain in-memory reference array.
#include <gtest/gtest.h>

#include <random>

#include "codec/codec_chain.h"
#include "lsio/zarr.h"
#include "test_util.h"
#include "zarr/metadata.h"

namespace lsio::zarr {
namespace {

using json = nlohmann::json;

ArrayMetadata make_meta(int format, json codecs, std::vector<uint64_t> chunks) {
  ArrayMetadata m;
  m.zarr_format = format;
  m.shape = {37, 50, 23};
  m.chunk_shape = std::move(chunks);
  m.dtype = DataType::kUInt16;
  const uint16_t fill = 7;
  m.fill_value.resize(2);
  std::memcpy(m.fill_value.data(), &fill, 2);
  if (format == 3) {
    m.codecs = json::parse(codecs.dump());  // as read from a zarr.json
  } else {
    m.key_encoding.v2 = true;
    m.key_encoding.separator = '.';
    m.v2_compressor = std::move(codecs);
    m.v2_filters = nullptr;
  }
  return m;
}

// Shards 8x10x12 of inner shards 4x10x6 (index at the start) of chunks 2x5x3 (zstd).
json nested_sharding() {
  const json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  const json zstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
  const json index = {bytes, {{"name", "crc32c"}, {"configuration", json::object()}}};
  const json inner = {
      {"name", "sharding_indexed"},
      {"configuration",
       {{"chunk_shape", {2, 5, 3}}, {"codecs", {bytes, zstd}}, {"index_codecs", index}, {"index_location", "end"}}}};
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", {4, 10, 6}}, {"codecs", {inner}}, {"index_codecs", index}, {"index_location", "start"}}}};
}

// The metadata document Array::create takes.
std::string document(const ArrayMetadata& m) { return m.zarr_format == 3 ? to_v3_json(m) : to_v2_zarray(m); }

struct Case {
  std::string name;
  int format;
  json codecs;
  std::vector<uint64_t> chunks;
};

std::vector<Case> cases() {
  const json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  const json zstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
  const json sharding = {{"name", "sharding_indexed"},
                         {"configuration",
                          {{"chunk_shape", {4, 5, 6}},
                           {"codecs", {bytes, zstd}},
                           {"index_codecs", {bytes, {{"name", "crc32c"}, {"configuration", json::object()}}}},
                           {"index_location", "end"}}}};
  return {
      {"v3_raw", 3, json::array({bytes}), {8, 16, 5}},
      {"v3_zstd", 3, json::array({bytes, zstd}), {8, 16, 5}},
      {"v3_sharded", 3, json::array({sharding}), {8, 10, 12}},
      {"v3_nested_sharded", 3, json::array({nested_sharding()}), {8, 10, 12}},
      {"v2_zstd", 2, json{{"id", "zstd"}, {"level", 1}}, {8, 16, 5}},
  };
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ZarrArray : public ::testing::TestWithParam<std::tuple<Case, std::string>> {};

DimSelection random_dim(std::mt19937_64& rng, uint64_t n) {
  if (rng() % 3 == 0) {
    std::vector<uint64_t> idx(1 + rng() % 5);
    for (auto& i : idx) i = rng() % n;
    return DimSelection::list(idx);
  }
  uint64_t a = rng() % n, b = rng() % n;
  if (a > b) std::swap(a, b);
  return DimSelection::slice(a, b + 1, 1 + rng() % 2);
}

TEST_P(ZarrArray, WriteThenReadRandomSelections) {
  const auto& [c, store_kind] = GetParam();
  testing::TempDir dir;
  auto store = *open_store(store_kind == "memory" ? "memory://" : dir.path());
  auto arr = Array::create(store, "a/b.zarr", document(make_meta(c.format, c.codecs, c.chunks)));
  ASSERT_TRUE(arr) << arr.error().to_string();
  const auto shape = arr->shape();
  std::vector<uint16_t> ref(shape[0] * shape[1] * shape[2], 7);
  auto at = [&](uint64_t i, uint64_t j, uint64_t k) -> uint16_t& { return ref[(i * shape[1] + j) * shape[2] + k]; };
  std::mt19937_64 rng(11);
  for (int w = 0; w < 6; ++w) {
    Selection sel{DimSelection::slice(rng() % 10, 20 + rng() % 17), random_dim(rng, shape[1]),
                  random_dim(rng, shape[2])};
    if (w == 0) sel = {DimSelection::slice(0, 37), DimSelection::slice(0, 50), DimSelection::slice(0, 23)};
    const auto ss = selection_shape(sel);
    std::vector<uint16_t> src(ss[0] * ss[1] * ss[2]);
    for (auto& v : src) v = w == 5 ? 7 : static_cast<uint16_t>(rng());
    ASSERT_TRUE(arr->write(sel, std::as_bytes(std::span(src))).ok());
    auto pick = [&](size_t d, uint64_t k) {
      return sel[d].is_slice ? sel[d].start + k * sel[d].step : sel[d].indices[k];
    };
    for (uint64_t i = 0; i < ss[0]; ++i)
      for (uint64_t j = 0; j < ss[1]; ++j)
        for (uint64_t k = 0; k < ss[2]; ++k) at(pick(0, i), pick(1, j), pick(2, k)) = src[(i * ss[1] + j) * ss[2] + k];
  }
  auto reopened = Array::open(store, "a/b.zarr");
  ASSERT_TRUE(reopened) << reopened.error().to_string();
  for (int r = 0; r < 30; ++r) {
    Selection sel{random_dim(rng, shape[0]), random_dim(rng, shape[1]), random_dim(rng, shape[2])};
    const auto ss = selection_shape(sel);
    std::vector<uint16_t> out(ss[0] * ss[1] * ss[2]);
    Status s = reopened->read(sel, std::as_writable_bytes(std::span(out)));
    ASSERT_TRUE(s.ok()) << s.to_string();
    auto pick = [&](size_t d, uint64_t k) {
      return sel[d].is_slice ? sel[d].start + k * sel[d].step : sel[d].indices[k];
    };
    for (uint64_t i = 0; i < ss[0]; ++i)
      for (uint64_t j = 0; j < ss[1]; ++j)
        for (uint64_t k = 0; k < ss[2]; ++k)
          ASSERT_EQ(out[(i * ss[1] + j) * ss[2] + k], at(pick(0, i), pick(1, j), pick(2, k)))
              << i << "," << j << "," << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ZarrArray,
                         ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Values("file", "memory")),
                         [](const auto& info) { return std::get<0>(info.param).name + "_" + std::get<1>(info.param); });

TEST(ZarrArrayErrors, MissingArrayAndCorruptChunkNameTheKey) {
  testing::TempDir dir;
  auto store = *open_store(dir.path());
  auto missing = Array::open(store, "nope.zarr");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.error().message().find("nope.zarr/zarr.json"), std::string::npos);

  const json zstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
  const json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  auto arr = *Array::create(store, "z", document(make_meta(3, json::array({bytes, zstd}), {8, 16, 5})));
  std::vector<uint16_t> src(8 * 16 * 5, 3);
  Selection first{DimSelection::slice(0, 8), DimSelection::slice(0, 16), DimSelection::slice(0, 5)};
  ASSERT_TRUE(arr.write(first, std::as_bytes(std::span(src))).ok());
  const std::string garbage = "not zstd at all";
  ASSERT_TRUE(store->put("z/c/0/0/0", std::as_bytes(std::span(garbage))).ok());
  Status s = arr.read(first, std::as_writable_bytes(std::span(src)));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
  EXPECT_NE(s.message().find("z/c/0/0/0"), std::string::npos) << s.to_string();
}

// A shard whose inner shard [0, 0, 0] lacks its first chunk (as zarr-python writes a chunk equal to
// the fill value) and whose other inner shards are missing: all of that reads as the fill value 7,
// also after a write into the inner shard (read-modify-write keeps the fill, not zeros).
TEST(ZarrArrayNested, MissingInnerChunksAtEveryLevelReadAsTheFillValue) {
  auto store = *open_store("memory://");
  const ArrayMetadata meta = make_meta(3, json::array({nested_sharding()}), {8, 10, 12});
  auto arr = Array::create(store, "n", document(meta));
  ASSERT_TRUE(arr) << arr.error().to_string();
  auto chain = codec::CodecChain::from_v3(meta.codecs, {DataType::kUInt16, {8, 10, 12}}, "n");
  ASSERT_TRUE(chain) << chain.error().to_string();
  const codec::ShardingSpec& outer = *(*chain)->sharding();
  const codec::ShardingSpec& inner = *outer.inner->sharding();
  // Innermost chunk j of inner shard 0 holds 100 + j everywhere; chunk 0 is missing.
  std::vector<std::optional<Bytes>> innermost(inner.inner_per_shard());
  for (size_t j = 1; j < innermost.size(); ++j) {
    std::vector<uint16_t> block(2 * 5 * 3, static_cast<uint16_t>(100 + j));
    auto encoded = inner.inner->encode(std::as_bytes(std::span(block)), "block");
    ASSERT_TRUE(encoded) << encoded.error().to_string();
    innermost[j] = std::move(*encoded);
  }
  std::vector<std::optional<Bytes>> inner_shards(outer.inner_per_shard());
  inner_shards[0] = inner.encode_shard(innermost);
  const std::vector<uint64_t> origin = {0, 0, 0};
  ASSERT_TRUE(store->put(arr->chunk_key(origin), outer.encode_shard(inner_shards).span()).ok());

  const auto shape = arr->shape();
  bool written = false;
  auto expected = [&](uint64_t i, uint64_t j, uint64_t k) -> uint16_t {
    if (written && i == 3 && j == 9 && k == 5) return 555;
    if (i >= 4 || j >= 10 || k >= 6) return 7;
    const uint64_t chunk = ((i / 2) * 2 + j / 5) * 2 + k / 3;
    return chunk == 0 ? 7 : static_cast<uint16_t>(100 + chunk);
  };
  auto check_all = [&](const char* when) {
    std::vector<uint16_t> out(shape[0] * shape[1] * shape[2]);
    Selection all{DimSelection::slice(0, shape[0]), DimSelection::slice(0, shape[1]), DimSelection::slice(0, shape[2])};
    Status s = arr->read(all, std::as_writable_bytes(std::span(out)));
    ASSERT_TRUE(s.ok()) << when << ": " << s.to_string();
    for (uint64_t i = 0; i < shape[0]; ++i)
      for (uint64_t j = 0; j < shape[1]; ++j)
        for (uint64_t k = 0; k < shape[2]; ++k)
          ASSERT_EQ(out[(i * shape[1] + j) * shape[2] + k], expected(i, j, k))
              << when << " " << i << "," << j << "," << k;
  };
  check_all("as stored");
  // One element of innermost chunk 7 of inner shard 0: the inner shard is decoded, modified, re-encoded.
  const uint16_t one = 555;
  Selection elem{DimSelection::slice(3, 4), DimSelection::slice(9, 10), DimSelection::slice(5, 6)};
  ASSERT_TRUE(arr->write(elem, std::as_bytes(std::span(&one, 1))).ok());
  written = true;
  check_all("after a write");
}

}  // namespace
}  // namespace lsio::zarr
