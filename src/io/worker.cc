#include "io/worker.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "io/page_cache.h"

namespace lsio::io {
namespace {

enum Op : uint64_t { kOpen = 1, kPart = 3, kClose = 4 };
uint64_t tag(Op op, uint32_t index) { return (op << 32) | index; }
Op tag_op(uint64_t t) { return static_cast<Op>(t >> 32); }
uint32_t tag_index(uint64_t t) { return static_cast<uint32_t>(t); }

constexpr uint64_t kDefaultDioAlign = 4096;
// A file whose planned span the page cache holds at least this much of is read buffered despite direct_threshold.
constexpr double kHotFileFraction = 0.5;
// O_DIRECT reads keep a device busy with this many bytes in flight per worker (or max_inflight_bytes if larger).
// Fixed, not a multiple of max_inflight_bytes: a budget raised for hot buffered reads (lsio tune picks one) put
// 256 MiB of direct reads in flight and made cold Zarr read-all 15% slower (bench/tune_bench.py, zarr-raw-cold).
constexpr uint64_t kDirectInflightBytes = 64ull << 20;
// A dense job going O_DIRECT merges its touching reads up to this size, past a
// smaller max_merged (Zarr asks for 1 MiB slabs, which suit the page cache):
// the device serves big requests faster (2 GiB of cold 32 MiB files read as
// 1 MiB direct reads took 0.95 s, as 32 MiB reads 0.56 s).
constexpr uint64_t kDirectMergedBytes = 32ull << 20;

bool is_into(const RunState& run) { return run.batch->kind == detail::SinkKind::kInto; }

// Bytes `range` covers in a file of `size` bytes (0 when it lies past the end: the planner reports that).
uint64_t resolved_length(ByteRange range, uint64_t size) {
  if (!range.check().ok()) return 0;
  const ByteRange::Absolute a = range.resolve(size);
  return a.begin >= std::min<uint64_t>(a.end, size) ? 0 : std::min<uint64_t>(a.end, size) - a.begin;
}

Status too_large(const std::string& path, std::string_view what, uint64_t bytes, uint64_t cap) {
  return Status(StatusCode::kResourceExhausted,
                "read " + path + " " + std::string(what) + ": refused, " + std::to_string(bytes) +
                    " bytes is larger than the " + std::to_string(cap) +
                    " bytes one request may allocate (ReadOptions::max_request_bytes, max_request_bytes= in "
                    "Python; default half the physical memory); read it in parts, or into your own buffer with "
                    "read_into");
}

Status too_large(const std::string& path, ByteRange range, uint64_t bytes, uint64_t cap) {
  return too_large(path, range.to_string(), bytes, cap);
}

// Switches an open descriptor to O_DIRECT (the direct threshold). A file
// system that refuses it (EINVAL: procfs, sysfs, some FUSE) leaves the file
// buffered: the threshold is a hint, unlike ReadOptions::direct, which fails.
bool enable_direct(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  return (flags & O_DIRECT) != 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) == 0;
}

}  // namespace

// A descriptor of the descriptor cache is shared (other jobs of the file, later
// batches) and must stay buffered: such a file gets a private O_DIRECT
// descriptor of the same inode instead (the cached one goes back idle). A
// private descriptor is switched in place.
bool Worker::switch_to_direct(FileState& f) {
  if (f.cache_entry == FdCache::kNone) return enable_direct(f.fd);
  const int fd = ::open(f.path->c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) return false;  // refused (EINVAL) or gone: read through the cached descriptor
  struct statx now{};
  if (stat_fd(fd, STATX_INO, &now) != 0 || now.stx_ino != f.stx.stx_ino || now.stx_dev_major != f.stx.stx_dev_major ||
      now.stx_dev_minor != f.stx.stx_dev_minor) {
    ::close(fd);  // the path names another file by now: keep the one planned against
    return false;
  }
  fd_cache_->release(f.cache_entry);
  f.cache_entry = FdCache::kNone;
  f.fd = fd;  // closed when the file is done, as an uncached descriptor
  return true;
}

bool Worker::reaches_direct_threshold(const FileState& f) const {
  const uint64_t threshold = f.run->plan.direct_threshold;
  if (threshold == 0) return false;
  // A dense file (FileJob::dense: a chunk read in slabs) counts as one big
  // read. Scattered small reads (crops of a shard) stay buffered, so that the
  // next epoch finds them cached.
  bool big = f.job.dense;
  uint64_t first = UINT64_MAX;
  uint64_t end = 0;
  for (const plan::Read& read : f.plan.reads) {
    big = big || read.length >= threshold;
    first = std::min(first, read.offset);
    end = std::max(end, read.offset + read.length);
  }
  if (!big) return false;
  // Sampled once per large file: unknown (an older kernel) counts as cold.
  const std::optional<double> cached = estimated_page_cache_fraction(f.fd, first, end - first);
  return !cached || *cached < kHotFileFraction;
}

Worker::Worker(std::unique_ptr<Backend> backend, const BackendOptions& options, BufferPool& pool, Scheduler& scheduler)
    : backend_(std::move(backend)), options_(options), scheduler_(scheduler), slab_(pool), pool_(pool) {
  if (options.cache_descriptors) fd_cache_ = std::make_unique<FdCache>(options.file_slots);
  replace_backend(std::move(backend_));
}

void Worker::replace_backend(std::unique_ptr<Backend> backend) {
  backend_ = std::move(backend);
  files_.assign(options_.file_slots, FileState{});
  reads_.assign(options_.queue_depth, ReadState{});
  parts_.assign(options_.queue_depth, PartState{});
  free_files_.clear();
  free_reads_.clear();
  free_parts_.clear();
  for (uint32_t i = options_.file_slots; i-- > 0;) free_files_.push_back(i);
  for (uint32_t i = options_.queue_depth; i-- > 0;) {
    free_reads_.push_back(i);
    free_parts_.push_back(i);
  }
  ready_files_.clear();
  partial_reads_.clear();
  ops_in_flight_ = 0;
  bytes_in_flight_ = 0;
  queued_requests_ = 0;
  files_in_setup_ = 0;
  if (fd_cache_) fd_cache_->release_all();  // the slots that used them are gone
}

bool Worker::idle() const { return ops_in_flight_ == 0 && ready_files_.empty() && partial_reads_.empty(); }

Status Worker::run() {
  std::vector<Completion> completions(256);
  for (;;) {
    admit_files();
    issue_reads();
    if (idle()) {
      slab_.reset();
      if (!wait_idle()) return {};
      continue;
    }
    Result<size_t> n = backend_->poll(completions, /*wait=*/true);
    if (!n) {
      abandon(n.error());
      return n.error();
    }
    for (size_t i = 0; i < *n; ++i) {
      --ops_in_flight_;
      on_completion(completions[i]);
    }
  }
}

// The ring broke: nothing in flight will complete. Fail every request this
// worker holds and abandon the buffers the kernel may still write (leaked on
// purpose), and the backend with them.
void Worker::abandon(const Status& why) {
  const Status status = why.with_context("engine failure, requests abandoned");
  for (ReadState& rs : reads_)
    if (!rs.buffer.empty()) static_cast<void>(new Bytes(std::move(rs.buffer)));
  for (FileState& f : files_) {
    if (!f.used || f.run == nullptr) continue;
    const uint32_t* order = f.run->order.data() + f.job.first;
    for (uint32_t k = 0; k < f.job.count; ++k)
      if (!__atomic_load_n(&f.run->batch->delivered[order[k]], __ATOMIC_RELAXED)) deliver(f, order[k], error(status));
    f.run->batch->add_progress(f.job.count, f.bytes_read);
    scheduler_.job_done(f.run);
  }
  static_cast<void>(backend_.release());
  replace_backend(make_posix_backend(options_));
}

// Waits for the next FileJob. While the buffer pool holds memory (idle, or
// in use and maybe dropped soon) the wait is bounded once: back-to-back calls
// reuse the pool's buffers (already faulted in), and a store that rests for
// BufferPool::kRest gives them back. Buffers dropped later are freed by the
// pool itself (it rests too), so one trim per rest is enough.
bool Worker::wait_idle() {
  if (trimmed_since_last_job_ || !pool_.holds_memory()) {
    if (!scheduler_.wait_for_jobs()) return false;
    trimmed_since_last_job_ = false;
    return true;
  }
  bool expired = false;
  if (!scheduler_.wait_for_jobs(BufferPool::kRest, &expired)) return false;
  if (expired) pool_.trim();
  trimmed_since_last_job_ = expired;
  return true;
}

// ---- files --------------------------------------------------------------

void Worker::admit_files() {
  // Take another file only when this worker is about to run out of work: no
  // opened file waiting for its reads to start, few files still opening, and
  // fewer queued requests than its queue depth. Files a worker does not take
  // stay for the other workers. Small jobs (a few KiB of one file) are the
  // exception: up to kMaxSmallFilesInSetup of them open at once, so that one
  // ring submission carries many opens and reads instead of one file's.
  while (!free_files_.empty() && queued_requests_ < reads_.size()) {
    const bool any = ready_files_.empty() && files_in_setup_ < kMaxFilesInSetup;
    if (!any && files_in_setup_ >= kMaxSmallFilesInSetup) break;
    RunState* run = nullptr;
    FileJob fj{};
    if (!scheduler_.take_job(run, fj, /*small_only=*/!any)) break;
    const uint32_t slot = free_files_.back();
    free_files_.pop_back();
    start_file(slot, run, fj);
  }
}

void Worker::start_file(uint32_t slot, RunState* run, const FileJob& fj) {
  FileState& f = files_[slot];  // reset when it was freed (reset_file)
  f.used = true;
  f.run = run;
  f.job = fj;
  f.path = &(*run->paths)[fj.file];
  f.queued = true;
  queued_requests_ += fj.count;
  if (run->batch->is_cancelled()) return finish_file_if_done(slot);
  if (const Status& bad = run->path_errors[fj.file]; !bad.ok()) {
    fail_file(f, bad);
    return finish_file_if_done(slot);
  }
  f.direct = run->options().direct;
  const int flags = O_RDONLY | (f.direct ? O_DIRECT : 0);
  if (fd_cache_ && reuse_cached(slot, flags)) return;
  f.opening = true;
  ++files_in_setup_;
  backend_->open(f.path->c_str(), flags, tag(kOpen, slot));
  ++ops_in_flight_;
}

// A descriptor kept from an earlier batch, if the path still names the file
// it holds: statx of the path (not of the descriptor) gives identity and the
// current size in one call. Otherwise the entry goes and the file is opened.
bool Worker::reuse_cached(uint32_t slot, int flags) {
  FileState& f = files_[slot];
  const FdCache::Hit hit = fd_cache_->acquire(*f.path, flags);
  if (hit.entry == FdCache::kNone) return false;
  if (::statx(AT_FDCWD, f.path->c_str(), 0, stat_mask(f), &f.stx) != 0 || !fd_cache_->same_file(hit.entry, f.stx)) {
    close_uncached(fd_cache_->drop(hit.entry));
    f.stx = {};
    return false;
  }
  f.fd = hit.fd;
  f.cache_entry = hit.entry;
  f.error = check_stat(f);
  if (!f.error.ok()) return fail_file(f, f.error), finish_file_if_done(slot), true;
  plan_reads(slot);
  return true;
}

// A cached descriptor evicted or found stale. Closed at once (not through the
// backend) so that the store is within its budget when the batch returns.
void Worker::close_uncached(int fd) {
  if (fd >= 0) ::close(fd);
}

uint64_t Worker::alignment(const FileState& f) const {
  if (!f.direct) return 1;
  if ((f.stx.stx_mask & STATX_DIOALIGN) && f.stx.stx_dio_offset_align > 0) {
    return std::max<uint64_t>(f.stx.stx_dio_offset_align, f.stx.stx_dio_mem_align);
  }
  return kDefaultDioAlign;
}

void Worker::on_open(uint32_t slot, int64_t res) {
  FileState& f = files_[slot];
  f.opening = false;
  --files_in_setup_;
  if (res < 0) {
    const bool direct = f.direct && res == -EINVAL;
    f.error = errno_status(static_cast<int>(-res), direct ? "open (O_DIRECT)" : "open", *f.path);
  } else {
    f.fd = static_cast<int>(res);
    f.error = check_opened(f);
    if (f.error.ok() && fd_cache_) {
      int evicted = -1;
      f.cache_entry = fd_cache_->insert(*f.path, f.direct ? O_DIRECT : 0, f.fd, f.stx, evicted);
      close_uncached(evicted);
    }
  }
  if (!f.error.ok()) return fail_file(f, f.error), finish_file_if_done(slot);
  plan_reads(slot);
}

// The size and identity of the file actually opened (a path replaced since
// cannot mix in), and the version the batch expects of it.
unsigned Worker::stat_mask(const FileState& f) const {
  const bool may_go_direct = f.direct || f.run->plan.direct_threshold > 0;
  return kFileStatMask | (may_go_direct ? STATX_DIOALIGN : 0);
}

Status Worker::check_opened(FileState& f) {
  if (const int rc = backend_->stat(f.fd, stat_mask(f), &f.stx); rc < 0) return errno_status(-rc, "statx", *f.path);
  return check_stat(f);
}

Status Worker::check_stat(const FileState& f) const {
  if (S_ISDIR(f.stx.stx_mode)) return errno_status(EISDIR, "read", *f.path);
  const std::string_view expected = f.run->requests().expected_version(f.job.file);
  if (expected.empty()) return {};
  if (std::string now = file_version(f.stx); now != expected) {
    return Status(StatusCode::kAborted, "read " + *f.path + ": the file changed since version " +
                                            std::string(expected) + " was seen (now " + now +
                                            "): replaced or modified by another writer");
  }
  return {};
}

// A slot's plan keeps its vectors for the next file (planning then allocates
// nothing), unless a big job grew them past kKeptPlanEntries.
void Worker::reset_file(FileState& f) {
  // Field by field: building and moving in a whole FileState{} cost ~200
  // instructions per file, a tenth of a small batch's per-file cost.
  f.used = false;
  f.run = nullptr;
  f.job = {};
  f.path = nullptr;
  f.fd = -1;
  f.cache_entry = FdCache::kNone;
  f.opening = false;
  f.direct = false;
  f.closing = false;
  if (!f.error.ok()) f.error = Status();
  f.stx = {};
  f.next_read = 0;
  f.reads_in_flight = 0;
  f.queued = false;
  f.in_ready = false;
  f.bytes_read = 0;
  plan::FilePlan& p = f.plan;
  if (p.targets.capacity() > kKeptPlanEntries || p.immediates.capacity() > kKeptPlanEntries) {
    p = plan::FilePlan{};
  } else {
    p.reads.clear();
    p.targets.clear();
    p.immediates.clear();  // their Statuses are freed here, not at the slot's next plan
  }
}

void Worker::plan_reads(uint32_t slot) {
  FileState& f = files_[slot];
  try {
    std::vector<plan::Request>& requests = plan_requests_;
    requests.clear();
    requests.reserve(f.job.count);
    const uint32_t* order = f.run->order.data() + f.job.first;
    const ReadBatch& batch = f.run->requests();
    const uint64_t cap = is_into(*f.run) ? UINT64_MAX : f.run->batch->max_request_bytes;
    const bool may_exceed = f.stx.stx_size > cap;  // no range of a smaller file can
    for (uint32_t k = 0; k < f.job.count; ++k) {
      const ByteRange range = batch.range(order[k]);
      // Refused alone, before planning: merged with its neighbours it would fail them too.
      if (const uint64_t n = may_exceed ? resolved_length(range, f.stx.stx_size) : 0; n > cap) {
        deliver(f, order[k], error(too_large(*f.path, range, n, cap)));
        continue;
      }
      requests.push_back({order[k], range});
    }
    plan::PlanOptions po;
    po.coalesce_gap = f.run->plan.coalesce_gap;
    // A merged read never grows past what one request may allocate.
    po.max_merged = std::min(f.run->plan.max_merged, f.run->batch->max_request_bytes);
    po.merge = !is_into(*f.run);
    po.align = alignment(f);
    plan::plan_file(requests, f.stx.stx_size, po, *f.path, f.plan, plan_scratch_);
    if (!f.direct && reaches_direct_threshold(f) && switch_to_direct(f)) {
      f.direct = true;
      po.align = alignment(f);
      if (f.job.dense)
        po.max_merged = std::min(std::max(po.max_merged, kDirectMergedBytes), f.run->batch->max_request_bytes);
      plan::plan_file(requests, f.stx.stx_size, po, *f.path, f.plan, plan_scratch_);  // again, aligned for O_DIRECT
    }
  } catch (const std::bad_alloc&) {
    f.error = Status(StatusCode::kResourceExhausted, "plan reads of " + *f.path + ": out of memory");
    fail_file(f, f.error);
    return finish_file_if_done(slot);
  }
  for (const plan::Immediate& im : f.plan.immediates) {
    if (!im.status.ok()) {
      deliver(f, im.index, error(im.status));
    } else if (Status s = check_into_length(f, im.index, 0); !s.ok()) {
      deliver(f, im.index, error(s));
    } else {
      deliver(f, im.index, Bytes());
    }
  }
  if (!f.plan.reads.empty()) {
    ready_files_.push_back(slot);
    f.in_ready = true;
  } else {
    finish_file_if_done(slot);
  }
}

void Worker::fail_file(FileState& f, const Status& status) {
  const uint32_t* order = f.run->order.data() + f.job.first;
  for (uint32_t k = 0; k < f.job.count; ++k) deliver(f, order[k], error(status));
}

void Worker::unqueue(FileState& f) {
  if (!f.queued) return;
  f.queued = false;
  queued_requests_ -= f.job.count;
}

void Worker::finish_file_if_done(uint32_t slot) {
  FileState& f = files_[slot];
  const bool cancelled = f.run != nullptr && f.run->batch->is_cancelled();
  const bool reads_left = f.next_read < f.plan.reads.size() && f.error.ok() && !cancelled;
  if (!f.opening && !reads_left) unqueue(f);
  if (f.closing || f.opening || f.reads_in_flight > 0 || reads_left) return;
  // A cancelled file can finish while still queued for its next read.
  if (f.in_ready) {  // a linear scan, so only when it is there
    std::erase(ready_files_, slot);
    f.in_ready = false;
  }
  // Idle before the batch can finish: a caller that forks right after it
  // leaves the child no cached descriptor (the fork handler closes idle ones).
  if (f.fd >= 0 && f.cache_entry != FdCache::kNone) {
    fd_cache_->release(f.cache_entry);  // stays open for the next batch
    f.fd = -1;
  }
  if (f.run != nullptr) {
    // Every request of the job is delivered (or its batch cancelled): the
    // batch may finish and free its RunState from here on.
    // Progress is counted per job (one atomic add), not per request.
    f.run->batch->add_progress(f.job.count, f.bytes_read);
    scheduler_.job_done(f.run);
    f.run = nullptr;
    f.path = nullptr;
  }
  if (f.fd >= 0) {
    f.closing = true;
    backend_->close(f.fd, tag(kClose, slot));
    f.fd = -1;
    ++ops_in_flight_;
    return;
  }
  reset_file(f);
  free_files_.push_back(slot);
}

// ---- reads --------------------------------------------------------------

uint64_t Worker::inflight_cap(const FileState& f) const {
  return f.direct ? std::max(options_.max_inflight_bytes, kDirectInflightBytes) : options_.max_inflight_bytes;
}

// A read's buffer is taken when the read starts, so a read starts only when
// its first part may be issued too: a buffer taken ahead, while the budget is
// full, made each worker alternate between two buffers of a big read, and a
// destination that falls out of the CPU cache copies slower (16 MiB reads of
// a hot file: 23-25 GB/s rotating three buffers, 30-32 GB/s reusing one).
void Worker::issue_reads() {
  while (!free_parts_.empty()) {
    if (!partial_reads_.empty()) {
      const ReadState& rs = reads_[partial_reads_.front()];
      if (bytes_in_flight_ > 0 && bytes_in_flight_ >= inflight_cap(files_[rs.file])) break;
      issue_part(partial_reads_.front());
    } else if (bytes_in_flight_ > 0 && !ready_files_.empty() &&
               bytes_in_flight_ >= inflight_cap(files_[ready_files_.front()])) {
      break;
    } else if (!start_next_read()) {
      break;
    }
  }
}

void Worker::fail_read(FileState& f, const plan::Read& read, const Status& status) {
  const plan::Target* t = f.plan.targets.data() + read.first_target;
  for (uint32_t k = 0; k < read.num_targets; ++k) deliver(f, t[k].index, error(status));
}

bool Worker::start_next_read() {
  while (!ready_files_.empty()) {
    const uint32_t slot = ready_files_.front();
    FileState& f = files_[slot];
    const bool cancelled = f.run->batch->is_cancelled();
    if (cancelled || f.next_read >= f.plan.reads.size()) {
      ready_files_.pop_front();
      f.in_ready = false;
      if (cancelled) f.next_read = f.plan.reads.size();
      finish_file_if_done(slot);
      continue;
    }
    if (free_reads_.empty()) return false;
    const plan::Read& read = f.plan.reads[f.next_read++];
    // Leave the queue with the last read, so no stale entry outlives the file.
    const bool last = f.next_read == f.plan.reads.size();
    if (last) {
      ready_files_.pop_front();
      f.in_ready = false;
      unqueue(f);
    }
    const uint32_t r = free_reads_.back();
    ReadState& rs = reads_[r];
    rs = ReadState{};
    rs.file = slot;
    rs.read = static_cast<uint32_t>(&read - f.plan.reads.data());
    if (!allocate_read(f, read, rs)) {
      rs = ReadState{};
      if (last) finish_file_if_done(slot);
      continue;
    }
    free_reads_.pop_back();
    ++f.reads_in_flight;
    partial_reads_.push_back(r);
    return true;
  }
  return false;
}

// Points the read at its destination: the caller's span (read_into, when
// aligned as O_DIRECT needs) or a new buffer. A read larger than the batch
// may allocate, or an allocation that fails, fails the read's requests
// instead (false).
bool Worker::allocate_read(FileState& f, const plan::Read& read, ReadState& rs) {
  const uint64_t align = alignment(f);
  const uint64_t size = f.stx.stx_size;
  rs.expected = std::min(read.offset + read.length, std::max(size, read.offset)) - read.offset;
  rs.part_len = plan::part_length(f.run->plan.part_size, align);
  if (is_into(*f.run)) {
    const uint32_t index = f.plan.targets[read.first_target].index;
    std::span<std::byte> d = f.run->batch->into->dest(index);
    const bool aligned = align == 1 || (reinterpret_cast<uintptr_t>(d.data()) % align == 0 && d.size() % align == 0 &&
                                        read.length == d.size());
    if (aligned) {
      rs.base = d.data();
      return true;
    }
  } else if (read.length > f.run->batch->max_request_bytes) {
    // Overlapping requests, each under the cap, merged past it.
    fail_read(
        f, read,
        too_large(*f.path, "[offset " + std::to_string(read.offset) + ", length " + std::to_string(read.length) + "]",
                  read.length, f.run->batch->max_request_bytes));
    return false;
  }
  try {
    rs.buffer = allocate(read.length, std::max<uint64_t>(align, 64));
  } catch (const std::bad_alloc&) {
    fail_read(f, read,
              Status(StatusCode::kResourceExhausted, "read " + *f.path + " [offset " + std::to_string(read.offset) +
                                                         ", length " + std::to_string(read.length) +
                                                         "]: out of memory allocating the read buffer"));
    return false;
  }
  rs.base = rs.buffer.mutable_data();
  return true;
}

Bytes Worker::allocate(uint64_t size, uint64_t align) {
  if (size <= Slab::kMaxCarve && align <= 4096) return slab_.carve(size, align);
  if (align <= BufferPool::kAlignment) return pool_.allocate(size);
  return Bytes::allocate(size, align);
}

void Worker::issue_part(uint32_t r) {
  ReadState& rs = reads_[r];
  FileState& f = files_[rs.file];
  const plan::Read& read = f.plan.reads[rs.read];
  if (f.run->batch->is_cancelled()) {
    // Stop a long read between parts; the parts in the kernel still drain.
    if (rs.error.ok()) rs.error = f.run->batch->reason();
    rs.next_part = read.length;
    partial_reads_.pop_front();
    if (rs.parts_in_flight == 0) on_read_done(r);
    return;
  }
  const uint32_t p = free_parts_.back();
  free_parts_.pop_back();
  PartState& part = parts_[p];
  part.read_state = r;
  part.offset = rs.next_part;
  part.len = static_cast<uint32_t>(std::min(rs.part_len, read.length - rs.next_part));
  part.done = 0;
  rs.next_part += part.len;
  bytes_in_flight_ += part.len;
  ++rs.parts_in_flight;
  if (rs.next_part >= read.length) partial_reads_.pop_front();
  submit_part(p);
}

void Worker::submit_part(uint32_t p) {
  PartState& part = parts_[p];
  ReadState& rs = reads_[part.read_state];
  const FileState& f = files_[rs.file];
  const plan::Read& read = f.plan.reads[rs.read];
  backend_->read(f.fd, rs.base + part.offset + part.done, part.len - part.done, read.offset + part.offset + part.done,
                 tag(kPart, p));
  ++ops_in_flight_;
}

void Worker::on_completion(const Completion& c) {
  const uint32_t index = tag_index(c.tag);
  switch (tag_op(c.tag)) {
    case kOpen:
      return on_open(index, c.res);
    case kPart:
      return on_part_done(index, c.res);
    case kClose:
      // A failed close of a read-only descriptor loses nothing: the reads
      // were all checked.
      reset_file(files_[index]);
      free_files_.push_back(index);
      return;
  }
}

void Worker::on_part_done(uint32_t p, int64_t res) {
  PartState& part = parts_[p];
  ReadState& rs = reads_[part.read_state];
  const FileState& f = files_[rs.file];
  const uint64_t part_expected = std::min<uint64_t>(part.len, rs.expected - std::min(rs.expected, part.offset));
  if (res == -EAGAIN || res == -EINTR) return submit_part(p);  // the kernel asks us to try again
  if (res < 0) {
    if (rs.error.ok()) {
      const plan::Read& read = f.plan.reads[rs.read];
      rs.error = errno_status(static_cast<int>(-res), "read", *f.path, read.offset + part.offset, part.len);
    }
  } else {
    part.done += static_cast<uint32_t>(res);
    if (part.done < part_expected) {
      if (res > 0) return submit_part(p);  // short read: resubmit the rest
      if (rs.error.ok()) {
        const plan::Read& read = f.plan.reads[rs.read];
        rs.error =
            Status(StatusCode::kDataLoss,
                   "read " + *f.path + " [offset " + std::to_string(read.offset + part.offset) + ", length " +
                       std::to_string(part.len) + "]: unexpected end of file after " + std::to_string(part.done) +
                       " bytes (file shrank while being read? size was " + std::to_string(f.stx.stx_size) + ")");
      }
    }
  }
  bytes_in_flight_ -= part.len;
  free_parts_.push_back(p);
  if (--rs.parts_in_flight == 0 && rs.next_part >= f.plan.reads[rs.read].length) on_read_done(part.read_state);
}

void Worker::on_read_done(uint32_t r) {
  ReadState& rs = reads_[r];
  const uint32_t slot = rs.file;
  FileState& f = files_[slot];
  deliver_targets(f, f.plan.reads[rs.read], rs);
  rs = ReadState{};
  free_reads_.push_back(r);
  --f.reads_in_flight;
  finish_file_if_done(slot);
}

void Worker::deliver_targets(FileState& f, const plan::Read& read, const ReadState& rs) {
  const plan::Target* t = f.plan.targets.data() + read.first_target;
  if (rs.error.ok()) f.bytes_read += rs.expected;
  for (uint32_t k = 0; k < read.num_targets; ++k) {
    if (!rs.error.ok()) {
      deliver(f, t[k].index, error(rs.error));
    } else if (is_into(*f.run)) {
      std::span<std::byte> d = f.run->batch->into->dest(t[k].index);
      if (Status s = check_into_length(f, t[k].index, t[k].length); !s.ok()) {
        deliver(f, t[k].index, error(s));
        continue;
      }
      if (rs.base + t[k].offset_in_read != d.data()) std::memcpy(d.data(), rs.base + t[k].offset_in_read, t[k].length);
      deliver(f, t[k].index, Bytes());
    } else {
      deliver(f, t[k].index, rs.buffer.slice(t[k].offset_in_read, t[k].length));
    }
  }
}

// A suffix range clamps at the start of a short file; a caller's destination
// of fixed size must then be refused rather than left partly unwritten.
Status Worker::check_into_length(const FileState& f, uint32_t index, uint64_t length) const {
  if (!is_into(*f.run)) return {};
  const size_t want = f.run->batch->into->dest(index).size();
  if (length == want) return {};
  return Status(StatusCode::kOutOfRange, "read " + *f.path + " " + f.run->requests().range(index).to_string() +
                                             ": file has only " + std::to_string(length) + " of the " +
                                             std::to_string(want) + " bytes the destination needs (file size " +
                                             std::to_string(f.stx.stx_size) + ")");
}

void Worker::deliver(FileState& f, uint32_t index, Result<Bytes>&& result) {
  f.run->batch->deliver(index, std::move(result));
}

}  // namespace lsio::io
