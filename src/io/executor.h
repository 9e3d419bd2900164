// Executor: a pool of worker threads, one Backend (ring) each, that runs every
// submitted batch of a store at once. Batches queue in a Scheduler as FileJobs
// (some requests of one file); a worker about to run out of work takes the
// next FileJob from the running batches in turn, so batches share the workers
// fairly. Per file: open -> statx of the opened descriptor -> plan against its
// size -> reads fanned out (at most queue_depth in flight per worker) -> each
// finished read delivered on the worker that completed it -> close after the
// last read. At most file_slots files are open per worker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/batch_state.h"
#include "core/buffer_pool.h"
#include "io/backend.h"
#include "lsio/store.h"

namespace lsio::io {

// One unit of work a worker pulls: some requests of one file.
struct FileJob {
  uint32_t file;
  uint32_t first;  // into RunState::order
  uint32_t count;
  // Bounded ranges of at most kSmallJobBytes in all: a worker may take many
  // such jobs at once (one ring submission for all their opens and reads).
  bool small = false;
  // The file's bounded requests in the batch cover most of a span of at
  // least direct_threshold bytes (a chunk read in slabs): the job counts as
  // one big read for the direct threshold, however the file was split.
  bool dense = false;
};
constexpr uint64_t kSmallJobBytes = 64u << 10;
// ... but only while their batch has at least this many jobs untaken, so that a
// batch of a few dozen small chunks (a training crop) still spreads its decode
// over all workers.
constexpr size_t kMinJobsLeftForAhead = 64;

// How a batch is planned: its ReadOptions where set, else the store's defaults.
struct PlanValues {
  uint64_t coalesce_gap = 0;
  uint64_t max_merged = 16ull << 20;
  uint64_t part_size = 64ull << 20;
  uint64_t direct_threshold = 0;  // 0: only ReadOptions::direct reads O_DIRECT
  bool inline_reads = false;      // StoreOptions::inline_reads
};

// One batch as the executor runs it.
struct RunState {
  std::shared_ptr<detail::BatchState> batch;
  // file id -> path to open: the batch's own paths (a store rooted at "" opens
  // them as given, with no copy per file and call), or `resolved`.
  const std::vector<std::string>* paths = nullptr;
  std::vector<std::string> resolved;
  std::vector<Status> path_errors;  // file id -> why it cannot be opened (ok: it can)
  std::vector<uint32_t> order;      // request indices grouped by file (and split)
  std::vector<FileJob> file_jobs;
  PlanValues plan;
  size_t next_job = 0;  // guarded by Scheduler::mu_
  // Counted without the lock: only the job that completes the batch takes it.
  std::atomic<size_t> jobs_done{0};

  const ReadBatch& requests() const { return *batch->batch; }
  const ReadOptions& options() const { return batch->options; }
};

// The queue of running batches, shared by the workers and the cancel hooks of
// the batches (which may outlive the executor: they hold it weakly).
class Scheduler {
 public:
  void submit(std::shared_ptr<RunState> run);
  // The next FileJob, taking batches in turn; false when none is waiting.
  // small_only: only a batch's next job that is FileJob::small, from a batch
  // with kMinJobsLeftForAhead jobs untaken.
  bool take_job(RunState*& run, FileJob& job, bool small_only = false);
  // A taken FileJob has delivered or failed every request.
  void job_done(RunState* run);
  // Drops the untaken FileJobs of a cancelled batch.
  void cancel(RunState* run);
  // Blocks until a FileJob waits or the scheduler stops; false when stopping.
  bool wait_for_jobs();
  // The same, but gives up after `idle` with nothing to do: *expired is set.
  bool wait_for_jobs(std::chrono::milliseconds idle, bool* expired);
  bool has_jobs() const { return untaken_.load(std::memory_order_relaxed) > 0; }
  // Cancels every running batch with `why` and waits until none is left.
  void cancel_all_and_drain(const Status& why);
  void stop();

 private:
  // Counts `jobs` more done jobs of `run`; the call that completes the batch
  // removes it and finishes it.
  void add_done(RunState* run, size_t jobs);
  // Removes a batch whose jobs are all done; returns it to be finished outside the lock.
  std::shared_ptr<RunState> retire(RunState* run);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<RunState>> active_;
  size_t turn_ = 0;
  std::atomic<size_t> untaken_{0};
  bool stopping_ = false;
};

class Executor {
 public:
  enum class Kind { kUring, kPosix };
  static Result<std::unique_ptr<Executor>> create(Kind kind, unsigned workers, const BackendOptions& options);
  // Cancels the running batches, drains their reads, joins the workers.
  ~Executor();

  Kind kind() const { return kind_; }
  std::string description() const { return description_; }
  unsigned workers() const { return static_cast<unsigned>(threads_.size()); }
  // The executor whose worker is the calling thread, or null.
  static const Executor* current();
  // Starts a batch; its BatchState is finished when every request is delivered or it is cancelled and drained.
  void submit(std::shared_ptr<RunState> run);
  // A buffer from the pool the workers read into (see Store::allocate).
  Bytes allocate(size_t size) { return pool_->allocate(size); }

 private:
  Executor() = default;
  void worker_main(unsigned id, std::shared_ptr<std::promise<Status>> ready);
  Result<std::unique_ptr<Backend>> make_backend() const;

  Kind kind_ = Kind::kPosix;
  BackendOptions backend_options_;
  std::string description_;
  std::string backend_name_;
  // Idle large read buffers kept for reuse by the next batch.
  std::shared_ptr<BufferPool> pool_ = BufferPool::create(BufferPool::default_idle_budget());
  std::shared_ptr<Scheduler> scheduler_ = std::make_shared<Scheduler>();
  std::vector<std::thread> threads_;
};

// Groups and splits the batch into FileJobs (exposed for tests).
void build_file_jobs(const ReadBatch& batch, unsigned workers, RunState& state);

}  // namespace lsio::io
