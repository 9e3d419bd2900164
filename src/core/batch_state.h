// BatchState: one submitted batch, shared by its Batch handles and the engine
// that runs it. The engine calls deliver() once per request it completes and
// finish() when nothing of the batch is left in flight; every request not
// delivered by then carries the batch's reason (a result is an error until it
// is delivered).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "lsio/store.h"

namespace lsio::detail {

enum class SinkKind : uint8_t { kCollect, kInto, kCallback };

struct BatchState {
  BatchState(SinkKind kind, std::shared_ptr<const ReadBatch> batch, ReadOptions options, const Store* store);

  // ---- set at submit, read-only afterwards ----
  const SinkKind kind;
  const std::shared_ptr<const ReadBatch> batch;  // for kInto: into->ranges(), kept alive by `into`
  std::shared_ptr<const ReadIntoBatch> into;
  ChunkCallback callback;
  const ReadOptions options;
  const Store* const store;        // whose callback a delivering thread runs (re-entry check)
  uint64_t max_request_bytes = 0;  // options.max_request_bytes, resolved

  // ---- engine side ----
  // Hands request `index` its result: stores it (kCollect), copies nothing
  // (kInto: the engine wrote the span; `r` only carries the status) or calls
  // the callback (kCallback; skipped once cancelled; a throw cancels the batch).
  void deliver(size_t index, Result<Bytes>&& r) {
    __atomic_store_n(&delivered[index], uint8_t{1}, __ATOMIC_RELAXED);
    if (kind == SinkKind::kCollect) {
      results[index] = std::move(r);
    } else if (kind == SinkKind::kInto) {
      if (!r) statuses[index] = std::move(r).error();
    } else {
      call_back(index, std::move(r));
    }
  }
  void call_back(size_t index, Result<Bytes>&& r);
  void add_progress(uint64_t requests, uint64_t bytes) {
    requests_done.fetch_add(requests, std::memory_order_relaxed);
    bytes_read.fetch_add(bytes, std::memory_order_relaxed);
  }
  bool is_cancelled() const { return cancelled.load(std::memory_order_relaxed); }
  // Cancels (first reason wins) and calls the engine's hook so that work not
  // yet started is dropped.
  void cancel(Status why);
  // The reason given to the first cancel (OK when not cancelled).
  Status reason() const;
  // Marks the batch done: fixes up undelivered requests, wakes waiters, runs
  // on_done callbacks (on this thread). Idempotent.
  void finish();

  // Set by the engine before the batch starts: drop untaken work on cancel.
  std::function<void()> on_cancel;

  // ---- handle side ----
  std::atomic<uint64_t> requests_done{0};
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<bool> cancelled{false};
  std::vector<Result<Bytes>> results;  // kCollect
  std::vector<Status> statuses;        // kInto
  std::vector<uint8_t> delivered;      // by request
  mutable std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;  // cancel reason or callback failure
  std::vector<std::function<void()>> done_callbacks;
  uint64_t cancel_subscription = 0;
};

// The store whose callback the calling thread is running, if any (stores
// that run callbacks on the caller's thread set it; FileStore knows its
// worker threads instead).
const Store* store_in_callback();
struct CallbackScope {
  explicit CallbackScope(const Store* s);
  ~CallbackScope();
  const Store* outer;
};

}  // namespace lsio::detail
