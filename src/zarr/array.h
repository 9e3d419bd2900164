// ArrayImpl: a Zarr v2 or v3 array on a Store, behind the public lsio::zarr::Array
// (include/lsio/zarr.h, which documents the contract). Reads any orthogonal
// selection in one batched pass (sharded arrays: one batch of shard indexes,
// then one batch of every inner chunk needed), decoding each chunk on the
// worker that read it and writing it straight into its place in the output.
// Every store read takes the caller's ReadOptions.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "codec/codec_chain.h"
#include "lsio/store.h"
#include "lsio/zarr.h"
#include "zarr/indexing.h"
#include "zarr/metadata.h"
#include "zarr/placement.h"
#include "zarr/shard_index_cache.h"

namespace lsio::zarr {

// Receives decoded chunks instead of an output buffer (ArrayImpl::visit): the
// fused decode-and-reduce path. Called on the store's workers, several at
// once; must not throw (report failures as a Status).
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Forget everything received (the read is planned again after a shard changed under it).
  virtual void reset() = 0;
  // A decoded chunk (C order, `chunk_shape`, native endian) and the elements of
  // it the block selects (`parts`: positions in the chunk and in the block,
  // whose shape is `block_shape`).
  virtual Status chunk(const std::byte* src, std::span<const uint64_t> chunk_shape,
                       std::span<const DimPart* const> parts, std::span<const uint64_t> block_shape) = 0;
  // A missing chunk: the selected elements are all the fill value.
  virtual Status fill(std::span<const DimPart* const> parts, std::span<const uint64_t> block_shape) = 0;
};

class ArrayImpl {
 public:
  // Opens the array whose metadata is at `path` in `store` ("" for the store
  // root): zarr.json (v3) first, else .zarray (v2).
  static Result<std::shared_ptr<ArrayImpl>> open(std::shared_ptr<Store> store, std::string path,
                                                 const ReadOptions& options);
  // The array described by metadata already read and parsed from `where` (the
  // key of its document, for errors): builds its codec chain, reads nothing.
  static Result<std::shared_ptr<ArrayImpl>> from_metadata(std::shared_ptr<Store> store, std::string path,
                                                          ArrayMetadata metadata, std::string_view where);
  // Writes the metadata document and returns the (empty) array. Existing
  // metadata at `path` is replaced only when `overwrite`.
  static Result<std::shared_ptr<ArrayImpl>> create(std::shared_ptr<Store> store, std::string path,
                                                   ArrayMetadata metadata, bool overwrite = false);

  const ArrayMetadata& metadata() const { return meta_; }
  const std::string& path() const { return path_; }
  const std::shared_ptr<Store>& store() const { return store_; }
  size_t itemsize() const;
  // The shard shape for sharded arrays (the outer chunk shape), else empty.
  std::vector<uint64_t> shard_shape() const;
  // The chunk shape a user thinks in: inner chunks for sharded arrays.
  std::vector<uint64_t> read_chunk_shape() const;

  // Reads `sel` into `out`: C order, selection_shape(sel), itemsize() bytes
  // per element, native endian. Missing chunks, shards and inner chunks read
  // as the fill value. Errors name the chunk key and cause.
  Status read(const Selection& sel, std::span<std::byte> out, const ReadOptions& options);
  // Reads many crops in one batch: crop i is the box starting at
  // starts[i*ndim .. i*ndim+ndim) with `crop_shape`, written to
  // out[i * crop bytes ...] in C order. Starts may be negative and crops may
  // run past the end: elements outside the array read as the fill value. With
  // a conversion the output elements are conversion->dtype, converted (and
  // scaled per channel) as each chunk is placed; channel_dim counts the crop's
  // dimensions.
  Status read_crops(std::span<const int64_t> starts, std::span<const uint64_t> crop_shape, std::span<std::byte> out,
                    const Conversion* conversion, const ReadOptions& options);
  // Writes `src` (C order, selection_shape(sel)) into `sel`. Chunks (or
  // shards) are rewritten whole and atomically; partial ones are read,
  // modified and written. Chunks equal to the fill value are not stored.
  Status write(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options);

  // The key of the chunk (shard) with these grid coordinates.
  std::string chunk_key(std::span<const uint64_t> coords) const;

  // One output block of a read: the selection, where its first element goes
  // inside the block (per dimension; empty = origin), and the block itself.
  struct Block {
    Selection sel;
    std::vector<uint64_t> out_offset;
    Placement place;
  };

  // Reads `blocks` (their Placements give only the block shapes) and hands
  // each chunk, decoded on the worker that read it, to `sink` rather than
  // placing it. Chunks are always read whole.
  Status visit(std::span<const Block> blocks, ChunkSink& sink, const ReadOptions& options);
  // Array::reduce (src/zarr/reduce.cc).
  Result<Stats> reduce(const Selection& sel, std::span<const size_t> axes, const ReadOptions& options);

 private:
  ArrayImpl(std::shared_ptr<Store> store, std::string path, ArrayMetadata meta,
            std::shared_ptr<const codec::CodecChain> chain)
      : store_(std::move(store)), path_(std::move(path)), meta_(std::move(meta)), chain_(std::move(chain)) {}

  struct ChunkTask;
  std::vector<ChunkTask> plan_chunks(const Selection& sel, std::span<const uint64_t> grid_chunk,
                                     std::vector<std::vector<DimPart>>& storage) const;
  class ReadPlan;
  Status read_blocks(std::span<const Block> blocks, const ReadOptions& options, ChunkSink* sink = nullptr);
  // The index and version of each shard in `keys` (index null: the shard does not exist), from the
  // cache or read in one batch (and then cached).
  using ShardIndexes = std::unordered_map<std::string, ShardIndexCache::Entry>;
  Result<ShardIndexes> shard_indexes(const std::vector<std::string>& keys, const ReadOptions& options) const;
  // With a RAM cache in the store, pinned reads no longer meet the storage, so
  // each call confirms the versions of the indexes it holds by one stat batch
  // (which the store may answer from RAM, StoreOptions::cache_revalidate_after);
  // a changed shard's index moves from `held` to `todo`.
  Status revalidate_indexes(ShardIndexes& held, std::vector<std::string>& todo) const;
  Status read_shard_indexes(const std::vector<std::string>& keys, const ReadOptions& options, ShardIndexes& out) const;
  Status write_unsharded(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options);
  Status write_sharded(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options);
  bool is_fill(std::span<const std::byte> chunk) const;

  std::shared_ptr<Store> store_;
  std::string path_;
  ArrayMetadata meta_;
  std::shared_ptr<const codec::CodecChain> chain_;

  // Decoded shard indexes by shard key, bounded in bytes, tagged with the shard's version.
  mutable ShardIndexCache index_cache_;
};

}  // namespace lsio::zarr
