// CodecChain::decode / encode of a sharded chain: a whole shard in memory, each inner
// chunk through the inner chain (itself possibly sharded: nested sharding).
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/chain_stages.h"

namespace lsio::codec {
namespace {

// Calls fn(array_offset, block_offset, row_bytes) for every row (run along the last
// dimension) of the block of shape `block` at `origin` in a C-order array of `shape`.
// Offsets are in bytes; the block itself is C order and contiguous.
template <typename Fn>
void for_each_block_row(std::span<const uint64_t> shape, std::span<const uint64_t> block,
                        std::span<const uint64_t> origin, size_t itemsize, Fn&& fn) {
  const size_t nd = shape.size();
  if (nd == 0) return fn(uint64_t{0}, uint64_t{0}, uint64_t{itemsize});
  std::vector<uint64_t> stride(nd);
  stride[nd - 1] = itemsize;
  for (size_t d = nd - 1; d-- > 0;) stride[d] = stride[d + 1] * shape[d + 1];
  uint64_t base = 0;
  for (size_t d = 0; d < nd; ++d) base += origin[d] * stride[d];
  const uint64_t row_bytes = block[nd - 1] * itemsize;
  std::vector<uint64_t> idx(nd - 1, 0);  // the row's position in the block (all but the last dimension)
  for (uint64_t block_offset = 0;; block_offset += row_bytes) {
    uint64_t offset = base;
    for (size_t d = 0; d + 1 < nd; ++d) offset += idx[d] * stride[d];
    fn(offset, block_offset, row_bytes);
    size_t d = nd - 1;
    while (d-- > 0) {
      if (++idx[d] < block[d]) break;
      idx[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

// The origin of inner chunk `i` (C order of `grid`) in the shard.
std::vector<uint64_t> inner_origin(uint64_t i, std::span<const uint64_t> grid, std::span<const uint64_t> inner) {
  std::vector<uint64_t> origin(grid.size());
  for (size_t d = grid.size(); d-- > 0;) {
    origin[d] = (i % grid[d]) * inner[d];
    i /= grid[d];
  }
  return origin;
}

// Whether a block of shape `block` is one contiguous run of a C-order array of `shape`: every dimension after
// the block's first one longer than 1 spans the array.
bool contiguous_in(std::span<const uint64_t> shape, std::span<const uint64_t> block) {
  bool inner = false;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (inner && block[d] != shape[d]) return false;
    inner = inner || block[d] > 1;
  }
  return true;
}

// The byte offset of the element at `origin` in a C-order array of `shape`.
uint64_t block_start(std::span<const uint64_t> shape, std::span<const uint64_t> origin, size_t itemsize) {
  uint64_t at = 0;
  for (size_t d = 0; d < shape.size(); ++d) at = at * shape[d] + origin[d];
  return at * itemsize;
}

// `row_bytes` of the fill value (zeros when `fill` is empty).
std::vector<std::byte> fill_row(std::span<const std::byte> fill, uint64_t row_bytes) {
  std::vector<std::byte> row(row_bytes, std::byte{0});
  if (!fill.empty()) {
    for (uint64_t at = 0; at < row_bytes; at += fill.size()) std::memcpy(row.data() + at, fill.data(), fill.size());
  }
  return row;
}

std::string inner_key(std::string_view key, uint64_t i) {
  return std::string(key) + " inner chunk " + std::to_string(i);
}

}  // namespace

Status decode_whole_shard(const ShardingSpec& spec, const ChunkLayout& layout, std::span<const std::byte> encoded,
                          std::span<std::byte> out, std::string_view key, std::span<const std::byte> fill) {
  LSIO_ASSIGN_OR_RETURN(const uint64_t index_at, spec.index_offset(encoded.size(), key));
  LSIO_ASSIGN_OR_RETURN(const auto entries,
                        spec.decode_index(encoded.subspan(index_at, spec.index_encoded_size()), encoded.size(), key));
  const ChunkLayout& inner_layout = spec.inner->layout();
  const size_t itemsize = dtype_size(layout.dtype);
  const std::vector<uint64_t> grid = spec.inner_grid();
  // Inner chunks spanning the shard's trailing dimensions are contiguous in it: decoded in place.
  const bool in_place = contiguous_in(layout.shape, spec.inner_shape);
  // Otherwise a buffer per call, not thread_local: the inner chain may be sharded and decode
  // its own inner chunks on this same thread while `scratch` is in use.
  std::unique_ptr<std::byte[]> scratch;
  if (!in_place) scratch = std::make_unique_for_overwrite<std::byte[]>(inner_layout.num_bytes());
  const std::span<std::byte> block(scratch.get(), in_place ? 0 : inner_layout.num_bytes());
  const uint64_t row_bytes = (spec.inner_shape.empty() ? 1 : spec.inner_shape.back()) * itemsize;
  std::vector<std::byte> fill_bytes;  // a row of the fill value, made on the first missing chunk
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::vector<uint64_t> origin = inner_origin(i, grid, spec.inner_shape);
    if (entries[i].missing()) {
      if (fill_bytes.empty()) fill_bytes = fill_row(fill, row_bytes);
      for_each_block_row(layout.shape, spec.inner_shape, origin, itemsize, [&](uint64_t at, uint64_t, uint64_t n) {
        std::memcpy(out.data() + at, fill_bytes.data(), n);
      });
      continue;
    }
    const auto inner_encoded = encoded.subspan(entries[i].offset, entries[i].nbytes);
    if (in_place) {
      const uint64_t at = block_start(layout.shape, origin, itemsize);
      LSIO_RETURN_IF_ERROR(
          spec.inner->decode(inner_encoded, out.subspan(at, inner_layout.num_bytes()), inner_key(key, i), fill));
      continue;
    }
    LSIO_RETURN_IF_ERROR(spec.inner->decode(inner_encoded, block, inner_key(key, i), fill));
    for_each_block_row(layout.shape, spec.inner_shape, origin, itemsize, [&](uint64_t at, uint64_t from, uint64_t n) {
      std::memcpy(out.data() + at, block.data() + from, n);
    });
  }
  return Status();
}

Result<Bytes> encode_whole_shard(const ShardingSpec& spec, const ChunkLayout& layout,
                                 std::span<const std::byte> decoded, std::string_view key) {
  const ChunkLayout& inner_layout = spec.inner->layout();
  const size_t itemsize = dtype_size(layout.dtype);
  const std::vector<uint64_t> grid = spec.inner_grid();
  std::vector<std::byte> block(inner_layout.num_bytes());
  std::vector<std::optional<Bytes>> chunks(spec.inner_per_shard());
  for (size_t i = 0; i < chunks.size(); ++i) {
    for_each_block_row(
        layout.shape, spec.inner_shape, inner_origin(i, grid, spec.inner_shape), itemsize,
        [&](uint64_t at, uint64_t to, uint64_t n) { std::memcpy(block.data() + to, decoded.data() + at, n); });
    LSIO_ASSIGN_OR_RETURN(chunks[i], spec.inner->encode(block, inner_key(key, i)));
  }
  return spec.encode_shard(chunks);
}

}  // namespace lsio::codec
