#include "core/buffer_pool.h"

#include <sys/mman.h>

#include <bit>
#include <cstdlib>
#include <new>

#include "core/fork.h"

namespace lsio {

struct BufferPool::Returner {
  std::shared_ptr<BufferPool> pool;
  int cls;
  void operator()(const void* p) const noexcept { pool->release(const_cast<void*>(p), cls); }
};

namespace {

constexpr size_t kHugePage = 2u << 20;
constexpr size_t kHugeClassBytes = 4u << 20;  // smaller classes would waste most of a huge page

void* allocate_class(size_t bytes) {
  if (bytes < kHugeClassBytes) return std::aligned_alloc(BufferPool::kAlignment, bytes);
  void* p = std::aligned_alloc(kHugePage, bytes);
  // Advice only: without huge pages (THP off, or no memory to spare) the buffer works as well.
  if (p != nullptr) static_cast<void>(::madvise(p, bytes, MADV_HUGEPAGE));
  return p;
}

}  // namespace

BufferPool::BufferPool(size_t max_cached_bytes)
    : max_cached_(max_cached_bytes), fork_generation_(detail::fork_generation()) {}

BufferPool::~BufferPool() {
  for (auto& list : free_)
    for (void* p : list) std::free(p);
}

int BufferPool::size_class(size_t size) {
  if (size < kMinClassBytes / 2 || size > kMaxClassBytes) return -1;
  const size_t rounded = std::bit_ceil(std::max(size, kMinClassBytes));
  return std::countr_zero(rounded) - std::countr_zero(kMinClassBytes);
}

Bytes BufferPool::allocate(size_t size) {
  const int cls = size_class(size);
  if (cls < 0) return Bytes::allocate(size, kAlignment);
  void* p = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& list = free_[cls];
    if (!list.empty()) {
      p = list.back();
      list.pop_back();
      cached_ -= kMinClassBytes << cls;
    }
  }
  if (p == nullptr) {
    p = allocate_class(kMinClassBytes << cls);
    if (p == nullptr) throw std::bad_alloc();
  }
  std::shared_ptr<const void> owner(p, Returner{shared_from_this(), cls});
  return Bytes::adopt(std::move(owner), static_cast<const std::byte*>(p), size);
}

void BufferPool::release(void* p, int cls) {
  const size_t bytes = kMinClassBytes << cls;
  if (fork_generation_ != detail::fork_generation()) {
    std::free(p);  // the parent's pool, in a forked child: its mutex may be held forever
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (cached_ + bytes <= max_cached_) {
      free_[cls].push_back(p);
      cached_ += bytes;
      return;
    }
  }
  std::free(p);
}

void BufferPool::trim() {
  std::array<std::vector<void*>, kClasses> idle;
  {
    std::lock_guard lock(mu_);
    idle.swap(free_);
    cached_ = 0;
  }
  for (auto& list : idle)
    for (void* p : list) std::free(p);
}

size_t BufferPool::cached_bytes() const {
  std::lock_guard lock(mu_);
  return cached_;
}

}  // namespace lsio
