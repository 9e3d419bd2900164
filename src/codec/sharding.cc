// ShardingSpec: the shard index (decode + validate, encode) and whole-shard assembly.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "codec/codec_chain.h"

namespace lsio::codec {
namespace {

static_assert(sizeof(ShardIndexEntry) == 16 && std::is_standard_layout_v<ShardIndexEntry>,
              "entries are decoded in place as (offset, nbytes) uint64 pairs");

// "entry 5 (inner chunk [1, 1])".
std::string entry_name(size_t i, std::span<const uint64_t> grid) {
  std::vector<uint64_t> coord(grid.size());
  size_t rest = i;
  for (size_t d = grid.size(); d-- > 0;) {
    coord[d] = rest % grid[d];
    rest /= grid[d];
  }
  std::string s = "entry " + std::to_string(i) + " (inner chunk [";
  for (size_t d = 0; d < coord.size(); ++d) s += (d ? ", " : "") + std::to_string(coord[d]);
  return s + "])";
}

Status index_error(std::string_view key, std::string_view what) {
  return Status(StatusCode::kDataLoss, std::string(key) + ": shard index: " + std::string(what));
}

// One byte range in use inside a shard: an inner chunk (entry < n) or the index (entry == n).
struct UsedRange {
  uint64_t begin, end;
  size_t entry;
};

std::string range_name(const UsedRange& r, size_t n, std::span<const uint64_t> grid) {
  const std::string where = " [" + std::to_string(r.begin) + ", " + std::to_string(r.end) + ")";
  return (r.entry == n ? std::string("the index") : entry_name(r.entry, grid)) + where;
}

Status check_no_overlap(std::vector<UsedRange> used, size_t n, std::span<const uint64_t> grid, std::string_view key) {
  std::sort(used.begin(), used.end(), [](const UsedRange& a, const UsedRange& b) { return a.begin < b.begin; });
  const UsedRange* reach = nullptr;  // the range seen so far that ends last
  for (const UsedRange& r : used) {
    if (reach != nullptr && r.begin < reach->end) {
      const bool index_first = r.entry == n;  // name the entry first: "entry 3 [..) overlaps the index [..)"
      const UsedRange& a = index_first ? *reach : r;
      const UsedRange& b = index_first ? r : *reach;
      return index_error(key, range_name(a, n, grid) + " overlaps " + range_name(b, n, grid));
    }
    if (reach == nullptr || r.end > reach->end) reach = &r;
  }
  return Status();
}

}  // namespace

std::vector<uint64_t> ShardingSpec::inner_grid() const {
  std::vector<uint64_t> grid(shard_shape.size());
  for (size_t d = 0; d < grid.size(); ++d) grid[d] = shard_shape[d] / inner_shape[d];
  return grid;
}

uint64_t ShardingSpec::inner_per_shard() const {
  uint64_t n = 1;
  for (uint64_t g : inner_grid()) n *= g;
  return n;
}

uint64_t ShardingSpec::index_encoded_size() const { return index->fixed_encoded_size().value_or(0); }

Result<uint64_t> ShardingSpec::index_offset(uint64_t shard_size, std::string_view key) const {
  const uint64_t size = index_encoded_size();
  if (shard_size < size) {
    return error(index_error(key, "shard of " + std::to_string(shard_size) + " bytes is shorter than its index (" +
                                      std::to_string(size) + " bytes)"));
  }
  return location == IndexLocation::kStart ? 0 : shard_size - size;
}

Result<std::vector<ShardIndexEntry>> ShardingSpec::decode_index(std::span<const std::byte> encoded, uint64_t shard_size,
                                                                std::string_view key) const {
  const uint64_t index_size = index_encoded_size();
  if (encoded.size() != index_size) {
    return error(index_error(key, std::to_string(encoded.size()) + " bytes, expected " + std::to_string(index_size)));
  }
  LSIO_ASSIGN_OR_RETURN(const uint64_t index_at, index_offset(shard_size, key));
  const size_t n = inner_per_shard();
  std::vector<ShardIndexEntry> entries(n);
  LSIO_RETURN_IF_ERROR(
      index->decode(encoded, std::as_writable_bytes(std::span(entries)), std::string(key) + " (shard index)"));
  const std::vector<uint64_t> grid = inner_grid();
  std::vector<UsedRange> used;
  used.reserve(n + 1);
  for (size_t i = 0; i < n; ++i) {
    const ShardIndexEntry& e = entries[i];
    if (e.missing()) continue;
    if (e.offset > shard_size || e.nbytes > shard_size - e.offset) {
      return error(index_error(key, entry_name(i, grid) + " at offset " + std::to_string(e.offset) + " with " +
                                        std::to_string(e.nbytes) + " bytes ends past the end of the shard (" +
                                        std::to_string(shard_size) + " bytes)"));
    }
    if (e.nbytes > 0) used.push_back({e.offset, e.offset + e.nbytes, i});
  }
  if (index_size > 0) used.push_back({index_at, index_at + index_size, n});
  LSIO_RETURN_IF_ERROR(check_no_overlap(std::move(used), n, grid, key));
  return entries;
}

Bytes ShardingSpec::encode_index(std::span<const ShardIndexEntry> entries) const {
  if (entries.size() != inner_per_shard()) {
    throw std::invalid_argument("encode_index: " + std::to_string(entries.size()) + " entries for a shard of " +
                                std::to_string(inner_per_shard()) + " inner chunks");
  }
  auto encoded = index->encode(std::as_bytes(entries), "shard index");
  if (!encoded) throw std::runtime_error(encoded.error().to_string());  // bytes + crc32c cannot fail
  return *std::move(encoded);
}

Bytes ShardingSpec::encode_shard(std::span<const std::optional<Bytes>> inner_chunks) const {
  const size_t n = inner_per_shard();
  if (inner_chunks.size() != n) {
    throw std::invalid_argument("encode_shard: " + std::to_string(inner_chunks.size()) + " chunks for a shard of " +
                                std::to_string(n) + " inner chunks");
  }
  const uint64_t index_size = index_encoded_size();
  uint64_t total = index_size;
  for (const auto& c : inner_chunks) total += c ? c->size() : 0;
  Bytes shard = Bytes::allocate(total);
  std::byte* out = shard.mutable_data();
  std::vector<ShardIndexEntry> entries(n);
  uint64_t pos = location == IndexLocation::kStart ? index_size : 0;
  for (size_t i = 0; i < n; ++i) {
    if (!inner_chunks[i]) continue;
    const Bytes& c = *inner_chunks[i];
    entries[i] = {pos, c.size()};
    if (!c.empty()) std::memcpy(out + pos, c.data(), c.size());
    pos += c.size();
  }
  const Bytes index_bytes = encode_index(entries);
  std::memcpy(out + (location == IndexLocation::kStart ? 0 : pos), index_bytes.data(), index_bytes.size());
  return shard;
}

}  // namespace lsio::codec
