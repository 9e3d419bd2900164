// Ownership of Store::read results: small ranges share a few slab buffers
// (src/io/slab.h), yet each result stays valid on its own until dropped, even
// after its batch and its store are gone; a slab is released exactly when its
// last result is dropped. Run under ASan (LSIO_SANITIZE=address) an early free
// shows up as a use-after-free, a missed one as a leak.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "lsio/store.h"
#include "test_util.h"

namespace lsio {
namespace {

using testing::EngineTest;

constexpr size_t kFileBytes = 4u << 20;
constexpr size_t kRange = 4096;
constexpr size_t kRanges = 1000;  // every other 4 KiB block of two files: none touch, so none merge

class ReadResults : public EngineTest {
 protected:
  void SetUp() override {
    for (int f = 0; f < 2; ++f) {
      data_[f] = testing::random_bytes(kFileBytes, 7 + f);
      testing::write_file(dir_.file("f" + std::to_string(f)), data_[f]);
    }
  }
  ReadBatch batch() const {
    ReadBatch b;
    for (size_t i = 0; i < kRanges; ++i) {
      const uint64_t at = (i / 2) * 2 * kRange;
      b.add("f" + std::to_string(i % 2), ByteRange::bounded(at, at + kRange));
    }
    return b;
  }
  void expect_bytes(const Result<Bytes>& r, size_t i) const {
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->size(), kRange);
    EXPECT_EQ(std::memcmp(r->data(), data_[i % 2].data() + (i / 2) * 2 * kRange, kRange), 0) << "range " << i;
  }
  std::vector<std::byte> data_[2];
};

TEST_P(ReadResults, OutliveTheirBatchAndStore) {
  std::vector<Result<Bytes>> results;
  {
    auto store = open(dir_.path());
    auto b = std::make_shared<ReadBatch>(batch());
    results = store->submit(b, ReadOptions{}).take_results();
  }  // batch and store (its workers, their slabs and buffer pool handle) are gone
  ASSERT_EQ(results.size(), kRanges);
  for (size_t i = 0; i < kRanges; ++i) expect_bytes(results[i], i);
}

TEST_P(ReadResults, SlabReleasedWhenItsLastResultIsDropped) {
  std::vector<Result<Bytes>> results;
  {
    auto store = open(dir_.path());
    results = store->read(batch());
  }
  ASSERT_EQ(results.size(), kRanges);
  // Results grouped by the allocation they share.
  std::map<const void*, std::vector<size_t>> by_owner;
  for (size_t i = 0; i < kRanges; ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().to_string();
    by_owner[results[i]->owner().get()].push_back(i);
  }
  EXPECT_LT(by_owner.size(), kRanges / 16) << "small results should share a few slabs, not own a buffer each";
  for (const auto& [owner, members] : by_owner) {
    std::weak_ptr<const void> slab = results[members.front()]->owner();
    for (size_t k = 0; k + 1 < members.size(); ++k) {
      results[members[k]] = Bytes();
      ASSERT_FALSE(slab.expired()) << "slab released with " << members.size() - k - 1 << " results left";
      expect_bytes(results[members.back()], members.back());  // still readable (ASan: no use-after-free)
    }
    results[members.back()] = Bytes();
    EXPECT_TRUE(slab.expired()) << "slab still held after its last result was dropped";
  }
}

TEST_P(ReadResults, DroppedOnAnotherThreadWhileTheStoreReadsOn) {
  auto store = open(dir_.path());
  for (int round = 0; round < 4; ++round) {
    std::vector<Result<Bytes>> results = store->read(batch());
    ASSERT_EQ(results.size(), kRanges);
    for (size_t i = 0; i < kRanges; ++i) expect_bytes(results[i], i);
    // Slabs go back to the store's pool from this thread while its workers
    // carve the next batch's results (reused memory must not alias live results).
    std::thread dropper([r = std::move(results)]() mutable { r.clear(); });
    std::vector<Result<Bytes>> next = store->read(batch());
    dropper.join();
    for (size_t i = 0; i < kRanges; ++i) expect_bytes(next[i], i);
  }
}

// Store::allocate: output buffers come from the store's pool, aligned and
// writable, and a dropped one is what the next request of its size gets back
// (memory already faulted in); one still held is never handed out again.
TEST_P(ReadResults, AllocatedBuffersAreRecycledOnlyOnceDropped) {
  auto store = open(dir_.path());
  constexpr size_t kSize = 6u << 20;
  Bytes held = store->allocate(kSize);
  ASSERT_EQ(held.size(), kSize);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(held.data()) % 4096, 0u);
  std::memset(held.mutable_data(), 0xab, kSize);
  Bytes other = store->allocate(kSize);
  EXPECT_NE(other.data(), held.data()) << "a buffer still held was handed out again";
  const std::byte* recycled = other.data();
  other = Bytes();
  Bytes again = store->allocate(kSize - 4096);  // same size class
  EXPECT_EQ(again.data(), recycled) << "the dropped buffer should be reused";
  EXPECT_EQ(held.data()[kSize - 1], std::byte{0xab});
  store.reset();
  std::memset(again.mutable_data(), 0, again.size());  // outlives its store (ASan: no use-after-free)
}

// A buffer allocated before a fork and dropped in the child is freed there,
// never pushed into the parent's pool (whose mutex a parent thread may hold).
TEST_P(ReadResults, AllocatedBufferDroppedInForkedChild) {
  auto store = open(dir_.path());
  Bytes before = store->allocate(8u << 20);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(60);  // a hang fails the test instead of blocking it
    before = Bytes();
    Bytes mine = store->allocate(8u << 20);  // the child's own pool
    std::memset(mine.mutable_data(), 1, mine.size());
    auto r = store->read(batch());
    for (size_t i = 0; i < kRanges; ++i)
      if (!r[i] || std::memcmp(r[i]->data(), data_[i % 2].data() + (i / 2) * 2 * kRange, kRange) != 0) ::_exit(3);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, ReadResults, ::testing::Values(EngineKind::kUring, EngineKind::kPosix));

}  // namespace
}  // namespace lsio
