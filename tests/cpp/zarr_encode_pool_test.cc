// The writer's shared encode pool (src/zarr/encode_pool.h): every item done once with many callers at once, calls
// from inside a pool job, and the same threads serving call after call (not threads started per call).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "zarr/encode_pool.h"

namespace lsio::zarr {
namespace {

// work() for n items shared by whoever runs it.
struct Items {
  explicit Items(size_t n) : done(n) {}
  std::atomic<size_t> next{0};
  std::vector<std::atomic<int>> done;
  std::function<void()> work() {
    return [this]() noexcept {
      for (size_t i; (i = next.fetch_add(1)) < done.size();) done[i].fetch_add(1);
    };
  }
};

TEST(EncodePool, EveryItemOnceWithConcurrentCallers) {
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        Items items(257);
        run_on_pool(8, items.work());
        for (auto& d : items.done) wrong += d.load() != 1;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GE(pool_threads(), 1u);
}

TEST(EncodePool, CallsFromInsideAPoolJobFinish) {
  std::atomic<int> inner_done{0};
  const std::function<void()> outer = [&]() noexcept {
    Items items(64);
    run_on_pool(pool_threads(), items.work());
    for (auto& d : items.done) inner_done += d.load();
  };
  run_on_pool(pool_threads(), outer);
  EXPECT_EQ(inner_done.load() % 64, 0);
  EXPECT_GE(inner_done.load(), 64);
}

thread_local int jobs_on_this_thread = 0;

TEST(EncodePool, PoolThreadsServeCallAfterCall) {
  // Each call's caller waits until a helper joined it, so a pool thread runs in every call; a thread started per
  // call would count 1 job at most.
  int most = 0;
  const auto caller = std::this_thread::get_id();
  const int calls = static_cast<int>(pool_threads()) + 2;  // more calls than pool threads: one serves two
  for (int call = 0; call < calls; ++call) {
    std::atomic<bool> helper_in{false};
    std::atomic<int> helper_count{0};
    const std::function<void()> work = [&]() noexcept {
      if (std::this_thread::get_id() != caller) {
        helper_count = std::max(helper_count.load(), ++jobs_on_this_thread);
        helper_in = true;
        return;
      }
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!helper_in && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    };
    run_on_pool(1, work);
    ASSERT_TRUE(helper_in) << "no pool thread ran call " << call;
    most = std::max(most, helper_count.load());
  }
  EXPECT_GT(most, 1);  // some pool thread ran several calls' jobs
}

}  // namespace
}  // namespace lsio::zarr
