// The engine contract, on every store: many batches at once from many
// threads, cancellation, results that are errors until delivered, bounded
// allocations, re-entry refused, versions, and fork.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "test_util.h"

namespace lsio {
namespace {

using namespace std::chrono_literals;

class Contract : public testing::AnyStoreTest {
 protected:
  // n files of `size` bytes (at most 8 MiB on remote stores, which upload them): "f0" .. "f{n-1}".
  void create_files(int n, size_t size) {
    if (is_remote()) size = std::min<size_t>(size, 8 << 20);
    for (int f = 0; f < n; ++f) create("f" + std::to_string(f), testing::random_bytes(size, 100 + f));
  }

  // `n` random 4 KiB-or-less ranges over the files created.
  std::shared_ptr<ReadBatch> random_batch(size_t n, uint64_t seed) {
    auto b = std::make_shared<ReadBatch>();
    std::mt19937_64 rng(seed);
    std::vector<std::string> keys;
    for (auto& [k, v] : files_) keys.push_back(k);
    for (size_t i = 0; i < n; ++i) {
      const std::string& k = keys[rng() % keys.size()];
      const uint64_t size = files_[k].size();
      const uint64_t begin = rng() % size;
      b->add(k, ByteRange::bounded(begin, std::min(size, begin + 1 + rng() % 4096)));
    }
    return b;
  }

  void expect_exact(const ReadBatch& b, std::vector<Result<Bytes>>& r, bool allow_cancelled = false) {
    ASSERT_EQ(r.size(), b.size());
    for (size_t i = 0; i < b.size(); ++i) {
      if (!r[i] && allow_cancelled && r[i].error().code() == StatusCode::kCancelled) continue;
      ASSERT_TRUE(r[i]) << i << ": " << r[i].error().to_string();
      const auto& f = files_.at(b.path_of(i));
      const auto a = b.range(i).resolve(f.size());
      ASSERT_EQ(r[i]->size(), a.end - a.begin) << i;
      ASSERT_EQ(std::memcmp(r[i]->data(), f.data() + a.begin, r[i]->size()), 0) << i;
    }
  }
};

TEST_P(Contract, ManyThreadsManyBatchesEveryByteChecked) {
  create_files(16, 256 << 10);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        auto b = random_batch(500 + 97 * k, 1000 * t + k);
        auto r = store_->read(*b);
        for (size_t i = 0; i < b->size(); ++i) {
          const auto& f = files_.at(b->path_of(i));
          const auto a = b->range(i).resolve(f.size());
          if (!r[i] || r[i]->size() != a.end - a.begin || std::memcmp(r[i]->data(), f.data() + a.begin, r[i]->size()))
            ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_P(Contract, SubmitReturnsAtOnceAndCountsProgress) {
  create_files(4, 1 << 20);
  auto b = random_batch(20000, 7);
  Batch running = store_->submit(b);
  running.wait();
  EXPECT_TRUE(running.done());
  EXPECT_EQ(running.requests_done(), b->size());
  EXPECT_EQ(running.requests_total(), b->size());
  EXPECT_TRUE(running.status().ok());
  auto r = running.take_results();
  expect_exact(*b, r);
  int called = 0;
  running.on_done([&] { ++called; });  // already done: runs here, at once
  EXPECT_EQ(called, 1);
}

TEST_P(Contract, SmallBatchIsNotStuckBehindAHugeOne) {
  if (is_memory()) GTEST_SKIP() << "the memory store runs each batch on its caller's thread";
  create_files(2, 64 << 20);
  auto huge = random_batch(3'000'000, 11);
  ReadOptions one_by_one;
  if (is_remote()) one_by_one.coalesce_gap = 0;  // else a few merged GETs finish at once
  Batch big = store_->submit(huge, one_by_one);
  std::this_thread::sleep_for(20ms);
  auto small = random_batch(16, 12);
  auto r = store_->read(*small);
  const bool huge_done_when_small_returned = big.done();
  expect_exact(*small, r);
  big.cancel();
  big.wait();
  EXPECT_FALSE(huge_done_when_small_returned) << "the huge batch should still run (make it bigger?)";
}

TEST_P(Contract, CancelDrainsAndUndeliveredRequestsAreErrors) {
  create_files(2, 64 << 20);
  auto b = random_batch(is_memory() ? 1000 : 3'000'000, 21);
  auto source = CancelSource::create();
  ReadOptions options;
  options.cancel = source;
  if (is_remote()) options.coalesce_gap = 0;
  Batch running = store_->submit(b, options);
  source->cancel(Status(StatusCode::kCancelled, "test cancel"));
  ASSERT_TRUE(running.wait_for(10s));
  auto r = running.take_results();
  size_t cancelled = 0;
  for (auto& x : r)
    if (!x && x.error().code() == StatusCode::kCancelled) ++cancelled;
  expect_exact(*b, r, /*allow_cancelled=*/true);
  if (!is_memory()) EXPECT_GT(cancelled, 0u);
  // The memory store runs a batch on the submitting thread: it was done before the cancel.
  if (!is_memory()) EXPECT_EQ(running.status().code(), StatusCode::kCancelled);
  // A cancelled source finishes later batches at once; the store itself is fine.
  Batch later = store_->submit(random_batch(100, 22), options);
  ASSERT_TRUE(later.wait_for(10s));
  EXPECT_EQ(later.status().code(), StatusCode::kCancelled);
  auto again = random_batch(1000, 23);
  auto ok = store_->read(*again);
  expect_exact(*again, ok);
}

// Cancelled at random moments: a file finished by its cancellation while still
// queued for its next read must leave the queue (it once crashed the worker).
TEST_P(Contract, RepeatedCancelsMidBatch) {
  create("one", testing::random_bytes(16 << 20, 5));
  auto b = std::make_shared<ReadBatch>();
  const uint32_t f = b->file_id("one");
  for (uint64_t i = 0; i < 200'000; ++i) b->add(f, ByteRange::bounded(i * 64, i * 64 + 1));
  std::mt19937 rng(3);
  for (int round = 0; round < 30; ++round) {
    Batch running = store_->submit(b);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
    running.cancel();
    ASSERT_TRUE(running.wait_for(10s));
    auto r = running.take_results();
    for (size_t i = 0; i < r.size(); i += 997) {
      if (!r[i]) {
        ASSERT_EQ(r[i].error().code(), StatusCode::kCancelled) << r[i].error().to_string();
        continue;
      }
      ASSERT_EQ(r[i]->size(), 1u);
      ASSERT_EQ(*r[i]->data(), files_["one"][i * 64]);
    }
  }
}

TEST_P(Contract, ForEachCancelStopsTheCallbacks) {
  create_files(2, 8 << 20);
  auto b = random_batch(200'000, 31);
  std::atomic<size_t> calls{0};
  Batch running = store_->submit(b, [&](size_t, Result<Bytes>) { ++calls; }, {});
  running.cancel();
  running.wait();
  const size_t at_done = calls.load();
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(calls.load(), at_done) << "a callback ran after the batch was done";
  EXPECT_LE(at_done, b->size());
}

TEST_P(Contract, HugeRequestsAreRefusedBeforeAllocating) {
  if (is_memory() || GetParam() == "s3") GTEST_SKIP() << "no 200 GiB object can be made here";
  const std::string sparse = GetParam() == "http" ? http_dir_ + "/sparse" : dir_.file("sparse");
  testing::write_file(sparse, std::vector<std::byte>(10));
  ASSERT_EQ(::truncate(sparse.c_str(), 200ll << 30), 0);
  ReadBatch b;
  b.add("sparse", ByteRange::whole());
  auto r = store_->read(b);
  ASSERT_FALSE(r[0]);
  EXPECT_EQ(r[0].error().code(), StatusCode::kResourceExhausted) << r[0].error().to_string();
  EXPECT_NE(r[0].error().to_string().find("max_request_bytes"), std::string::npos);
  ReadOptions small;
  small.max_request_bytes = 4096;
  ReadBatch c;
  c.add("sparse", ByteRange::bounded(0, 8192));
  c.add("sparse", ByteRange::bounded(16384, 20480));
  auto r2 = store_->read(c, small);
  EXPECT_FALSE(r2[0]);
  EXPECT_TRUE(r2[1]);
}

TEST_P(Contract, ReentryFromACallbackIsRefused) {
  create_files(1, 4096);
  ReadBatch b;
  b.add("f0", ByteRange::bounded(0, 10));
  std::vector<Status> inner;
  Status s = store_->for_each(b, [&](size_t, Result<Bytes>) {
    auto r = store_->read(b);
    inner.push_back(r[0] ? Status() : r[0].error());
    inner.push_back(store_->put("x", std::as_bytes(std::span("abc", 3))));
    inner.push_back(store_->stat(std::vector<std::string>{"f0"})[0].error());
  });
  EXPECT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(inner.size(), 3u);
  for (const Status& e : inner) EXPECT_EQ(e.code(), StatusCode::kFailedPrecondition) << e.to_string();
  EXPECT_TRUE(store_->read(b)[0]);
}

TEST_P(Contract, VersionsDetectReplacedFiles) {
  create("v", testing::random_bytes(8192, 1));
  const auto before = store_->stat(std::vector<std::string>{"v"})[0];
  ASSERT_TRUE(before) << before.error().to_string();
  EXPECT_EQ(before->size, 8192u);
  ReadBatch b;
  b.expect_version(b.file_id("v"), before->version);
  b.add("v", ByteRange::bounded(0, 100));
  EXPECT_TRUE(store_->read(b)[0]);
  if (can_write()) {
    ASSERT_TRUE(store_->put("v", testing::random_bytes(8192, 2)).ok());
  } else {  // nginx's ETag is mtime-size: a new size, so that a replacement within the second still shows
    create("v", testing::random_bytes(8200, 2));
  }
  const auto after = store_->stat(std::vector<std::string>{"v"})[0];
  ASSERT_TRUE(after);
  EXPECT_NE(after->version, before->version);
  auto r = store_->read(b);
  ASSERT_FALSE(r[0]);
  EXPECT_EQ(r[0].error().code(), StatusCode::kAborted) << r[0].error().to_string();
  EXPECT_NE(r[0].error().to_string().find("changed"), std::string::npos);
}

TEST_P(Contract, DestroyingTheStoreCancelsAndDrains) {
  create_files(2, 32 << 20);
  auto b = random_batch(is_memory() ? 100 : 2'000'000, 41);
  ReadOptions one_by_one;
  if (is_remote()) one_by_one.coalesce_gap = 0;  // else a few merged GETs finish at once
  Batch running = store_->submit(b, one_by_one);
  store_.reset();  // cancels what is left and drains its reads
  ASSERT_TRUE(running.wait_for(1ms));
  if (!is_memory()) EXPECT_FALSE(running.status().ok());
}

// The parent uses the store (workers and rings exist), forks, the child reads
// through the same store: it must rebuild its workers, read exact bytes and exit.
TEST_P(Contract, ForkedChildRebuildsItsWorkers) {
  if (is_memory()) GTEST_SKIP() << "nothing to rebuild";
  create_files(4, 1 << 20);
  auto b = random_batch(5000, 51);
  auto r = store_->read(*b);
  expect_exact(*b, r);
  Batch background = store_->submit(random_batch(200'000, 52));  // running in the parent during the fork
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(60);  // a hang fails the test instead of blocking it
    auto rc = store_->read(*b);
    for (size_t i = 0; i < b->size(); ++i) {
      const auto& f = files_.at(b->path_of(i));
      const auto a = b->range(i).resolve(f.size());
      if (!rc[i] || std::memcmp(rc[i]->data(), f.data() + a.begin, a.end - a.begin) != 0) ::_exit(3);
    }
    store_.reset();  // must not join the parent's threads
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  background.wait();
  EXPECT_TRUE(background.status().ok());
}

INSTANTIATE_TEST_SUITE_P(AllStores, Contract, LSIO_STORE_KINDS);

}  // namespace
}  // namespace lsio
