// Zarr codec chains: the codecs of one array, parsed once, applied to every chunk.
//
// A chain is (array->array codecs) + one array->bytes codec + (bytes->bytes codecs),
// exactly as in the Zarr v3 "codecs" list; a v2 array (order, dtype endianness,
// compressor) is expressed as the same kind of chain. Decoded chunks are always
// C order in native (little-endian) byte order.
//
// Sharding (`sharding_indexed`) is an array->bytes codec whose chunks are shards:
// the pipeline treats a shard as a store of inner chunks (DESIGN.md), so a sharded
// chain exposes a ShardingSpec (index decoding/validation, inner chain) for reading
// single inner chunks by range. Its decode()/encode() work on a whole shard in
// memory, through the inner chain; since that chain may itself be sharded, this is
// what reads and writes nested sharding (an outer shard's inner chunk is a shard).
//
// Decoding never trusts sizes found in the data: every stage is bounded by the
// size it can legitimately produce, and a chunk that decodes to any other size
// than the layout's is a kDataLoss error naming the key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "lsio/bytes.h"
#include "lsio/dtype.h"
#include "lsio/status.h"

namespace lsio::codec {

class BytesCodec;  // a bytes->bytes stage (bytes_codec.h)

// A chunk as decoded: C order, native little-endian elements.
struct ChunkLayout {
  DataType dtype;
  std::vector<uint64_t> shape;

  uint64_t num_elements() const;  // product(shape); 1 for a 0-d chunk
  uint64_t num_bytes() const;     // num_elements() * dtype_size(dtype)
};

enum class IndexLocation { kStart, kEnd };

// One inner chunk's place in a shard; the pair (2^64-1, 2^64-1) marks a missing chunk.
struct ShardIndexEntry {
  static constexpr uint64_t kMissing = ~uint64_t{0};
  uint64_t offset = kMissing;
  uint64_t nbytes = kMissing;

  bool missing() const { return offset == kMissing && nbytes == kMissing; }
  friend bool operator==(const ShardIndexEntry&, const ShardIndexEntry&) = default;
};

class CodecChain;

// The configuration of a `sharding_indexed` codec, with both sub-chains parsed.
struct ShardingSpec {
  std::vector<uint64_t> shard_shape;        // the chunk shape of the outer chain
  std::vector<uint64_t> inner_shape;        // inner chunk shape (divides shard_shape exactly)
  std::shared_ptr<const CodecChain> inner;  // inner chunk codecs (may itself be sharded)
  std::shared_ptr<const CodecChain> index;  // index codecs: bytes (+ crc32c); fixed encoded size
  IndexLocation location = IndexLocation::kEnd;

  uint64_t inner_per_shard() const;          // product(inner_grid())
  std::vector<uint64_t> inner_grid() const;  // shard_shape / inner_shape per dimension
  uint64_t index_encoded_size() const;       // 16 * inner_per_shard() (+ 4 per crc32c)
  // Offset of the index inside a shard of `shard_size` bytes (kDataLoss naming `key` when it does not fit).
  Result<uint64_t> index_offset(uint64_t shard_size, std::string_view key) const;

  // Decodes the index read from a shard of `shard_size` bytes and validates it: the
  // crc32c matches, every entry lies inside the shard (no overflow), missing pairs
  // are allowed, no two entries overlap and no entry overlaps the index. Entries are
  // in C order of inner_grid(). kDataLoss naming `key` and the entry number.
  Result<std::vector<ShardIndexEntry>> decode_index(std::span<const std::byte> encoded, uint64_t shard_size,
                                                    std::string_view key) const;
  // Precondition: entries.size() == inner_per_shard() (throws std::invalid_argument otherwise).
  Bytes encode_index(std::span<const ShardIndexEntry> entries) const;
  // A whole shard from its encoded inner chunks (C order of inner_grid(); nullopt = missing):
  // the chunks back to back, the index at `location`.
  Bytes encode_shard(std::span<const std::optional<Bytes>> inner_chunks) const;
};

class CodecChain {
 public:
  // A Zarr v3 "codecs" array (entries {name, configuration} or a bare name); `layout`
  // is the chunk (for a sharded array: the shard) as decoded. `where` names the
  // array in errors. Unknown codecs: kUnimplemented; bad configurations: kInvalidArgument.
  static Result<std::shared_ptr<const CodecChain>> from_v3(const nlohmann::json& codecs, const ChunkLayout& layout,
                                                           std::string_view where);
  // Zarr v2: `compressor` (null or {"id": ...}), `filters` (null or an array; none is
  // supported: kUnimplemented naming the filter), `order` 'C' or 'F', the dtype's endianness.
  static Result<std::shared_ptr<const CodecChain>> from_v2(const nlohmann::json& compressor,
                                                           const nlohmann::json& filters, char order, Endian endian,
                                                           const ChunkLayout& layout, std::string_view where);
  ~CodecChain();
  CodecChain(const CodecChain&) = delete;
  CodecChain& operator=(const CodecChain&) = delete;

  const ChunkLayout& layout() const { return layout_; }
  // Non-null when the array->bytes codec is sharding_indexed.
  const ShardingSpec* sharding() const { return sharding_.get(); }
  // True when the encoded chunk is the decoded chunk byte for byte (little-endian or
  // 1-byte bytes codec, no transpose, no bytes->bytes codec, not sharded).
  bool is_identity() const;
  // The encoded size when it does not depend on the data (only bytes, transpose and
  // checksum codecs), else nullopt (always for a sharded chain). A shard index chain always has one.
  std::optional<uint64_t> fixed_encoded_size() const;

  // Decodes `encoded` into `out` (exactly layout().num_bytes(): kInvalidArgument otherwise); the
  // two must not overlap. Corrupt or truncated input, a checksum mismatch or a wrong decoded size:
  // kDataLoss naming `key`. Thread safe (codec contexts are per thread).
  // A sharded chain decodes a whole shard (index validated by decode_index; errors in an inner
  // chunk name `key` and the inner chunk number). Its missing inner chunks, at any nesting depth,
  // read as `fill`: one element (dtype size bytes, else kInvalidArgument), or zeros when empty.
  Status decode(std::span<const std::byte> encoded, std::span<std::byte> out, std::string_view key,
                std::span<const std::byte> fill = {}) const;
  // Bytes past a chunk that decode_with_room() can use as working space (0 when the chain cannot use any).
  uint64_t decode_room() const;
  // decode() into the first layout().num_bytes() of `buffer` (at least that long: kInvalidArgument otherwise),
  // whose bytes past the chunk may be overwritten. Same results and errors as decode(). For scratch buffers:
  // zstd decodes faster with decode_room() bytes of room.
  Status decode_with_room(std::span<const std::byte> encoded, std::span<std::byte> buffer, std::string_view key,
                          std::span<const std::byte> fill = {}) const;
  // Encodes a decoded chunk (exactly layout().num_bytes()). A sharded chain encodes a whole shard
  // storing every inner chunk (it does not know the fill value to leave out).
  Result<Bytes> encode(std::span<const std::byte> decoded, std::string_view key) const;
  // encode(), handing the encoded bytes to use() (valid only during that call) and returning its status. Stages
  // that can (encodes_into: zstd; the array transform) write into buffers this thread keeps for its next chunks,
  // so a writer storing chunk after chunk pays no fresh pages per chunk (release_encode_buffers frees them).
  Status encode_with(std::span<const std::byte> decoded, std::string_view key,
                     const std::function<Status(std::span<const std::byte>)>& use) const;
  // Frees the buffers encode_with keeps on this thread: a writer calls it when its thread is done with a write, so
  // idle threads hold no chunk-sized memory.
  static void release_encode_buffers();

 private:
  Status decode_into(std::span<const std::byte> encoded, std::span<std::byte> buffer, std::string_view key,
                     std::span<const std::byte> fill) const;
  struct Stages;
  explicit CodecChain(ChunkLayout layout);

  ChunkLayout layout_;
  std::unique_ptr<const ShardingSpec> sharding_;
  std::unique_ptr<const Stages> stages_;  // array encoding + bytes->bytes codecs
};

}  // namespace lsio::codec
