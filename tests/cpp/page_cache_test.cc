// page_cache_fraction (exact, one cachestat) and its sampled estimate for big
// ranges, against a real file whose cached pages the test controls.
#include "io/page_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

#include "test_util.h"

namespace lsio::io {
namespace {

constexpr uint64_t kMiB = 1u << 20;

class PageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("f.bin");
    testing::write_file(path_, testing::random_bytes(kSize, 1));
    testing::drop_from_page_cache(path_);
    fd_ = ::open(path_.c_str(), O_RDONLY);
    ASSERT_GE(fd_, 0);
    // No readahead: only the pages the test reads become cached.
    ASSERT_EQ(::posix_fadvise(fd_, 0, 0, POSIX_FADV_RANDOM), 0);
    if (!page_cache_fraction(fd_, 0, kSize)) GTEST_SKIP() << "no cachestat(2) on this kernel";
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void read_range(uint64_t offset, uint64_t length) {
    std::vector<char> buf(length);
    ASSERT_EQ(::pread(fd_, buf.data(), length, static_cast<off_t>(offset)), static_cast<ssize_t>(length));
  }

  static constexpr uint64_t kSize = 8 * kMiB;
  testing::TempDir dir_;
  std::string path_;
  int fd_ = -1;
};

TEST_F(PageCacheTest, ExactFractionCountsCachedPages) {
  EXPECT_EQ(page_cache_fraction(fd_, 0, kSize).value(), 0.0);
  read_range(0, 2 * kMiB);
  EXPECT_DOUBLE_EQ(page_cache_fraction(fd_, 0, kSize).value(), 0.25);
  EXPECT_DOUBLE_EQ(page_cache_fraction(fd_, 0, 2 * kMiB).value(), 1.0);
}

TEST_F(PageCacheTest, EstimateOfAShortRangeIsExact) {
  read_range(0, 64 << 10);
  const uint64_t short_range = kSampleWindows * kSampleBytes;
  EXPECT_DOUBLE_EQ(estimated_page_cache_fraction(fd_, 0, short_range).value(),
                   page_cache_fraction(fd_, 0, short_range).value());
}

TEST_F(PageCacheTest, EstimateTellsColdPartlyAndWhollyCachedRanges) {
  EXPECT_EQ(estimated_page_cache_fraction(fd_, 0, kSize).value(), 0.0);
  // The windows start every (8 MiB - 64 KiB) / 7 bytes: the first 3 MiB holds three of the eight.
  read_range(0, 3 * kMiB);
  EXPECT_DOUBLE_EQ(estimated_page_cache_fraction(fd_, 0, kSize).value(), 3.0 / 8.0);
  read_range(0, kSize);
  EXPECT_DOUBLE_EQ(estimated_page_cache_fraction(fd_, 0, kSize).value(), 1.0);
}

TEST_F(PageCacheTest, EstimateSeesTheLastWindowOfAnOffsetRange) {
  read_range(kSize - kSampleBytes, kSampleBytes);
  EXPECT_DOUBLE_EQ(estimated_page_cache_fraction(fd_, kMiB, kSize - kMiB).value(), 1.0 / 8.0);
}

}  // namespace
}  // namespace lsio::io
