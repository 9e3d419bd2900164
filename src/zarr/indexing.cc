#include "zarr/indexing.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace lsio::zarr {

uint64_t DimSelection::count() const {
  if (!is_slice) return indices.size();
  return stop <= start ? 0 : (stop - start + step - 1) / step;
}

Status check_selection(const Selection& sel, std::span<const uint64_t> shape) {
  if (sel.size() != shape.size()) {
    return Status(StatusCode::kInvalidArgument, "selection has " + std::to_string(sel.size()) +
                                                    " dimensions, the array has " + std::to_string(shape.size()));
  }
  for (size_t d = 0; d < sel.size(); ++d) {
    const DimSelection& s = sel[d];
    const std::string dim = "dimension " + std::to_string(d) + " (length " + std::to_string(shape[d]) + ")";
    if (s.is_slice) {
      if (s.step == 0) return Status(StatusCode::kInvalidArgument, dim + ": slice step must be positive");
      if (s.start > s.stop || s.stop > shape[d]) {
        return Status(StatusCode::kInvalidArgument, dim + ": slice [" + std::to_string(s.start) + ", " +
                                                        std::to_string(s.stop) + ") is out of bounds");
      }
    } else {
      for (uint64_t i : s.indices) {
        if (i >= shape[d]) {
          return Status(StatusCode::kInvalidArgument, dim + ": index " + std::to_string(i) + " is out of bounds");
        }
      }
    }
  }
  return {};
}

std::vector<uint64_t> selection_shape(const Selection& sel) {
  std::vector<uint64_t> out;
  for (const DimSelection& s : sel) out.push_back(s.count());
  return out;
}

std::vector<DimPart> split_dimension(const DimSelection& sel, uint64_t chunk_len) {
  std::vector<DimPart> parts;
  auto add = [&](uint64_t index, uint64_t out_pos) {
    const uint64_t c = index / chunk_len;
    // Slices arrive in chunk order; lists may jump back, so look the chunk up.
    auto it = std::find_if(parts.rbegin(), parts.rend(), [&](const DimPart& p) { return p.chunk == c; });
    DimPart* part = it != parts.rend() ? &*it : &parts.emplace_back(DimPart{c, {}, {}});
    part->in_chunk.push_back(static_cast<uint32_t>(index - c * chunk_len));
    part->in_out.push_back(out_pos);
  };
  if (sel.is_slice) {
    uint64_t pos = 0;
    for (uint64_t i = sel.start; i < sel.stop; i += sel.step) add(i, pos++);
  } else {
    for (size_t k = 0; k < sel.indices.size(); ++k) add(sel.indices[k], k);
  }
  std::sort(parts.begin(), parts.end(), [](const DimPart& a, const DimPart& b) { return a.chunk < b.chunk; });
  return parts;
}

void scatter_chunk(const std::byte* chunk, std::span<const uint64_t> chunk_shape, std::span<const DimPart* const> parts,
                   std::byte* out, std::span<const uint64_t> out_shape, size_t itemsize) {
  for_each_run(parts, chunk_shape, out_shape, [&](uint64_t c, uint64_t o, uint64_t n) {
    std::memcpy(out + o * itemsize, chunk + c * itemsize, n * itemsize);
  });
}

void gather_chunk(std::byte* chunk, std::span<const uint64_t> chunk_shape, std::span<const DimPart* const> parts,
                  const std::byte* src, std::span<const uint64_t> src_shape, size_t itemsize) {
  for_each_joined_run(parts, chunk_shape, src_shape, [&](uint64_t c, uint64_t o, uint64_t n) {
    std::memcpy(chunk + c * itemsize, src + o * itemsize, n * itemsize);
  });
}

void fill_region(std::span<const DimPart* const> parts, std::byte* out, std::span<const uint64_t> out_shape,
                 std::span<const std::byte> fill) {
  const size_t itemsize = fill.size();
  const bool zero = std::all_of(fill.begin(), fill.end(), [](std::byte b) { return b == std::byte{0}; });
  for_each_run(parts, out_shape, out_shape, [&](uint64_t, uint64_t o, uint64_t n) {
    std::byte* p = out + o * itemsize;
    if (zero) {
      std::memset(p, 0, n * itemsize);
    } else {
      for (uint64_t i = 0; i < n; ++i) std::memcpy(p + i * itemsize, fill.data(), itemsize);
    }
  });
}

}  // namespace lsio::zarr
