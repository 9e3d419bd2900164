// Array::read_crops and the partial / direct reads of uncompressed chunks, through the public API (lsio/zarr.h),
// checked against a plain reference array.
#include <gtest/gtest.h>

#include <optional>
#include <random>

#include "lsio/zarr.h"
#include "test_util.h"
#include "zarr/metadata.h"
#include "zarr_test_util.h"

namespace lsio::zarr {
namespace {

using json = nlohmann::json;

const json kBytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
const json kZstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};

json sharded(json inner, std::vector<uint64_t> inner_shape) {
  return json::array({{{"name", "sharding_indexed"},
                       {"configuration",
                        {{"chunk_shape", inner_shape},
                         {"codecs", std::move(inner)},
                         {"index_codecs", {kBytes}},
                         {"index_location", "start"}}}}});
}

struct Layout {
  std::string name;
  json codecs;
  std::vector<uint64_t> chunks;
};

std::vector<Layout> layouts() {
  return {
      {"raw", json::array({kBytes}), {8, 16, 16}},
      {"raw_rows", json::array({kBytes}), {1, 20, 30}},  // each chunk is one contiguous run of a full-width read
      {"zstd", json::array({kBytes, kZstd}), {8, 16, 16}},
      {"sharded_raw", sharded(json::array({kBytes}), {4, 4, 8}), {8, 8, 16}},
      {"sharded_zstd", sharded(json::array({kBytes, kZstd}), {4, 4, 8}), {8, 8, 16}},
  };
}

constexpr uint64_t kShape[3] = {21, 20, 30};
constexpr uint16_t kFill = 9;

class Crops : public ::testing::TestWithParam<Layout> {
 protected:
  void SetUp() override {
    store_ = *open_store(dir_.path());
    const ArrayMetadata m =
        testing::v3_metadata({kShape[0], kShape[1], kShape[2]}, GetParam().chunks, DataType::kUInt16,
                             {std::byte{kFill}, std::byte{0}}, GetParam().codecs);
    auto a = Array::create(store_, "a", to_v3_json(m));
    ASSERT_TRUE(a) << a.error().to_string();
    array_ = *a;
    ref_.resize(kShape[0] * kShape[1] * kShape[2]);
    std::mt19937 rng(5);
    for (auto& v : ref_) v = static_cast<uint16_t>(rng() % 50000);
    // Leave the first time steps unwritten: missing chunks / shards read as the fill value.
    for (uint64_t i = 0; i < 8 * kShape[1] * kShape[2]; ++i) ref_[i] = kFill;
    Selection rest{DimSelection::slice(8, kShape[0]), DimSelection::slice(0, kShape[1]),
                   DimSelection::slice(0, kShape[2])};
    ASSERT_TRUE(array_->write(rest, std::as_bytes(std::span(ref_).subspan(8 * kShape[1] * kShape[2]))).ok());
  }

  // The reference value at (i, j, k), the fill value outside the array.
  uint16_t at(int64_t i, int64_t j, int64_t k) const {
    if (i < 0 || j < 0 || k < 0 || i >= int64_t(kShape[0]) || j >= int64_t(kShape[1]) || k >= int64_t(kShape[2]))
      return kFill;
    return ref_[(i * kShape[1] + j) * kShape[2] + k];
  }

  testing::TempDir dir_;
  std::shared_ptr<Store> store_;
  std::optional<Array> array_;
  std::vector<uint16_t> ref_;
};

std::vector<int64_t> random_starts(size_t n, std::span<const uint64_t> crop) {
  std::mt19937_64 rng(3);
  std::vector<int64_t> s;
  for (size_t i = 0; i < n; ++i)
    for (size_t d = 0; d < 3; ++d)
      s.push_back(static_cast<int64_t>(rng() % (kShape[d] + crop[d])) - static_cast<int64_t>(crop[d]) + 1);
  return s;
}

TEST_P(Crops, RawCropsMatchTheReferenceInsideAndOutside) {
  const std::vector<uint64_t> crop{5, 7, 11};
  auto starts = random_starts(40, crop);
  starts.insert(starts.end(), {-100, 0, 0, 0, 0, 0});  // wholly outside, then the origin
  const size_t n = starts.size() / 3, per = 5 * 7 * 11;
  std::vector<uint16_t> out(n * per, 0xffff);
  Status s = array_->read_crops(starts, crop, std::as_writable_bytes(std::span(out)));
  ASSERT_TRUE(s.ok()) << s.to_string();
  for (size_t c = 0; c < n; ++c)
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 7; ++j)
        for (int64_t k = 0; k < 11; ++k)
          ASSERT_EQ(out[c * per + (i * 7 + j) * 11 + k],
                    at(starts[c * 3] + i, starts[c * 3 + 1] + j, starts[c * 3 + 2] + k))
              << "crop " << c << " at " << i << "," << j << "," << k;
}

TEST_P(Crops, ConvertedCropsScalePerChannel) {
  const std::vector<uint64_t> crop{4, 6, 9};
  const auto starts = random_starts(25, crop);
  Conversion conv{DataType::kFloat32, 1, {0.5, 1, 2, 3, 4, 5}, {-1.0}};
  std::vector<float> out(25 * 4 * 6 * 9);
  Status s = array_->read_crops(starts, crop, std::as_writable_bytes(std::span(out)), &conv);
  ASSERT_TRUE(s.ok()) << s.to_string();
  for (size_t c = 0; c < 25; ++c)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 6; ++j)
        for (int64_t k = 0; k < 9; ++k) {
          const float want =
              float(at(starts[c * 3] + i, starts[c * 3 + 1] + j, starts[c * 3 + 2] + k)) * float(conv.scale[j]) - 1.0f;
          ASSERT_FLOAT_EQ(out[((c * 4 + i) * 6 + j) * 9 + k], want) << "crop " << c;
        }
}

TEST_P(Crops, WholeArrayReadMatches) {
  std::vector<uint16_t> out(ref_.size());
  Selection all{DimSelection::slice(0, kShape[0]), DimSelection::slice(0, kShape[1]),
                DimSelection::slice(0, kShape[2])};
  ASSERT_TRUE(array_->read(all, std::as_writable_bytes(std::span(out))).ok());
  EXPECT_EQ(out, ref_);
}

INSTANTIATE_TEST_SUITE_P(Layouts, Crops, ::testing::ValuesIn(layouts()),
                         [](const auto& info) { return info.param.name; });

// An uncompressed uint8 array, fill value 0.
ArrayMetadata raw_uint8(std::vector<uint64_t> shape, std::vector<uint64_t> chunks) {
  return testing::v3_metadata(std::move(shape), std::move(chunks), DataType::kUInt8, {std::byte{0}},
                              json::array({kBytes}));
}

TEST(CropsErrors, BadArgumentsAreRefused) {
  testing::TempDir dir;
  auto store = *open_store(dir.path());
  auto a = *Array::create(store, "a", to_v3_json(raw_uint8({10, 10}, {5, 5})));
  std::vector<std::byte> out(2 * 9);
  const std::vector<int64_t> starts{0, 0, 1, 1};
  EXPECT_EQ(a.read_crops(starts, std::vector<uint64_t>{3}, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.read_crops(starts, std::vector<uint64_t>{3, 4}, out).code(), StatusCode::kInvalidArgument);
  Conversion bad_channels{DataType::kFloat32, 0, {1, 2}, {0}};
  std::vector<float> f(2 * 9);
  Status s = a.read_crops(starts, std::vector<uint64_t>{3, 3}, std::as_writable_bytes(std::span(f)), &bad_channels);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("channel"), std::string::npos) << s.to_string();
  Conversion to_int{DataType::kUInt16, 0, {1}, {0}};
  EXPECT_EQ(a.read_crops(starts, std::vector<uint64_t>{3, 3}, out, &to_int).code(), StatusCode::kInvalidArgument);
}

TEST(CropsErrors, TruncatedRawChunkIsAnErrorNotFillOrGarbage) {
  testing::TempDir dir;
  auto store = *open_store(dir.path());
  auto a = *Array::create(store, "a", to_v3_json(raw_uint8({64, 64}, {64, 64})));
  const std::vector<std::byte> half(64 * 32, std::byte{1});
  ASSERT_TRUE(store->put("a/c/0/0", half).ok());
  std::vector<std::byte> out(4 * 4);
  // The crop's bytes lie past the end of the truncated chunk: read partially, it must still fail and name it.
  Status s = a.read_crops(std::vector<int64_t>{60, 60}, std::vector<uint64_t>{4, 4}, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("a/c/0/0"), std::string::npos) << s.to_string();
}

}  // namespace
}  // namespace lsio::zarr
