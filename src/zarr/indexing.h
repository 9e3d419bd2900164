// Orthogonal selections over a regular chunk grid, and the strided copy that
// puts a decoded chunk's selected elements into their place in the output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lsio/status.h"

namespace lsio::zarr {

// What one dimension selects: a slice [start, stop) with step > 0, or a list
// of indices (any order, repeats allowed). Integers are one-element lists
// (the Python layer drops the dimension afterwards).
struct DimSelection {
  bool is_slice = true;
  uint64_t start = 0, stop = 0, step = 1;
  std::vector<uint64_t> indices;

  static DimSelection slice(uint64_t start, uint64_t stop, uint64_t step = 1) {
    return {true, start, stop, step, {}};
  }
  static DimSelection list(std::vector<uint64_t> indices) { return {false, 0, 0, 1, std::move(indices)}; }
  uint64_t count() const;  // elements selected
};
using Selection = std::vector<DimSelection>;

// Checks every dimension against `shape`: InvalidArgument naming the
// dimension and the bad bound.
Status check_selection(const Selection& sel, std::span<const uint64_t> shape);
// Output shape of the selection.
std::vector<uint64_t> selection_shape(const Selection& sel);

// For one dimension and one chunk along it: pairs (index inside the chunk,
// index in the output), ascending by output index.
struct DimPart {
  uint64_t chunk;                  // chunk coordinate along this dimension
  std::vector<uint32_t> in_chunk;  // positions inside the chunk
  std::vector<uint64_t> in_out;    // positions in the output
};
// Every chunk along one dimension that the selection touches.
std::vector<DimPart> split_dimension(const DimSelection& sel, uint64_t chunk_len);

// Copies the selected elements of one decoded chunk (C order, `chunk_shape`)
// to the output (C order, `out_shape`), one DimPart per dimension.
void scatter_chunk(const std::byte* chunk, std::span<const uint64_t> chunk_shape, std::span<const DimPart* const> parts,
                   std::byte* out, std::span<const uint64_t> out_shape, size_t itemsize);
// Fills the chunk's destination elements with `fill` (one element).
void fill_region(std::span<const DimPart* const> parts, std::byte* out, std::span<const uint64_t> out_shape,
                 std::span<const std::byte> fill);
// The inverse of scatter_chunk, for writes: selected output elements into a chunk buffer.
void gather_chunk(std::byte* chunk, std::span<const uint64_t> chunk_shape, std::span<const DimPart* const> parts,
                  const std::byte* src, std::span<const uint64_t> src_shape, size_t itemsize);

}  // namespace lsio::zarr
