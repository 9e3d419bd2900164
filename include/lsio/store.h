// Store: batched reads and writes of byte ranges of many files (or objects).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lsio/byte_range.h"
#include "lsio/bytes.h"
#include "lsio/remote_options.h"
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
  // Reads of `file` must find it at this version (ObjectInfo::version, as
  // Store::stat reported it): a file replaced or modified since fails each of
  // its requests with kAborted instead of mixing old and new bytes.
  void expect_version(uint32_t file, std::string version);

  size_t size() const { return ranges_.size(); }
  const std::vector<std::string>& paths() const { return paths_; }
  uint32_t file_of(size_t i) const { return files_[i]; }
  ByteRange range(size_t i) const { return ranges_[i]; }
  const std::string& path_of(size_t i) const { return paths_[files_[i]]; }
  // The version expected for `file`, or "" when any will do.
  std::string_view expected_version(uint32_t file) const {
    return file < versions_.size() ? std::string_view(versions_[file]) : std::string_view();
  }

 private:
  std::vector<std::string> paths_;
  std::vector<uint32_t> files_;
  std::vector<ByteRange> ranges_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> versions_;  // by file id; "" = no expectation
};

class ReadIntoBatch {
 public:
  uint32_t file_id(std::string_view path) { return batch_.file_id(path); }
  void add(uint32_t file, int64_t offset, std::span<std::byte> dest);
  void add(std::string_view path, int64_t offset, std::span<std::byte> dest) { add(file_id(path), offset, dest); }
  void expect_version(uint32_t file, std::string version) { batch_.expect_version(file, std::move(version)); }
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

// Cancels everything started with it (ReadOptions::cancel): running batches
// stop issuing reads, drain the reads already in the kernel and finish with
// the reason. Thread safe; the first cancel() wins; later batches started with
// a cancelled source finish at once.
class CancelSource {
 public:
  static std::shared_ptr<CancelSource> create() { return std::make_shared<CancelSource>(); }
  // `why` is kCancelled by default; a deadline passes kDeadlineExceeded.
  void cancel(Status why = {});
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  Status reason() const;
  // Calls fn(reason) once when cancelled (at once if already); returns an id for unsubscribe.
  uint64_t subscribe(std::function<void(const Status&)> fn);
  void unsubscribe(uint64_t id);

 private:
  mutable std::mutex mu_;
  std::atomic<bool> cancelled_{false};
  Status reason_;
  uint64_t next_id_ = 1;
  std::vector<std::pair<uint64_t, std::function<void(const Status&)>>> subscribers_;
};

// How a batch is planned and executed. Unset planning fields take the
// store's defaults (StoreOptions for file stores: no gap merging, 16 MiB merged
// reads and 64 MiB parts unless set; RemoteOptions for remote stores: a 1 MiB
// gap, 16 MiB requests and 8 MiB parts).
struct ReadOptions {
  // Merge two ranges of one file when the gap between them is at most this
  // many bytes (the gap is read and thrown away). File stores always merge
  // overlapping and touching ranges; remote stores merge nothing at 0.
  std::optional<uint64_t> coalesce_gap;
  // Never merge beyond this many bytes in one read or request.
  std::optional<uint64_t> max_merged;
  // Split reads larger than this into parts (always at most 1 GiB per
  // syscall); remote stores fetch the parts of one read (one range, or ranges
  // merged) in parallel, so no GET is longer than this.
  std::optional<uint64_t> part_size;
  // Bypass the page cache (O_DIRECT); reads the DIO-aligned superset of each
  // range and returns the exact slice. File stores only.
  bool direct = false;
  // A request whose resolved length is larger than this many bytes is refused
  // with kResourceExhausted before anything is allocated (read_into and
  // for_each into caller buffers are not capped). 0: half the physical memory.
  uint64_t max_request_bytes = 0;
  // Cancels the batch (see CancelSource); null: only Batch::cancel() does.
  std::shared_ptr<CancelSource> cancel;
};

struct PutOptions {
  bool fsync = false;  // fsync the file and its directory before returning
};

// What a store knows of one object without reading it.
struct ObjectInfo {
  uint64_t size = 0;
  // Changes whenever the object is replaced or modified: for files the
  // device, inode, size and modification time (ns); an ETag for remote stores.
  std::string version;
};

// Called once per request of a for_each batch, on the worker thread that
// completed the read (or on the calling thread, for a one-request batch read
// inline: StoreOptions::inline_reads), in completion order, possibly
// concurrently from several workers. The Bytes may be kept; for bounded memory, drop it promptly.
// Throwing from the callback cancels the rest of the batch. The callback must
// not call the store that runs it (refused with kFailedPrecondition).
using ChunkCallback = std::function<void(size_t index, Result<Bytes> chunk)>;

namespace detail {
struct BatchState;
}  // namespace detail

// A submitted batch, running on the store's workers (or already done: a
// small page-cache-hot batch is read inline, StoreOptions::inline_reads).
// Copies share the batch.
// Dropping every handle does not cancel it: the store finishes it.
class Batch {
 public:
  Batch() = default;
  explicit Batch(std::shared_ptr<detail::BatchState> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  // Blocks until every request was delivered or the batch was cancelled and
  // drained (no read of it is left in the kernel).
  void wait() const;
  // wait() for at most `timeout`; true when the batch is done.
  bool wait_for(std::chrono::nanoseconds timeout) const;
  bool done() const;
  // Stops issuing reads; requests not yet delivered finish with `why`
  // (kCancelled by default). Returns at once; wait() for the drain.
  void cancel(Status why = {}) const;

  // Progress, readable at any time.
  uint64_t requests_total() const;
  uint64_t requests_done() const;
  uint64_t bytes_read() const;
  // When done: OK, or why it stopped early (cancel reason, callback error).
  Status status() const;
  // "12 of 40 requests not delivered; first: data/a.bin [0, 4096)", for timeouts.
  std::string describe_pending() const;

  // When done, for a batch submitted with submit(ReadBatch): one Result per
  // request, in request order (undelivered ones carry status()). Once.
  std::vector<Result<Bytes>> take_results() const;
  // When done, for a batch submitted with submit(ReadIntoBatch): one Status per request. Once.
  std::vector<Status> take_statuses() const;
  // Runs fn() once the batch is done (at once, on this thread, if it is), on
  // the thread that finished it. fn must not block; it must not throw.
  void on_done(std::function<void()> fn) const;

 private:
  std::shared_ptr<detail::BatchState> state_;
};

// Which engine a file store runs on.
enum class EngineKind : uint8_t { kAuto, kUring, kPosix };

struct StoreOptions {
  // ---- file stores ----
  EngineKind engine = EngineKind::kAuto;   // kAuto honours LSIO_ENGINE=auto|uring|posix
  unsigned workers = 0;                    // 0: one per online CPU
  unsigned queue_depth = 128;              // reads in flight per worker
  uint64_t max_inflight_bytes = 2u << 20;  // buffered-read bytes in flight per worker (O_DIRECT: at least 64 MiB)
  unsigned max_open_files = 0;             // per store, in use or kept open across batches; 0: from RLIMIT_NOFILE
  // Planning defaults of file stores (a ReadOptions field that is set wins;
  // remote stores take RemoteOptions' own). `lsio tune` measures these.
  uint64_t coalesce_gap = 0;          // merge ranges of one file at most this many bytes apart
  uint64_t max_merged = 16ull << 20;  // bytes per merged read at most
  uint64_t part_size = 64ull << 20;   // split reads larger than this (at most 1 GiB per syscall anyway)
  // A file with a planned read of at least this many bytes is read with
  // O_DIRECT (0: never; ReadOptions::direct forces it for every read), unless
  // the page cache holds half or more of its planned span (cachestat, Linux
  // 6.5+): a hot file stays buffered. Unlike ReadOptions::direct this is a
  // hint: where the file system refuses O_DIRECT (EINVAL: procfs, sysfs, some
  // FUSE) the file is read through the page cache. Measured: cold mean+std of
  // a 4 GiB array of 16 MiB chunks 3.1-3.3 s buffered, 2.3 s direct (fio 2.6 s).
  // Store::put of at least this many bytes writes O_DIRECT too (buffered where
  // refused): fio here writes 0.9 GB/s buffered at 89% CPU, 2.3 GB/s direct.
  uint64_t direct_threshold = 8ull << 20;
  // Small page-cache-hot batches (at most 8 requests of one file, 1 MiB in
  // all; one request when a callback consumes them) are read on the calling
  // thread with preadv2(RWF_NOWAIT), skipping the hand-off to a worker and
  // back; anything not cached, or not plain, goes to the workers unchanged
  // (src/io/inline_read.h). false: every read goes through the workers.
  bool inline_reads = true;
  // ---- every store ----
  // A RAM cache of up to this many bytes (0: none) holding read results,
  // derived values (Store::put_derived: Zarr's decoded inner chunks) and, with
  // cache_revalidate_after, object versions. Only reads of a pinned version
  // (ReadBatch::expect_version; Zarr pins every inner chunk of a shard) are
  // cached: a caller pinning version V gets V's bytes, so whoever pins must
  // re-stat to see a replaced object (Zarr does, on every read call).
  uint64_t cache_bytes = 0;
  // With a cache: stat() answers from RAM for this long after the storage
  // last did (0: every stat asks the storage). Within it, a replaced object
  // may be served stale (its old version stays pinned); writes, puts and
  // removes through this store drop their paths' entries at once.
  std::chrono::nanoseconds cache_revalidate_after{0};
  // ---- s3:// and http(s):// stores ----
  RemoteOptions remote;
};

// One object found by Store::list.
struct ListEntry {
  std::string path;  // relative to the store's root, "/"-separated
  uint64_t size = 0;
  std::string version;  // as ObjectInfo::version
};

// Counters of one kind of entry of a store's RAM cache.
struct CacheCounters {
  uint64_t bytes = 0;    // held now
  uint64_t entries = 0;  // held now
  uint64_t hits = 0;
  uint64_t misses = 0;  // cacheable lookups not found (or expired)
  uint64_t inserts = 0;
  uint64_t evictions = 0;
};

// Counters of a store's RAM cache (StoreOptions::cache_bytes): the totals
// over every kind, and each kind: raw read results, derived values (decoded
// chunks) and object versions (stat results, with cache_revalidate_after).
struct CacheStats : CacheCounters {
  uint64_t capacity_bytes = 0;  // shared by every kind
  CacheCounters raw, derived, versions;
};

// Names a value derived from the bytes `range` of version `version` of
// `path` (e.g. a decoded chunk) in a store's RAM cache; `tag` says how it was
// derived (e.g. the codec chain), so two derivations never answer for each other.
struct DerivedKey {
  std::string_view path;
  std::string_view version;  // ObjectInfo::version the bytes were read at; must not be empty
  ByteRange range;
  std::string_view tag;
};

struct Listing {
  std::vector<ListEntry> objects;     // sorted by path
  std::vector<std::string> prefixes;  // non-recursive listings: the "directories" below, each ending in "/"
};

// Thread safety: a Store may be shared by threads. Many batches run at once
// and share the workers fairly: each worker takes its next file from the
// running batches in turn, so a small batch is not stuck behind a huge one.
// Fork: a store used in a forked child rebuilds its workers there on first
// use (the parent's are never touched). Calling a store from inside one of
// its own callbacks is refused with kFailedPrecondition (it could deadlock).
class Store {
 public:
  virtual ~Store() = default;

  // The engine in use: "uring", "posix" or "memory", with the reason when the
  // choice was automatic (e.g. "posix (io_uring unavailable: ...)").
  virtual std::string engine_description() const = 0;

  // Starts a batch and returns at once (after reading it, for a small batch
  // the page cache holds: StoreOptions::inline_reads). Results:
  // Batch::take_results().
  Batch submit(std::shared_ptr<const ReadBatch> batch, const ReadOptions& options = {});
  // Reads into caller spans, which must stay valid until the batch is done.
  Batch submit(std::shared_ptr<const ReadIntoBatch> batch, const ReadOptions& options = {});
  // Streams each request to `callback` as its read completes (see ChunkCallback).
  Batch submit(std::shared_ptr<const ReadBatch> batch, ChunkCallback callback, const ReadOptions& options = {});

  // Blocking wrappers of submit (the batch is not copied).
  // One Result per request, in request order. One failing range never fails
  // its neighbours. Results of one merged read share one buffer.
  std::vector<Result<Bytes>> read(const ReadBatch& batch, const ReadOptions& options = {});
  // One Status per request, in request order.
  std::vector<Status> read_into(const ReadIntoBatch& batch, const ReadOptions& options = {});
  // Streams results to `callback` as reads complete, holding at most
  // workers * queue_depth buffers at a time. Returns the callback's exception
  // as kCancelled, the cancel reason, else OK (per-request errors go to the callback).
  Status for_each(const ReadBatch& batch, const ChunkCallback& callback, const ReadOptions& options = {});

  // Size and version of each path, in order.
  virtual std::vector<Result<ObjectInfo>> stat(std::span<const std::string> paths) = 0;
  // Size in bytes of each path, in order.
  std::vector<Result<uint64_t>> sizes(std::span<const std::string> paths);

  // The objects whose path starts with `prefix` (a plain string prefix, as in
  // S3: "a/b" matches "a/b.bin" and "a/bc/d"). recursive=false stops at the
  // next "/" after the prefix and reports what lies below as `prefixes`.
  // Unfinished temporary files of put() are never listed.
  virtual Result<Listing> list(std::string_view prefix, bool recursive = true) = 0;

  // Writes each request's bytes at its offset (creating files as needed).
  virtual std::vector<Status> write(std::span<const WriteRequest> requests) = 0;

  // Deletes each path; a path that does not exist is not an error. A file
  // store also removes the directories a deletion leaves empty, below its root
  // (directories are implicit, as in an object store).
  virtual std::vector<Status> remove(std::span<const std::string> paths) = 0;

  // Replaces `path` atomically with `data` (temp file + rename): readers see
  // the old or the new file, never a mix.
  virtual Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options = {}) = 0;

  // The RAM cache's counters, or nullopt when the store has no cache.
  virtual std::optional<CacheStats> cache_stats() const { return std::nullopt; }
  // True when the store has a RAM cache: pinned reads may then be answered
  // from RAM without asking the storage whether the pin is still current.
  virtual bool has_cache() const { return false; }
  // A derived value cached under `key`, or nullopt (always without a cache).
  // Pure RAM operations, allowed from the store's own callbacks.
  virtual std::optional<Bytes> get_derived(const DerivedKey& key) {
    (void)key;
    return std::nullopt;
  }
  // Caches `value` (never written again by anyone) under `key`, and drops the
  // cached raw bytes of the same (path, version, range): the derived value
  // replaces them rather than doubling the memory. No-op without a cache.
  virtual void put_derived(const DerivedKey& key, Bytes value) {
    (void)key;
    (void)value;
  }

  // A writable buffer of `size` bytes, aligned to 4096, for results the caller
  // fills (e.g. the output array of a Zarr read). Stores with a buffer pool
  // hand out recycled memory, already faulted in, and take it back when the
  // last Bytes sharing it is dropped; the others allocate. Write through
  // Bytes::mutable_data() before sharing the buffer.
  virtual Bytes allocate(size_t size) { return Bytes::allocate(size, 4096); }

  // kFailedPrecondition when the calling thread runs one of this store's
  // callbacks (every entry point checks this; Zarr calls go through them).
  Status check_not_in_callback(std::string_view what) const;

 protected:
  // True on the store's own worker threads (where only its callbacks call out).
  virtual bool runs_on_current_thread() const { return false; }
  // Runs a prepared batch: every request must end in BatchState::deliver, or
  // in the batch's cancellation. Called with the re-entry check done.
  virtual void start(std::shared_ptr<detail::BatchState> state) = 0;

 private:
  Batch submit_state(std::shared_ptr<detail::BatchState> state, const ReadOptions& options);
};

// Opens a store by URL: "file:///data", "/data" or "relative/dir" (a file store
// rooted there; request paths are relative to the root, or absolute when the
// root is ""), "memory://" (a process-local in-memory store),
// "s3://bucket[/prefix]" (options.remote says how to reach and sign) or
// "http(s)://host[:port]/base/" (read only; paths are appended to the base).
Result<std::shared_ptr<Store>> open_store(std::string_view url, const StoreOptions& options = {});

}  // namespace lsio
