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
    auto s = open_store(root, so);
    EXPECT_TRUE(s) << s.error().to_string();
    return *s;
  }
  TempDir dir_;
};

// A fixture base for tests run once per store kind: "uring", "posix" (file stores in a temporary directory)
// or "memory". create() makes a real file (or object) and remembers its bytes in files_ as the oracle.
class AnyStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = open();
    ASSERT_TRUE(store_);
  }
  std::shared_ptr<Store> open() {
    StoreOptions so;
    so.engine = GetParam() == "posix" ? EngineKind::kPosix : EngineKind::kUring;
    auto s = open_store(is_memory() ? "memory://" : dir_.path(), so);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? *s : nullptr;
  }
  bool is_memory() const { return GetParam() == "memory"; }

  // Creates `key` with `data` (real files for file stores).
  void create(const std::string& key, std::span<const std::byte> data) {
    if (is_memory()) {
      ASSERT_TRUE(store_->put(key, data).ok());
    } else {
      std::filesystem::create_directories(std::filesystem::path(dir_.file(key)).parent_path());
      write_file(dir_.file(key), data);
    }
    files_[key] = std::vector<std::byte>(data.begin(), data.end());
  }

  TempDir dir_;
  std::shared_ptr<Store> store_;
  std::map<std::string, std::vector<std::byte>> files_;
};

inline std::string engine_name(const ::testing::TestParamInfo<EngineKind>& info) {
  return info.param == EngineKind::kUring ? "uring" : "posix";
}

inline long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace lsio::testing
