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

int Backend::stat(int fd, unsigned mask, struct statx* out) { return stat_fd(fd, mask, out); }

void nop_stat(struct statx* out) {
  *out = {};
  out->stx_mask = STATX_SIZE | STATX_TYPE | STATX_INO | STATX_MTIME;
  out->stx_mode = S_IFREG | 0444;
  out->stx_ino = 1;
  out->stx_size = kNopFileSize;
}

namespace {

// A descriptor number no-op backends hand out: never passed to the kernel.
constexpr int kNopFd = 1 << 30;

class PosixBackend final : public Backend {
 public:
  explicit PosixBackend(bool nop) : nop_(nop) {}
  std::string_view name() const override { return nop_ ? "posix, no syscalls" : "posix"; }

  void open(const char* path, int flags, uint64_t tag) override {
    if (nop_) return done(tag, kNopFd);
    const int fd = ::open(path, flags | O_CLOEXEC);
    done(tag, fd < 0 ? -errno : fd);
  }

  void read(int fd, void* buf, uint32_t len, uint64_t offset, uint64_t tag) override {
    if (nop_) return done(tag, len);
    ssize_t n;
    do {
      n = ::pread(fd, buf, len, static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    done(tag, n < 0 ? -errno : n);
  }

  void close(int fd, uint64_t tag) override {
    if (nop_) return done(tag, 0);
    done(tag, ::close(fd) == 0 ? 0 : -errno);
  }

  int stat(int fd, unsigned mask, struct statx* out) override {
    if (nop_) return nop_stat(out), 0;
    return stat_fd(fd, mask, out);
  }

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

  const bool nop_;
  std::vector<Completion> ready_;
  size_t head_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_posix_backend(const BackendOptions& options) {
  return std::make_unique<PosixBackend>(options.nop);
}

}  // namespace lsio::io
