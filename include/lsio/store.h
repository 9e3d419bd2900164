// Store: batched reads and writes of byte ranges of many files (or objects).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lsio/byte_range.h"
#include "lsio/bytes.h"
#include "lsio/status.h"

namespace lsio {

// A batch of read requests: each names a file (by id into paths()) and a range.
// Paths are stored once however many ranges refer to them, so a batch of ten
// million ranges over a few files costs 24 bytes per range.
class ReadBatch {
 public:
  // Id of `path`, adding it if new.
  uint32_t file_id(std::string_view path);
  void add(uint32_t file, ByteRange range);
  void add(std::string_view path, ByteRange range) { add(file_id(path), range); }
  void reserve(size_t n);

  size_t size() const { return ranges_.size(); }
  const std::vector<std::string>& paths() const { return paths_; }
  uint32_t file_of(size_t i) const { return files_[i]; }
  ByteRange range(size_t i) const { return ranges_[i]; }
  const std::string& path_of(size_t i) const { return paths_[files_[i]]; }

 private:
  std::vector<std::string> paths_;
  std::vector<uint32_t> files_;
  std::vector<ByteRange> ranges_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// Caller-supplied destinations: request i reads dest[i].size() bytes of its file
// starting at `offset` (offset < 0: the last dest.size() bytes, which must then
// equal -offset). The bytes go from the kernel straight into the span. The spans
// must stay valid and untouched until the call returns.
class ReadIntoBatch {
 public:
  uint32_t file_id(std::string_view path) { return batch_.file_id(path); }
  void add(uint32_t file, int64_t offset, std::span<std::byte> dest);
  void add(std::string_view path, int64_t offset, std::span<std::byte> dest) { add(file_id(path), offset, dest); }
  void reserve(size_t n) {
    batch_.reserve(n);
    dests_.reserve(n);
  }
  size_t size() const { return batch_.size(); }
  const ReadBatch& ranges() const { return batch_; }
  std::span<std::byte> dest(size_t i) const { return dests_[i]; }

 private:
  ReadBatch batch_;
  std::vector<std::span<std::byte>> dests_;
};

struct WriteRequest {
  std::string path;
  uint64_t offset = 0;
  std::span<const std::byte> data;  // must stay valid until the call returns
};

// How a batch is planned and executed. Defaults suit local NVMe/page cache.
struct ReadOptions {
  // Merge two ranges of one file when the gap between them is at most this
  // many bytes (the gap is read and thrown away). Overlaps are always merged.
  uint64_t coalesce_gap = 0;
  // Never merge beyond this many bytes in one read.
  uint64_t max_merged = 16ull << 20;
  // Split reads larger than this into parts (always at most 1 GiB per syscall).
  uint64_t part_size = 64ull << 20;
  // Bypass the page cache (O_DIRECT); reads the DIO-aligned superset of each
  // range and returns the exact slice. File stores only.
  bool direct = false;
};

struct PutOptions {
  bool fsync = false;  // fsync the file and its directory before returning
};

// Called once per request of a for_each batch, on the worker thread that
// completed the read, in completion order, possibly concurrently from several
// workers. The Bytes may be kept; for bounded memory, drop it promptly.
// Throwing from the callback cancels the rest of the batch.
using ChunkCallback = std::function<void(size_t index, Result<Bytes> chunk)>;

// Which engine a file store runs on.
enum class EngineKind : uint8_t { kAuto, kUring, kPosix };

struct StoreOptions {
  EngineKind engine = EngineKind::kAuto;  // kAuto honours LSIO_ENGINE=auto|uring|posix
  unsigned workers = 0;                   // 0: one per online CPU
  unsigned queue_depth = 128;             // reads in flight per worker
  uint64_t max_inflight_bytes = 2u << 20; // buffered-read bytes in flight per worker (x32 for O_DIRECT)
  unsigned max_open_files = 0;            // per store; 0: derived from RLIMIT_NOFILE
};

// Thread safety: a Store may be shared by threads; it runs one batch at a
// time (concurrent calls take turns). Do not call a store from inside its own
// for_each callback (the batch it would wait for is the one running it).
class Store {
 public:
  virtual ~Store() = default;

  // The engine in use: "uring", "posix" or "memory", with the reason when the
  // choice was automatic (e.g. "posix (io_uring unavailable: ...)").
  virtual std::string engine_description() const = 0;

  // One Result per request, in request order. One failing range never fails
  // its neighbours. Results of one merged read share one buffer.
  virtual std::vector<Result<Bytes>> read(const ReadBatch& batch, const ReadOptions& options = {}) = 0;

  // One Status per request, in request order.
  virtual std::vector<Status> read_into(const ReadIntoBatch& batch, const ReadOptions& options = {}) = 0;

  // Streams results to `callback` as reads complete, holding at most
  // workers * queue_depth buffers at a time. Returns the callback's exception
  // as kCancelled, else OK (per-request errors go to the callback).
  virtual Status for_each(const ReadBatch& batch, const ChunkCallback& callback, const ReadOptions& options = {}) = 0;

  // Size in bytes of each path, in order.
  virtual std::vector<Result<uint64_t>> sizes(std::span<const std::string> paths) = 0;

  // Writes each request's bytes at its offset (creating files as needed).
  virtual std::vector<Status> write(std::span<const WriteRequest> requests) = 0;

  // Deletes each path; a path that does not exist is not an error.
  virtual std::vector<Status> remove(std::span<const std::string> paths) = 0;

  // Replaces `path` atomically with `data` (temp file + rename): readers see
  // the old or the new file, never a mix.
  virtual Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options = {}) = 0;
};

// Opens a store by URL: "file:///data", "/data" or "relative/dir" (a file store
// rooted there; request paths are relative to the root, or absolute when the
// root is ""), or "memory://" (a process-local in-memory store).
Result<std::shared_ptr<Store>> open_store(std::string_view url, const StoreOptions& options = {});

}  // namespace lsio
