// Where decoded elements go: an output buffer (C order) and, optionally, a
// conversion applied while copying (dtype cast plus a per-channel affine
// transform), so a read that normalises its output needs no second pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "lsio/dtype.h"
#include "lsio/status.h"
#include "lsio/zarr.h"

namespace lsio::zarr {

// Conversion (a dtype cast plus a per-channel affine transform) is public (lsio/zarr.h).

// One output block: `out` holds product(shape) elements in C order, of the
// array's dtype (conversion == nullptr) or of conversion->dtype.
class Placement {
 public:
  Placement(std::byte* out, std::vector<uint64_t> shape, DataType src_dtype, const Conversion* conversion);

  // Checks that the conversion fits this block and the source dtype.
  static Status check(const Conversion& c, DataType src_dtype, std::span<const uint64_t> block_shape);

  const std::vector<uint64_t>& shape() const { return shape_; }
  size_t out_itemsize() const { return out_itemsize_; }
  std::byte* out() const { return out_; }
  bool raw() const { return conversion_ == nullptr; }

  // Writes n source elements (array dtype) at output element `o` (inline: called once per row of a crop).
  void copy(const std::byte* src, uint64_t o, uint64_t n) const {
    if (!conversion_) return void(std::memcpy(out_ + o * out_itemsize_, src, n * out_itemsize_));
    convert(src, src_itemsize_, o, n);
  }
  // Writes n copies of one source element (the fill value) at output element `o`.
  void fill(std::span<const std::byte> value, uint64_t o, uint64_t n) const;

 private:
  // Runs of elements that share a channel: calls fn(first, count, channel).
  template <typename Fn>
  void for_each_channel_run(uint64_t o, uint64_t n, Fn&& fn) const;
  void convert(const std::byte* src, size_t src_step, uint64_t o, uint64_t n) const;

  std::byte* out_;
  std::vector<uint64_t> shape_;
  DataType src_dtype_;
  const Conversion* conversion_;
  size_t src_itemsize_, out_itemsize_;
  uint64_t channel_stride_ = 1, channel_extent_ = 1;  // of conversion->channel_dim in shape_
};

}  // namespace lsio::zarr
