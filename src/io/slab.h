// Slab: carves small read buffers out of shared 1 MiB allocations, so a batch
// of millions of tiny ranges costs millions of slices, not millions of mallocs.
// A slab is freed when the last slice of it is dropped.
#pragma once

#include <cstdint>

#include "lsio/bytes.h"

namespace lsio::io {

class Slab {
 public:
  static constexpr uint64_t kSlabSize = 1u << 20;
  static constexpr uint64_t kMaxCarve = 64u << 10;  // larger buffers get their own allocation

  // `size` bytes aligned to `align` (a power of two <= 4096).
  Bytes carve(uint64_t size, uint64_t align) {
    uint64_t at = (used_ + align - 1) & ~(align - 1);
    if (current_.empty() || at + size > kSlabSize) {
      current_ = Bytes::allocate(kSlabSize, 4096);
      at = 0;
    }
    used_ = at + size;
    return current_.slice(at, size);
  }
  void reset() {
    current_ = Bytes();
    used_ = 0;
  }

 private:
  Bytes current_;
  uint64_t used_ = 0;
};

}  // namespace lsio::io
