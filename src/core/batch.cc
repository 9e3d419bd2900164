// Batches: the request containers, the Batch handle, cancellation, and the
// Store's blocking wrappers around submit().
#include <unistd.h>

#include <string>
#include <unordered_map>

#include "core/batch_state.h"
#include "lsio/store.h"

namespace lsio {

// ---- ReadBatch / ReadIntoBatch ---------------------------------------------

uint32_t ReadBatch::file_id(std::string_view path) {
  // Fast path: consecutive requests usually name the same file.
  if (!paths_.empty() && paths_.back() == path) return static_cast<uint32_t>(paths_.size() - 1);
  auto [it, inserted] = ids_.try_emplace(std::string(path), static_cast<uint32_t>(paths_.size()));
  if (inserted) paths_.emplace_back(path);
  return it->second;
}

void ReadBatch::add(uint32_t file, ByteRange range) {
  files_.push_back(file);
  ranges_.push_back(range);
}

void ReadBatch::reserve(size_t n) {
  files_.reserve(n);
  ranges_.reserve(n);
}

void ReadBatch::expect_version(uint32_t file, std::string version) {
  if (versions_.size() <= file) versions_.resize(file + 1);
  versions_[file] = std::move(version);
}

void ReadIntoBatch::add(uint32_t file, int64_t offset, std::span<std::byte> dest) {
  const int64_t n = static_cast<int64_t>(dest.size());
  batch_.add(file, offset >= 0 ? ByteRange::raw(offset, offset + n) : ByteRange::raw(offset, ByteRange::kToEnd));
  dests_.push_back(dest);
}

// ---- CancelSource ----------------------------------------------------------

void CancelSource::cancel(Status why) {
  if (why.ok()) why = Status(StatusCode::kCancelled, "cancelled");
  std::vector<std::pair<uint64_t, std::function<void(const Status&)>>> subscribers;
  {
    std::lock_guard lock(mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    reason_ = why;
    cancelled_.store(true, std::memory_order_release);
    subscribers.swap(subscribers_);
  }
  for (auto& [id, fn] : subscribers) fn(why);  // outside the lock: fn may unsubscribe or cancel more
}

Status CancelSource::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

uint64_t CancelSource::subscribe(std::function<void(const Status&)> fn) {
  Status why;
  {
    std::lock_guard lock(mu_);
    if (!cancelled_.load(std::memory_order_relaxed)) {
      subscribers_.emplace_back(next_id_, std::move(fn));
      return next_id_++;
    }
    why = reason_;
  }
  fn(why);
  return 0;
}

void CancelSource::unsubscribe(uint64_t id) {
  if (id == 0) return;
  std::lock_guard lock(mu_);
  std::erase_if(subscribers_, [&](const auto& s) { return s.first == id; });
}

namespace detail {

namespace {
thread_local const Store* callback_store = nullptr;

uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : (8ull << 30);
}
}  // namespace

const Store* store_in_callback() { return callback_store; }
CallbackScope::CallbackScope(const Store* s) : outer(callback_store) { callback_store = s; }
CallbackScope::~CallbackScope() { callback_store = outer; }

// ---- BatchState ------------------------------------------------------------

BatchState::BatchState(SinkKind k, std::shared_ptr<const ReadBatch> b, ReadOptions o, const Store* s)
    : kind(k), batch(std::move(b)), options(std::move(o)), store(s) {
  static const uint64_t half_memory = physical_memory() / 2;
  max_request_bytes = options.max_request_bytes ? options.max_request_bytes : half_memory;
  const size_t n = batch->size();
  delivered.assign(n, 0);
  if (kind == SinkKind::kCollect) results.resize(n);
  if (kind == SinkKind::kInto) statuses.resize(n);
}

void BatchState::call_back(size_t index, Result<Bytes>&& r) {
  if (is_cancelled()) return;
  try {
    callback(index, std::move(r));
  } catch (const std::exception& e) {
    cancel(Status(StatusCode::kCancelled, std::string("for_each callback threw: ") + e.what()));
  } catch (...) {
    cancel(Status(StatusCode::kCancelled, "for_each callback threw a non-standard exception"));
  }
}

void BatchState::cancel(Status why) {
  if (why.ok()) why = Status(StatusCode::kCancelled, "batch cancelled");
  std::function<void()> hook;
  {
    std::lock_guard lock(mu);
    if (done || cancelled.load(std::memory_order_relaxed)) return;
    status = std::move(why);
    cancelled.store(true, std::memory_order_release);
    hook = on_cancel;
  }
  if (hook) hook();
}

Status BatchState::reason() const {
  std::lock_guard lock(mu);
  return status;
}

void BatchState::finish() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu);
    if (done) return;
    const Status why = status.ok() ? Status(StatusCode::kInternal, "request not delivered by the engine") : status;
    for (size_t i = 0; i < delivered.size(); ++i) {
      if (delivered[i]) continue;
      if (kind == SinkKind::kCollect) results[i] = error(why);
      if (kind == SinkKind::kInto) statuses[i] = why;
    }
    done = true;
    on_cancel = nullptr;
    callback = nullptr;  // drops what the callback captured
    callbacks.swap(done_callbacks);
  }
  if (options.cancel) options.cancel->unsubscribe(cancel_subscription);
  cv.notify_all();
  for (auto& fn : callbacks) fn();
}

}  // namespace detail

// ---- Batch -----------------------------------------------------------------

void Batch::wait() const {
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->done; });
}

bool Batch::wait_for(std::chrono::nanoseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->done; });
}

bool Batch::done() const {
  std::lock_guard lock(state_->mu);
  return state_->done;
}

void Batch::cancel(Status why) const { state_->cancel(std::move(why)); }

uint64_t Batch::requests_total() const { return state_->batch->size(); }
uint64_t Batch::requests_done() const { return state_->requests_done.load(std::memory_order_relaxed); }
uint64_t Batch::bytes_read() const { return state_->bytes_read.load(std::memory_order_relaxed); }

Status Batch::status() const { return state_->reason(); }

std::string Batch::describe_pending() const {
  const detail::BatchState& s = *state_;
  const size_t total = s.batch->size();
  size_t pending = 0, first = total;
  for (size_t i = 0; i < total; ++i) {
    if (!__atomic_load_n(&s.delivered[i], __ATOMIC_RELAXED)) {
      if (first == total) first = i;
      ++pending;
    }
  }
  std::string out = std::to_string(pending) + " of " + std::to_string(total) + " requests not delivered";
  if (first < total)
    out += "; first: request " + std::to_string(first) + " (" + s.batch->path_of(first) + " " +
           s.batch->range(first).to_string() + ")";
  return out;
}

std::vector<Result<Bytes>> Batch::take_results() const {
  wait();
  return std::move(state_->results);
}

std::vector<Status> Batch::take_statuses() const {
  wait();
  return std::move(state_->statuses);
}

void Batch::on_done(std::function<void()> fn) const {
  {
    std::lock_guard lock(state_->mu);
    if (!state_->done) {
      state_->done_callbacks.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

// ---- Store -----------------------------------------------------------------

Status Store::check_not_in_callback(std::string_view what) const {
  if (detail::store_in_callback() != this && !runs_on_current_thread()) return {};
  return Status(StatusCode::kFailedPrecondition,
                std::string(what) +
                    ": a store cannot be called from inside one of its own callbacks (it could deadlock); "
                    "collect the work and run it after the callback returns, or use another store");
}

Batch Store::submit_state(std::shared_ptr<detail::BatchState> state, const ReadOptions& options) {
  if (Status s = check_not_in_callback("submit"); !s.ok()) {
    state->cancel(s);
    state->finish();
    return Batch(std::move(state));
  }
  if (options.cancel) {
    std::weak_ptr<detail::BatchState> weak = state;
    // Subscribed before start so that a cancel can never be missed; it only
    // sets the flag until the engine installs its hook.
    state->cancel_subscription = options.cancel->subscribe([weak](const Status& why) {
      if (auto s = weak.lock()) s->cancel(why);
    });
  }
  if (state->batch->size() == 0) {
    state->finish();
  } else {
    start(state);
  }
  return Batch(std::move(state));
}

Batch Store::submit(std::shared_ptr<const ReadBatch> batch, const ReadOptions& options) {
  auto state = std::make_shared<detail::BatchState>(detail::SinkKind::kCollect, std::move(batch), options, this);
  return submit_state(std::move(state), options);
}

Batch Store::submit(std::shared_ptr<const ReadIntoBatch> batch, const ReadOptions& options) {
  std::shared_ptr<const ReadBatch> ranges(batch, &batch->ranges());
  auto state = std::make_shared<detail::BatchState>(detail::SinkKind::kInto, std::move(ranges), options, this);
  state->into = std::move(batch);
  return submit_state(std::move(state), options);
}

Batch Store::submit(std::shared_ptr<const ReadBatch> batch, ChunkCallback callback, const ReadOptions& options) {
  auto state = std::make_shared<detail::BatchState>(detail::SinkKind::kCallback, std::move(batch), options, this);
  state->callback = std::move(callback);
  return submit_state(std::move(state), options);
}

namespace {
// A non-owning pointer for the blocking wrappers: they wait, so the caller's object outlives the batch.
template <typename T>
std::shared_ptr<const T> borrowed(const T& object) {
  return std::shared_ptr<const T>(std::shared_ptr<const T>(), &object);
}
}  // namespace

std::vector<Result<Bytes>> Store::read(const ReadBatch& batch, const ReadOptions& options) {
  return submit(borrowed(batch), options).take_results();
}

std::vector<Status> Store::read_into(const ReadIntoBatch& batch, const ReadOptions& options) {
  return submit(borrowed(batch), options).take_statuses();
}

Status Store::for_each(const ReadBatch& batch, const ChunkCallback& callback, const ReadOptions& options) {
  Batch b = submit(borrowed(batch), callback, options);
  b.wait();
  return b.status();
}

std::vector<Result<uint64_t>> Store::sizes(std::span<const std::string> paths) {
  std::vector<Result<uint64_t>> out;
  out.reserve(paths.size());
  for (Result<ObjectInfo>& info : stat(paths)) {
    if (info) {
      out.push_back(info->size);
    } else {
      out.push_back(error(std::move(info).error()));
    }
  }
  return out;
}

}  // namespace lsio
