// Slab: carves small read buffers out of shared 1 MiB allocations, so a batch
// of millions of tiny ranges costs millions of slices, not millions of mallocs.
// Each result of such a batch is a Bytes sharing its slab: the slab lives as
// long as any result carved from it (one 4 KiB result kept keeps its 1 MiB),
// and goes back to the BufferPool when the last one is dropped, on whatever
// thread drops it (within the pool's idle budget; freed beyond it). A slab of
// this worker is reused in place once every slice handed out of it has been
// dropped (for_each steady state: no allocations, no page faults); a slab back
// in the pool serves the next batch of any worker already faulted in (a fresh
// one costs a page fault per 4 KiB page, which dominated Store::read of small
// ranges).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/buffer_pool.h"
#include "lsio/bytes.h"

namespace lsio::io {

class Slab {
 public:
  static constexpr uint64_t kSlabSize = 1u << 20;
  static constexpr uint64_t kMaxCarve = 64u << 10;  // larger buffers get their own allocation

  explicit Slab(BufferPool& pool) : pool_(pool) {}

  // `size` bytes aligned to `align` (a power of two <= 4096).
  Bytes carve(uint64_t size, uint64_t align) {
    uint64_t at = (used_ + align - 1) & ~(align - 1);
    if (current_.empty() || at + size > kSlabSize) {
      next_slab();
      at = 0;
    }
    used_ = at + size;
    return current_.slice(at, size);
  }
  // Starts the next batch on a fresh slab (the last one may be shared with
  // results the caller still holds; those are never written again).
  void reset() {
    retire();
    used_ = 0;
  }

 private:
  static constexpr size_t kKeep = 8;  // retired slabs watched for reuse

  void retire() {
    if (current_.empty()) return;
    if (retired_.size() < kKeep) retired_.push_back(std::move(current_));
    current_ = Bytes();
  }
  void next_slab() {
    retire();
    for (Bytes& old : retired_) {
      if (old.owner().use_count() == 1) {                     // nobody else holds a slice: safe to overwrite
        std::atomic_thread_fence(std::memory_order_acquire);  // after the last reader's release
        current_ = std::move(old);
        old = std::move(retired_.back());
        retired_.pop_back();
        return;
      }
    }
    current_ = pool_.allocate(kSlabSize);
  }

  BufferPool& pool_;
  std::vector<Bytes> retired_;
  Bytes current_;
  uint64_t used_ = 0;
};

}  // namespace lsio::io
