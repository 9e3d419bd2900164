// The portable engine: each operation is a plain system call made at issue
// time on the worker thread; its result is queued for the next poll().
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "io/backend.h"

namespace lsio::io {

int stat_fd(int fd, unsigned mask, struct statx* out) {
  return ::statx(fd, "", AT_EMPTY_PATH, mask, out) == 0 ? 0 : -errno;
}

std::string file_version(const struct statx& stx) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%x:%x:%llx:%llx:%llx.%09u", stx.stx_dev_major, stx.stx_dev_minor,
                static_cast<unsigned long long>(stx.stx_ino), static_cast<unsigned long long>(stx.stx_size),
                static_cast<unsigned long long>(stx.stx_mtime.tv_sec), stx.stx_mtime.tv_nsec);
  return buf;
}

namespace {

class PosixBackend final : public Backend {
 public:
  std::string_view name() const override { return "posix"; }

  void open(const char* path, int flags, uint64_t tag) override {
    const int fd = ::open(path, flags | O_CLOEXEC);
    done(tag, fd < 0 ? -errno : fd);
  }

  void read(int fd, void* buf, uint32_t len, uint64_t offset, uint64_t tag) override {
    ssize_t n;
    do {
      n = ::pread(fd, buf, len, static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    done(tag, n < 0 ? -errno : n);
  }

  void close(int fd, uint64_t tag) override { done(tag, ::close(fd) == 0 ? 0 : -errno); }

  Result<size_t> poll(std::span<Completion> out, bool /*wait*/) override {
    const size_t n = std::min(out.size(), ready_.size() - head_);
    std::copy_n(ready_.begin() + static_cast<ptrdiff_t>(head_), n, out.begin());
    head_ += n;
    if (head_ == ready_.size()) {
      ready_.clear();
      head_ = 0;
    }
    return n;
  }

 private:
  void done(uint64_t tag, int64_t res) { ready_.push_back({tag, res}); }

  std::vector<Completion> ready_;
  size_t head_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_posix_backend(const BackendOptions&) { return std::make_unique<PosixBackend>(); }

}  // namespace lsio::io
