// Uncompressed chunks of 2 MiB and more that one selection uses mostly are read
// in slabs along their first dimension (array_read.cc, kSlabBytes): every slab
// lands in the right place, edge chunks and strided selections included, and a
// chunk file of the wrong size or a missing one is handled as a whole read is.
#include <gtest/gtest.h>

#include <optional>
#include <random>

#include "forwarding_store.h"
#include "lsio/zarr.h"
#include "test_util.h"
#include "zarr/metadata.h"
#include "zarr_test_util.h"

namespace lsio::zarr {
namespace {

using json = nlohmann::json;

const json kBytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};

// uint8, chunks of 16 x 256 x 512 (2 MiB: two slabs of 8 rows); the first dimension ends in a partial chunk.
constexpr uint64_t kShape[3] = {40, 300, 512};
constexpr uint64_t kChunk[3] = {16, 256, 512};

json sharded_raw() {
  return json::array({{{"name", "sharding_indexed"},
                       {"configuration",
                        {{"chunk_shape", std::vector<uint64_t>(std::begin(kChunk), std::end(kChunk))},
                         {"codecs", json::array({kBytes})},
                         {"index_codecs", json::array({kBytes})},
                         {"index_location", "end"}}}}});
}

class Slabs : public ::testing::TestWithParam<bool> {  // sharded (inner chunks of kChunk in shards of 32 x 256 x 512)
 protected:
  void SetUp() override {
    store_ = *open_store(dir_.path());
    const ArrayMetadata m =
        testing::v3_metadata({kShape[0], kShape[1], kShape[2]},
                             GetParam() ? std::vector<uint64_t>{32, 256, 512} : std::vector<uint64_t>{16, 256, 512},
                             DataType::kUInt8, {std::byte{7}}, GetParam() ? sharded_raw() : json::array({kBytes}));
    auto a = Array::create(store_, "a", to_v3_json(m));
    ASSERT_TRUE(a) << a.error().to_string();
    array_ = *a;
    ref_.resize(kShape[0] * kShape[1] * kShape[2]);
    std::mt19937 rng(11);
    for (auto& v : ref_) v = static_cast<uint8_t>(rng());
    ASSERT_TRUE(array_->write(all(), std::as_bytes(std::span(ref_))).ok());
  }

  static Selection all() {
    return {DimSelection::slice(0, kShape[0]), DimSelection::slice(0, kShape[1]), DimSelection::slice(0, kShape[2])};
  }
  uint8_t at(uint64_t i, uint64_t j, uint64_t k) const { return ref_[(i * kShape[1] + j) * kShape[2] + k]; }
  std::vector<uint8_t> read(const Selection& sel, size_t n, Status* status = nullptr) {
    std::vector<uint8_t> out(n, 0);
    Status s = array_->read(sel, std::as_writable_bytes(std::span(out)));
    if (status)
      *status = s;
    else
      EXPECT_TRUE(s.ok()) << s.to_string();
    return out;
  }
  std::string chunk_file(const std::string& key) const { return dir_.file("a/c/" + key); }

  testing::TempDir dir_;
  std::shared_ptr<Store> store_;
  std::optional<Array> array_;
  std::vector<uint8_t> ref_;
};

TEST_P(Slabs, WholeArrayMatches) { EXPECT_EQ(read(all(), ref_.size()), ref_); }

TEST_P(Slabs, OffsetAndStridedSelectionsMatch) {
  // Rows 3..38 step 2 (both slabs of the first chunks, part of the edge chunk), most of every row and column.
  const Selection sel{DimSelection::slice(3, 39, 2), DimSelection::slice(10, 290), DimSelection::slice(5, 500)};
  const auto out = read(sel, 18 * 280 * 495);
  size_t n = 0;
  for (uint64_t i = 3; i < 39; i += 2)
    for (uint64_t j = 10; j < 290; ++j)
      for (uint64_t k = 5; k < 500; ++k, ++n) ASSERT_EQ(out[n], at(i, j, k)) << i << "," << j << "," << k;
}

TEST_P(Slabs, ConvertedCropsMatch) {
  // Crops covering most of a chunk, converted to float32 with a scale per first-dimension position.
  const std::vector<uint64_t> crop{12, 200, 400};
  const std::vector<int64_t> starts{2, 30, 50, 20, 0, 112};
  Conversion conv{DataType::kFloat32, 0, std::vector<double>(12, 0.5), {1.0}};
  std::vector<float> out(2 * 12 * 200 * 400);
  Status s = array_->read_crops(starts, crop, std::as_writable_bytes(std::span(out)), &conv);
  ASSERT_TRUE(s.ok()) << s.to_string();
  size_t n = 0;
  for (size_t c = 0; c < 2; ++c)
    for (uint64_t i = 0; i < 12; ++i)
      for (uint64_t j = 0; j < 200; ++j)
        for (uint64_t k = 0; k < 400; ++k, ++n) {
          const uint64_t ai = starts[3 * c] + i, aj = starts[3 * c + 1] + j, ak = starts[3 * c + 2] + k;
          const float want = ai < kShape[0] && aj < kShape[1] ? float(at(ai, aj, ak)) * 0.5f + 1.0f : 7 * 0.5f + 1;
          ASSERT_FLOAT_EQ(out[n], want) << c << ":" << i << "," << j << "," << k;
        }
}

// Serves reads through another store and records the longest bounded range asked for and the max_merged option.
class RecordingStore : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  uint64_t longest = 0, max_merged = 0;

 protected:
  void start(std::shared_ptr<detail::BatchState> state) override {
    if (state->kind == detail::SinkKind::kCallback) {  // the chunks (metadata and shard indexes are read otherwise)
      const ReadBatch& batch = *state->batch;
      for (size_t i = 0; i < batch.size(); ++i)
        if (batch.range(i).is_bounded()) longest = std::max<uint64_t>(longest, batch.range(i).length());
      max_merged = state->options.max_merged.value_or(0);
    }
    forward(*state);
  }
};

TEST_P(Slabs, ChunksAreReadInSlabsOfAtMostAMebibyte) {
  auto recording = std::make_shared<RecordingStore>(store_);
  auto a = Array::open(recording, "a");
  ASSERT_TRUE(a) << a.error().to_string();
  std::vector<uint8_t> out(ref_.size());
  ASSERT_TRUE(a->read(all(), std::as_writable_bytes(std::span(out))).ok());
  EXPECT_EQ(out, ref_);
  EXPECT_EQ(recording->longest, 1u << 20);  // not the 2 MiB chunk (nor a 4 MiB shard)
  EXPECT_EQ(recording->max_merged, 1u << 20);
}

INSTANTIATE_TEST_SUITE_P(Layouts, Slabs, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "sharded" : "unsharded"; });

class SlabErrors : public Slabs {};

TEST_P(SlabErrors, ShortOrLongChunkFilesAreDataLossNamingTheFile) {
  const std::string victim = chunk_file("1/0/0");
  const auto bytes = testing::random_bytes(kChunk[0] * kChunk[1] * kChunk[2], 2);
  for (const size_t size : {size_t{100}, bytes.size() - 1, bytes.size() / 2 + 5, bytes.size() + 3}) {
    std::vector<std::byte> data(bytes.begin(), bytes.begin() + std::min(size, bytes.size()));
    data.resize(size, std::byte{1});
    testing::write_file(victim, data);
    Status s;
    read(all(), ref_.size(), &s);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << size << ": " << s.to_string();
    EXPECT_NE(s.message().find("a/c/1/0/0"), std::string::npos) << s.to_string();
  }
}

TEST_P(SlabErrors, MissingChunkReadsAsFill) {
  ASSERT_EQ(std::remove(chunk_file("1/0/0").c_str()), 0);
  const auto out = read(all(), ref_.size());
  for (uint64_t i = 0; i < kShape[0]; ++i)
    for (uint64_t j = 0; j < kShape[1]; j += 7)
      for (uint64_t k = 0; k < kShape[2]; k += 13) {
        const bool gone = i >= 16 && i < 32 && j < 256;
        ASSERT_EQ(out[(i * kShape[1] + j) * kShape[2] + k], gone ? 7 : at(i, j, k)) << i << "," << j << "," << k;
      }
}

INSTANTIATE_TEST_SUITE_P(Unsharded, SlabErrors, ::testing::Values(false));

}  // namespace
}  // namespace lsio::zarr
