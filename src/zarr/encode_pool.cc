#include "zarr/encode_pool.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace lsio::zarr {
namespace {

// One call's share of the pool: the helpers that started work() must finish before the caller returns (work
// refers to the caller's stack); those that had not started when the caller finished are turned away.
struct Job {
  const std::function<void()>* work;
  std::mutex mu;
  std::condition_variable done_cv;
  size_t running = 0;
  bool closed = false;
};

class Pool {
 public:
  explicit Pool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) {
      try {
        threads_.emplace_back([this] { loop(); });
      } catch (const std::exception&) {
        break;  // fewer threads: callers do the work themselves
      }
    }
  }
  // Never destroyed (see pool()): threads wait on the queue until the process exits.

  size_t size() const { return threads_.size(); }

  void submit(const std::shared_ptr<Job>& job, size_t copies) {
    {
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < copies; ++i) queue_.push_back(job);
    }
    if (copies == 1) {
      cv_.notify_one();
    } else {
      cv_.notify_all();
    }
  }

 private:
  void loop() noexcept {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      {
        std::lock_guard lock(job->mu);
        if (job->closed) continue;
        ++job->running;
      }
      (*job->work)();
      std::lock_guard lock(job->mu);
      if (--job->running == 0) job->done_cv.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> threads_;
};

// The pool of this process. A child forked after the pool started has the pool's memory but not its threads: it
// starts its own (the inherited one is left alone, never destroyed). Leaked on purpose: joining at static
// destruction could wait on a writer still running in another thread at exit.
Pool& pool() {
  static std::mutex mu;
  static Pool* current = nullptr;
  static pid_t owner = 0;
  std::lock_guard lock(mu);
  if (current == nullptr || owner != ::getpid()) {
    const size_t cpus = std::max(1u, std::thread::hardware_concurrency());
    current = new Pool(std::max<size_t>(1, cpus - 1));
    owner = ::getpid();
  }
  return *current;
}

}  // namespace

size_t pool_threads() { return pool().size(); }

void run_on_pool(size_t helpers, const std::function<void()>& work) {
  Pool& p = pool();
  helpers = std::min(helpers, p.size());
  auto job = std::make_shared<Job>();
  job->work = &work;
  if (helpers > 0) p.submit(job, helpers);
  work();
  std::unique_lock lock(job->mu);
  job->closed = true;
  job->done_cv.wait(lock, [&] { return job->running == 0; });
}

}  // namespace lsio::zarr
