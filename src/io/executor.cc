#include "io/executor.h"

#include <algorithm>

#include "io/worker.h"

namespace lsio::io {
namespace {

// A file's requests are split into several FileJobs (each opening the file
// itself) past these sizes, so one big file still spreads over all workers.
constexpr uint32_t kMaxRequestsPerJob = 4096;
constexpr uint64_t kMaxBytesPerJob = 64ull << 20;
// A batch of few files still makes this many FileJobs per worker when it has
// the requests and the bytes (e.g. the 64 inner chunks of one shard decode on
// every worker), but no piece smaller than kMinPieceBytes: small requests of
// one file stay together so that neighbours can be merged into one read.
constexpr uint32_t kMinJobsPerWorker = 4;
constexpr uint64_t kMinPieceBytes = 1ull << 20;

uint64_t sort_key(ByteRange r) { return r.begin() < 0 ? UINT64_MAX : static_cast<uint64_t>(r.begin()); }

// Appends FileJobs for order[first, first+count), all of one file.
void split_file(const ReadBatch& batch, uint32_t file, uint32_t first, uint32_t count, uint32_t max_requests,
                RunState& state) {
  uint64_t bytes = 0;
  for (uint32_t k = 0; k < count && bytes <= kMaxBytesPerJob; ++k)
    bytes += batch.range(state.order[first + k]).length();
  const bool spread = count > max_requests && bytes >= 2 * kMinPieceBytes;
  if (!spread && count <= kMaxRequestsPerJob && bytes <= kMaxBytesPerJob) {
    state.file_jobs.push_back({file, first, count});
    return;
  }
  // Sort by offset so that each piece covers a contiguous part of the file.
  auto begin = state.order.begin() + first;
  std::stable_sort(begin, begin + count,
                   [&](uint32_t a, uint32_t b) { return sort_key(batch.range(a)) < sort_key(batch.range(b)); });
  uint32_t start = 0;
  uint64_t piece_bytes = 0;
  for (uint32_t k = 0; k < count; ++k) {
    piece_bytes += batch.range(state.order[first + k]).length();
    const uint32_t n = k + 1 - start;
    if (n >= kMaxRequestsPerJob || piece_bytes >= kMaxBytesPerJob ||
        (n >= max_requests && piece_bytes >= kMinPieceBytes) || k + 1 == count) {
      state.file_jobs.push_back({file, first + start, k + 1 - start});
      start = k + 1;
      piece_bytes = 0;
    }
  }
}

}  // namespace

void build_file_jobs(const ReadBatch& batch, unsigned workers, RunState& state) {
  const size_t nfiles = batch.paths().size();
  std::vector<uint32_t> start(nfiles + 1, 0);
  for (size_t i = 0; i < batch.size(); ++i) ++start[batch.file_of(i) + 1];
  for (size_t f = 0; f < nfiles; ++f) start[f + 1] += start[f];
  state.order.resize(batch.size());
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (size_t i = 0; i < batch.size(); ++i) state.order[fill[batch.file_of(i)]++] = static_cast<uint32_t>(i);
  const uint64_t per_job = batch.size() / (uint64_t{workers} * kMinJobsPerWorker);
  const auto max_requests = static_cast<uint32_t>(std::clamp<uint64_t>(per_job, 1, kMaxRequestsPerJob));
  for (size_t f = 0; f < nfiles; ++f) {
    const uint32_t count = start[f + 1] - start[f];
    if (count > 0) split_file(batch, static_cast<uint32_t>(f), start[f], count, max_requests, state);
  }
}

Result<std::unique_ptr<Executor>> Executor::create(Kind kind, unsigned workers, const BackendOptions& options) {
  std::unique_ptr<Executor> ex(new Executor());
  ex->kind_ = kind;
  ex->backend_options_ = options;
  std::vector<std::future<Status>> ready;
  for (unsigned i = 0; i < workers; ++i) {
    auto promise = std::make_shared<std::promise<Status>>();
    ready.push_back(promise->get_future());
    ex->threads_.emplace_back(&Executor::worker_main, ex.get(), i, promise);
  }
  for (auto& f : ready) {
    Status s = f.get();
    if (!s.ok()) return error(s);  // ~Executor stops and joins the threads
  }
  ex->description_ = std::string(kind == Kind::kUring ? "uring" : "posix") + " (" + ex->backend_name_ + ", " +
                     std::to_string(workers) + " workers x " + std::to_string(options.queue_depth) + " deep)";
  return ex;
}

Executor::~Executor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Executor::worker_main(unsigned id, std::shared_ptr<std::promise<Status>> ready) {
  std::unique_ptr<Backend> backend;
  if (kind_ == Kind::kUring) {
    auto made = make_uring_backend(backend_options_);
    if (!made) {
      ready->set_value(made.error());
      return;
    }
    backend = std::move(*made);
  } else {
    backend = make_posix_backend(backend_options_);
  }
  if (id == 0) backend_name_ = backend->name();
  ready->set_value(Status());
  Worker worker(*backend, backend_options_, *pool_);
  uint64_t seen = 0;
  for (;;) {
    RunState* state;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      state = current_;
    }
    worker.run(*state);
    {
      std::lock_guard lock(mu_);
      ++finished_;
    }
    cv_.notify_all();
  }
}

Status Executor::run(const Job& job) {
  std::lock_guard run_lock(run_mu_);
  RunState state;
  state.job = &job;
  build_file_jobs(*job.batch, static_cast<unsigned>(threads_.size()), state);
  {
    std::unique_lock lock(mu_);
    current_ = &state;
    finished_ = 0;
    ++generation_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return finished_ == threads_.size(); });
    current_ = nullptr;
  }
  return state.cancel_status;
}

}  // namespace lsio::io
