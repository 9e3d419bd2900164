// The array->array and array->bytes part of a chain: transposes and the bytes
// codec's endianness, fused into one permuted (and byte-swapping) copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lsio::codec {

struct ArrayEncoding {
  // Encoded dimension i is decoded dimension permutation[i]; empty: no transpose.
  std::vector<size_t> permutation;
  // Stored big-endian: reverse every `swap_unit` bytes (the item size, or half of it
  // for complex types); 0: stored as is.
  size_t swap_unit = 0;

  bool identity() const { return permutation.empty() && swap_unit == 0; }
  // Applies a v3 transpose `order` after the transposes already recorded.
  void transpose(std::span<const size_t> order);
};

// encoded (C order in the permuted shape, stored byte order) -> decoded (C order in
// `shape`, native byte order). Both spans hold product(shape) * itemsize bytes.
void decode_array(std::span<const std::byte> encoded, std::span<std::byte> decoded, std::span<const uint64_t> shape,
                  size_t itemsize, const ArrayEncoding& encoding);
// The inverse of decode_array.
void encode_array(std::span<const std::byte> decoded, std::span<std::byte> encoded, std::span<const uint64_t> shape,
                  size_t itemsize, const ArrayEncoding& encoding);

}  // namespace lsio::codec
