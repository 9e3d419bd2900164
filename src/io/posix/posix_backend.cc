// The portable engine: each operation is a plain system call made at issue
// time on the worker thread; its result is queued for the next poll().
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <vector>

#include "io/backend.h"

namespace lsio::io {
namespace {

class PosixBackend final : public Backend {
 public:
  explicit PosixBackend(const BackendOptions& options) : fds_(options.file_slots, -1) {}
  ~PosixBackend() override {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }

  std::string_view name() const override { return "posix"; }

  void open(uint32_t slot, const char* path, int flags, uint64_t tag) override {
    int fd = ::open(path, flags | O_CLOEXEC);
    if (fd < 0) return done(tag, -errno);
    fds_[slot] = fd;
    done(tag, 0);
  }

  void stat(const char* path, unsigned mask, struct statx* out, uint64_t tag) override {
    done(tag, ::statx(AT_FDCWD, path, 0, mask, out) == 0 ? 0 : -errno);
  }

  void read(uint32_t slot, void* buf, uint32_t len, uint64_t offset, uint64_t tag) override {
    ssize_t n;
    do {
      n = ::pread(fds_[slot], buf, len, static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    done(tag, n < 0 ? -errno : n);
  }

  void close(uint32_t slot, uint64_t tag) override {
    int rc = ::close(fds_[slot]);
    fds_[slot] = -1;
    done(tag, rc == 0 ? 0 : -errno);
  }

  size_t poll(std::span<Completion> out, bool /*wait*/) override {
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

  std::vector<int> fds_;
  std::vector<Completion> ready_;
  size_t head_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_posix_backend(const BackendOptions& options) {
  return std::make_unique<PosixBackend>(options);
}

}  // namespace lsio::io
