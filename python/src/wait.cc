// Interruptible waits: every blocking call waits for its work with the GIL
// released in short slices, and between slices runs Python's signal handlers
// (Ctrl-C raises KeyboardInterrupt) and checks its deadline. Either one
// cancels the work and waits for the drain (no read is left in the kernel
// when the call returns, so no caller buffer is written afterwards).
#include <nanobind/stl/string.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "bindings.h"

namespace lsio::python {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSlice = std::chrono::milliseconds(20);  // Ctrl-C is seen within this (plus the drain)

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g s", s);
  return buf;
}

}  // namespace

std::optional<Clock::time_point> deadline_of(std::optional<double> timeout) {
  if (!timeout) return std::nullopt;
  if (!(*timeout >= 0)) throw nb::value_error("timeout must be None or a number of seconds >= 0");
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*timeout));
}

void wait_interruptible(const Waitable& work, std::optional<double> timeout, std::string_view what) {
  const auto deadline = deadline_of(timeout);
  for (;;) {
    Clock::duration slice = kSlice;
    if (deadline) slice = std::clamp<Clock::duration>(*deadline - Clock::now(), Clock::duration::zero(), slice);
    bool done;
    {
      nb::gil_scoped_release release;
      done = work.wait_for(slice);
    }
    if (done) return;
    if (PyErr_CheckSignals() != 0) {
      work.cancel(Status(StatusCode::kCancelled, std::string(what) + ": interrupted"));
      {
        nb::gil_scoped_release release;
        work.wait();
      }
      throw nb::python_error();
    }
    if (deadline && Clock::now() >= *deadline) {
      const std::string message = std::string(what) + " timed out after " + seconds(*timeout) + ": " + work.pending();
      work.cancel(Status(StatusCode::kDeadlineExceeded, message));
      {
        nb::gil_scoped_release release;
        work.wait();
      }
      PyErr_SetString(PyExc_TimeoutError, message.c_str());
      throw nb::python_error();
    }
  }
}

// ---- BatchWaitable -------------------------------------------------------------

bool BatchWaitable::wait_for(std::chrono::nanoseconds d) const { return batch.wait_for(d); }
void BatchWaitable::wait() const { batch.wait(); }
void BatchWaitable::cancel(const Status& why) const { batch.cancel(why); }
std::string BatchWaitable::pending() const { return batch.describe_pending(); }

// ---- BackgroundCall --------------------------------------------------------------

struct BackgroundCall::State {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::vector<std::function<void()>> on_done;
};

BackgroundCall::BackgroundCall(std::function<Status(const ReadOptions&)> work, std::string what)
    : state_(std::make_shared<State>()), cancel_(CancelSource::create()), what_(std::move(what)) {
  ReadOptions options;
  options.cancel = cancel_;
  std::thread([state = state_, work = std::move(work), options]() {
    Status s;
    try {
      s = work(options);
    } catch (const std::bad_alloc&) {
      s = Status(StatusCode::kResourceExhausted, "out of memory");
    } catch (const std::exception& e) {
      s = Status(StatusCode::kInternal, e.what());
    }
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(state->mu);
      state->done = true;
      state->status = std::move(s);
      callbacks.swap(state->on_done);
    }
    state->cv.notify_all();
    for (auto& fn : callbacks) fn();
  }).detach();
}

bool BackgroundCall::wait_for(std::chrono::nanoseconds d) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, d, [&] { return state_->done; });
}

void BackgroundCall::wait() const {
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->done; });
}

void BackgroundCall::cancel(const Status& why) const { cancel_->cancel(why); }

std::string BackgroundCall::pending() const { return what_ + " still running"; }

bool BackgroundCall::done() const {
  std::lock_guard lock(state_->mu);
  return state_->done;
}

Status BackgroundCall::status() const {
  std::lock_guard lock(state_->mu);
  return state_->status;
}

void BackgroundCall::on_done(std::function<void()> fn) const {
  {
    std::lock_guard lock(state_->mu);
    if (!state_->done) {
      state_->on_done.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

Status run_interruptible(std::function<Status(const ReadOptions&)> work, std::optional<double> timeout,
                         std::string_view what) {
  BackgroundCall call(std::move(work), std::string(what));
  wait_interruptible(call, timeout, what);
  return call.status();
}

}  // namespace lsio::python
