#include "core/buffer_pool.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
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

void free_all(const std::vector<void*>& buffers) {
  for (void* p : buffers) std::free(p);
}

}  // namespace

size_t BufferPool::default_idle_budget() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return kKeptAnyway;
  const size_t eighth = static_cast<size_t>(pages) / 8 * static_cast<size_t>(page);
  return std::clamp(eighth, kKeptAnyway, size_t{4} << 30);
}

BufferPool::BufferPool(size_t max_idle_bytes)
    : max_idle_(max_idle_bytes), fork_generation_(detail::fork_generation()) {}

BufferPool::~BufferPool() {
  for (auto& list : free_) free_all(list);
}

int BufferPool::size_class(size_t size) {
  if (size < kMinClassBytes / 2 || size > kMaxClassBytes) return -1;
  const size_t rounded = std::bit_ceil(std::max(size, kMinClassBytes));
  return std::countr_zero(rounded) - std::countr_zero(kMinClassBytes);
}

int64_t BufferPool::now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // vDSO, a few ns: called per buffer
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

void BufferPool::take_other_classes(int cls, size_t bytes, std::vector<void*>& out) {
  size_t taken = 0;
  for (int c = kClasses - 1; c >= 0 && taken < bytes && cached_ > kKeptAnyway; --c) {
    if (c == cls) continue;
    auto& list = free_[c];
    while (!list.empty() && taken < bytes && cached_ > kKeptAnyway) {
      out.push_back(list.back());
      list.pop_back();
      taken += kMinClassBytes << c;
      cached_ -= kMinClassBytes << c;
    }
  }
}

Bytes BufferPool::allocate(size_t size) {
  const int cls = size_class(size);
  if (cls < 0) return Bytes::allocate(size, kAlignment);
  const size_t bytes = kMinClassBytes << cls;
  last_allocate_ms_.store(now_ms(), std::memory_order_relaxed);
  void* p = nullptr;
  std::vector<void*> evicted;
  {
    std::lock_guard lock(mu_);
    auto& list = free_[cls];
    if (!list.empty()) {
      p = list.back();
      list.pop_back();
      cached_ -= bytes;
    } else if (cached_ > kKeptAnyway) {
      take_other_classes(cls, bytes, evicted);
    }
    in_use_ += bytes;
  }
  free_all(evicted);
  if (p == nullptr) p = allocate_class(bytes);
  if (p == nullptr) {
    std::lock_guard lock(mu_);
    in_use_ -= bytes;
    throw std::bad_alloc();
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
  const bool resting = now_ms() - last_allocate_ms_.load(std::memory_order_relaxed) > kRest.count();
  {
    std::lock_guard lock(mu_);
    in_use_ -= bytes;
    if (!resting && cached_ + bytes <= max_idle_) {
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
  for (auto& list : idle) free_all(list);
}

size_t BufferPool::cached_bytes() const {
  std::lock_guard lock(mu_);
  return cached_;
}

bool BufferPool::holds_memory() const {
  std::lock_guard lock(mu_);
  return cached_ + in_use_ > 0;
}

}  // namespace lsio
