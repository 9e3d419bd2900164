#include "call_threads.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace lsio::python {
namespace {

// Long enough to span the gaps of a loop of calls (and a Python iteration's work between them), short enough
// that thread-local scratch (decode buffers) held by idle threads is given back soon after the loop ends.
constexpr auto kIdleExit = std::chrono::seconds(2);

struct Pool {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<std::function<void()>>> jobs;
  size_t idle = 0;  // threads waiting for a job

  void serve() {
    std::unique_lock lock(mu);
    for (;;) {
      ++idle;
      const bool got = cv.wait_for(lock, kIdleExit, [&] { return !jobs.empty(); });
      --idle;
      if (!got) return;  // idle too long
      std::shared_ptr<std::function<void()>> job = std::move(jobs.front());
      jobs.pop_front();
      lock.unlock();
      try {
        (*job)();
      } catch (...) {
        std::fputs("lsio: a call thread's job threw; ignored\n", stderr);
      }
      job = nullptr;  // its captures are released outside the lock
      lock.lock();
    }
  }
};

std::atomic<Pool*> pool{nullptr};

void forget_pool_in_child() { pool.store(nullptr, std::memory_order_relaxed); }

Pool* current_pool() {
  static const int registered = pthread_atfork(nullptr, nullptr, forget_pool_in_child);
  (void)registered;
  Pool* p = pool.load(std::memory_order_acquire);
  if (p != nullptr) return p;
  auto* fresh = new Pool();  // never deleted: its threads may outlive every static destructor
  if (pool.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return fresh;
  delete fresh;  // another thread made one first
  return p;
}

}  // namespace

void run_on_call_thread(std::function<void()> job) {
  Pool* p = current_pool();
  auto queued = std::make_shared<std::function<void()>>(std::move(job));
  {
    std::lock_guard lock(p->mu);
    // Idle threads beyond the jobs already queued (each of which one of them will take) take this one.
    const bool idle_thread_free = p->idle > p->jobs.size();
    p->jobs.push_back(queued);
    if (idle_thread_free) {
      p->cv.notify_one();
      return;
    }
  }
  try {
    std::thread([p] { p->serve(); }).detach();
  } catch (...) {  // no thread (EAGAIN): unless an idle thread took the job meanwhile, the caller gets the error
    std::lock_guard lock(p->mu);
    for (auto it = p->jobs.begin(); it != p->jobs.end(); ++it) {
      if (*it == queued) {
        p->jobs.erase(it);
        throw;
      }
    }
  }
}

}  // namespace lsio::python
