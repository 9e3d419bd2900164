// Orthogonal selections over a regular chunk grid, and the strided copy that
// puts a decoded chunk's selected elements into their place in the output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "lsio/status.h"
#include "lsio/zarr.h"

namespace lsio::zarr {

// DimSelection, Selection and selection_shape are public (lsio/zarr.h).

// Checks every dimension against `shape`: InvalidArgument naming the
// dimension and the bad bound.
Status check_selection(const Selection& sel, std::span<const uint64_t> shape);

// For one dimension and one chunk along it: pairs (index inside the chunk,
// index in the output), ascending by output index.
struct DimPart {
  uint64_t chunk;                  // chunk coordinate along this dimension
  std::vector<uint32_t> in_chunk;  // positions inside the chunk
  std::vector<uint64_t> in_out;    // positions in the output
};
// Every chunk along one dimension that the selection touches.
std::vector<DimPart> split_dimension(const DimSelection& sel, uint64_t chunk_len);

// Row-major strides in elements.
inline std::vector<uint64_t> strides(std::span<const uint64_t> shape) {
  std::vector<uint64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

// Calls run(chunk_elem, out_elem, n) for each run of n consecutive elements
// (consecutive in both the chunk and the output) of the selected sub-block.
template <typename Run>
void for_each_run(std::span<const DimPart* const> parts, std::span<const uint64_t> chunk_shape,
                  std::span<const uint64_t> out_shape, Run&& run) {
  const size_t nd = parts.size();
  if (nd == 0) return run(0, 0, 1);
  const std::vector<uint64_t> cs = strides(chunk_shape), os = strides(out_shape);
  const DimPart& last = *parts[nd - 1];
  // Split the innermost dimension into maximal consecutive runs once.
  std::vector<std::pair<size_t, size_t>> runs;  // (first k, length)
  for (size_t k = 0; k < last.in_chunk.size();) {
    size_t n = 1;
    while (k + n < last.in_chunk.size() && last.in_chunk[k + n] == last.in_chunk[k] + n &&
           last.in_out[k + n] == last.in_out[k] + n) {
      ++n;
    }
    runs.push_back({k, n});
    k += n;
  }
  if (nd == 1) {
    for (auto [k, n] : runs) run(last.in_chunk[k], last.in_out[k], n);
    return;
  }
  // The rows of the second-to-last dimension in a tight loop (the per-run cost of a crop made of many short
  // rows); the dimensions before it by an odometer.
  const DimPart& rows = *parts[nd - 2];
  const uint64_t row_cs = cs[nd - 2], row_os = os[nd - 2];
  std::vector<size_t> idx(nd - 2, 0);
  for (;;) {
    uint64_t c0 = 0, o0 = 0;
    for (size_t d = 0; d + 2 < nd; ++d) {
      c0 += parts[d]->in_chunk[idx[d]] * cs[d];
      o0 += parts[d]->in_out[idx[d]] * os[d];
    }
    for (size_t r = 0; r < rows.in_chunk.size(); ++r) {
      const uint64_t c = c0 + rows.in_chunk[r] * row_cs, o = o0 + rows.in_out[r] * row_os;
      for (auto [k, n] : runs) run(c + last.in_chunk[k], o + last.in_out[k], n);
    }
    size_t d = nd - 2;
    while (d-- > 0) {
      if (++idx[d] < parts[d]->in_chunk.size()) break;
      idx[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

// for_each_run, with runs that continue each other (in the chunk and in the
// output, e.g. whole rows) joined: a chunk that maps to one contiguous region
// of the output is one run.
template <typename Run>
void for_each_joined_run(std::span<const DimPart* const> parts, std::span<const uint64_t> chunk_shape,
                         std::span<const uint64_t> out_shape, Run&& run) {
  uint64_t pc = 0, po = 0, pn = 0;
  for_each_run(parts, chunk_shape, out_shape, [&](uint64_t c, uint64_t o, uint64_t n) {
    if (pn != 0 && c == pc + pn && o == po + pn) return void(pn += n);
    if (pn != 0) run(pc, po, pn);
    pc = c, po = o, pn = n;
  });
  if (pn != 0) run(pc, po, pn);
}

// True when the part selects consecutive positions that land on consecutive outputs (a slice of step 1).
inline bool is_consecutive(const DimPart& p) {
  for (size_t k = 0; k < p.in_chunk.size(); ++k)
    if (p.in_chunk[k] != p.in_chunk[0] + k || p.in_out[k] != p.in_out[0] + k) return false;
  return !p.in_chunk.empty();
}

// Copies the selected elements of a decoded chunk (C order, `chunk_shape`) to a raw output (C order, `out_shape`,
// same element size): for_each_joined_run with memcpy, but when the last two dimensions are slices (a box, e.g.
// a crop) each row is one memcpy in a tight strided loop (a crop batch places ~500,000 short rows per call).
inline void copy_box_or_runs(const std::byte* src, std::span<const DimPart* const> parts,
                             std::span<const uint64_t> chunk_shape, std::byte* out, std::span<const uint64_t> out_shape,
                             size_t itemsize) {
  const size_t nd = parts.size();
  if (nd < 2 || !is_consecutive(*parts[nd - 1]) || !is_consecutive(*parts[nd - 2])) {
    for_each_joined_run(parts, chunk_shape, out_shape, [&](uint64_t c, uint64_t o, uint64_t n) {
      std::memcpy(out + o * itemsize, src + c * itemsize, n * itemsize);
    });
    return;
  }
  const DimPart& rows = *parts[nd - 2];
  const DimPart& cols = *parts[nd - 1];
  const uint64_t n = cols.in_chunk.size(), nrows = rows.in_chunk.size();
  const uint64_t chunk_row = chunk_shape[nd - 1], out_row = out_shape[nd - 1];
  const std::vector<uint64_t> cs = strides(chunk_shape), os = strides(out_shape);
  const uint64_t c_inner = rows.in_chunk[0] * chunk_row + cols.in_chunk[0];
  const uint64_t o_inner = rows.in_out[0] * out_row + cols.in_out[0];
  const bool whole_rows = n == chunk_row && n == out_row;  // the rows continue each other on both sides
  std::vector<size_t> idx(nd - 2, 0);
  for (;;) {
    uint64_t c0 = c_inner, o0 = o_inner;
    for (size_t d = 0; d + 2 < nd; ++d) {
      c0 += parts[d]->in_chunk[idx[d]] * cs[d];
      o0 += parts[d]->in_out[idx[d]] * os[d];
    }
    const std::byte* from = src + c0 * itemsize;
    std::byte* to = out + o0 * itemsize;
    if (whole_rows) {
      std::memcpy(to, from, nrows * n * itemsize);
    } else {
      for (uint64_t r = 0; r < nrows; ++r, from += chunk_row * itemsize, to += out_row * itemsize)
        std::memcpy(to, from, n * itemsize);
    }
    size_t d = nd - 2;
    while (d-- > 0) {
      if (++idx[d] < parts[d]->in_chunk.size()) break;
      idx[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

// The output element where the chunk starts when it is used whole and in order (every element selected once,
// in C order) and lands as one contiguous run of the output: a box whose dimensions after its first one longer
// than 1 span the output's whole extent. Such a chunk can be decoded straight into the output. nullopt otherwise
// (a partial edge chunk, a cut, a permuted or repeated list selection, a box narrower than the output's rows).
inline std::optional<uint64_t> contiguous_whole_chunk(std::span<const DimPart* const> parts,
                                                      std::span<const uint64_t> chunk_shape,
                                                      std::span<const uint64_t> out_shape) {
  uint64_t offset = 0;
  bool inner = false;  // past the chunk's first dimension longer than 1
  for (size_t d = 0; d < parts.size(); ++d) {
    const DimPart& p = *parts[d];
    if (p.in_chunk.size() != chunk_shape[d]) return std::nullopt;
    for (size_t k = 0; k < p.in_chunk.size(); ++k) {
      if (p.in_chunk[k] != k || p.in_out[k] != p.in_out[0] + k) return std::nullopt;
    }
    if (inner && chunk_shape[d] != out_shape[d]) return std::nullopt;
    inner = inner || chunk_shape[d] > 1;
    offset = offset * out_shape[d] + p.in_out[0];
  }
  return offset;
}

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
