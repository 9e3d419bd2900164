// Shared helpers for the C++ tests: temporary directories and real files.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lsio/store.h"

namespace lsio::testing {

// A fresh directory under $TMPDIR (or /var/tmp: a real disk, so O_DIRECT works), removed at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("LSIO_TEST_DIR");
    std::string templ = std::string(base ? base : "/var/tmp") + "/lsio-test-XXXXXX";
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::vector<std::byte> out(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < n; ++k) out[i + k] = static_cast<std::byte>(v >> (8 * k));
  }
  return out;
}

inline void write_file(const std::string& path, std::span<const std::byte> data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) throw std::runtime_error("cannot write " + path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// A fixture base for tests run once per file engine (uring, posix).
class EngineTest : public ::testing::TestWithParam<EngineKind> {
 protected:
  std::shared_ptr<Store> open(const std::string& root) {
    StoreOptions so;
    so.engine = GetParam();
    so.inline_reads = false;  // the engine under test reads everything (inline reads: inline_read_test.cc)
    auto s = open_store(root, so);
    EXPECT_TRUE(s) << s.error().to_string();
    return *s;
  }
  TempDir dir_;
};

// An environment variable the remote tests need (tests/servers/launch.py sets them; ctest runs the remote
// test binary under it). Missing: the test fails loudly, it never skips.
inline std::string test_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name
                  << " is not set: run this binary under tests/servers/launch.py --moto --nginx (as ctest does)";
    return "";
  }
  return v;
}

// RemoteOptions for the moto server that launch.py started.
inline RemoteOptions moto_options() {
  RemoteOptions o;
  o.endpoint = test_env("LSIO_TEST_S3_ENDPOINT");
  o.region = test_env("LSIO_TEST_S3_REGION");
  o.access_key_id = test_env("LSIO_TEST_S3_KEY");
  o.secret_access_key = test_env("LSIO_TEST_S3_SECRET");
  return o;
}

// A fixture base for tests run once per store kind: "uring", "posix" (file stores in a temporary directory),
// "memory", "s3" (moto, a fresh key prefix per test) or "http" (nginx serving a fresh folder per test).
// create() makes a real file (or object) and remembers its bytes in files_ as the oracle.
class AnyStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = open();
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!http_dir_.empty()) std::filesystem::remove_all(http_dir_, ec);
  }
  std::shared_ptr<Store> open() {
    StoreOptions so;
    so.engine = GetParam() == "posix" ? EngineKind::kPosix : EngineKind::kUring;
    std::string url = is_memory() ? "memory://" : dir_.path();
    const std::string unique = std::filesystem::path(dir_.path()).filename().string();
    if (GetParam() == "s3") {
      so.remote = moto_options();
      url = "s3://" + test_env("LSIO_TEST_S3_BUCKET") + "/" + unique;
    } else if (GetParam() == "http") {
      if (http_dir_.empty()) {
        http_dir_ = test_env("LSIO_TEST_HTTP_DIR") + "/" + unique;
        std::filesystem::create_directories(http_dir_);
      }
      url = test_env("LSIO_TEST_HTTP_URL") + unique + "/";
    }
    auto s = open_store(url, so);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? *s : nullptr;
  }
  bool is_memory() const { return GetParam() == "memory"; }
  bool is_remote() const { return GetParam() == "s3" || GetParam() == "http"; }
  bool can_write() const { return GetParam() != "http"; }

  // Creates `key` with `data` (real files for file stores and the HTTP server's folder; put for s3 and memory).
  void create(const std::string& key, std::span<const std::byte> data) {
    if (is_memory() || GetParam() == "s3") {
      ASSERT_TRUE(store_->put(key, data).ok());
    } else {
      const std::string path = GetParam() == "http" ? http_dir_ + "/" + key : dir_.file(key);
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      write_file(path, data);
    }
    files_[key] = std::vector<std::byte>(data.begin(), data.end());
  }

  TempDir dir_;
  std::string http_dir_;
  std::shared_ptr<Store> store_;
  std::map<std::string, std::vector<std::byte>> files_;
};

// The store kinds the shared suites run on: local ones in lsio_tests, remote ones in lsio_remote_tests.
#ifdef LSIO_REMOTE_TESTS
#define LSIO_STORE_KINDS ::testing::Values("s3", "http")
#else
#define LSIO_STORE_KINDS ::testing::Values("uring", "posix", "memory")
#endif

inline std::string engine_name(const ::testing::TestParamInfo<EngineKind>& info) {
  return info.param == EngineKind::kUring ? "uring" : "posix";
}

// Writes back and evicts `path` from the page cache: its next read comes from the device.
inline void drop_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fdatasync(fd), 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);
}

inline long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace lsio::testing
