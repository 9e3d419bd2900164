// The io_uring engine: one ring per worker thread, created on that thread.
//
// Files are opened with plain descriptors (O_CLOEXEC), so that the worker can
// statx the file it actually opened (its size and identity) instead of
// whatever the path names a moment later. Setup flags are probed from the
// most to the least capable, since a kernel that lacks one answers EINVAL.
// Every return value of liburing is checked: a transient one (EINTR, EAGAIN,
// EBUSY) is retried after reaping, anything else breaks the backend, which
// poll() reports so that the worker fails the affected requests.
#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "io/backend.h"

namespace lsio::io {
namespace {

struct FlagSet {
  unsigned flags;
  const char* name;
};

constexpr FlagSet kFlagSets[] = {
    {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single_issuer+defer_taskrun"},
    {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN, "single_issuer+coop_taskrun"},
    {IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
    {0, "plain"},
};

// Transient failures retried before the ring is declared broken (1 ms apart).
constexpr int kMaxTransientRetries = 2000;

unsigned round_up_pow2(unsigned x) {
  unsigned p = 1;
  while (p < x) p <<= 1;
  return p;
}

// A descriptor number the no-op mode hands out: never passed to the kernel.
constexpr int kNopFd = 1 << 30;

bool transient(int rc) { return rc == -EINTR || rc == -EAGAIN || rc == -EBUSY; }

class UringBackend final : public Backend {
 public:
  ~UringBackend() override {
    if (ready_) io_uring_queue_exit(&ring_);
  }

  // Sets up the ring; the error names the step.
  Status init(const BackendOptions& options) {
    nop_ = options.nop;
    const unsigned entries = std::min(4096u, round_up_pow2(options.queue_depth + 3 * options.file_slots));
    int rc = -EINVAL;
    for (const FlagSet& set : kFlagSets) {
      io_uring_params params{};
      params.flags = set.flags | IORING_SETUP_CQSIZE;
      params.cq_entries = entries * 2;
      rc = io_uring_queue_init_params(entries, &ring_, &params);
      if (rc == 0) {
        flags_ = set.flags;
        flags_name_ = set.name;
        break;
      }
      if (rc != -EINVAL) break;
    }
    if (rc != 0) return errno_status(-rc, "io_uring_queue_init", "(ring)");
    ready_ = true;
    name_ = std::string(flags_name_) + (nop_ ? ", IORING_OP_NOP only" : "");
    return {};
  }

  std::string_view name() const override { return name_; }

  void open(const char* path, int flags, uint64_t tag) override {
    if (nop_) return issue_nop(tag, kNopFd);
    if (io_uring_sqe* s = sqe(tag)) io_uring_prep_openat(s, AT_FDCWD, path, flags | O_CLOEXEC, 0);
  }

  void read(int fd, void* buf, uint32_t len, uint64_t offset, uint64_t tag) override {
    if (nop_) return issue_nop(tag, len);
    if (io_uring_sqe* s = sqe(tag)) io_uring_prep_read(s, fd, buf, len, offset);
  }

  void close(int fd, uint64_t tag) override {
    if (nop_) return issue_nop(tag, 0);
    if (io_uring_sqe* s = sqe(tag)) io_uring_prep_close(s, fd);
  }

  int stat(int fd, unsigned mask, struct statx* out) override {
    if (nop_) return nop_stat(out), 0;
    return stat_fd(fd, mask, out);
  }

  Result<size_t> poll(std::span<Completion> out, bool wait) override {
    if (!broken_.ok()) return error(broken_);
    for (int attempt = 0;; ++attempt) {
      int rc;
      if (wait && in_flight_ > 0) {
        rc = io_uring_submit_and_wait(&ring_, 1);
      } else {
        rc = io_uring_submit(&ring_);
        if (rc >= 0 && (flags_ & IORING_SETUP_DEFER_TASKRUN)) rc = io_uring_get_events(&ring_);
      }
      const size_t n = reap(out);
      if (rc >= 0 || n > 0) return n;
      if (!transient(rc) || attempt >= kMaxTransientRetries) {
        broken_ = errno_status(-rc, "io_uring_submit_and_wait", "(ring)");
        return error(broken_);
      }
      if (rc != -EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  size_t reap(std::span<Completion> out) {
    size_t n = 0;
    io_uring_cqe* cqe;
    unsigned head;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (n == out.size()) break;
      if (nop_) {
        // A NOP completes with 0: hand back the tag and result it stands for.
        const auto slot = static_cast<uint32_t>(cqe->user_data);
        out[n++] = nop_slots_[slot];
        nop_free_.push_back(slot);
        continue;
      }
      out[n++] = {cqe->user_data, cqe->res};
    }
    io_uring_cq_advance(&ring_, static_cast<unsigned>(n));
    in_flight_ -= n;
    return n;
  }

  // A free SQE, submitting the queue first when it is full; null when the
  // ring is broken (poll() then reports why).
  io_uring_sqe* sqe(uint64_t tag) {
    if (!broken_.ok()) return nullptr;
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    for (int attempt = 0; s == nullptr; ++attempt) {
      const int rc = io_uring_submit(&ring_);
      if (rc < 0 && (!transient(rc) || attempt >= kMaxTransientRetries)) {
        broken_ = errno_status(-rc, "io_uring_submit", "(ring)");
        return nullptr;
      }
      if (rc < 0 && rc != -EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      s = io_uring_get_sqe(&ring_);
    }
    io_uring_sqe_set_data64(s, tag);
    ++in_flight_;
    return s;
  }

  // Benchmark mode (BackendOptions::nop): an IORING_OP_NOP whose user_data is
  // a slot holding the tag and the result the real operation would have.
  void issue_nop(uint64_t tag, int64_t res) {
    uint32_t slot;
    if (nop_free_.empty()) {
      slot = static_cast<uint32_t>(nop_slots_.size());
      nop_slots_.push_back({});
    } else {
      slot = nop_free_.back();
      nop_free_.pop_back();
    }
    nop_slots_[slot] = {tag, res};
    if (io_uring_sqe* s = sqe(slot)) io_uring_prep_nop(s);
  }

  io_uring ring_{};
  bool nop_ = false;
  std::string name_;
  std::vector<Completion> nop_slots_;
  std::vector<uint32_t> nop_free_;
  bool ready_ = false;
  unsigned flags_ = 0;
  const char* flags_name_ = "plain";
  size_t in_flight_ = 0;
  Status broken_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_uring_backend(const BackendOptions& options) {
  auto backend = std::make_unique<UringBackend>();
  if (Status s = backend->init(options); !s.ok()) {
    return error(StatusCode::kUnavailable, "io_uring unavailable: " + std::string(s.message()), s.sys_errno());
  }
  return backend;
}

}  // namespace lsio::io
