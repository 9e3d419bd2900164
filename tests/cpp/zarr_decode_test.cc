// Decoding compressed chunks straight into the output (array_read.cc decode_target, shard_chain.cc in-place inner
// chunks) and the scratch path beside it: outputs checked against a plain reference array, for chunks that map to one
// contiguous run of the output and for those that do not (cut, partial edge chunks, narrower boxes, conversions),
// missing chunks, corrupt chunks and chunks decoding to the wrong size. Through the public API (lsio/zarr.h).
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/bytes_codec.h"
#include "codec/codec_chain.h"
#include "lsio/zarr.h"
#include "test_util.h"

namespace lsio::zarr {
namespace {

using json = nlohmann::json;

constexpr uint16_t kFill = 9;
constexpr size_t kGuard = 4096;  // bytes after the output that no read may touch
constexpr std::byte kGuardByte = std::byte{0xAB};

const json kBytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};

json compressor(const std::string& name) {
  if (name == "zstd") return {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
  if (name == "gzip") return {{"name", "gzip"}, {"configuration", {{"level", 1}}}};
  return {
      {"name", "blosc"},
      {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"typesize", 2}, {"blocksize", 0}}}};
}

// The codec of compressor(name), to write chunks of the wrong size.
std::unique_ptr<codec::BytesCodec> make_codec(const std::string& name) {
  if (name == "zstd") return codec::make_zstd(1, false);
  if (name == "gzip") return codec::make_gzip(1);
  codec::BloscOptions o;
  o.typesize = 2;
  return *codec::make_blosc(o);
}

std::string v3_metadata(const std::vector<uint64_t>& shape, const std::vector<uint64_t>& chunks, const json& codecs) {
  return json{{"zarr_format", 3},
              {"node_type", "array"},
              {"shape", shape},
              {"data_type", "uint16"},
              {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", chunks}}}}},
              {"chunk_key_encoding", {{"name", "default"}}},
              {"fill_value", kFill},
              {"codecs", codecs}}
      .dump();
}

json sharded(const json& inner_codecs, const std::vector<uint64_t>& inner) {
  return json::array({{{"name", "sharding_indexed"},
                       {"configuration",
                        {{"chunk_shape", inner},
                         {"codecs", inner_codecs},
                         {"index_codecs", json::array({kBytes})},
                         {"index_location", "end"}}}}});
}

uint64_t count(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t s : shape) n *= s;
  return n;
}

// A buffer with guard bytes after `n` elements, to catch a chunk decoded past the end of its place.
struct Guarded {
  std::vector<std::byte> bytes;
  size_t n;

  explicit Guarded(size_t elements, size_t itemsize = 2)
      : bytes(elements * itemsize + kGuard, kGuardByte), n(elements) {}
  std::span<std::byte> out() { return {bytes.data(), bytes.size() - kGuard}; }
  template <typename T>
  std::vector<T> values() const {
    std::vector<T> v(n);
    std::memcpy(v.data(), bytes.data(), n * sizeof(T));
    return v;
  }
  bool guard_intact() const {
    return std::all_of(bytes.end() - kGuard, bytes.end(), [](std::byte b) { return b == kGuardByte; });
  }
};

class DecodeFixture {
 protected:
  void make(const std::vector<uint64_t>& shape, const std::vector<uint64_t>& chunks, const json& codecs,
            bool write_all = true) {
    shape_ = shape;
    store_ = *open_store(dir_.path());
    auto a = Array::create(store_, "a", v3_metadata(shape, chunks, codecs));
    ASSERT_TRUE(a) << a.error().to_string();
    array_ = std::make_unique<Array>(*a);
    ref_.resize(count(shape));
    for (size_t i = 0; i < ref_.size(); ++i) ref_[i] = static_cast<uint16_t>(1000 + (i * 7) % 4001);
    if (write_all) ASSERT_TRUE(array_->write(all(), std::as_bytes(std::span(ref_))).ok());
  }

  Selection all() const {
    Selection sel;
    for (uint64_t n : shape_) sel.push_back(DimSelection::slice(0, n));
    return sel;
  }

  // The reference elements of a box of slices (3-d).
  std::vector<uint16_t> expected(const Selection& sel) const {
    std::vector<uint16_t> v;
    for (uint64_t i = sel[0].start; i < sel[0].stop; ++i)
      for (uint64_t j = sel[1].start; j < sel[1].stop; ++j)
        for (uint64_t k = sel[2].start; k < sel[2].stop; ++k) v.push_back(ref_[(i * shape_[1] + j) * shape_[2] + k]);
    return v;
  }

  // Reads `sel` into a guarded buffer and checks it against the reference.
  void expect_read(const Selection& sel) {
    const std::vector<uint16_t> want = expected(sel);
    Guarded g(want.size());
    const Status s = array_->read(sel, g.out());
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(g.values<uint16_t>(), want);
    EXPECT_TRUE(g.guard_intact());
  }

  // The reference crop at `start` of `crop` (3-d), the fill value outside the array.
  std::vector<uint16_t> expected_crop(std::span<const int64_t> start, std::span<const uint64_t> crop) const {
    std::vector<uint16_t> v;
    for (uint64_t i = 0; i < crop[0]; ++i)
      for (uint64_t j = 0; j < crop[1]; ++j)
        for (uint64_t k = 0; k < crop[2]; ++k) {
          const int64_t p[3] = {start[0] + int64_t(i), start[1] + int64_t(j), start[2] + int64_t(k)};
          bool inside = true;
          for (size_t d = 0; d < 3; ++d) inside = inside && p[d] >= 0 && p[d] < int64_t(shape_[d]);
          v.push_back(inside ? ref_[(p[0] * shape_[1] + p[1]) * shape_[2] + p[2]] : kFill);
        }
    return v;
  }

  testing::TempDir dir_;
  std::shared_ptr<Store> store_;
  std::unique_ptr<Array> array_;
  std::vector<uint64_t> shape_;
  std::vector<uint16_t> ref_;
};

// ---------------------------------------------------------------------------
// Unsharded chunks of (2, 6, 8) in a (9, 6, 8) array: whole reads put every chunk in one contiguous run of the
// output, except the last one, which is cut by the array's edge (1 of its 2 planes).

class DirectDecode : public DecodeFixture, public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { make({9, 6, 8}, {2, 6, 8}, json::array({kBytes, compressor(GetParam())})); }
};

TEST_P(DirectDecode, WholeReadsAndPartialEdgeChunk) {
  expect_read(all());
  expect_read(all());  // again: per-thread state reused
}

TEST_P(DirectDecode, ContiguousAndCutSelections) {
  using D = DimSelection;
  expect_read({D::slice(2, 8), D::slice(0, 6), D::slice(0, 8)});  // whole chunks, in place
  expect_read({D::slice(1, 9), D::slice(0, 6), D::slice(0, 8)});  // every chunk cut: scratch
  expect_read({D::slice(0, 9), D::slice(0, 6), D::slice(0, 7)});  // narrower rows: scratch
  expect_read({D::slice(0, 9), D::slice(1, 6), D::slice(0, 8)});  // fewer rows: scratch
  expect_read({D::slice(4, 6), D::slice(0, 6), D::slice(0, 8)});  // one chunk, the whole output
  expect_read({D::slice(8, 9), D::slice(0, 6), D::slice(0, 8)});  // the edge chunk alone
}

TEST_P(DirectDecode, ListSelectionsUseTheScratchPath) {
  using D = DimSelection;
  Selection sel = {D::list({3, 2}), D::slice(0, 6), D::slice(0, 8)};  // a whole chunk, planes swapped
  std::vector<uint16_t> want;
  for (uint64_t i : {3, 2})
    for (uint64_t e = 0; e < 48; ++e) want.push_back(ref_[i * 48 + e]);
  Guarded g(want.size());
  ASSERT_TRUE(array_->read(sel, g.out()).ok());
  EXPECT_EQ(g.values<uint16_t>(), want);
  EXPECT_TRUE(g.guard_intact());
}

TEST_P(DirectDecode, CropsSharingAChunkClippedAndAtTheEdge) {
  const std::vector<uint64_t> crop = {2, 6, 8};
  // In place twice (one chunk, two crops), cut, clipped below and above, the edge chunk.
  const std::vector<int64_t> starts = {2, 0, 0, 2, 0, 0, 3, 0, 0, -1, 0, 0, 8, 0, 0, 6, 0, 0};
  const size_t n = starts.size() / 3;
  Guarded g(n * count(crop));
  const Status s = array_->read_crops(starts, crop, g.out());
  ASSERT_TRUE(s.ok()) << s.to_string();
  const auto got = g.values<uint16_t>();
  for (size_t c = 0; c < n; ++c) {
    const auto want = expected_crop(std::span(starts).subspan(c * 3, 3), crop);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin() + c * want.size())) << "crop " << c;
  }
  EXPECT_TRUE(g.guard_intact());
}

TEST_P(DirectDecode, ConvertedCropsAreNotDecodedInPlace) {
  const std::vector<uint64_t> crop = {2, 6, 8};
  const std::vector<int64_t> starts = {2, 0, 0, 4, 0, 0};  // whole chunks, contiguous in their crops
  const Conversion cast{DataType::kFloat32, 0, {0.5}, {-3.0}};
  Guarded g(2 * count(crop), 4);
  const Status s = array_->read_crops(starts, crop, g.out(), &cast);
  ASSERT_TRUE(s.ok()) << s.to_string();
  const auto got = g.values<float>();
  for (size_t c = 0; c < 2; ++c) {
    const auto want = expected_crop(std::span(starts).subspan(c * 3, 3), crop);
    for (size_t e = 0; e < want.size(); ++e) {
      ASSERT_EQ(got[c * want.size() + e], static_cast<float>(want[e]) * 0.5f - 3.0f) << "crop " << c << " elem " << e;
    }
  }
  EXPECT_TRUE(g.guard_intact());
}

TEST_P(DirectDecode, CorruptChunkFailsTheReadNamingTheKey) {
  const auto garbage = testing::random_bytes(300, 5);
  ASSERT_TRUE(store_->put("a/c/1/0/0", garbage).ok());
  Guarded g(count(shape_));
  const Status s = array_->read(all(), g.out());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
  EXPECT_NE(s.to_string().find("a/c/1/0/0"), std::string::npos) << s.to_string();
  EXPECT_TRUE(g.guard_intact());
  const std::vector<int64_t> starts = {2, 0, 0};
  const std::vector<uint64_t> crop = {2, 6, 8};
  Guarded c(count(crop));
  EXPECT_EQ(array_->read_crops(starts, crop, c.out()).code(), StatusCode::kDataLoss);
}

TEST_P(DirectDecode, ChunkDecodingToTheWrongSizeIsDataLoss) {
  const auto codec = make_codec(GetParam());
  for (size_t bytes : {size_t{2 * 6 * 8 * 2 / 2}, size_t{2 * 6 * 8 * 2 * 2}, size_t{2 * 6 * 8 * 2 + 2}}) {
    const std::vector<std::byte> payload(bytes, std::byte{1});
    auto encoded = codec->encode(payload, "test");
    ASSERT_TRUE(encoded) << encoded.error().to_string();
    ASSERT_TRUE(store_->put("a/c/2/0/0", encoded->span()).ok());
    Guarded g(count(shape_));
    const Status s = array_->read(all(), g.out());
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << bytes << ": " << s.to_string();
    EXPECT_NE(s.to_string().find("a/c/2/0/0"), std::string::npos) << s.to_string();
    EXPECT_TRUE(g.guard_intact()) << bytes;
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, DirectDecode, ::testing::Values("zstd", "blosc", "gzip"));

// ---------------------------------------------------------------------------

class DecodeMore : public DecodeFixture, public ::testing::Test {};

TEST_F(DecodeMore, MissingChunksReadAsFillAroundChunksDecodedInPlace) {
  make({9, 6, 8}, {2, 6, 8}, json::array({kBytes, compressor("zstd")}), false);
  using D = DimSelection;
  const Selection middle = {D::slice(2, 4), D::slice(0, 6), D::slice(0, 8)};
  const std::vector<uint16_t> part = expected(middle);
  ASSERT_TRUE(array_->write(middle, std::as_bytes(std::span(part))).ok());
  for (size_t i = 0; i < ref_.size(); ++i) ref_[i] = i >= 2 * 48 && i < 4 * 48 ? ref_[i] : kFill;
  expect_read(all());
}

TEST_F(DecodeMore, ChunksNotContiguousInTheOutput) {
  make({5, 6, 8}, {2, 3, 8}, json::array({kBytes, compressor("zstd")}));
  expect_read(all());
  using D = DimSelection;
  expect_read({D::slice(0, 2), D::slice(0, 3), D::slice(0, 8)});  // one whole chunk: in place
}

TEST_F(DecodeMore, TransposeAndTwoCompressorsThroughReusedScratch) {
  const json transpose = {{"name", "transpose"}, {"configuration", {{"order", {2, 0, 1}}}}};
  make({9, 6, 8}, {2, 6, 8}, json::array({transpose, kBytes, compressor("gzip"), compressor("zstd")}));
  expect_read(all());
  expect_read(all());
  using D = DimSelection;
  expect_read({D::slice(1, 9), D::slice(0, 6), D::slice(0, 8)});
}

TEST_F(DecodeMore, BigEndianChunksThroughReusedScratch) {
  const json big = {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}};
  make({9, 6, 8}, {2, 6, 8}, json::array({big, compressor("blosc")}));
  expect_read(all());
  expect_read(all());
}

TEST_F(DecodeMore, ShardedInnerChunksDecodedInPlace) {
  // Inner chunks of one plane: each one contiguous in a whole read; the last shard is cut by the array.
  make({7, 6, 8}, {4, 6, 8}, sharded(json::array({kBytes, compressor("zstd")}), {1, 6, 8}), false);
  using D = DimSelection;
  // Plane 1 stays the fill value: its inner chunk is left out of the shard (missing).
  for (uint64_t p : {0, 2, 3, 4, 5, 6}) {
    const Selection plane = {D::slice(p, p + 1), D::slice(0, 6), D::slice(0, 8)};
    const std::vector<uint16_t> v = expected(plane);
    ASSERT_TRUE(array_->write(plane, std::as_bytes(std::span(v))).ok());
  }
  std::fill(ref_.begin() + 48, ref_.begin() + 96, kFill);
  expect_read(all());
  expect_read({D::slice(2, 6), D::slice(0, 6), D::slice(0, 8)});
  expect_read({D::slice(2, 6), D::slice(0, 6), D::slice(1, 8)});
  const std::vector<int64_t> starts = {3, 0, 0, 5, 0, 0, 6, 0, 0};
  const std::vector<uint64_t> crop = {2, 6, 8};
  Guarded g(3 * count(crop));
  ASSERT_TRUE(array_->read_crops(starts, crop, g.out()).ok());
  const auto got = g.values<uint16_t>();
  for (size_t c = 0; c < 3; ++c) {
    const auto want = expected_crop(std::span(starts).subspan(c * 3, 3), crop);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin() + c * want.size())) << "crop " << c;
  }
  EXPECT_TRUE(g.guard_intact());
}

TEST_F(DecodeMore, CorruptInnerChunkFailsTheRead) {
  make({8, 6, 8}, {4, 6, 8}, sharded(json::array({kBytes, compressor("zstd")}), {1, 6, 8}));
  // Flip the bytes of the first inner chunk of shard 1 (index at the end: inner chunks first).
  ReadBatch batch;
  batch.add("a/c/1/0/0", ByteRange::whole());
  auto results = store_->read(batch);
  ASSERT_TRUE(results[0]) << results[0].error().to_string();
  const Bytes* shard = &*results[0];
  std::vector<std::byte> bytes(shard->span().begin(), shard->span().end());
  for (size_t i = 0; i < 16; ++i) bytes[i] = ~bytes[i];
  ASSERT_TRUE(store_->put("a/c/1/0/0", bytes).ok());
  Guarded g(count(shape_));
  const Status s = array_->read(all(), g.out());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
  EXPECT_NE(s.to_string().find("a/c/1/0/0"), std::string::npos) << s.to_string();
  EXPECT_TRUE(g.guard_intact());
}

// A whole shard through CodecChain::decode: inner chunks spanning the shard's trailing dimensions decode in place,
// the others through a block buffer; missing ones read as the fill value either way.
TEST(ShardChainDecode, ContiguousAndNonContiguousInnerChunks) {
  const codec::ChunkLayout layout{DataType::kUInt16, {4, 6, 8}};
  const uint64_t n = layout.num_elements();
  std::vector<uint16_t> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint16_t>(i * 3 + 1);
  const std::vector<std::vector<uint64_t>> inners = {{1, 6, 8}, {2, 6, 8}, {4, 6, 8}, {1, 1, 8}, {2, 3, 8}, {4, 6, 4}};
  for (const auto& inner : inners) {
    const std::string what = json(inner).dump();
    auto chain = codec::CodecChain::from_v3(sharded(json::array({kBytes, compressor("zstd")}), inner), layout, "t");
    ASSERT_TRUE(chain) << chain.error().to_string();
    const codec::ShardingSpec& spec = *(*chain)->sharding();
    auto encoded = (*chain)->encode(std::as_bytes(std::span(data)), "s");
    ASSERT_TRUE(encoded) << encoded.error().to_string();
    // The same shard with inner chunk 1 (0 when it is the only one) left out.
    const uint64_t index_at = *spec.index_offset(encoded->size(), "s");
    const auto entries =
        *spec.decode_index(encoded->span().subspan(index_at, spec.index_encoded_size()), encoded->size(), "s");
    std::vector<std::optional<Bytes>> chunks;
    for (const auto& e : entries) chunks.push_back(Bytes::copy_of(encoded->span().subspan(e.offset, e.nbytes)));
    const uint64_t hole = entries.size() > 1 ? 1 : 0;
    chunks[hole].reset();
    const Bytes holed = spec.encode_shard(chunks);
    std::vector<uint16_t> want_holed = data;
    const auto grid = spec.inner_grid();
    for (uint64_t i = 0; i < 4; ++i)
      for (uint64_t j = 0; j < 6; ++j)
        for (uint64_t k = 0; k < 8; ++k) {
          const uint64_t c = ((i / inner[0]) * grid[1] + j / inner[1]) * grid[2] + k / inner[2];
          if (c == hole) want_holed[(i * 6 + j) * 8 + k] = kFill;
        }
    const uint16_t fill = kFill;
    for (const auto& [shard, want] : {std::pair{encoded->span(), &data}, std::pair{holed.span(), &want_holed}}) {
      Guarded g(n);
      const Status s = (*chain)->decode(shard, g.out(), "s", std::as_bytes(std::span(&fill, 1)));
      ASSERT_TRUE(s.ok()) << what << ": " << s.to_string();
      EXPECT_EQ(g.values<uint16_t>(), *want) << what;
      EXPECT_TRUE(g.guard_intact()) << what;
    }
  }
}

}  // namespace
}  // namespace lsio::zarr
