// Worker: the per-thread state machine that runs FileJobs of any number of
// batches on one Backend.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <deque>
#include <memory>
#include <vector>

#include "core/buffer_pool.h"
#include "io/backend.h"
#include "io/executor.h"
#include "io/fd_cache.h"
#include "io/slab.h"
#include "plan/planner.h"

namespace lsio::io {

class Worker {
 public:
  Worker(std::unique_ptr<Backend> backend, const BackendOptions& options, BufferPool& pool, Scheduler& scheduler);
  // Runs FileJobs until the scheduler stops (OK) or the backend breaks (its
  // error; every request this worker held has then been failed with it).
  Status run();
  void replace_backend(std::unique_ptr<Backend> backend);

 private:
  struct FileState {  // reset_file() resets each field: keep it in step
    bool used = false;
    RunState* run = nullptr;
    FileJob job{};
    const std::string* path = nullptr;
    int fd = -1;
    uint32_t cache_entry = FdCache::kNone;  // fd belongs to fd_cache_: released, not closed
    bool opening = false;
    bool direct = false;   // reads bypass the page cache (ReadOptions::direct, or the direct threshold)
    bool closing = false;  // close issued: the slot is freed by its completion only
    Status error;
    struct statx stx{};
    plan::FilePlan plan;
    size_t next_read = 0;
    unsigned reads_in_flight = 0;
    bool queued = false;      // its requests count in queued_requests_
    bool in_ready = false;    // listed in ready_files_
    uint64_t bytes_read = 0;  // added to the batch's progress when the job is done
  };
  struct ReadState {
    uint32_t file = 0;  // FileState slot
    uint32_t read = 0;  // index into plan.reads
    Bytes buffer;       // owned buffer, or empty when reading into a caller span
    std::byte* base = nullptr;
    uint64_t expected = 0;   // bytes the file holds for this read (excludes DIO padding past EOF)
    uint64_t next_part = 0;  // offset of the next part to issue
    uint64_t part_len = 0;
    unsigned parts_in_flight = 0;
    Status error;
  };
  struct PartState {
    uint32_t read_state = 0;
    uint64_t offset = 0;  // within the read
    uint32_t len = 0;
    uint32_t done = 0;
  };

  // Empties a file slot, keeping its plan's memory for the next file.
  void reset_file(FileState& f);
  bool idle() const;
  void admit_files();
  void start_file(uint32_t slot, RunState* run, const FileJob& fj);
  void on_open(uint32_t slot, int64_t res);
  bool reuse_cached(uint32_t slot, int flags);
  void close_uncached(int fd);
  unsigned stat_mask(const FileState& f) const;
  Status check_opened(FileState& f);
  Status check_stat(const FileState& f) const;
  void plan_reads(uint32_t slot);
  void fail_file(FileState& f, const Status& status);
  void finish_file_if_done(uint32_t slot);
  void issue_reads();
  // Bytes of reads this worker keeps in flight for a file like `f`.
  uint64_t inflight_cap(const FileState& f) const;
  bool start_next_read();
  bool allocate_read(FileState& f, const plan::Read& read, ReadState& rs);
  void fail_read(FileState& f, const plan::Read& read, const Status& status);
  void issue_part(uint32_t rs_index);
  bool wait_idle();
  void submit_part(uint32_t part_index);
  void on_completion(const Completion& c);
  void on_part_done(uint32_t part_index, int64_t res);
  void on_read_done(uint32_t rs_index);
  void deliver(FileState& f, uint32_t index, Result<Bytes>&& result);
  Status check_into_length(const FileState& f, uint32_t index, uint64_t length) const;
  void deliver_targets(FileState& f, const plan::Read& read, const ReadState& rs);
  uint64_t alignment(const FileState& f) const;
  // A planned read of `f` is at least StoreOptions::direct_threshold bytes and
  // the page cache does not hold most of what is planned (a direct read never
  // hits the cache: a hot file stays buffered).
  bool reaches_direct_threshold(const FileState& f) const;
  // Reads `f` with O_DIRECT from here on; false where the file system refuses.
  bool switch_to_direct(FileState& f);
  Bytes allocate(uint64_t size, uint64_t align);
  void unqueue(FileState& f);
  void abandon(const Status& why);

  std::unique_ptr<Backend> backend_;
  BackendOptions options_;
  std::unique_ptr<FdCache> fd_cache_;  // null when BackendOptions::cache_descriptors is off
  Scheduler& scheduler_;
  std::vector<FileState> files_;
  std::vector<uint32_t> free_files_;
  std::vector<ReadState> reads_;
  std::vector<uint32_t> free_reads_;
  std::vector<PartState> parts_;
  std::vector<uint32_t> free_parts_;
  std::deque<uint32_t> ready_files_;    // planned, with reads left to start
  std::deque<uint32_t> partial_reads_;  // started, with parts left to issue
  size_t ops_in_flight_ = 0;
  uint64_t bytes_in_flight_ = 0;  // sum of part lengths issued and not yet completed
  // Requests of admitted files whose reads are not all issued yet. With the
  // two limits below it keeps a worker from taking more files than it can
  // work on, so the files of a batch spread over all workers instead of going
  // to the first one awake.
  uint64_t queued_requests_ = 0;
  bool trimmed_since_last_job_ = false;                  // the pool was trimmed since the last wait ended with a job
  static constexpr unsigned kMaxFilesInSetup = 2;        // files with their open in flight
  static constexpr unsigned kMaxSmallFilesInSetup = 32;  // ... when they are small jobs
  unsigned files_in_setup_ = 0;
  // Planning memory reused file after file.
  static constexpr size_t kKeptPlanEntries = 256;  // per slot; bigger jobs amortise their allocations
  std::vector<plan::Request> plan_requests_;
  plan::PlanScratch plan_scratch_;
  Slab slab_;
  BufferPool& pool_;
};

}  // namespace lsio::io
