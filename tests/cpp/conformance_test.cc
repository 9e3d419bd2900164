// One suite, run against every store and engine: uring, posix, memory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "test_util.h"

namespace lsio {
namespace {

class Conformance : public testing::AnyStoreTest {
 protected:
  // The bytes `range` names in `key`, or nullopt when it is past EOF.
  std::optional<std::vector<std::byte>> oracle(const std::string& key, ByteRange range) {
    const auto& f = files_.at(key);
    auto a = range.resolve(f.size());
    if (a.end > f.size() || a.begin > f.size()) return std::nullopt;
    return std::vector<std::byte>(f.begin() + a.begin, f.begin() + a.end);
  }

  void expect_matches(const ReadBatch& b, const std::vector<Result<Bytes>>& r) {
    ASSERT_EQ(r.size(), b.size());
    for (size_t i = 0; i < b.size(); ++i) {
      auto want = oracle(b.path_of(i), b.range(i));
      if (!want) {
        ASSERT_FALSE(r[i]) << i;
        EXPECT_EQ(r[i].error().code(), StatusCode::kOutOfRange) << r[i].error().to_string();
        continue;
      }
      ASSERT_TRUE(r[i]) << i << " " << b.range(i).to_string() << ": " << r[i].error().to_string();
      ASSERT_EQ(r[i]->size(), want->size()) << i;
      EXPECT_TRUE(want->empty() || std::memcmp(r[i]->data(), want->data(), want->size()) == 0) << i;
    }
  }

  ReadBatch random_batch(std::mt19937_64& rng, size_t n) {
    ReadBatch b;
    std::vector<std::string> keys;
    for (auto& [k, v] : files_) keys.push_back(k);
    for (size_t i = 0; i < n; ++i) {
      const std::string& key = keys[rng() % keys.size()];
      const uint64_t size = files_[key].size();
      const uint64_t a = rng() % (size + 2), len = rng() % 3 == 0 ? rng() % 64 : rng() % (size / 3 + 2);
      switch (rng() % 8) {
        case 0:
          b.add(key, ByteRange::suffix(rng() % (size + 5)));
          break;
        case 1:
          b.add(key, ByteRange::from(std::min(a, size)));
          break;
        case 2:
          b.add(key, ByteRange::whole());
          break;
        default:
          b.add(key, ByteRange::bounded(a, a + len));
          break;
      }
    }
    return b;
  }
};

TEST_P(Conformance, RandomBatchesMatchTheFiles) {
  std::mt19937_64 rng(42);
  for (int f = 0; f < 12; ++f) {
    const size_t size = f == 0 ? 0 : (f == 1 ? 1 : rng() % 300000);
    create("f" + std::to_string(f), testing::random_bytes(size, f));
  }
  for (uint64_t gap : {0ull, 4096ull, 1ull << 20}) {
    ReadOptions o;
    o.coalesce_gap = gap;
    o.max_merged = gap == 4096 ? 100000 : 16 << 20;
    o.part_size = 8192;  // exercise multi-part reads
    ReadBatch b = random_batch(rng, 2000);
    expect_matches(b, store_->read(b, o));
  }
}

TEST_P(Conformance, MergedResultsShareOneBuffer) {
  create("m", testing::random_bytes(10000, 3));
  ReadBatch b;
  b.add("m", ByteRange::bounded(0, 100));
  b.add("m", ByteRange::bounded(200, 300));
  ReadOptions o;
  o.coalesce_gap = 1000;
  auto r = store_->read(b, o);
  expect_matches(b, r);
  EXPECT_EQ(r[0]->owner(), r[1]->owner());
  EXPECT_EQ(r[0]->data() + 200, r[1]->data());
}

TEST_P(Conformance, MissingFileFailsAloneAndNamesThePath) {
  create("here", testing::random_bytes(100, 1));
  ReadBatch b;
  b.add("here", ByteRange::bounded(0, 10));
  b.add("nope/missing.bin", ByteRange::whole());
  b.add("here", ByteRange::bounded(50, 60));
  auto r = store_->read(b);
  ASSERT_TRUE(r[0] && r[2]);
  ASSERT_FALSE(r[1]);
  EXPECT_EQ(r[1].error().code(), StatusCode::kNotFound);
  EXPECT_NE(r[1].error().message().find("nope/missing.bin"), std::string::npos) << r[1].error().to_string();
}

TEST_P(Conformance, PastEofFailsAloneWithSizeAndOffset) {
  create("short", testing::random_bytes(1000, 1));
  ReadBatch b;
  b.add("short", ByteRange::bounded(990, 1010));
  b.add("short", ByteRange::bounded(0, 1000));
  b.add("short", ByteRange::from(1001));
  b.add("short", ByteRange::from(1000));
  auto r = store_->read(b);
  ASSERT_FALSE(r[0]);
  EXPECT_EQ(r[0].error().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r[0].error().message().find("[990, 1010)"), std::string::npos);
  EXPECT_NE(r[0].error().message().find("file size 1000"), std::string::npos);
  ASSERT_TRUE(r[1]);
  EXPECT_FALSE(r[2]);
  ASSERT_TRUE(r[3]);
  EXPECT_TRUE(r[3]->empty());
}

TEST_P(Conformance, EmptyFileAndZeroLengthRanges) {
  create("empty", {});
  create("x", testing::random_bytes(10, 1));
  ReadBatch b;
  b.add("empty", ByteRange::whole());
  b.add("empty", ByteRange::suffix(10));
  b.add("empty", ByteRange::bounded(0, 1));
  b.add("x", ByteRange::bounded(5, 5));
  auto r = store_->read(b);
  ASSERT_TRUE(r[0] && r[1] && r[3]);
  EXPECT_TRUE(r[0]->empty() && r[1]->empty() && r[3]->empty());
  EXPECT_FALSE(r[2]);
}

TEST_P(Conformance, InvalidRangeIsInvalidArgument) {
  create("x", testing::random_bytes(10, 1));
  ReadBatch b;
  b.add("x", ByteRange::raw(8, 2));
  auto r = store_->read(b);
  ASSERT_FALSE(r[0]);
  EXPECT_EQ(r[0].error().code(), StatusCode::kInvalidArgument);
}

TEST_P(Conformance, ReadIntoSlicesOfOneArray) {
  auto data = testing::random_bytes(1 << 20, 9);
  create("big", data);
  std::vector<std::byte> out(64 * 4096);
  ReadIntoBatch b;
  std::mt19937_64 rng(1);
  std::vector<uint64_t> offs;
  for (int i = 0; i < 64; ++i) {
    offs.push_back((rng() % 255) * 4096 + (i % 3 ? 0 : 7));
    b.add("big", static_cast<int64_t>(offs.back()), std::span(out).subspan(i * 4096, 4096));
  }
  auto st = store_->read_into(b);
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(st[i].ok()) << st[i].to_string();
    EXPECT_EQ(0, std::memcmp(out.data() + i * 4096, data.data() + offs[i], 4096)) << i;
  }
}

TEST_P(Conformance, ReadIntoSuffixAndShortFile) {
  auto data = testing::random_bytes(1000, 2);
  create("t", data);
  std::vector<std::byte> tail(100), too_big(2000), past(10);
  ReadIntoBatch b;
  b.add("t", -100, tail);
  b.add("t", -2000, too_big);
  b.add("t", 995, past);
  auto st = store_->read_into(b);
  ASSERT_TRUE(st[0].ok()) << st[0].to_string();
  EXPECT_EQ(0, std::memcmp(tail.data(), data.data() + 900, 100));
  EXPECT_EQ(st[1].code(), StatusCode::kOutOfRange) << st[1].to_string();
  EXPECT_EQ(st[2].code(), StatusCode::kOutOfRange) << st[2].to_string();

  create("empty", {});
  std::vector<std::byte> one{std::byte{0xAB}};
  ReadIntoBatch e;
  e.add("empty", -1, one);
  EXPECT_EQ(store_->read_into(e)[0].code(), StatusCode::kOutOfRange);
}

TEST_P(Conformance, ForEachDeliversEveryRequestOnce) {
  for (int f = 0; f < 5; ++f) create("e" + std::to_string(f), testing::random_bytes(50000, f));
  std::mt19937_64 rng(5);
  ReadBatch b = random_batch(rng, 3000);
  std::vector<std::atomic<int>> seen(b.size());
  std::atomic<int> wrong{0};
  Status s = store_->for_each(b, [&](size_t i, Result<Bytes> r) {
    seen[i]++;
    auto want = oracle(b.path_of(i), b.range(i));
    const bool ok = want ? (r && r->size() == want->size() &&
                            (want->empty() || std::memcmp(r->data(), want->data(), want->size()) == 0))
                         : !r;
    if (!ok) wrong++;
  });
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(wrong.load(), 0);
  for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << i;
}

TEST_P(Conformance, ForEachCallbackExceptionCancels) {
  create("c", testing::random_bytes(100000, 1));
  ReadBatch b;
  for (int i = 0; i < 5000; ++i) b.add("c", ByteRange::bounded(i, i + 10));
  std::atomic<int> calls{0};
  Status s = store_->for_each(b, [&](size_t, Result<Bytes>) {
    if (++calls == 10) throw std::runtime_error("stop here");
  });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_NE(s.message().find("stop here"), std::string::npos);
  EXPECT_LT(calls.load(), 5000);
}

TEST_P(Conformance, SizesWriteAndPut) {
  create("s", testing::random_bytes(1234, 1));
  std::vector<std::string> keys{"s", "absent"};
  auto sz = store_->sizes(keys);
  ASSERT_TRUE(sz[0]) << sz[0].error().to_string();
  EXPECT_EQ(*sz[0], 1234u);
  EXPECT_EQ(sz[1].error().code(), StatusCode::kNotFound);

  auto payload = testing::random_bytes(5000, 7);
  std::vector<WriteRequest> w{{"sub/dir/w", 0, std::span(payload).first(3000)},
                              {"sub/dir/w", 3000, std::span(payload).subspan(3000)}};
  if (is_remote()) {  // objects are written whole or not at all
    for (const Status& st : store_->write(w)) EXPECT_EQ(st.code(), StatusCode::kUnimplemented) << st.to_string();
  } else {
    for (const Status& st : store_->write(w)) ASSERT_TRUE(st.ok()) << st.to_string();
  }
  if (!can_write()) {
    EXPECT_EQ(store_->put("sub/dir/w", payload).code(), StatusCode::kUnimplemented);
    EXPECT_EQ(store_->remove(keys)[0].code(), StatusCode::kUnimplemented);
    return;
  }
  if (is_remote()) ASSERT_TRUE(store_->put("sub/dir/w", payload).ok());
  ReadBatch b;
  b.add("sub/dir/w", ByteRange::whole());
  auto r = store_->read(b);
  ASSERT_TRUE(r[0]) << r[0].error().to_string();
  ASSERT_EQ(r[0]->size(), 5000u);
  EXPECT_EQ(0, std::memcmp(r[0]->data(), payload.data(), 5000));

  auto v2 = testing::random_bytes(77, 8);
  ASSERT_TRUE(store_->put("sub/dir/w", v2, {.fsync = true}).ok());
  r = store_->read(b);
  ASSERT_TRUE(r[0]);
  ASSERT_EQ(r[0]->size(), 77u);
  EXPECT_EQ(0, std::memcmp(r[0]->data(), v2.data(), 77));

  std::vector<std::string> gone{"sub/dir/w", "never-existed"};
  for (const Status& st : store_->remove(gone)) EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(store_->read(b)[0].error().code(), StatusCode::kNotFound);
}

TEST_P(Conformance, ListsByPrefixRecursivelyAndByLevel) {
  for (const char* key : {"ls/a/b.bin", "ls/a/c/d.bin", "ls/a/c/e f+%.bin", "ls/ab.bin", "ls/x.bin"}) {
    ASSERT_NO_FATAL_FAILURE(create(key, testing::random_bytes(std::strlen(key), 3)));
  }
  if (!can_write()) {  // plain HTTP has no listing
    EXPECT_EQ(store_->list("ls/").error().code(), StatusCode::kUnimplemented);
    return;
  }
  auto paths = [](const Listing& l) {
    std::vector<std::string> out;
    for (const ListEntry& e : l.objects) out.push_back(e.path);
    return out;
  };
  auto all = store_->list("ls/a");
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(paths(*all), (std::vector<std::string>{"ls/a/b.bin", "ls/a/c/d.bin", "ls/a/c/e f+%.bin", "ls/ab.bin"}));
  EXPECT_TRUE(all->prefixes.empty());
  for (const ListEntry& e : all->objects) {
    EXPECT_EQ(e.size, e.path.size()) << e.path;
    EXPECT_FALSE(e.version.empty()) << e.path;
  }
  auto level = store_->list("ls/a/", /*recursive=*/false);
  ASSERT_TRUE(level) << level.error().to_string();
  EXPECT_EQ(paths(*level), (std::vector<std::string>{"ls/a/b.bin"}));
  EXPECT_EQ(level->prefixes, (std::vector<std::string>{"ls/a/c/"}));
  auto none = store_->list("ls/nothing/here/");
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_TRUE(none->objects.empty() && none->prefixes.empty());
}

INSTANTIATE_TEST_SUITE_P(AllStores, Conformance, LSIO_STORE_KINDS);

#ifndef LSIO_REMOTE_TESTS
// ---- file-store-only behaviour --------------------------------------------

class FileStoreTest : public testing::EngineTest {};

TEST_P(FileStoreTest, DirectoryIsAnError) {
  auto store = open(dir_.path());
  ::mkdir(dir_.file("d").c_str(), 0755);
  ReadBatch b;
  b.add("d", ByteRange::whole());
  auto r = store->read(b);
  ASSERT_FALSE(r[0]);
  EXPECT_EQ(r[0].error().sys_errno(), EISDIR) << r[0].error().to_string();
}

TEST_P(FileStoreTest, KeysCannotEscapeTheRoot) {
  auto store = open(dir_.path());
  ReadBatch b;
  b.add("../etc/passwd", ByteRange::whole());
  b.add("/etc/passwd", ByteRange::whole());
  auto r = store->read(b);
  EXPECT_EQ(r[0].error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r[1].error().code(), StatusCode::kInvalidArgument);
}

TEST_P(FileStoreTest, DirectIoMatchesBufferedReads) {
  auto data = testing::random_bytes(3 << 20, 11);
  testing::write_file(dir_.file("dio"), data);
  auto store = open(dir_.path());
  std::mt19937_64 rng(3);
  ReadBatch b;
  for (int i = 0; i < 500; ++i) {
    const uint64_t a = rng() % data.size(), len = rng() % 20000;
    b.add("dio", ByteRange::bounded(a, std::min<uint64_t>(a + len, data.size())));
  }
  b.add("dio", ByteRange::suffix(5));
  ReadOptions o;
  o.direct = true;
  auto r = store->read(b, o);
  for (size_t i = 0; i < b.size(); ++i) {
    ASSERT_TRUE(r[i]) << r[i].error().to_string();
    auto a = b.range(i).resolve(data.size());
    ASSERT_EQ(r[i]->size(), a.end - a.begin);
    EXPECT_EQ(0, std::memcmp(r[i]->data(), data.data() + a.begin, r[i]->size()));
  }
}

TEST_P(FileStoreTest, PermissionDeniedNamesThePath) {
  testing::write_file(dir_.file("secret"), testing::random_bytes(10, 1));
  ::chmod(dir_.file("secret").c_str(), 0);
  ::chmod(dir_.path().c_str(), 0755);
  // Root reads anything: check as an unprivileged user in a child process.
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::getuid() == 0 && ::setuid(65534) != 0) _exit(3);
    auto store = open(dir_.path());
    ReadBatch b;
    b.add("secret", ByteRange::whole());
    auto r = store->read(b);
    const bool ok = !r[0] && r[0].error().code() == StatusCode::kPermissionDenied &&
                    r[0].error().message().find("secret") != std::string::npos;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Directories are implicit, as in an object store: removing the last file of
// a directory removes the directories it leaves empty, never the root.
TEST_P(FileStoreTest, RemoveDropsDirectoriesLeftEmpty) {
  auto store = open(dir_.path());
  const std::vector<std::byte> one(1, std::byte{1});
  ASSERT_TRUE(store->put("a/b/c/x", one).ok());
  ASSERT_TRUE(store->put("a/b/y", one).ok());
  ASSERT_TRUE(store->remove(std::vector<std::string>{"a/b/c/x"})[0].ok());
  struct stat st;
  EXPECT_NE(::stat(dir_.file("a/b/c").c_str(), &st), 0) << "a/b/c was left empty";
  EXPECT_EQ(::stat(dir_.file("a/b/y").c_str(), &st), 0);
  ASSERT_TRUE(store->remove(std::vector<std::string>{"a/b/y", "a/b/never-was"})[0].ok());
  EXPECT_NE(::stat(dir_.file("a").c_str(), &st), 0) << "a was left empty";
  EXPECT_EQ(::stat(dir_.path().c_str(), &st), 0) << "the root itself must stay";
}

// A writer racing a remove that prunes the writer's directory still succeeds
// (create_file makes the directory again).
TEST_P(FileStoreTest, WritesRaceRemovesOfTheirDirectory) {
  auto store = open(dir_.path());
  const std::vector<std::byte> data(100, std::byte{7});
  std::atomic<bool> stop{false};
  std::thread remover([&] {
    while (!stop) {
      store->remove(std::vector<std::string>{"d/e/victim"});
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  });
  Status failed;
  for (int i = 0; i < 2000 && failed.ok(); ++i) {
    const std::string key = "d/e/f" + std::to_string(i % 4);
    const std::vector<WriteRequest> w{{key, 0, data}};
    for (const Status& s : {store->put("d/e/victim", data), store->put(key, data), store->write(w)[0],
                            store->remove(std::vector<std::string>{key})[0]})
      if (!s.ok() && failed.ok()) failed = s;
  }
  stop = true;
  remover.join();
  EXPECT_TRUE(failed.ok()) << failed.to_string();
}

TEST(OpenStore, EngineFromEnvironmentAndUrls) {
  ::setenv("LSIO_ENGINE", "posix", 1);
  auto s = open_store("/");
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->engine_description().rfind("posix", 0), 0u) << (*s)->engine_description();
  ::setenv("LSIO_ENGINE", "bogus", 1);
  EXPECT_EQ(open_store("/").error().code(), StatusCode::kInvalidArgument);
  ::setenv("LSIO_ENGINE", "auto", 1);
  s = open_store("file:///tmp");
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->engine_description().rfind("uring", 0), 0u) << (*s)->engine_description();
  ::unsetenv("LSIO_ENGINE");
  EXPECT_EQ(open_store("gs://bucket").error().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(open_store("s3://bucket/prefix"));  // nothing is sent before the first request
  EXPECT_TRUE(open_store("https://example.org/data/"));
  EXPECT_EQ(open_store("s3://Bad_Bucket").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(open_store("http:///nohost").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(open_store("file://relative").error().code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Engines, FileStoreTest, ::testing::Values(EngineKind::kUring, EngineKind::kPosix),
                         testing::engine_name);

#endif  // LSIO_REMOTE_TESTS

}  // namespace
}  // namespace lsio
