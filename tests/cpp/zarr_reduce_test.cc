// Array::reduce: fused decode-and-reduce against a naive reduction of the same elements, on sharded and unsharded
// arrays with missing chunks, NaN, fill values, integer sums past the dtype's range, axis reductions and empty
// selections.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "lsio/zarr.h"

namespace lsio::zarr {
namespace {

std::string v3_meta(const std::string& shape, const std::string& dtype, const std::string& chunks,
                    const std::string& fill, const std::string& inner = "") {
  const std::string codecs =
      inner.empty()
          ? R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"level": 1}}])"
          : R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": )" + inner +
                R"(, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"level": 1}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]}}])";
  return R"({"zarr_format": 3, "node_type": "array", "shape": )" + shape + R"(, "data_type": ")" + dtype +
         R"(", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": )" + chunks +
         R"(}}, "chunk_key_encoding": {"name": "default"}, "fill_value": )" + fill + R"(, "codecs": )" + codecs + "}";
}

Selection all(const Array& a) {
  Selection sel;
  for (uint64_t n : a.shape()) sel.push_back(DimSelection::slice(0, n));
  return sel;
}

template <typename T>
T raw_as(const std::vector<std::byte>& v, size_t i) {
  T x;
  std::memcpy(&x, v.data() + i * sizeof(T), sizeof(T));
  return x;
}

TEST(ZarrReduce, FullReductionWithMissingChunksMatchesNaive) {
  for (const bool sharded : {false, true}) {
    auto store = *open_store("memory://");
    auto a = Array::create(
        store, "a", v3_meta("[20, 30]", "float32", sharded ? "[10, 15]" : "[4, 7]", "2.5", sharded ? "[5, 5]" : ""));
    ASSERT_TRUE(a) << a.error().to_string();
    // Write only rows 0..11 (the rest stays missing = fill value 2.5).
    std::vector<float> v(12 * 30);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(static_cast<double>(i)) * 100.0);
    ASSERT_TRUE(a->write({DimSelection::slice(0, 12), DimSelection::slice(0, 30)}, std::as_bytes(std::span(v))).ok());
    std::vector<double> all_vals(v.begin(), v.end());
    all_vals.resize(20 * 30, 2.5);
    const std::vector<size_t> axes{0, 1};
    auto st = a->reduce(all(*a), axes);
    ASSERT_TRUE(st) << st.error().to_string();
    ASSERT_TRUE(st->shape.empty());
    ASSERT_EQ(st->count.size(), 1u);
    double sum = 0;
    for (double x : all_vals) sum += x;
    const double mean = sum / 600.0;
    double m2 = 0;
    for (double x : all_vals) m2 += (x - mean) * (x - mean);
    EXPECT_EQ(st->count[0], 600u);
    EXPECT_EQ(st->nan_count[0], 0u);
    EXPECT_NEAR(st->sum[0], sum, 1e-6);
    EXPECT_NEAR(st->mean[0], mean, 1e-9);
    EXPECT_NEAR(st->m2[0], m2, 1e-6 * m2);
    EXPECT_EQ(raw_as<float>(st->min, 0), static_cast<float>(*std::min_element(all_vals.begin(), all_vals.end())));
    EXPECT_EQ(raw_as<float>(st->max, 0), static_cast<float>(*std::max_element(all_vals.begin(), all_vals.end())));
  }
}

TEST(ZarrReduce, AxisReductionsMatchNaive) {
  auto store = *open_store("memory://");
  auto a = Array::create(store, "a", v3_meta("[6, 5, 7]", "int16", "[4, 2, 3]", "-1", "[2, 2, 3]"));
  ASSERT_TRUE(a) << a.error().to_string();
  std::vector<int16_t> v(6 * 5 * 7);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int16_t>((i * 37) % 101 - 50);
  // Leave the last plane missing (fill -1).
  ASSERT_TRUE(a->write({DimSelection::slice(0, 5), DimSelection::slice(0, 5), DimSelection::slice(0, 7)},
                       std::as_bytes(std::span(v).first(5 * 35)))
                  .ok());
  for (size_t i = 5 * 35; i < v.size(); ++i) v[i] = -1;
  const std::vector<size_t> axes{0, 2};
  // A strided, offset selection: rows 1..5 step 2, all of dim 1, cols 1..6.
  const Selection sel{DimSelection::slice(1, 6, 2), DimSelection::slice(0, 5), DimSelection::slice(1, 7)};
  auto st = a->reduce(sel, axes);
  ASSERT_TRUE(st) << st.error().to_string();
  ASSERT_EQ(st->shape, (std::vector<uint64_t>{5}));
  for (uint64_t j = 0; j < 5; ++j) {
    int64_t sum = 0, mn = 1 << 20, mx = -(1 << 20), n = 0;
    for (uint64_t i = 1; i < 6; i += 2)
      for (uint64_t k = 1; k < 7; ++k) {
        const int64_t x = v[i * 35 + j * 7 + k];
        sum += x, mn = std::min(mn, x), mx = std::max(mx, x), ++n;
      }
    EXPECT_EQ(st->count[j], static_cast<uint64_t>(n));
    EXPECT_EQ(st->int_sum_lo[j], static_cast<uint64_t>(sum));
    EXPECT_EQ(st->int_sum_hi[j], sum < 0 ? -1 : 0);
    EXPECT_EQ(raw_as<int16_t>(st->min, j), mn);
    EXPECT_EQ(raw_as<int16_t>(st->max, j), mx);
    EXPECT_NEAR(st->mean[j], static_cast<double>(sum) / static_cast<double>(n), 1e-12);
  }
}

TEST(ZarrReduce, IntegerSumsDoNotOverflow) {
  auto store = *open_store("memory://");
  auto a = Array::create(store, "a", v3_meta("[64]", "int64", "[8]", "0"));
  ASSERT_TRUE(a);
  std::vector<int64_t> v(64, std::numeric_limits<int64_t>::max() - 3);
  ASSERT_TRUE(a->write(all(*a), std::as_bytes(std::span(v))).ok());
  const std::vector<size_t> axes{0};
  auto st = a->reduce(all(*a), axes);
  ASSERT_TRUE(st);
  const __int128 want = static_cast<__int128>(std::numeric_limits<int64_t>::max() - 3) * 64;
  const auto u = static_cast<unsigned __int128>(want);
  EXPECT_EQ(st->int_sum_hi[0], static_cast<int64_t>(static_cast<uint64_t>(u >> 64)));
  EXPECT_EQ(st->int_sum_lo[0], static_cast<uint64_t>(u));
}

TEST(ZarrReduce, NaNsAreCountedApart) {
  auto store = *open_store("memory://");
  auto a = Array::create(store, "a", v3_meta("[10]", "float64", "[3]", "\"NaN\""));
  ASSERT_TRUE(a);
  std::vector<double> v{1, std::nan(""), 3, 4};
  ASSERT_TRUE(a->write({DimSelection::slice(0, 4)}, std::as_bytes(std::span(v))).ok());
  const std::vector<size_t> axes{0};
  auto st = a->reduce(all(*a), axes);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->count[0], 3u);
  EXPECT_EQ(st->nan_count[0], 7u);  // one written, six of fill value (missing chunks 2 and 3, and 4..5)
  EXPECT_DOUBLE_EQ(st->sum[0], 8.0);
  EXPECT_EQ(raw_as<double>(st->min, 0), 1.0);
  EXPECT_EQ(raw_as<double>(st->max, 0), 4.0);
}

TEST(ZarrReduce, EmptySelectionsAndBadAxes) {
  auto store = *open_store("memory://");
  auto a = Array::create(store, "a", v3_meta("[4, 6]", "uint8", "[2, 3]", "7"));
  ASSERT_TRUE(a);
  const std::vector<size_t> axis0{0};
  auto st = a->reduce({DimSelection::slice(2, 2), DimSelection::slice(0, 6)}, axis0);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(st->shape, (std::vector<uint64_t>{6}));
  for (uint64_t c : st->count) EXPECT_EQ(c, 0u);
  // Untouched array: every element is the fill value, without a single chunk read.
  auto full = a->reduce(all(*a), axis0);
  ASSERT_TRUE(full);
  for (size_t j = 0; j < 6; ++j) EXPECT_EQ(full->int_sum_lo[j], 28u);
  const std::vector<size_t> bad{2}, twice{1, 1};
  EXPECT_EQ(a->reduce(all(*a), bad).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a->reduce(all(*a), twice).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a->reduce({DimSelection::list({0, 1}), DimSelection::slice(0, 6)}, axis0).error().code(),
            StatusCode::kInvalidArgument);
}

TEST(ZarrReduce, CorruptChunkNamesTheKey) {
  auto store = *open_store("memory://");
  auto a = Array::create(store, "a", v3_meta("[8]", "float32", "[4]", "0"));
  ASSERT_TRUE(a);
  std::vector<float> v(8, 1.0f);
  ASSERT_TRUE(a->write(all(*a), std::as_bytes(std::span(v))).ok());
  const std::string junk = "not zstd";
  ASSERT_TRUE(store->put("a/c/1", std::as_bytes(std::span(junk.data(), junk.size()))).ok());
  const std::vector<size_t> axes{0};
  auto st = a->reduce(all(*a), axes);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().to_string().find("a/c/1"), std::string::npos) << st.error().to_string();
}

TEST(ZarrReduce, ManyChunksFoldedOnSeveralWorkers) {
  // 1024 chunks (256 shards of 4 inner chunks), written in parallel and reduced on every worker of the store.
  for (const bool sharded : {false, true}) {
    auto store = *open_store("memory://");
    auto a = Array::create(
        store, "a", v3_meta("[128, 128]", "float64", sharded ? "[8, 8]" : "[4, 4]", "0", sharded ? "[4, 4]" : ""));
    ASSERT_TRUE(a) << a.error().to_string();
    std::vector<double> v(128 * 128);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 7919) % 1000) / 7.0;
    ASSERT_TRUE(a->write(all(*a), std::as_bytes(std::span(v))).ok());
    const std::vector<size_t> both{0, 1}, rows{1};
    auto st = a->reduce(all(*a), both);
    ASSERT_TRUE(st) << st.error().to_string();
    double sum = 0;
    for (double x : v) sum += x;
    EXPECT_EQ(st->count[0], v.size());
    EXPECT_NEAR(st->sum[0], sum, 1e-9 * sum);
    auto per_row = a->reduce(all(*a), rows);
    ASSERT_TRUE(per_row);
    for (size_t r = 0; r < 128; ++r) {
      double s = 0;
      for (size_t c = 0; c < 128; ++c) s += v[r * 128 + c];
      EXPECT_NEAR(per_row->mean[r], s / 128.0, 1e-9) << r;
    }
  }
}

}  // namespace
}  // namespace lsio::zarr
