// Worker: the per-thread state machine that runs FileJobs on one Backend.
#pragma once

#include <sys/stat.h>

#include <deque>
#include <vector>

#include "core/buffer_pool.h"
#include "io/backend.h"
#include "io/executor.h"
#include "io/slab.h"
#include "plan/planner.h"

namespace lsio::io {

class Worker {
 public:
  Worker(Backend& backend, const BackendOptions& options, BufferPool& pool);
  // Runs FileJobs pulled from `state` until none are left and nothing is in flight.
  void run(RunState& state);

 private:
  struct FileState {
    bool used = false;
    FileJob job{};
    const std::string* path = nullptr;
    int pending_setup = 0;  // open + stat completions outstanding
    bool open_ok = false;
    bool closing = false;  // close issued: the slot is freed by its completion only
    Status error;
    struct statx stx{};
    plan::FilePlan plan;
    size_t next_read = 0;
    unsigned reads_in_flight = 0;
    bool queued = false;  // its requests count in queued_requests_
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

  void admit_files();
  void start_file(uint32_t slot, const FileJob& fj);
  void file_setup_done(uint32_t slot);
  void fail_file(FileState& f, const Status& status);
  void finish_file_if_done(uint32_t slot);
  void issue_reads();
  bool start_next_read();
  void issue_part(uint32_t rs_index);
  void submit_part(uint32_t part_index);
  void on_completion(const Completion& c);
  void on_part_done(uint32_t part_index, int64_t res);
  void on_read_done(uint32_t rs_index);
  void deliver(uint32_t index, Result<Bytes> result);
  Status check_into_length(const FileState& f, uint32_t index, uint64_t length) const;
  void deliver_targets(const FileState& f, const plan::Read& read, const ReadState& rs);
  uint64_t alignment(const FileState& f) const;
  Bytes allocate(uint64_t size, uint64_t align);

  Backend& backend_;
  BackendOptions options_;
  RunState* state_ = nullptr;
  const Job* job_ = nullptr;
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
  bool jobs_exhausted_ = false;
  // Requests of admitted files whose reads are not all issued yet. With the
  // two limits below it keeps a worker from taking more files than it can
  // work on, so the files of a batch spread over all workers instead of going
  // to the first one awake.
  uint64_t queued_requests_ = 0;
  static constexpr unsigned kMaxFilesInSetup = 2;  // files with open/statx in flight
  unsigned files_in_setup_ = 0;
  void unqueue(FileState& f);
  Slab slab_;
  BufferPool& pool_;
};

}  // namespace lsio::io
