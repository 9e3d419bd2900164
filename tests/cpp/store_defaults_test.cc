// StoreOptions planning defaults of file stores (coalesce_gap, max_merged, part_size) and direct_threshold:
// a default applies when ReadOptions leaves the field unset, a set field wins, and the threshold really reads
// with O_DIRECT (the page cache stays empty, seen with mincore) or falls back to buffered reads where the file
// system refuses O_DIRECT.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "lsio/store.h"
#include "test_util.h"

namespace lsio {
namespace {

class StoreDefaultsTest : public testing::EngineTest {
 protected:
  std::shared_ptr<Store> open_with(StoreOptions so) {
    so.engine = GetParam();
    auto s = open_store(dir_.path(), so);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? *s : nullptr;
  }
  // Two ranges 2000 bytes apart: one read (sharing one buffer) when merged.
  static ReadBatch two_ranges() {
    ReadBatch b;
    b.add("f", ByteRange::bounded(0, 1000));
    b.add("f", ByteRange::bounded(3000, 4000));
    return b;
  }
  static bool merged(const std::vector<Result<Bytes>>& r) {
    EXPECT_TRUE(r[0] && r[1]);
    return r[0] && r[1] && r[1]->data() - r[0]->data() == 3000;
  }
};

// Pages of `path` in the page cache.
size_t resident_pages(const std::string& path, size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  EXPECT_NE(map, MAP_FAILED);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((size + page - 1) / page);
  EXPECT_EQ(::mincore(map, size, vec.data()), 0);
  ::munmap(map, size);
  size_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

TEST_P(StoreDefaultsTest, CoalesceGapDefaultAppliesWhenReadOptionsLeaveItUnset) {
  testing::write_file(dir_.file("f"), testing::random_bytes(8192, 1));
  StoreOptions so;
  so.coalesce_gap = 4096;
  auto store = open_with(so);
  EXPECT_TRUE(merged(store->read(two_ranges())));
  ReadOptions explicit_zero;
  explicit_zero.coalesce_gap = 0;  // a field set in ReadOptions wins
  EXPECT_FALSE(merged(store->read(two_ranges(), explicit_zero)));
  EXPECT_FALSE(merged(open_with({})->read(two_ranges())));  // the built-in default: no gap merging
}

TEST_P(StoreDefaultsTest, MaxMergedDefaultCapsMerging) {
  testing::write_file(dir_.file("f"), testing::random_bytes(8192, 2));
  StoreOptions so;
  so.coalesce_gap = 4096;
  so.max_merged = 2048;  // the merged read would be 4000 bytes
  EXPECT_FALSE(merged(open_with(so)->read(two_ranges())));
}

TEST_P(StoreDefaultsTest, PartSizeDefaultSplitsReadsWithTheSameBytes) {
  const auto data = testing::random_bytes(1 << 20, 3);
  testing::write_file(dir_.file("f"), data);
  StoreOptions so;
  so.part_size = 4096;  // 256 parts
  ReadBatch b;
  b.add("f", ByteRange::whole());
  auto r = open_with(so)->read(b);
  ASSERT_TRUE(r[0]) << r[0].error().to_string();
  ASSERT_EQ(r[0]->size(), data.size());
  EXPECT_EQ(0, std::memcmp(r[0]->data(), data.data(), data.size()));
}

TEST_P(StoreDefaultsTest, DirectThresholdReadsLargeReadsPastThePageCache) {
  const size_t size = 1 << 20;
  const auto data = testing::random_bytes(size, 4);
  const std::string path = dir_.file("f");
  testing::write_file(path, data);
  testing::drop_from_page_cache(path);
  ASSERT_EQ(resident_pages(path, size), 0u) << "the test needs the page cache dropped for " << path;
  StoreOptions so;
  so.direct_threshold = 64 << 10;
  auto store = open_with(so);
  ReadBatch whole;
  whole.add("f", ByteRange::bounded(1, size - 1));  // unaligned: the store reads the aligned superset
  auto r = store->read(whole);
  ASSERT_TRUE(r[0]) << r[0].error().to_string();
  ASSERT_EQ(r[0]->size(), size - 2);
  EXPECT_EQ(0, std::memcmp(r[0]->data(), data.data() + 1, size - 2));
  EXPECT_EQ(resident_pages(path, size), 0u) << "a read above direct_threshold went through the page cache";
  // A file whose reads stay below the threshold is read buffered (its pages become resident), through the
  // descriptor kept open across batches, which must not have been switched to O_DIRECT (an unaligned read
  // would then fail with EINVAL).
  ReadBatch small;
  small.add("f", ByteRange::bounded(1, 11));
  for (int round = 0; round < 2; ++round) {
    auto s = store->read(small);
    ASSERT_TRUE(s[0]) << s[0].error().to_string();
    EXPECT_EQ(0, std::memcmp(s[0]->data(), data.data() + 1, 10));
    EXPECT_GT(resident_pages(path, size), 0u);
    // Again above the threshold, now with a cached buffered descriptor of the file at hand.
    testing::drop_from_page_cache(path);
    auto again = store->read(whole);
    ASSERT_TRUE(again[0]) << again[0].error().to_string();
    EXPECT_EQ(0, std::memcmp(again[0]->data(), data.data() + 1, size - 2));
    EXPECT_EQ(resident_pages(path, size), 0u) << "round " << round;
  }
}

// direct_threshold keeps a file the page cache mostly holds on buffered reads (a direct read would not hit the
// cache), and sends one it mostly does not hold past it: a quarter resident goes O_DIRECT (the rest stays out of the
// cache), three quarters resident go buffered (the rest comes in).
TEST_P(StoreDefaultsTest, DirectThresholdLeavesFilesThePageCacheHoldsBuffered) {
  const size_t size = 1 << 20;
  const auto data = testing::random_bytes(size, 5);
  const std::string path = dir_.file("f");
  testing::write_file(path, data);
  StoreOptions so;
  so.direct_threshold = 64 << 10;
  auto store = open_with(so);
  ReadBatch whole;
  whole.add("f", ByteRange::whole());
  const size_t pages = size / 4096;
  for (const size_t warm : {size / 4, 3 * size / 4}) {
    testing::drop_from_page_cache(path);
    std::vector<std::byte> head(warm);
    const int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);  // no readahead past `warm`
    ASSERT_EQ(::pread(fd, head.data(), warm, 0), static_cast<ssize_t>(warm));
    ::close(fd);
    ASSERT_EQ(resident_pages(path, size), warm / 4096);
    auto r = store->read(whole);
    ASSERT_TRUE(r[0]) << r[0].error().to_string();
    ASSERT_EQ(r[0]->size(), size);
    EXPECT_EQ(0, std::memcmp(r[0]->data(), data.data(), size));
    EXPECT_EQ(resident_pages(path, size), warm < size / 2 ? warm / 4096 : pages) << warm << " bytes resident before";
  }
}

// The default threshold (8 MiB): a cold file read whole in one 16 MiB read goes O_DIRECT (none of its pages enter
// the page cache), the same file hot stays buffered; a 4 MiB read stays buffered either way.
TEST_P(StoreDefaultsTest, DefaultDirectThresholdSendsLargeColdReadsPastThePageCache) {
  ASSERT_EQ(StoreOptions{}.direct_threshold, 8u << 20);
  const size_t size = 16 << 20;
  const auto data = testing::random_bytes(size, 6);
  const std::string path = dir_.file("f");
  testing::write_file(path, data);
  auto store = open_with({});
  ReadBatch whole;
  whole.add("f", ByteRange::whole());
  testing::drop_from_page_cache(path);
  auto cold = store->read(whole);
  ASSERT_TRUE(cold[0]) << cold[0].error().to_string();
  EXPECT_EQ(0, std::memcmp(cold[0]->data(), data.data(), size));
  EXPECT_EQ(resident_pages(path, size), 0u) << "a cold 16 MiB read went through the page cache";
  ReadBatch head;
  head.add("f", ByteRange::bounded(0, 4 << 20));
  auto small = store->read(head);
  ASSERT_TRUE(small[0]) << small[0].error().to_string();
  EXPECT_GE(resident_pages(path, size), (4u << 20) / 4096) << "a 4 MiB read (below the threshold) went direct";
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << path;
  std::vector<std::byte> all(size);
  ASSERT_EQ(::pread(fd, all.data(), size, 0), static_cast<ssize_t>(size));  // now hot
  ::close(fd);
  ASSERT_EQ(resident_pages(path, size), size / 4096);
  auto hot = store->read(whole);
  ASSERT_TRUE(hot[0]) << hot[0].error().to_string();
  EXPECT_EQ(0, std::memcmp(hot[0]->data(), data.data(), size));
}

// Many touching reads of one cold file that together cover most of a span of at least the threshold go O_DIRECT
// like one big read (a chunk read in slabs); as many small reads scattered over the file stay buffered.
TEST_P(StoreDefaultsTest, DenseColdReadsOfABigSpanGoDirectScatteredOnesDoNot) {
  const size_t size = 16 << 20, mib = 1 << 20;
  const auto data = testing::random_bytes(size, 9);
  const std::string path = dir_.file("f");
  testing::write_file(path, data);
  StoreOptions so;
  so.max_merged = mib;  // the touching reads are not merged into one
  auto store = open_with(so);
  ReadBatch dense, scattered;
  for (size_t k = 0; k < 16; ++k) {
    dense.add("f", ByteRange::bounded(k * mib, (k + 1) * mib));
    scattered.add("f", ByteRange::bounded(k * mib, k * mib + 4096));
  }
  testing::drop_from_page_cache(path);
  auto r = store->read(dense);
  for (size_t k = 0; k < 16; ++k) {
    ASSERT_TRUE(r[k]) << r[k].error().to_string();
    ASSERT_EQ(0, std::memcmp(r[k]->data(), data.data() + k * mib, mib)) << k;
  }
  EXPECT_EQ(resident_pages(path, size), 0u) << "16 touching cold reads of 1 MiB went through the page cache";
  auto s = store->read(scattered);
  for (size_t k = 0; k < 16; ++k) ASSERT_TRUE(s[k]) << s[k].error().to_string();
  EXPECT_GE(resident_pages(path, size), 16u) << "scattered small reads went past the page cache";
}

// Puts of at least direct_threshold bytes are written O_DIRECT: none of their pages stay in the page cache, and
// the bytes read back exact although neither the caller's pointer nor the size is block-aligned. A smaller put,
// or any put with direct_threshold 0, goes through the page cache.
TEST_P(StoreDefaultsTest, LargePutsAreWrittenPastThePageCache) {
  const size_t size = (12 << 20) + 1234;
  const auto data = testing::random_bytes(size + 1, 8);
  const std::span<const std::byte> unaligned(data.data() + 1, size);
  auto store = open_with({});
  ASSERT_TRUE(store->put("big/obj", unaligned).ok());
  ASSERT_TRUE(store->put("small", unaligned.first(1 << 20)).ok());
  StoreOptions buffered;
  buffered.direct_threshold = 0;
  ASSERT_TRUE(open_with(buffered)->put("buffered", unaligned).ok());
  EXPECT_EQ(resident_pages(dir_.file("big/obj"), size), 0u) << "a 12 MiB put went through the page cache";
  EXPECT_EQ(resident_pages(dir_.file("small"), 1 << 20), (1u << 20) / 4096) << "a 1 MiB put went direct";
  EXPECT_GT(resident_pages(dir_.file("buffered"), size), size / 4096 / 2) << "direct_threshold 0 wrote direct";
  for (const auto& [key, n] :
       {std::pair<std::string, size_t>{"big/obj", size}, {"small", 1 << 20}, {"buffered", size}}) {
    ReadBatch b;
    b.add(key, ByteRange::whole());
    auto r = store->read(b);
    ASSERT_TRUE(r[0]) << key << ": " << r[0].error().to_string();
    ASSERT_EQ(r[0]->size(), n) << key;
    EXPECT_EQ(0, std::memcmp(r[0]->data(), unaligned.data(), n)) << key;
  }
}

// Where O_DIRECT is refused or not supported the large put still lands whole, through the page cache.
TEST_P(StoreDefaultsTest, LargePutsWorkOnTmpfs) {
  char templ[] = "/dev/shm/lsio-put-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr) << "/dev/shm: " << std::strerror(errno);
  const std::string root = templ;
  StoreOptions so;
  so.engine = GetParam();
  auto store = open_store(root, so);
  ASSERT_TRUE(store) << store.error().to_string();
  const auto data = testing::random_bytes((9 << 20) + 77, 9);
  const Status put = (*store)->put("obj", data);
  ReadBatch b;
  b.add("obj", ByteRange::whole());
  auto r = (*store)->read(b);
  std::filesystem::remove_all(root);
  ASSERT_TRUE(put.ok()) << put.to_string();
  ASSERT_TRUE(r[0]) << r[0].error().to_string();
  ASSERT_EQ(r[0]->size(), data.size());
  EXPECT_EQ(0, std::memcmp(r[0]->data(), data.data(), data.size()));
}

// sysfs refuses O_DIRECT (EINVAL): with the threshold the read falls back to the page cache and succeeds,
// while ReadOptions::direct keeps failing with the O_DIRECT error.
TEST_P(StoreDefaultsTest, DirectThresholdFallsBackWhereTheFileSystemRefusesODirect) {
  const std::string path = "/sys/devices/system/cpu/online";
  std::string expected(64, '\0');
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::open(path.c_str(), O_RDONLY | O_DIRECT), -1) << path << " accepts O_DIRECT: pick another file";
  const ssize_t n = ::pread(fd, expected.data(), expected.size(), 0);
  ::close(fd);
  ASSERT_GT(n, 1);
  StoreOptions so;
  so.engine = GetParam();
  so.direct_threshold = 1;
  auto store = open_store("", so);
  ASSERT_TRUE(store);
  ReadBatch b;
  b.add(path, ByteRange::bounded(0, 2));
  auto r = (*store)->read(b);
  ASSERT_TRUE(r[0]) << r[0].error().to_string();
  EXPECT_EQ(r[0]->as_string_view(), expected.substr(0, 2));
  ReadOptions forced;
  forced.direct = true;
  auto f = (*store)->read(b, forced);
  ASSERT_FALSE(f[0]);
  EXPECT_NE(f[0].error().message().find("O_DIRECT"), std::string::npos) << f[0].error().to_string();
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreDefaultsTest, ::testing::Values(EngineKind::kUring, EngineKind::kPosix),
                         [](const auto& info) { return info.param == EngineKind::kUring ? "uring" : "posix"; });

}  // namespace
}  // namespace lsio
