// Executor: a pool of worker threads, one Backend (ring) each, that carries a
// batch from plan to delivery. Per file: open and statx issued together ->
// plan against the size -> reads fanned out (at most queue_depth in flight per
// worker) -> each finished read delivered on the worker that completed it ->
// close after the last read. At most file_slots files are open per worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/buffer_pool.h"
#include "io/backend.h"
#include "lsio/store.h"
#include "plan/planner.h"

namespace lsio::io {

// What a batch asks for and where its results go.
struct Job {
  enum class Mode { kRead, kInto, kForEach };
  Mode mode = Mode::kRead;
  const ReadBatch* batch = nullptr;
  const std::vector<std::string>* paths = nullptr;   // file id -> path to open
  const std::vector<Status>* path_errors = nullptr;  // file id -> why it cannot be opened (ok: it can)
  ReadOptions options;
  const ReadIntoBatch* into = nullptr;            // kInto
  std::vector<Result<Bytes>>* results = nullptr;  // kRead
  std::vector<Status>* statuses = nullptr;        // kInto
  const ChunkCallback* callback = nullptr;        // kForEach
};

// One unit of work a worker pulls: some requests of one file.
struct FileJob {
  uint32_t file;
  uint32_t first;  // into RunState::order
  uint32_t count;
};

// Shared state of one running batch.
struct RunState {
  const Job* job;
  std::vector<uint32_t> order;  // request indices grouped by file (and split)
  std::vector<FileJob> file_jobs;
  std::atomic<size_t> next_job{0};
  std::atomic<bool> cancelled{false};
  std::mutex error_mu;
  Status cancel_status;
};

class Executor {
 public:
  enum class Kind { kUring, kPosix };
  static Result<std::unique_ptr<Executor>> create(Kind kind, unsigned workers, const BackendOptions& options);
  ~Executor();

  Kind kind() const { return kind_; }
  std::string description() const { return description_; }
  // Runs the batch to completion on the workers; returns kCancelled if the
  // callback threw. Batches on one executor run one at a time.
  Status run(const Job& job);

 private:
  Executor() = default;
  void worker_main(unsigned id, std::shared_ptr<std::promise<Status>> ready);

  Kind kind_ = Kind::kPosix;
  BackendOptions backend_options_;
  std::string description_;
  std::string backend_name_;
  // Idle large read buffers kept for reuse by the next batch.
  std::shared_ptr<BufferPool> pool_ = BufferPool::create(256u << 20);
  std::vector<std::thread> threads_;
  std::mutex run_mu_;  // one batch at a time

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  unsigned finished_ = 0;
  bool stopping_ = false;
  RunState* current_ = nullptr;
};

// Groups and splits the batch into FileJobs (exposed for tests).
void build_file_jobs(const ReadBatch& batch, unsigned workers, RunState& state);

}  // namespace lsio::io
