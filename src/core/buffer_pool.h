// BufferPool: recycles large read buffers (>= 64 KiB) by power-of-two size
// class. A buffer returns to the pool when its last Bytes view is dropped, on
// whatever thread drops it; the next batch reuses it, already faulted in. This
// removes the mmap/munmap (and cross-core TLB shootdown) and page-fault cost
// that fresh multi-megabyte buffers pay on every read: a fresh 4 KiB page
// costs about as much as copying 16 of them from the page cache. Classes of
// 4 MiB and more are 2 MiB aligned and advised for transparent huge pages (as
// numpy does for its large arrays): a first touch then zeroes one huge page
// per fault instead of 512 small ones.
//
// Memory held idle is bounded three ways:
// - by max_idle_bytes;
// - by what was recently in use: a miss (a fresh allocation) first frees idle
//   buffers of other classes, down to kKeptAnyway, so a change of result size
//   does not leave the old sizes' memory idle beside the new (the process
//   needs at most its peak in-use memory plus kKeptAnyway);
// - in time: trim() frees everything (the workers call it when the store
//   rests), and a buffer dropped while the pool rests (nothing allocated for
//   kRest) is freed, not kept.
//
// Fork: a buffer dropped in a forked child is freed, never returned to the
// pool (its mutex may have been held by a parent thread at the fork).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
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
  static constexpr size_t kMaxClassBytes = size_t{4} << 30;
  static constexpr size_t kAlignment = 4096;  // suits O_DIRECT and SIMD alike
  static constexpr size_t kKeptAnyway = 256u << 20;
  static constexpr std::chrono::milliseconds kRest{1000};

  static std::shared_ptr<BufferPool> create(size_t max_idle_bytes) {
    return std::shared_ptr<BufferPool>(new BufferPool(max_idle_bytes));
  }
  // The default idle budget: an eighth of the machine's memory, within
  // [kKeptAnyway, 4 GiB]. A loop of reads that returns GiBs per call (a
  // whole array, 200,000 ranges) then reuses its memory call after call.
  static size_t default_idle_budget();
  ~BufferPool();

  // `size` bytes aligned to 4096. Sizes outside the classes get a plain allocation.
  Bytes allocate(size_t size);
  size_t cached_bytes() const;
  // True while buffers of the pool are in use or idle in it.
  bool holds_memory() const;
  // Frees every idle buffer (the store has rested: give the memory back).
  void trim();

 private:
  explicit BufferPool(size_t max_idle_bytes);
  static constexpr int kClasses = 17;  // 64 KiB .. 4 GiB
  static int size_class(size_t size);
  static int64_t now_ms();
  void release(void* p, int cls);
  // Takes idle buffers of classes other than `cls`, about `bytes` of them, off
  // the lists (caller holds mu_) for the caller to free outside the lock.
  void take_other_classes(int cls, size_t bytes, std::vector<void*>& out);

  struct Returner;
  const size_t max_idle_;
  const uint64_t fork_generation_;
  std::atomic<int64_t> last_allocate_ms_{0};
  mutable std::mutex mu_;
  size_t cached_ = 0;
  size_t in_use_ = 0;
  std::array<std::vector<void*>, kClasses> free_{};
};

}  // namespace lsio
