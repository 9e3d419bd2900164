// BufferPool: recycles large read buffers (>= 64 KiB) by power-of-two size
// class. A buffer returns to the pool when its last Bytes view is dropped, on
// whatever thread drops it; the next batch reuses it, already faulted in. This
// removes the mmap/munmap (and cross-core TLB shootdown) and page-fault cost
// that fresh multi-megabyte buffers pay on every read. Idle memory held by the
// pool is capped (max_cached_bytes); beyond it buffers are freed. Classes of
// 4 MiB and more are 2 MiB aligned and advised for transparent huge pages (as
// numpy does for its large arrays): a first touch then zeroes one huge page
// per fault instead of 512 small ones.
//
// Fork: a buffer dropped in a forked child is freed, never returned to the
// pool (its mutex may have been held by a parent thread at the fork).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "lsio/bytes.h"

namespace lsio {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  static constexpr size_t kMinClassBytes = 64u << 10;
  static constexpr size_t kMaxClassBytes = 1u << 30;
  static constexpr size_t kAlignment = 4096;  // suits O_DIRECT and SIMD alike

  static std::shared_ptr<BufferPool> create(size_t max_cached_bytes) {
    return std::shared_ptr<BufferPool>(new BufferPool(max_cached_bytes));
  }
  ~BufferPool();

  // `size` bytes aligned to 4096. Sizes outside the classes get a plain allocation.
  Bytes allocate(size_t size);
  size_t cached_bytes() const;
  // Frees every idle buffer (the store has rested: give the memory back).
  void trim();

 private:
  explicit BufferPool(size_t max_cached_bytes);
  static constexpr int kClasses = 15;  // 64 KiB .. 1 GiB
  static int size_class(size_t size);
  void release(void* p, int cls);

  struct Returner;
  const size_t max_cached_;
  const uint64_t fork_generation_;
  mutable std::mutex mu_;
  size_t cached_ = 0;
  std::array<std::vector<void*>, kClasses> free_{};
};

}  // namespace lsio
