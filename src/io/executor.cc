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

// Whether order[first, first+count) (one file) covers most of a span of at
// least `threshold` bytes with bounded ranges (see FileJob::dense).
bool dense_span(const ReadBatch& batch, uint32_t first, uint32_t count, uint64_t threshold, const RunState& state) {
  if (threshold == 0) return false;
  uint64_t total = 0, begin = UINT64_MAX, end = 0;
  for (uint32_t k = 0; k < count; ++k) {
    const ByteRange r = batch.range(state.order[first + k]);
    if (!r.is_bounded()) continue;
    total += r.length();
    begin = std::min(begin, static_cast<uint64_t>(r.begin()));
    end = std::max(end, static_cast<uint64_t>(r.end()));
  }
  return total >= threshold && 2 * total >= end - begin;
}

// Appends FileJobs for order[first, first+count), all of one file.
void split_file(const ReadBatch& batch, uint32_t file, uint32_t first, uint32_t count, uint32_t max_requests,
                RunState& state) {
  const bool dense = dense_span(batch, first, count, state.plan.direct_threshold, state);
  uint64_t bytes = 0;
  bool bounded = true;
  for (uint32_t k = 0; k < count && bytes <= kMaxBytesPerJob; ++k) {
    const ByteRange r = batch.range(state.order[first + k]);
    bytes += r.length();
    bounded = bounded && r.is_bounded();
  }
  const bool spread = count > max_requests && bytes >= 2 * kMinPieceBytes;
  if (!spread && count <= kMaxRequestsPerJob && bytes <= kMaxBytesPerJob) {
    state.file_jobs.push_back({file, first, count, bounded && bytes <= kSmallJobBytes, dense});
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
      state.file_jobs.push_back({file, first + start, k + 1 - start, false, dense});
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

// ---- Scheduler ---------------------------------------------------------------

void Scheduler::submit(std::shared_ptr<RunState> run) {
  {
    std::lock_guard lock(mu_);
    untaken_.fetch_add(run->file_jobs.size(), std::memory_order_relaxed);
    active_.push_back(std::move(run));
  }
  cv_.notify_all();
}

bool Scheduler::take_job(RunState*& run, FileJob& job, bool small_only) {
  if (!has_jobs()) return false;
  std::lock_guard lock(mu_);
  // Batches in turn, starting after the one served last: a small batch gets
  // its FileJobs between those of a huge one.
  for (size_t k = 0; k < active_.size(); ++k) {
    const size_t i = (turn_ + k) % active_.size();
    RunState* r = active_[i].get();
    if (r->next_job >= r->file_jobs.size()) continue;
    // Taken ahead of need only from a batch with plenty left for the other workers.
    if (small_only && (!r->file_jobs[r->next_job].small || r->file_jobs.size() - r->next_job < kMinJobsLeftForAhead))
      continue;
    job = r->file_jobs[r->next_job++];
    untaken_.fetch_sub(1, std::memory_order_relaxed);
    run = r;
    turn_ = i + 1;
    return true;
  }
  return false;
}

std::shared_ptr<RunState> Scheduler::retire(RunState* run) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(active_.begin(), active_.end(), [&](const auto& r) { return r.get() == run; });
  if (it == active_.end()) return nullptr;
  std::shared_ptr<RunState> done = std::move(*it);
  active_.erase(it);
  return done;
}

void Scheduler::add_done(RunState* run, size_t jobs) {
  const size_t total = run->file_jobs.size();
  // After this add `run` may be freed by whoever completes it: read nothing of it then.
  const size_t before = run->jobs_done.fetch_add(jobs, std::memory_order_acq_rel);
  if (before >= total || before + jobs < total) return;
  if (std::shared_ptr<RunState> done = retire(run)) {
    done->batch->finish();
    cv_.notify_all();  // cancel_all_and_drain waits for the active list to empty
  }
}

// A job per call, so without the lock unless it is the batch's last.
void Scheduler::job_done(RunState* run) { add_done(run, 1); }

void Scheduler::cancel(RunState* run) {
  size_t skipped = 0;
  {
    std::lock_guard lock(mu_);
    if (std::none_of(active_.begin(), active_.end(), [&](const auto& r) { return r.get() == run; })) return;
    skipped = run->file_jobs.size() - run->next_job;
    run->next_job = run->file_jobs.size();
    untaken_.fetch_sub(skipped, std::memory_order_relaxed);
  }
  // With nothing skipped the taken jobs finish the batch (and `run` may be gone by now).
  if (skipped > 0) add_done(run, skipped);
}

bool Scheduler::wait_for_jobs() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopping_ || untaken_.load(std::memory_order_relaxed) > 0; });
  return !stopping_;
}

bool Scheduler::wait_for_jobs(std::chrono::milliseconds idle, bool* expired) {
  std::unique_lock lock(mu_);
  *expired = !cv_.wait_for(lock, idle, [&] { return stopping_ || untaken_.load(std::memory_order_relaxed) > 0; });
  return !stopping_;
}

void Scheduler::cancel_all_and_drain(const Status& why) {
  std::vector<std::shared_ptr<RunState>> running;
  {
    std::lock_guard lock(mu_);
    running = active_;
  }
  for (auto& run : running) run->batch->cancel(why);
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return active_.empty(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

// ---- Executor ----------------------------------------------------------------

Result<std::unique_ptr<Backend>> Executor::make_backend() const {
  if (kind_ == Kind::kUring) return make_uring_backend(backend_options_);
  return make_posix_backend(backend_options_);
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
  scheduler_->cancel_all_and_drain(Status(StatusCode::kCancelled, "the store was closed"));
  scheduler_->stop();
  for (auto& t : threads_) t.join();
}

void Executor::submit(std::shared_ptr<RunState> run) {
  detail::BatchState& batch = *run->batch;
  build_file_jobs(*batch.batch, workers(), *run);
  RunState* raw = run.get();
  std::weak_ptr<Scheduler> weak = scheduler_;
  {
    std::lock_guard lock(batch.mu);
    batch.on_cancel = [weak, raw] {
      if (auto s = weak.lock()) s->cancel(raw);
    };
  }
  scheduler_->submit(std::move(run));
  // A cancel that came before the hook was installed only set the flag.
  if (batch.is_cancelled()) scheduler_->cancel(raw);
}

namespace {
thread_local const Executor* current_executor = nullptr;
}  // namespace

const Executor* Executor::current() { return current_executor; }

void Executor::worker_main(unsigned id, std::shared_ptr<std::promise<Status>> ready) {
  current_executor = this;
  auto backend = make_backend();
  if (!backend) {
    ready->set_value(backend.error());
    return;
  }
  if (id == 0) backend_name_ = std::string((*backend)->name());
  ready->set_value(Status());
  Worker worker(std::move(*backend), backend_options_, *pool_, *scheduler_);
  for (;;) {
    const Status broken = worker.run();  // returns when stopping, or when its backend broke
    if (broken.ok()) return;
    // The ring failed: the worker failed its requests and abandoned their
    // buffers (the kernel may still own them). Carry on with a new backend.
    auto fresh = make_backend();
    worker.replace_backend(fresh ? std::move(*fresh) : make_posix_backend(backend_options_));
  }
}

}  // namespace lsio::io
