// Readers racing writers: the shard-index cache is bounded and validated by
// the shard's version, so a shard rewritten by another writer is read as the
// new shard (or the old one), never as a mix of the two.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "lsio/zarr.h"
#include "test_util.h"
#include "zarr/shard_index_cache.h"

namespace lsio::zarr {
namespace {

// One shard of 4 inner chunks; zstd makes the inner chunk sizes depend on the data, so a rewrite moves them.
const char* kDoc = R"({
  "zarr_format": 3, "node_type": "array", "shape": [64, 64], "data_type": "int32",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [64, 64]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": 0,
  "codecs": [{"name": "sharding_indexed", "configuration": {
      "chunk_shape": [32, 32],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"level": 1}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
      "index_location": "end"}}]
})";

std::vector<int32_t> content(int version) {
  std::vector<int32_t> v(64 * 64);
  std::mt19937 rng(version);
  // Version 1 compresses well, version 2 hardly: every inner chunk moves and changes size.
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = version == 1 ? static_cast<int32_t>(i / 64) : static_cast<int32_t>(rng());
  return v;
}

Selection all() { return {DimSelection::slice(0, 64), DimSelection::slice(0, 64)}; }

std::vector<int32_t> read_all(const Array& a) {
  std::vector<int32_t> out(64 * 64);
  Status s = a.read(all(), std::as_writable_bytes(std::span(out)));
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

class Consistency : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<Store> open() {
    auto s = open_store(GetParam() == "memory" ? "memory://" : dir_.path());
    EXPECT_TRUE(s) << s.error().to_string();
    return *s;
  }
  testing::TempDir dir_;
};

TEST_P(Consistency, ShardRewrittenByAnotherWriterIsReadAsTheNewShard) {
  auto store = open();
  auto reader = Array::create(store, "a", kDoc);
  ASSERT_TRUE(reader) << reader.error().to_string();
  const auto v1 = content(1), v2 = content(2);
  ASSERT_TRUE(reader->write(all(), std::as_bytes(std::span(v1))).ok());
  EXPECT_EQ(read_all(*reader), v1);  // the reader now caches the shard's index
  // Another writer (its own Array, its own cache) rewrites the shard.
  auto writer = Array::open(store, "a");
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(all(), std::as_bytes(std::span(v2))).ok());
  EXPECT_EQ(read_all(*reader), v2);
  std::vector<int32_t> crop(4 * 32 * 32);
  const std::vector<int64_t> starts = {0, 0, 32, 32, 0, 32, 32, 0};
  const std::vector<uint64_t> shape = {32, 32};
  ASSERT_TRUE(writer->write(all(), std::as_bytes(std::span(v1))).ok());
  ASSERT_TRUE(reader->read_crops(starts, shape, std::as_writable_bytes(std::span(crop))).ok());
  EXPECT_EQ(crop[0], v1[0]);
  EXPECT_EQ(crop[32 * 32], v1[32 * 64 + 32]);
}

TEST_P(Consistency, ReadersRacingAWriterSeeOneVersionPerShard) {
  auto store = open();
  auto a = Array::create(store, "a", kDoc);
  ASSERT_TRUE(a);
  const auto v1 = content(1), v2 = content(2);
  ASSERT_TRUE(a->write(all(), std::as_bytes(std::span(v1))).ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto w = Array::open(store, "a");
    for (int i = 0; i < 200 && !stop; ++i) ASSERT_TRUE(w->write(all(), std::as_bytes(std::span(i % 2 ? v1 : v2))).ok());
    stop = true;
  });
  int reads = 0;
  while (!stop) {
    std::vector<int32_t> out(64 * 64);
    Status s = a->read(all(), std::as_writable_bytes(std::span(out)));
    if (!s.ok()) {  // allowed only as the clear error of a shard that kept changing
      EXPECT_EQ(s.code(), StatusCode::kAborted) << s.to_string();
      continue;
    }
    ++reads;
    ASSERT_TRUE(out == v1 || out == v2) << "a read mixed two versions of the shard";
  }
  writer.join();
  EXPECT_GT(reads, 0);
}

TEST(ShardIndexCache, StaysWithinItsByteBudget) {
  ShardIndexCache cache(64 << 10);
  auto index = std::make_shared<const std::vector<codec::ShardIndexEntry>>(256);  // 4 KiB each
  for (int i = 0; i < 100; ++i) cache.put("shard/" + std::to_string(i), {"v" + std::to_string(i), index});
  EXPECT_LE(cache.bytes(), 64u << 10);
  EXPECT_LT(cache.size(), 16u);
  EXPECT_FALSE(cache.get("shard/0"));  // least recently used went first
  ASSERT_TRUE(cache.get("shard/99"));
  EXPECT_EQ(cache.get("shard/99")->version, "v99");
  cache.erase("shard/99");
  EXPECT_FALSE(cache.get("shard/99"));
}

INSTANTIATE_TEST_SUITE_P(Stores, Consistency, ::testing::Values("file", "memory"));

}  // namespace
}  // namespace lsio::zarr
