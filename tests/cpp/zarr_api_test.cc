// The public Zarr API (lsio/zarr.h): create from metadata text, the metadata accessors, open_node, and the
// ReadOptions contract (every store read a call makes gets the caller's options).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "core/batch_state.h"
#include "forwarding_store.h"
#include "lsio/zarr.h"
#include "test_util.h"

namespace lsio::zarr {
namespace {

std::span<const std::byte> text_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

const char* kShardedV3 = R"({
  "zarr_format": 3, "node_type": "array", "shape": [10, 12], "data_type": "int16",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 6]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": -1,
  "codecs": [{"name": "sharding_indexed", "configuration": {
      "chunk_shape": [2, 3],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"level": 1}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
      "index_location": "end"}}],
  "attributes": {"units": "K"},
  "dimension_names": ["y", null]
})";

const char* kRawV3 = R"({
  "zarr_format": 3, "node_type": "array", "shape": [10, 12], "data_type": "uint8",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 12]}},
  "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
  "codecs": [{"name": "bytes"}]
})";

// A v2 array whose fill value is Python's bare NaN token (json.dumps(float("nan"))).
const char* kV2 = R"({"zarr_format": 2, "shape": [6], "chunks": [4], "dtype": "<f8", "fill_value": NaN,
  "order": "C", "filters": null, "compressor": {"id": "zstd", "level": 1}, "dimension_separator": "."})";

TEST(ZarrApi, CreateFromV3TextAndReadTheMetadataBack) {
  auto store = *open_store("memory://");
  auto a = Array::create(store, "x.zarr/", kShardedV3);
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->path(), "x.zarr");
  EXPECT_EQ(a->zarr_format(), 3);
  EXPECT_EQ(a->shape(), (std::vector<uint64_t>{10, 12}));
  EXPECT_EQ(a->chunk_shape(), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(a->shard_shape(), (std::vector<uint64_t>{4, 6}));
  EXPECT_EQ(a->dtype(), DataType::kInt16);
  EXPECT_EQ(a->numpy_typestr(), "<i2");
  EXPECT_EQ(a->itemsize(), 2u);
  int16_t fill = 0;
  ASSERT_EQ(a->fill_value().size(), 2u);
  std::memcpy(&fill, a->fill_value().data(), 2);
  EXPECT_EQ(fill, -1);
  EXPECT_EQ(a->attributes_json(), R"({"units":"K"})");
  ASSERT_EQ(a->dimension_names().size(), 2u);
  EXPECT_EQ(a->dimension_names()[0], "y");
  EXPECT_EQ(a->dimension_names()[1], std::nullopt);
  EXPECT_EQ(a->chunk_key(std::vector<uint64_t>{1, 0}), "x.zarr/c/1/0");
  EXPECT_NE(a->metadata_json().find("\"sharding_indexed\""), std::string::npos);

  // Copies share the array; a reopened array sees what was written.
  Array copy = *a;
  std::vector<int16_t> src(10 * 12);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<int16_t>(i);
  const Selection all{DimSelection::slice(0, 10), DimSelection::slice(0, 12)};
  ASSERT_TRUE(copy.write(all, std::as_bytes(std::span(src))).ok());
  auto b = Array::open(store, "x.zarr");
  ASSERT_TRUE(b) << b.error().to_string();
  const Selection sel{DimSelection::list({9, 0}), DimSelection::slice(1, 12, 5)};
  ASSERT_EQ(selection_shape(sel), (std::vector<uint64_t>{2, 3}));
  std::vector<int16_t> out(6);
  ASSERT_TRUE(b->read(sel, std::as_writable_bytes(std::span(out))).ok());
  EXPECT_EQ(out, (std::vector<int16_t>{109, 114, 119, 1, 6, 11}));
}

TEST(ZarrApi, CreateV2WithAttributesAndPythonNaNTokens) {
  auto store = *open_store("memory://");
  auto a = Array::create(store, "v2", kV2, R"({"scale": NaN, "name": "t"})");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->zarr_format(), 2);
  EXPECT_EQ(a->numpy_typestr(), "<f8");
  EXPECT_TRUE(a->shard_shape().empty());
  EXPECT_TRUE(a->dimension_names().empty());
  EXPECT_NE(a->metadata_json().find("\"attributes\":{"), std::string::npos) << a->metadata_json();
  std::vector<double> out(6, 0.0);
  ASSERT_TRUE(a->read({DimSelection::slice(0, 6)}, std::as_writable_bytes(std::span(out))).ok());
  for (double v : out) EXPECT_TRUE(std::isnan(v));
  auto node = open_node(store, "v2");
  ASSERT_TRUE(node) << node.error().to_string();
  ASSERT_TRUE(std::holds_alternative<Array>(*node));
  EXPECT_EQ(std::get<Array>(*node).attributes_json(), a->attributes_json());
}

TEST(ZarrApi, CreateRefusesExistingMetadataUnlessOverwrite) {
  auto store = *open_store("memory://");
  ASSERT_TRUE(Array::create(store, "a", kRawV3));
  auto again = Array::create(store, "a", kRawV3);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.error().message().find("a/zarr.json already exists"), std::string::npos) << again.error().to_string();
  auto over = Array::create(store, "a", kV2, "", /*overwrite=*/true);
  ASSERT_TRUE(over) << over.error().to_string();
  EXPECT_EQ(Array::open(store, "a")->zarr_format(), 2);
}

TEST(ZarrApi, BadDocumentsNameTheKey) {
  auto store = *open_store("memory://");
  auto not_json = Array::create(store, "p/q", "{\"zarr_format\": 3,");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code(), StatusCode::kDataLoss);
  EXPECT_NE(not_json.error().message().find("p/q/zarr.json"), std::string::npos) << not_json.error().to_string();
  auto bad_v2 = Array::create(store, "p/q", R"({"zarr_format": 2, "shape": [-1]})");
  ASSERT_FALSE(bad_v2);
  EXPECT_EQ(bad_v2.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_v2.error().message().find("p/q/.zarray"), std::string::npos) << bad_v2.error().to_string();
  auto codec = Array::create(
      store, "p/q", std::string(kRawV3).replace(std::string(kRawV3).find("\"bytes\"}"), 7, "\"no_such_codec\""));
  ASSERT_FALSE(codec);
  EXPECT_EQ(codec.error().code(), StatusCode::kUnimplemented) << codec.error().to_string();
  EXPECT_FALSE(open_node(store, "p/q")) << "a refused create writes nothing";
}

TEST(ZarrApi, OpenNodeFindsArraysAndGroupsOfBothFormats) {
  testing::TempDir dir;
  auto store = *open_store(dir.path());
  ASSERT_TRUE(store
                  ->put("g3/zarr.json", text_bytes(R"({"zarr_format": 3, "node_type": "group",
      "attributes": {"a": 1}, "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {}}})"))
                  .ok());
  ASSERT_TRUE(store->put("g2/.zgroup", text_bytes(R"({"zarr_format": 2})")).ok());
  ASSERT_TRUE(store->put("g2/.zattrs", text_bytes(R"({"b": [1, 2]})")).ok());
  ASSERT_TRUE(store
                  ->put("g2/.zmetadata", text_bytes(R"({"zarr_consolidated_format": 1,
      "metadata": {".zgroup": {"zarr_format": 2}}})"))
                  .ok());
  ASSERT_TRUE(Array::create(store, "g3/arr", kRawV3));

  auto g3 = open_node(store, "g3");
  ASSERT_TRUE(g3) << g3.error().to_string();
  const Group& group3 = std::get<Group>(*g3);
  EXPECT_EQ(group3.path, "g3");
  EXPECT_EQ(group3.zarr_format, 3);
  EXPECT_EQ(group3.attributes_json, R"({"a":1})");
  ASSERT_TRUE(group3.consolidated_json);
  EXPECT_NE(group3.consolidated_json->find("inline"), std::string::npos);

  auto g2 = open_node(store, "g2/");
  ASSERT_TRUE(g2) << g2.error().to_string();
  const Group& group2 = std::get<Group>(*g2);
  EXPECT_EQ(group2.zarr_format, 2);
  EXPECT_EQ(group2.attributes_json, R"({"b":[1,2]})");
  ASSERT_TRUE(group2.consolidated_json);
  EXPECT_NE(group2.consolidated_json->find(".zgroup"), std::string::npos);

  auto arr = open_node(store, "g3/arr");
  ASSERT_TRUE(arr) << arr.error().to_string();
  EXPECT_EQ(std::get<Array>(*arr).shape(), (std::vector<uint64_t>{10, 12}));

  auto missing = open_node(store, "nothing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  for (const char* key : {"nothing/zarr.json", "nothing/.zarray", "nothing/.zgroup"})
    EXPECT_NE(missing.error().message().find(key), std::string::npos) << missing.error().to_string();
  auto not_array = Array::open(store, "g2");
  ASSERT_FALSE(not_array);
  EXPECT_EQ(not_array.error().code(), StatusCode::kNotFound);
}

// A store that checks every read it serves carries the options of the Zarr call that caused it.
class OptionsCheckingStore : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  void expect_gap(uint64_t gap) { gap_ = gap; }
  int reads() const { return reads_; }
  std::vector<std::string> mismatches() const {
    std::lock_guard lock(mu_);
    return mismatches_;
  }

 protected:
  // Checks the options, then serves the batch through the inner store.
  void start(std::shared_ptr<detail::BatchState> state) override {
    static constexpr const char* kOps[] = {"read", "read_into", "for_each"};
    check(kOps[static_cast<int>(state->kind)], *state->batch, state->options);
    forward(*state);
  }

 private:
  void check(const char* op, const ReadBatch& batch, const ReadOptions& options) {
    ++reads_;
    if (options.coalesce_gap.value_or(0) == gap_) return;
    std::lock_guard lock(mu_);
    mismatches_.push_back(std::string(op) + " " + (batch.size() ? batch.path_of(0) : "") + ": coalesce_gap " +
                          std::to_string(options.coalesce_gap.value_or(0)) + ", expected " + std::to_string(gap_));
  }

  std::atomic<uint64_t> gap_{0};
  std::atomic<int> reads_{0};
  mutable std::mutex mu_;
  std::vector<std::string> mismatches_;
};

TEST(ZarrApi, EveryStoreReadGetsTheCallersOptions) {
  auto store = std::make_shared<OptionsCheckingStore>(*open_store("memory://"));
  ReadOptions options;
  options.coalesce_gap = 12345;  // a marker: the default is 0
  for (const char* doc : {kShardedV3, kRawV3, kV2}) {
    SCOPED_TRACE(doc);
    store->expect_gap(0);
    auto created = Array::create(store, "a", doc, "", /*overwrite=*/true);
    ASSERT_TRUE(created) << created.error().to_string();
    store->expect_gap(*options.coalesce_gap);
    const int before = store->reads();
    auto a = Array::open(store, "a", options);
    ASSERT_TRUE(a) << a.error().to_string();
    ASSERT_TRUE(open_node(store, "a", options));
    const uint64_t rows = a->shape()[0], cols = a->shape().size() > 1 ? a->shape()[1] : 1;
    const size_t isz = a->itemsize();
    Selection all{DimSelection::slice(0, rows)};
    if (a->shape().size() > 1) all.push_back(DimSelection::slice(0, cols));
    std::vector<std::byte> data(rows * cols * isz, std::byte{3});
    ASSERT_TRUE(a->write(all, data, options).ok());
    // A partial write: read-modify-write of the chunks (shards) it touches.
    Selection part = all;
    part[0] = DimSelection::slice(1, 2);
    ASSERT_TRUE(a->write(part, std::span(data).first(cols * isz), options).ok());
    ASSERT_TRUE(a->read(all, data, options).ok());
    // A narrow read of the raw array is read by the kernel straight into the output (read_into).
    part.back() = DimSelection::slice(0, 1);
    ASSERT_TRUE(a->read(part, std::span(data).first(isz), options).ok());
    std::vector<int64_t> starts(a->shape().size(), -1);
    std::vector<uint64_t> crop(a->shape().size(), 3);
    std::vector<std::byte> crops(27 * isz);
    ASSERT_TRUE(
        a->read_crops(starts, crop, std::span(crops).first(isz * (crop.size() == 1 ? 3 : 9)), nullptr, options).ok());
    EXPECT_GT(store->reads(), before + 5);
    EXPECT_EQ(store->mismatches(), std::vector<std::string>{});
  }
}

}  // namespace
}  // namespace lsio::zarr
