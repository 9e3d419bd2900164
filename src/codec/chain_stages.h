// The parsed stages of a CodecChain (shared by chain.cc and the v2/v3 parsers).
#pragma once

#include <memory>
#include <vector>

#include "codec/array_encoding.h"
#include "codec/bytes_codec.h"
#include "codec/codec_chain.h"

namespace lsio::codec {

struct CodecChain::Stages {
  ArrayEncoding array;                                    // transposes + the bytes codec's endianness
  std::vector<std::unique_ptr<const BytesCodec>> codecs;  // bytes->bytes codecs, in encode order
  // decode_limit[i]: the most bytes codecs[i] may decode to (its input size when encoding).
  std::vector<uint64_t> decode_limit;

  // Fills decode_limit from the decoded chunk size.
  void compute_limits(uint64_t chunk_bytes);
};

// CodecChain::decode / encode of a sharded chain (shard_chain.cc): a whole shard of `layout`
// through `spec`. The caller has checked the sizes of `out` / `decoded` and `fill`.
Status decode_whole_shard(const ShardingSpec& spec, const ChunkLayout& layout, std::span<const std::byte> encoded,
                          std::span<std::byte> out, std::string_view key, std::span<const std::byte> fill);
Result<Bytes> encode_whole_shard(const ShardingSpec& spec, const ChunkLayout& layout,
                                 std::span<const std::byte> decoded, std::string_view key);

// kInvalidArgument unless every dimension is >= 1 and the chunk's byte size fits in 63 bits.
Status check_layout(const ChunkLayout& layout, std::string_view where);
// The bytes codec's swap unit for `dtype` stored big-endian (0 for 1-byte types).
size_t big_endian_swap_unit(DataType dtype);

}  // namespace lsio::codec
