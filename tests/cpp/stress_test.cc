// Scale and bounded-memory tests (release build only: named Stress*).
// Each runs in its own process under ctest, so peak RSS is this test's own.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <cstring>

#include "test_util.h"

namespace lsio {
namespace {

// Word at byte offset o (8-aligned) of a "pattern file": checkable anywhere
// without keeping the file in memory.
uint64_t pattern_word(uint64_t o) { return (o * 0x9E3779B97F4A7C15ull) ^ 0x5bd1e995ull; }

void write_pattern_file(const std::string& path, uint64_t size) {
  std::vector<uint64_t> block(1 << 17);  // 1 MiB
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  for (uint64_t off = 0; off < size; off += 8 * block.size()) {
    for (size_t k = 0; k < block.size(); ++k) block[k] = pattern_word(off + 8 * k);
    ASSERT_EQ(::pwrite(fd, block.data(), 8 * block.size(), off), static_cast<ssize_t>(8 * block.size()));
  }
  ::close(fd);
}

uint64_t word_at(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

class Stress : public testing::EngineTest {};

// n ranges of `len` bytes at random `len`-aligned offsets of file "p" (`file_size` bytes).
ReadBatch random_aligned_batch(uint64_t n, uint64_t len, uint64_t file_size, uint64_t seed) {
  ReadBatch b;
  b.reserve(n);
  std::mt19937_64 rng(seed);
  const uint32_t id = b.file_id("p");
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t off = (rng() % (file_size / len)) * len;
    b.add(id, ByteRange::bounded(off, off + len));
  }
  return b;
}

TEST_P(Stress, SparseFileOver2GiB) {
  const uint64_t size = (5ull << 30) / 2;  // 2.5 GiB, mostly holes
  const std::string path = dir_.file("sparse");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  const char marker[] = "past-2GiB";
  ASSERT_EQ(::pwrite(fd, marker, sizeof marker, (2ull << 30) + 4096), static_cast<ssize_t>(sizeof marker));
  ::close(fd);
  auto store = open(dir_.path());
  ReadBatch b;
  b.add("sparse", ByteRange::bounded((2ull << 30) + 4096, (2ull << 30) + 4096 + sizeof marker));
  b.add("sparse", ByteRange::bounded(100, (2ull << 30) + 8192));  // one > 2 GiB read, split in parts
  b.add("sparse", ByteRange::suffix(10));
  auto r = store->read(b);
  ASSERT_TRUE(r[0] && r[1] && r[2]) << (r[1] ? "" : r[1].error().to_string());
  EXPECT_STREQ(reinterpret_cast<const char*>(r[0]->data()), marker);
  ASSERT_EQ(r[1]->size(), (2ull << 30) + 8092);
  EXPECT_EQ(std::memcmp(r[1]->data() + (2ull << 30) + 3996, marker, sizeof marker), 0);
  EXPECT_EQ(r[1]->data()[0], std::byte{0});
}

TEST_P(Stress, HundredThousandFilesUnderLowFdLimit) {
  constexpr int kFiles = 100000;
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = dir_.file("f" + std::to_string(i));
    const std::string body = "file-" + std::to_string(i);
    testing::write_file(name, std::as_bytes(std::span(body)));
  }
  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  rlimit low = old;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  auto store = open(dir_.path());
  ReadBatch b;
  for (int i = 0; i < kFiles; ++i) b.add("f" + std::to_string(i), ByteRange::whole());
  auto r = store->read(b);
  setrlimit(RLIMIT_NOFILE, &old);
  int bad = 0;
  for (int i = 0; i < kFiles; ++i) {
    if (!r[i] || r[i]->as_string_view() != "file-" + std::to_string(i)) {
      if (bad++ < 3) ADD_FAILURE() << i << ": " << (r[i] ? std::string(r[i]->as_string_view()) : r[i].error().to_string());
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST_P(Stress, TenMillionTinyRangesInBoundedMemory) {
  constexpr uint64_t kFile = 256ull << 20, kN = 10'000'000, kLen = 64;
  write_pattern_file(dir_.file("p"), kFile);
  auto store = open(dir_.path());
  const ReadBatch b = random_aligned_batch(kN, kLen, kFile, 7);
  auto r = store->read(b);
  size_t bad = 0;
  for (uint64_t i = 0; i < kN; ++i) {
    const uint64_t off = static_cast<uint64_t>(b.range(i).begin());
    if (!r[i] || r[i]->size() != kLen || word_at(r[i]->data()) != pattern_word(off) ||
        word_at(r[i]->data() + 56) != pattern_word(off + 56)) {
      if (bad < 3) ADD_FAILURE() << i << " at " << off << ": " << (r[i] ? "wrong bytes" : r[i].error().to_string());
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0u);
  const long peak_mib = testing::peak_rss_kib() / 1024;
  const long limit_mib = static_cast<long>(2 * kN * kLen / (1 << 20) + 256);
  RecordProperty("peak_rss_mib", static_cast<int>(peak_mib));
  std::cout << "peak RSS " << peak_mib << " MiB (limit " << limit_mib << " MiB)\n";
  EXPECT_LT(peak_mib, limit_mib);
}

TEST_P(Stress, ForEachOf40GBRunsInBoundedMemory) {
  constexpr uint64_t kFile = 1ull << 30, kN = 10'000'000, kLen = 4096;
  write_pattern_file(dir_.file("p"), kFile);
  auto store = open(dir_.path());
  const ReadBatch b = random_aligned_batch(kN, kLen, kFile, 9);
  std::atomic<uint64_t> bytes{0}, bad{0};
  Status s = store->for_each(b, [&](size_t i, Result<Bytes> r) {
    const uint64_t off = static_cast<uint64_t>(b.range(i).begin());
    if (!r || r->size() != kLen || word_at(r->data()) != pattern_word(off) ||
        word_at(r->data() + kLen - 8) != pattern_word(off + kLen - 8)) {
      bad++;
      return;
    }
    bytes += r->size();
  });
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(bytes.load(), kN * kLen);
  const long peak_mib = testing::peak_rss_kib() / 1024;
  std::cout << "peak RSS " << peak_mib << " MiB for " << bytes.load() / 1e9 << " GB\n";
  EXPECT_LT(peak_mib, 1024);
}

INSTANTIATE_TEST_SUITE_P(Engines, Stress, ::testing::Values(EngineKind::kUring, EngineKind::kPosix),
                         testing::engine_name);

}  // namespace
}  // namespace lsio
