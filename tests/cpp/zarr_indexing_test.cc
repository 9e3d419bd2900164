#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "zarr/indexing.h"

namespace lsio::zarr {
namespace {

using CopyChunk = void (*)(const std::byte*, std::span<const uint64_t>, std::span<const DimPart* const>, std::byte*,
                           std::span<const uint64_t>, size_t);

void copy_box(const std::byte* c, std::span<const uint64_t> chunk, std::span<const DimPart* const> parts,
              std::byte* out, std::span<const uint64_t> out_shape, size_t itemsize) {
  copy_box_or_runs(c, parts, chunk, out, out_shape, itemsize);
}

// Reference: element-by-element copy of a 3-d orthogonal selection through chunks. `boxes`: slices of step 1
// only (copy_box_or_runs' row loop; whole rows when a chunk spans the array's last dimension).
void check_copy(CopyChunk copy, std::vector<uint64_t> shape, std::vector<uint64_t> chunk, bool boxes) {
  std::mt19937_64 rng(1);
  std::vector<uint32_t> array(shape[0] * shape[1] * shape[2]);
  std::iota(array.begin(), array.end(), 0u);
  for (int trial = 0; trial < 200; ++trial) {
    Selection sel;
    for (size_t d = 0; d < 3; ++d) {
      if (boxes || rng() % 2) {
        uint64_t a = rng() % shape[d], b = rng() % shape[d];
        if (a > b) std::swap(a, b);
        if (boxes && d == 2 && rng() % 2) a = 0, b = shape[d] - 1;
        sel.push_back(DimSelection::slice(a, b + 1, boxes ? 1 : 1 + rng() % 3));
      } else {
        std::vector<uint64_t> idx(1 + rng() % 6);
        for (auto& i : idx) i = rng() % shape[d];
        sel.push_back(DimSelection::list(idx));
      }
    }
    ASSERT_TRUE(check_selection(sel, shape).ok());
    const auto out_shape = selection_shape(sel);
    std::vector<uint32_t> out(out_shape[0] * out_shape[1] * out_shape[2], 0xFFFFFFFF);
    std::vector<std::vector<DimPart>> parts;
    for (size_t d = 0; d < 3; ++d) parts.push_back(split_dimension(sel[d], chunk[d]));
    for (const auto& p0 : parts[0])
      for (const auto& p1 : parts[1])
        for (const auto& p2 : parts[2]) {
          // Decoded chunk (edge chunks are full-size, as in Zarr).
          std::vector<uint32_t> c(chunk[0] * chunk[1] * chunk[2], 0);
          for (uint64_t i = 0; i < chunk[0]; ++i)
            for (uint64_t j = 0; j < chunk[1]; ++j)
              for (uint64_t k = 0; k < chunk[2]; ++k) {
                const uint64_t gi = p0.chunk * chunk[0] + i, gj = p1.chunk * chunk[1] + j, gk = p2.chunk * chunk[2] + k;
                if (gi < shape[0] && gj < shape[1] && gk < shape[2])
                  c[(i * chunk[1] + j) * chunk[2] + k] = array[(gi * shape[1] + gj) * shape[2] + gk];
              }
          const DimPart* ps[] = {&p0, &p1, &p2};
          copy(reinterpret_cast<const std::byte*>(c.data()), chunk, std::span<const DimPart* const>(ps),
               reinterpret_cast<std::byte*>(out.data()), out_shape, 4);
        }
    auto pick = [&](size_t d, uint64_t k) {
      return sel[d].is_slice ? sel[d].start + k * sel[d].step : sel[d].indices[k];
    };
    for (uint64_t i = 0; i < out_shape[0]; ++i)
      for (uint64_t j = 0; j < out_shape[1]; ++j)
        for (uint64_t k = 0; k < out_shape[2]; ++k)
          ASSERT_EQ(out[(i * out_shape[1] + j) * out_shape[2] + k],
                    array[(pick(0, i) * shape[1] + pick(1, j)) * shape[2] + pick(2, k)]);
  }
}

TEST(ZarrIndexing, ScatterMatchesElementwiseReference) { check_copy(&scatter_chunk, {13, 7, 19}, {4, 3, 5}, false); }

TEST(ZarrIndexing, CopyBoxOrRunsMatchesElementwiseReference) {
  check_copy(&copy_box, {13, 7, 19}, {4, 3, 5}, false);
  check_copy(&copy_box, {13, 7, 19}, {4, 3, 5}, true);
  check_copy(&copy_box, {13, 7, 5}, {4, 3, 5}, true);  // whole rows: one copy per outer index
}

TEST(ZarrIndexing, FillAndBoundsErrors) {
  const std::vector<uint64_t> shape{10};
  Selection bad{DimSelection::slice(2, 11)};
  EXPECT_EQ(check_selection(bad, shape).code(), StatusCode::kInvalidArgument);
  Selection bad_idx{DimSelection::list({3, 10})};
  Status s = check_selection(bad_idx, shape);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("index 10"), std::string::npos);
  Selection sel{DimSelection::slice(0, 10, 3)};
  auto parts = split_dimension(sel[0], 4);
  ASSERT_EQ(parts.size(), 3u);
  std::vector<uint16_t> out(4, 0);
  const uint16_t fill = 7;
  const DimPart* p[] = {&parts[1]};
  fill_region(p, reinterpret_cast<std::byte*>(out.data()), std::vector<uint64_t>{4},
              std::as_bytes(std::span(&fill, 1)));
  EXPECT_EQ(out, (std::vector<uint16_t>{0, 0, 7, 0}));  // index 6 -> chunk 1, output position 2
}

}  // namespace
}  // namespace lsio::zarr
