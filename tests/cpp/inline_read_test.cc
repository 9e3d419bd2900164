// Inline reads (src/io/inline_read.h): a small page-cache-hot batch is read on
// the calling thread, anything else goes to the workers, and either way the
// results and the errors are the engine's. Which thread ran a for_each
// callback shows which path a batch took.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "lsio/store.h"
#include "test_util.h"

namespace lsio {
namespace {

constexpr size_t kFile = 256u << 10;

class InlineReads : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = testing::random_bytes(kFile, 11);
    testing::write_file(dir_.file("f"), data_);  // just written: in the page cache
  }
  std::shared_ptr<Store> open(bool inline_reads) {
    StoreOptions so;
    so.inline_reads = inline_reads;
    auto s = open_store(dir_.path(), so);
    EXPECT_TRUE(s) << s.error().to_string();
    return *s;
  }
  // The thread that ran the callback of a one-request for_each of `range`, and its result.
  std::pair<std::thread::id, Result<Bytes>> callback_of(Store& store, ByteRange range, std::string path = "f") {
    ReadBatch b;
    b.add(path, range);
    std::thread::id ran;
    Result<Bytes> got = error(StatusCode::kInternal, "callback not run");
    const Status s = store.for_each(b, [&](size_t, Result<Bytes> r) {
      ran = std::this_thread::get_id();
      got = std::move(r);
    });
    EXPECT_TRUE(s.ok()) << s.to_string();
    return {ran, std::move(got)};
  }
  bool same_bytes(const Bytes& got, uint64_t begin) const {
    return std::memcmp(got.data(), data_.data() + begin, got.size()) == 0;
  }

  testing::TempDir dir_;
  std::vector<std::byte> data_;
};

TEST_F(InlineReads, ACachedSmallReadRunsOnTheCallingThread) {
  auto store = open(true);
  auto [ran, got] = callback_of(*store, ByteRange::bounded(4096, 8192));
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(ran, std::this_thread::get_id());
  EXPECT_EQ(got->size(), 4096u);
  EXPECT_TRUE(same_bytes(*got, 4096));
}

TEST_F(InlineReads, OffMeansEveryReadGoesToAWorker) {
  auto store = open(false);
  auto [ran, got] = callback_of(*store, ByteRange::bounded(4096, 8192));
  ASSERT_TRUE(got);
  EXPECT_NE(ran, std::this_thread::get_id());
  EXPECT_TRUE(same_bytes(*got, 4096));
}

TEST_F(InlineReads, AnUncachedFileGoesToTheWorkers) {
  testing::drop_from_page_cache(dir_.file("f"));
  auto store = open(true);
  auto [ran, got] = callback_of(*store, ByteRange::bounded(65536, 65536 + 4096));
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_NE(ran, std::this_thread::get_id()) << "RWF_NOWAIT should have refused pages not in the page cache";
  EXPECT_TRUE(same_bytes(*got, 65536));
}

TEST_F(InlineReads, CollectedRangesOfEveryFormHaveTheFilesBytes) {
  auto store = open(true);
  ReadBatch b;
  b.add("f", ByteRange::bounded(0, 100));
  b.add("f", ByteRange::bounded(50, 70));  // overlapping
  b.add("f", ByteRange::suffix(4096));     // the shard index form
  b.add("f", ByteRange::bounded(10, 10));  // empty
  b.add("f", ByteRange::from(kFile - 10));
  const auto r = store->read(b);
  ASSERT_EQ(r.size(), 5u);
  for (const auto& x : r) ASSERT_TRUE(x) << x.error().to_string();
  EXPECT_TRUE(same_bytes(*r[0], 0) && r[0]->size() == 100);
  EXPECT_TRUE(same_bytes(*r[1], 50) && r[1]->size() == 20);
  EXPECT_TRUE(same_bytes(*r[2], kFile - 4096) && r[2]->size() == 4096);
  EXPECT_EQ(r[3]->size(), 0u);
  EXPECT_TRUE(same_bytes(*r[4], kFile - 10) && r[4]->size() == 10);
}

TEST_F(InlineReads, ReadIntoFillsTheDestinations) {
  auto store = open(true);
  std::vector<std::byte> a(300), b(4096);
  ReadIntoBatch into;
  into.add("f", 1000, a);
  into.add("f", 8192, b);
  const auto st = store->read_into(into);
  ASSERT_TRUE(st[0].ok() && st[1].ok()) << st[0].to_string() << st[1].to_string();
  EXPECT_EQ(std::memcmp(a.data(), data_.data() + 1000, a.size()), 0);
  EXPECT_EQ(std::memcmp(b.data(), data_.data() + 8192, b.size()), 0);
}

// Errors are the workers': the inline path hands anything unusual over untouched.
TEST_F(InlineReads, ErrorsAreTheEnginesOwn) {
  auto with = open(true);
  auto without = open(false);
  const auto expect_same = [&](ReadBatch b) {
    const auto x = with->read(b);
    const auto y = without->read(b);
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_FALSE(x[i]);
      ASSERT_FALSE(y[i]);
      EXPECT_EQ(x[i].error().to_string(), y[i].error().to_string());
    }
  };
  ReadBatch past;
  past.add("f", ByteRange::bounded(kFile - 10, kFile + 10));
  expect_same(past);
  ReadBatch missing;
  missing.add("nope", ByteRange::bounded(0, 10));
  expect_same(missing);
  ReadBatch changed;
  changed.add("f", ByteRange::bounded(0, 10));
  changed.expect_version(0, "1:2:3:4");
  expect_same(changed);
  ReadBatch dir;
  ::mkdir(dir_.file("d").c_str(), 0755);
  dir.add("d", ByteRange::bounded(0, 10));
  expect_same(dir);
}

TEST_F(InlineReads, AMatchingVersionIsReadInline) {
  auto store = open(true);
  const auto info = store->stat(std::vector<std::string>{"f"});
  ASSERT_TRUE(info[0]);
  ReadBatch b;
  b.add("f", ByteRange::bounded(0, 64));
  b.expect_version(0, info[0]->version);
  const auto r = store->read(b);
  ASSERT_TRUE(r[0]) << r[0].error().to_string();
  EXPECT_TRUE(same_bytes(*r[0], 0));
}

TEST_F(InlineReads, AnInlineCallbackCannotCallItsStore) {
  auto store = open(true);
  ReadBatch b;
  b.add("f", ByteRange::bounded(0, 64));
  Status nested;
  std::thread::id ran;
  const Status s = store->for_each(b, [&](size_t, Result<Bytes>) {
    ran = std::this_thread::get_id();
    ReadBatch again;
    again.add("f", ByteRange::bounded(0, 8));
    const auto r = store->read(again);
    nested = r[0] ? Status() : r[0].error();
  });
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(ran, std::this_thread::get_id());
  EXPECT_EQ(nested.code(), StatusCode::kFailedPrecondition) << nested.to_string();
}

TEST_F(InlineReads, AThrowingInlineCallbackFailsItsBatch) {
  auto store = open(true);
  ReadBatch b;
  b.add("f", ByteRange::bounded(0, 64));
  const Status s = store->for_each(b, [](size_t, Result<Bytes>) { throw std::runtime_error("boom"); });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_NE(s.message().find("boom"), std::string::npos) << s.to_string();
}

TEST_F(InlineReads, LargerOrWiderBatchesGoToTheWorkers) {
  auto store = open(true);
  testing::write_file(dir_.file("big"), testing::random_bytes(2u << 20, 12));
  auto [ran2, got2] = callback_of(*store, ByteRange::bounded(0, (1u << 20) + 4096), "big");
  ASSERT_TRUE(got2) << got2.error().to_string();
  EXPECT_NE(ran2, std::this_thread::get_id());
  ReadBatch two;  // two requests with a callback: spread over the workers
  two.add("f", ByteRange::bounded(0, 10));
  two.add("f", ByteRange::bounded(10, 20));
  std::atomic<int> on_caller{0};
  const auto me = std::this_thread::get_id();
  ASSERT_TRUE(store->for_each(two, [&](size_t, Result<Bytes>) { on_caller += std::this_thread::get_id() == me; }).ok());
  EXPECT_EQ(on_caller.load(), 0);
}

}  // namespace
}  // namespace lsio
