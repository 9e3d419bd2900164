// The file store keeps descriptors open across batches (src/io/fd_cache.h).
// A cached descriptor must never read a file the path no longer names, the
// cache must stay within max_open_files, close everything with the store,
// and leave a forked child no descriptor of it.
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "lsio/store.h"
#include "test_util.h"

namespace lsio {
namespace {

using testing::random_bytes;
using testing::write_file;

// "k" + index (spelled so that GCC 12 raises no false -Wrestrict).
std::string name(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

class FdCache : public testing::EngineTest {
 protected:
  // One worker by default: each worker has its own cache, so with one the
  // second batch surely finds the descriptor the first one left.
  std::shared_ptr<Store> open_store_with(unsigned max_open_files, unsigned workers = 1) {
    StoreOptions so;
    so.engine = GetParam();
    so.workers = workers;
    so.max_open_files = max_open_files;
    so.inline_reads = false;  // the workers' descriptor cache is under test
    auto s = lsio::open_store(dir_.path(), so);
    EXPECT_TRUE(s) << s.error().to_string();
    return *s;
  }
  // Descriptors of this process open on files under the test directory.
  size_t open_in_dir() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(e.path(), ec);
      if (!ec && target.string().starts_with(dir_.path())) ++n;
    }
    return n;
  }
  Result<Bytes> read_one(Store& store, const std::string& key, ByteRange range) {
    ReadBatch b;
    b.add(key, range);
    auto r = store.read(b);
    return std::move(r.at(0));
  }
  static bool same(const Result<Bytes>& r, const std::vector<std::byte>& want, size_t at, size_t len) {
    return r && r->size() == len && std::memcmp(r->data(), want.data() + at, len) == 0;
  }
};

TEST_P(FdCache, FileReplacedByRenameReadsTheNewBytes) {
  auto store = open_store_with(0);
  const auto old_bytes = random_bytes(1 << 20, 1), new_bytes = random_bytes(1 << 20, 2);
  write_file(dir_.file("a"), old_bytes);
  ASSERT_TRUE(same(read_one(*store, "a", ByteRange::bounded(4096, 8192)), old_bytes, 4096, 4096));
  ASSERT_GT(open_in_dir(), 0u) << "the descriptor should be cached after the batch";
  write_file(dir_.file("a.tmp"), new_bytes);
  std::filesystem::rename(dir_.file("a.tmp"), dir_.file("a"));
  EXPECT_TRUE(same(read_one(*store, "a", ByteRange::bounded(4096, 8192)), new_bytes, 4096, 4096));
}

TEST_P(FdCache, TruncatedFileFailsPastTheNewEnd) {
  auto store = open_store_with(0);
  const auto bytes = random_bytes(1 << 20, 3);
  write_file(dir_.file("t"), bytes);
  ASSERT_TRUE(same(read_one(*store, "t", ByteRange::bounded(900'000, 1'000'000)), bytes, 900'000, 100'000));
  ASSERT_EQ(::truncate(dir_.file("t").c_str(), 512 << 10), 0);
  auto r = read_one(*store, "t", ByteRange::bounded(900'000, 1'000'000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), StatusCode::kOutOfRange) << r.error().to_string();
  EXPECT_NE(r.error().to_string().find("file size 524288"), std::string::npos) << r.error().to_string();
  auto whole = read_one(*store, "t", ByteRange::whole());
  EXPECT_TRUE(same(whole, bytes, 0, 512 << 10));
}

TEST_P(FdCache, AppendedFileReadsTheNewTail) {
  auto store = open_store_with(0);
  const auto bytes = random_bytes(1 << 20, 4);
  write_file(dir_.file("g"), std::span(bytes).first(512 << 10));
  ASSERT_TRUE(same(read_one(*store, "g", ByteRange::bounded(0, 4096)), bytes, 0, 4096));
  {
    const int fd = ::open(dir_.file("g").c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, bytes.data() + (512 << 10), 512 << 10), 512 << 10);
    ::close(fd);
  }
  EXPECT_TRUE(same(read_one(*store, "g", ByteRange::bounded(600'000, 700'000)), bytes, 600'000, 100'000));
  EXPECT_TRUE(same(read_one(*store, "g", ByteRange::whole()), bytes, 0, 1 << 20));
}

TEST_P(FdCache, DeletedThenRecreatedFile) {
  auto store = open_store_with(0);
  const auto old_bytes = random_bytes(64 << 10, 5), new_bytes = random_bytes(64 << 10, 6);
  write_file(dir_.file("d"), old_bytes);
  ASSERT_TRUE(same(read_one(*store, "d", ByteRange::whole()), old_bytes, 0, 64 << 10));
  ASSERT_EQ(::unlink(dir_.file("d").c_str()), 0);
  auto gone = read_one(*store, "d", ByteRange::whole());
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), StatusCode::kNotFound) << gone.error().to_string();
  write_file(dir_.file("d"), new_bytes);
  EXPECT_TRUE(same(read_one(*store, "d", ByteRange::whole()), new_bytes, 0, 64 << 10));
}

TEST_P(FdCache, StaysWithinMaxOpenFilesAndClosesWithTheStore) {
  auto store = open_store_with(4, 2);  // 2 workers x 2
  std::vector<std::vector<std::byte>> files;
  for (int i = 0; i < 20; ++i) {
    files.push_back(random_bytes(8192, 100 + i));
    write_file(dir_.file(name("f", i)), files.back());
  }
  for (int round = 0; round < 10; ++round) {
    ReadBatch b;
    for (int i = 0; i < 20; ++i) b.add(name("f", (i * 7 + round) % 20), ByteRange::bounded(100, 200));
    auto r = store->read(b);
    for (size_t i = 0; i < b.size(); ++i) {
      const int f = std::stoi(b.path_of(i).substr(1));
      ASSERT_TRUE(same(r[i], files[f], 100, 100)) << b.path_of(i);
    }
    const size_t open = open_in_dir();
    EXPECT_LE(open, 4u) << "round " << round;
    EXPECT_GT(open, 0u) << "round " << round << ": nothing cached";
  }
  store.reset();
  EXPECT_EQ(open_in_dir(), 0u);
}

// Idle cached descriptors are closed before a fork: the child inherits none of
// them (it could neither use them nor know they are still its to close),
// reads correctly through its rebuilt workers, and the parent carries on.
TEST_P(FdCache, ForkedChildInheritsNoCachedDescriptor) {
  auto store = open_store_with(0);
  const auto bytes = random_bytes(256 << 10, 7);
  for (int i = 0; i < 4; ++i) write_file(dir_.file(name("k", i)), bytes);
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(same(read_one(*store, name("k", i), ByteRange::whole()), bytes, 0, 256 << 10));
  ASSERT_GT(open_in_dir(), 0u);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(60);
    if (open_in_dir() != 0) ::_exit(3);
    for (int i = 0; i < 4; ++i)
      if (!same(read_one(*store, name("k", i), ByteRange::bounded(1000, 5000)), bytes, 1000, 4000)) ::_exit(4);
    store.reset();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: cached descriptors inherited, 4: wrong bytes in the child";
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(same(read_one(*store, name("k", i), ByteRange::whole()), bytes, 0, 256 << 10));
}

INSTANTIATE_TEST_SUITE_P(Engines, FdCache, ::testing::Values(EngineKind::kUring, EngineKind::kPosix),
                         testing::engine_name);

}  // namespace
}  // namespace lsio
