// The io_uring engine: one ring per worker thread, created on that thread.
//
// Files are opened straight into a sparse registered file table
// (openat_direct), so reads use IOSQE_FIXED_FILE and skip the per-read file
// lookup. Setup flags are probed from the most to the least capable, since a
// kernel that lacks one answers EINVAL.
#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <string>

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

unsigned round_up_pow2(unsigned x) {
  unsigned p = 1;
  while (p < x) p <<= 1;
  return p;
}

class UringBackend final : public Backend {
 public:
  ~UringBackend() override {
    if (ready_) io_uring_queue_exit(&ring_);
  }

  // Sets up the ring and the sparse file table; the error names the step.
  Status init(const BackendOptions& options) {
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
    rc = io_uring_register_files_sparse(&ring_, options.file_slots);
    if (rc != 0) return errno_status(-rc, "io_uring_register_files_sparse", "(ring)");
    return {};
  }

  std::string_view name() const override { return flags_name_; }

  void open(uint32_t slot, const char* path, int flags, uint64_t tag) override {
    // No O_CLOEXEC: a registered (direct) descriptor has no fd, and the kernel refuses the flag.
    io_uring_prep_openat_direct(sqe(tag), AT_FDCWD, path, flags, 0, slot);
  }

  void stat(const char* path, unsigned mask, struct statx* out, uint64_t tag) override {
    io_uring_prep_statx(sqe(tag), AT_FDCWD, path, 0, mask, out);
  }

  void read(uint32_t slot, void* buf, uint32_t len, uint64_t offset, uint64_t tag) override {
    io_uring_sqe* s = sqe(tag);
    io_uring_prep_read(s, static_cast<int>(slot), buf, len, offset);
    s->flags |= IOSQE_FIXED_FILE;
  }

  void close(uint32_t slot, uint64_t tag) override { io_uring_prep_close_direct(sqe(tag), slot); }

  size_t poll(std::span<Completion> out, bool wait) override {
    if (wait && in_flight_ > 0) {
      io_uring_submit_and_wait(&ring_, 1);
    } else {
      io_uring_submit(&ring_);
      if (flags_ & IORING_SETUP_DEFER_TASKRUN) io_uring_get_events(&ring_);
    }
    size_t n = 0;
    io_uring_cqe* cqe;
    unsigned head;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (n == out.size()) break;
      out[n++] = {cqe->user_data, cqe->res};
    }
    io_uring_cq_advance(&ring_, static_cast<unsigned>(n));
    in_flight_ -= n;
    return n;
  }

 private:
  // A free SQE, submitting the queue first when it is full.
  io_uring_sqe* sqe(uint64_t tag) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    io_uring_sqe_set_data64(s, tag);
    ++in_flight_;
    return s;
  }

  io_uring ring_{};
  bool ready_ = false;
  unsigned flags_ = 0;
  const char* flags_name_ = "plain";
  size_t in_flight_ = 0;
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
