// BufferPool's idle budgets: reuse, the byte cap, the miss that frees other
// sizes, and the rest after which dropped buffers are freed. Buffers are not
// touched (virtual memory only), so gigabyte classes cost nothing here.
#include "core/buffer_pool.h"

#include <gtest/gtest.h>

#include <thread>

namespace lsio {
namespace {

constexpr size_t kMiB = 1u << 20;

TEST(BufferPool, ADroppedBufferIsReusedByTheNextOfItsClass) {
  auto pool = BufferPool::create(64 * kMiB);
  const std::byte* first = nullptr;
  {
    Bytes b = pool->allocate(kMiB);
    first = b.data();
    EXPECT_TRUE(pool->holds_memory());
  }
  EXPECT_EQ(pool->cached_bytes(), kMiB);
  Bytes again = pool->allocate(kMiB - 5);  // same class
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(pool->cached_bytes(), 0u);
}

TEST(BufferPool, IdleMemoryStaysWithinTheBudget) {
  auto pool = BufferPool::create(2 * kMiB);
  {
    Bytes a = pool->allocate(kMiB), b = pool->allocate(kMiB), c = pool->allocate(kMiB);
  }
  EXPECT_EQ(pool->cached_bytes(), 2 * kMiB);
  pool->trim();
  EXPECT_EQ(pool->cached_bytes(), 0u);
}

TEST(BufferPool, WholeArraysOfGigabytesArePooled) {
  auto pool = BufferPool::create(size_t{4} << 30);
  const std::byte* first = nullptr;
  {
    Bytes b = pool->allocate(size_t{2} << 30);
    first = b.data();
  }
  EXPECT_EQ(pool->cached_bytes(), size_t{2} << 30);
  Bytes again = pool->allocate(size_t{2} << 30);
  EXPECT_EQ(again.data(), first);
}

TEST(BufferPool, AMissFreesIdleBuffersOfOtherSizesAboveTheKeptFloor) {
  auto pool = BufferPool::create(size_t{4} << 30);
  {
    Bytes big = pool->allocate(512 * kMiB);
  }
  EXPECT_EQ(pool->cached_bytes(), 512 * kMiB);
  // The results changed size: the idle 512 MiB is not kept beside new memory.
  Bytes small = pool->allocate(kMiB);
  EXPECT_EQ(pool->cached_bytes(), 0u);
}

TEST(BufferPool, AMissKeepsOtherSizesBelowTheKeptFloor) {
  auto pool = BufferPool::create(size_t{4} << 30);
  {
    Bytes mid = pool->allocate(128 * kMiB);
  }
  Bytes small = pool->allocate(kMiB);
  EXPECT_EQ(pool->cached_bytes(), 128 * kMiB);
}

TEST(BufferPool, BuffersDroppedAfterARestAreFreed) {
  auto pool = BufferPool::create(64 * kMiB);
  Bytes held = pool->allocate(kMiB);
  {
    Bytes soon = pool->allocate(kMiB);
  }
  EXPECT_EQ(pool->cached_bytes(), kMiB);  // dropped while the pool is busy: kept
  std::this_thread::sleep_for(BufferPool::kRest + std::chrono::milliseconds(300));
  held = Bytes();
  EXPECT_EQ(pool->cached_bytes(), kMiB);  // the late one was freed, not kept
  pool->trim();
  EXPECT_FALSE(pool->holds_memory());
}

TEST(BufferPool, DefaultBudgetIsAnEighthOfMemoryWithinBounds) {
  const size_t budget = BufferPool::default_idle_budget();
  EXPECT_GE(budget, BufferPool::kKeptAnyway);
  EXPECT_LE(budget, size_t{4} << 30);
}

}  // namespace
}  // namespace lsio
