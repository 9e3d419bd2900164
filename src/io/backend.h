// Backend: the primitive file operations one worker thread issues. The worker
// (worker.h) drives every backend with the same state machine, so the
// io_uring and posix engines differ only here.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "lsio/status.h"

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif

namespace lsio::io {

// A finished operation: the tag it was issued with and its result
// (>= 0 success: bytes for reads, the descriptor for opens; -errno on
// failure). Like a CQE.
struct Completion {
  uint64_t tag;
  int64_t res;
};

struct BackendOptions {
  unsigned file_slots = 64;    // files open at once on this worker
  unsigned queue_depth = 128;  // reads in flight on this worker
  // Bytes of buffered reads in flight on this worker (at least one read
  // always goes; O_DIRECT reads may have 32 times more, as they never hit the
  // page cache and need depth). Measured: page-cache-hot 1-16 MiB reads run
  // 1.4x faster at 2 MiB than uncapped, as recycled buffers stay in cache.
  uint64_t max_inflight_bytes = 2u << 20;
  // Benchmark facility only (lsio_bench --nop, via store::open_nop_file_store):
  // no file is touched. Every open, read and close completes as a no-op
  // (io_uring: IORING_OP_NOP through the ring; posix: no syscall) with the
  // result a successful call would have (reads: all `len` bytes, left
  // unwritten), and stat reports a regular file of kNopFileSize bytes. It
  // measures the engine's own cost per operation: submit, scheduler, FileJob
  // claim, planning, completion and delivery.
  bool nop = false;
  // Keep descriptors open across batches (io/fd_cache.h), at most file_slots
  // per worker. Off for the no-op engine, whose descriptors are not real.
  bool cache_descriptors = true;
};

// The size a no-op backend reports for every file.
constexpr uint64_t kNopFileSize = 1ull << 40;

// Owned and used by exactly one worker thread. Operations are queued by the
// issue calls and performed (posix) or submitted (io_uring) no later than the
// next poll(); each produces exactly one Completion. Buffers must stay valid
// until their completion is returned.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // Opens `path` (O_CLOEXEC added); res is the new descriptor.
  virtual void open(const char* path, int flags, uint64_t tag) = 0;
  virtual void read(int fd, void* buf, uint32_t len, uint64_t offset, uint64_t tag) = 0;
  virtual void close(int fd, uint64_t tag) = 0;
  // statx of an opened descriptor (synchronous): 0 or -errno.
  virtual int stat(int fd, unsigned mask, struct statx* out);

  // Submits what is queued and returns finished operations into `out`.
  // With `wait`, blocks until at least one completes (if any is in flight).
  // An error means the backend is broken (e.g. the ring failed): the
  // operations in flight will never complete and their buffers may still be
  // written by the kernel.
  virtual Result<size_t> poll(std::span<Completion> out, bool wait) = 0;
};

// statx of an open descriptor (synchronous; the size and identity of the file
// actually opened, never of whatever the path names by now). 0 or -errno.
int stat_fd(int fd, unsigned mask, struct statx* out);

// What the engine asks statx for: size, type, and the identity file_version needs.
constexpr unsigned kFileStatMask = STATX_SIZE | STATX_TYPE | STATX_INO | STATX_MTIME;

// "dev:ino:size:mtime" of a statx (STATX_INO | STATX_SIZE | STATX_MTIME):
// changes whenever the file is replaced or modified. ObjectInfo::version.
std::string file_version(const struct statx& stx);

// The statx a no-op backend reports (see BackendOptions::nop).
void nop_stat(struct statx* out);

std::unique_ptr<Backend> make_posix_backend(const BackendOptions& options);
// Fails with kUnavailable when the kernel refuses io_uring (old kernel,
// seccomp, kernel.io_uring_disabled), naming the reason.
Result<std::unique_ptr<Backend>> make_uring_backend(const BackendOptions& options);

}  // namespace lsio::io
