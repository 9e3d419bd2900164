// The RAM cache in front of a store: hits only for pinned versions, a replaced object never served, a budget.
#include <gtest/gtest.h>

#include <cstring>

#include "test_util.h"

namespace lsio {
namespace {

class CachingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.cache_bytes = 16 * 64 * 1024;  // 64 KiB per shard
    auto s = open_store("memory://", o);
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = *s;
  }
  std::string version(const std::string& key) {
    auto info = store_->stat(std::vector<std::string>{key})[0];
    EXPECT_TRUE(info) << info.error().to_string();
    return info ? info->version : "";
  }
  ReadBatch pinned(const std::string& key, const std::string& v, int n) {
    ReadBatch b;
    b.expect_version(b.file_id(key), v);
    for (int i = 0; i < n; ++i) b.add(key, ByteRange::bounded(i * 100, i * 100 + 100));
    return b;
  }
  std::shared_ptr<Store> store_;
};

TEST_F(CachingStoreTest, PinnedReadsAreServedFromRamUnpinnedNever) {
  auto data = testing::random_bytes(10000, 1);
  ASSERT_TRUE(store_->put("a", data).ok());
  ReadBatch b = pinned("a", version("a"), 50);
  for (int round = 0; round < 2; ++round) {
    auto r = store_->read(b);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(r[i]) << r[i].error().to_string();
      ASSERT_EQ(0, std::memcmp(r[i]->data(), data.data() + i * 100, 100));
    }
  }
  auto st = store_->cache_stats();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->misses, 50u);
  EXPECT_EQ(st->inserts, 50u);
  EXPECT_EQ(st->hits, 50u);
  ReadBatch unpinned;
  unpinned.add("a", ByteRange::bounded(0, 100));
  ASSERT_TRUE(store_->read(unpinned)[0]);
  EXPECT_EQ(store_->cache_stats()->hits, 50u);
  EXPECT_EQ(store_->cache_stats()->inserts, 50u);
}

TEST_F(CachingStoreTest, AReplacedObjectIsNeverServedFromTheCache) {
  ASSERT_TRUE(store_->put("a", testing::random_bytes(1000, 1)).ok());
  const std::string old = version("a");
  ReadBatch b = pinned("a", old, 5);
  ASSERT_TRUE(store_->read(b)[0]);
  auto fresh = testing::random_bytes(1000, 2);
  ASSERT_TRUE(store_->put("a", fresh).ok());
  // The old version pinned again: the store refuses (changed), the cache must not answer for it either.
  auto stale = store_->read(b);
  EXPECT_TRUE(stale[0]) << "cached bytes of the pinned old version are still that version's bytes";
  ReadBatch now = pinned("a", version("a"), 5);
  auto r = store_->read(now);
  ASSERT_TRUE(r[0]) << r[0].error().to_string();
  EXPECT_EQ(0, std::memcmp(r[0]->data(), fresh.data(), 100));
}

TEST_F(CachingStoreTest, StaysWithinItsBudget) {
  auto data = testing::random_bytes(4 << 20, 3);
  ASSERT_TRUE(store_->put("big", data).ok());
  ReadBatch b;
  b.expect_version(b.file_id("big"), version("big"));
  for (int i = 0; i < 1024; ++i) b.add("big", ByteRange::bounded(i * 4096, i * 4096 + 4096));
  auto r = store_->read(b);
  for (int i = 0; i < 1024; ++i) ASSERT_TRUE(r[i]);
  auto st = store_->cache_stats();
  EXPECT_LE(st->bytes, st->capacity_bytes);
  EXPECT_GT(st->evictions, 0u);
}

TEST_F(CachingStoreTest, ReadIntoAndForEachGoThroughTheCache) {
  auto data = testing::random_bytes(5000, 4);
  ASSERT_TRUE(store_->put("x", data).ok());
  const std::string v = version("x");
  for (int round = 0; round < 2; ++round) {
    std::vector<std::byte> out(300);
    ReadIntoBatch ib;
    ib.expect_version(ib.file_id("x"), v);
    for (int i = 0; i < 3; ++i) ib.add("x", i * 1000, std::span(out).subspan(i * 100, 100));
    for (const Status& s : store_->read_into(ib)) ASSERT_TRUE(s.ok()) << s.to_string();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(0, std::memcmp(out.data() + i * 100, data.data() + i * 1000, 100));
  }
  EXPECT_EQ(store_->cache_stats()->hits, 3u);
  ReadBatch b = pinned("x", v, 10);
  std::atomic<int> calls{0};
  Status s = store_->for_each(b, [&](size_t i, Result<Bytes> r) {
    ASSERT_TRUE(r);
    EXPECT_EQ(0, std::memcmp(r->data(), data.data() + i * 100, 100));
    ++calls;
  });
  EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(calls.load(), 10);
}

TEST_F(CachingStoreTest, ADerivedValueReplacesTheRawBytesOfItsRange) {
  auto data = testing::random_bytes(1000, 5);
  ASSERT_TRUE(store_->put("a", data).ok());
  const std::string v = version("a");
  ReadBatch b = pinned("a", v, 1);
  ASSERT_TRUE(store_->read(b)[0]);
  EXPECT_EQ(store_->cache_stats()->raw.entries, 1u);
  const DerivedKey key{"a", v, ByteRange::bounded(0, 100), "twice"};
  EXPECT_FALSE(store_->get_derived(key));
  store_->put_derived(key, Bytes::copy_of(std::string_view("decoded")));
  auto st = store_->cache_stats();
  EXPECT_EQ(st->raw.entries, 0u) << "the raw bytes are dropped: held once, derived";
  EXPECT_EQ(st->derived.entries, 1u);
  auto hit = store_->get_derived(key);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->as_string_view(), "decoded");
  // Another tag, version or range never answers.
  EXPECT_FALSE(store_->get_derived(DerivedKey{"a", v, ByteRange::bounded(0, 100), "thrice"}));
  EXPECT_FALSE(store_->get_derived(DerivedKey{"a", "other", ByteRange::bounded(0, 100), "twice"}));
  EXPECT_FALSE(store_->get_derived(DerivedKey{"a", v, ByteRange::bounded(0, 101), "twice"}));
  st = store_->cache_stats();
  EXPECT_EQ(st->derived.hits, 1u);
  EXPECT_EQ(st->derived.misses, 4u);
  EXPECT_EQ(st->hits, st->raw.hits + st->derived.hits + st->versions.hits);
}

TEST_F(CachingStoreTest, DerivedValuesShareTheBudgetAndAreEvicted) {
  const std::string big(8000, 'x');  // 16 shards of 64 KiB: at most ~8 such values per shard
  for (int i = 0; i < 400; ++i) {
    store_->put_derived(DerivedKey{"a", "v1", ByteRange::bounded(i * 10, i * 10 + 10), "t"},
                        Bytes::copy_of(std::string_view(big)));
  }
  auto st = store_->cache_stats();
  EXPECT_LE(st->bytes, st->capacity_bytes);
  EXPECT_GT(st->derived.evictions, 0u);
  EXPECT_EQ(st->derived.inserts, 400u);
  EXPECT_EQ(st->derived.entries, 400u - st->derived.evictions);
  EXPECT_FALSE(store_->has_cache() && store_->get_derived(DerivedKey{"a", "", ByteRange::bounded(0, 10), "t"}))
      << "an unpinned key is never cached";
}

TEST(CachingStoreVersions, StatIsAnsweredFromRamOnlyWithinRevalidateAfter) {
  const testing::TempDir dir;
  for (auto after : {std::chrono::nanoseconds(0), std::chrono::nanoseconds(std::chrono::hours(1))}) {
    StoreOptions o;
    o.cache_bytes = 1 << 20;
    o.cache_revalidate_after = after;
    auto s = open_store(dir.path(), o);
    ASSERT_TRUE(s) << s.error().to_string();
    auto& store = **s;
    ASSERT_TRUE(store.put("f", testing::random_bytes(10, 1)).ok());
    const std::vector<std::string> f{"f"};
    const std::string v1 = store.stat(f)[0]->version;
    // Replaced behind the store's back (another writer): seen at once only without revalidate_after.
    const auto other = open_store(dir.path());
    ASSERT_TRUE(other);
    ASSERT_TRUE((*other)->put("f", testing::random_bytes(20, 2)).ok());
    auto info = store.stat(f)[0];
    ASSERT_TRUE(info);
    if (after.count() == 0) {
      EXPECT_NE(info->version, v1);
      EXPECT_EQ(info->size, 20u);
      EXPECT_EQ(store.cache_stats()->versions.entries, 0u);
    } else {
      EXPECT_EQ(info->version, v1) << "within revalidate_after the remembered version answers";
      EXPECT_EQ(store.cache_stats()->versions.hits, 1u);
      // A put through this store forgets it at once.
      ASSERT_TRUE(store.put("f", testing::random_bytes(30, 3)).ok());
      EXPECT_EQ(store.stat(f)[0]->size, 30u);
    }
  }
}

}  // namespace
}  // namespace lsio
