// Interruptible waits: every blocking call waits for its work with the GIL
// released in short slices, and between slices runs Python's signal handlers
// (Ctrl-C raises KeyboardInterrupt) and checks its deadline. Either one
// cancels the work and waits for the drain (no read is left in the kernel
// when the call returns, so no caller buffer is written afterwards).
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "bindings.h"
#include "call_threads.h"
#include "gil.h"

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
      if (work.drain_after_cancel()) {
        nb::gil_scoped_release release;
        work.wait();
      }
      throw nb::python_error();
    }
    if (deadline && Clock::now() >= *deadline) {
      const std::string message = std::string(what) + " timed out after " + seconds(*timeout) + ": " + work.pending();
      work.cancel(Status(StatusCode::kDeadlineExceeded, message));
      if (work.drain_after_cancel()) {
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

BackgroundCall::BackgroundCall(std::function<Status(const ReadOptions&)> work, std::string what,
                               std::shared_ptr<CancelSource> token)
    : state_(std::make_shared<State>()),
      cancel_(CancelSource::create()),
      token_(std::move(token)),
      what_(std::move(what)) {
  if (token_) {
    std::weak_ptr<CancelSource> mine = cancel_;
    token_subscription_ = token_->subscribe([mine](const Status& why) {
      if (auto c = mine.lock()) c->cancel(why);
    });
  }
  ReadOptions options;
  options.cancel = cancel_;
  run_on_call_thread([state = state_, work = std::move(work), options]() {
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
  });
}

BackgroundCall::~BackgroundCall() {
  if (token_) token_->unsubscribe(token_subscription_);
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
                         std::string_view what, std::shared_ptr<CancelSource> token) {
  BackgroundCall call(std::move(work), std::string(what), std::move(token));
  wait_interruptible(call, timeout, what);
  return call.status();
}

// ---- done callbacks ------------------------------------------------------------------

namespace {

// Python done-callbacks run on this one thread, never on a store's workers: a
// worker must never wait for the GIL (a store's destructor, which runs with the
// GIL held, waits for its workers), and nothing is called once the interpreter
// is shutting down (close(), from atexit). Rebuilt in a forked child.
struct Dispatcher {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<PyObject*> queue;  // owned references
  bool closed = false;
  bool exited = false;
  pid_t pid = ::getpid();

  void run() {
    for (;;) {
      PyObject* fn;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return closed || !queue.empty(); });
        if (closed) {
          exited = true;
          cv.notify_all();
          return;
        }
        fn = queue.front();
        queue.pop_front();
      }
      WorkerGil gil;
      if (PyObject* result = PyObject_CallNoArgs(fn)) {
        Py_DECREF(result);
      } else {
        PyErr_WriteUnraisable(fn);
      }
      Py_DECREF(fn);
    }
  }
};

std::mutex dispatcher_mu;
Dispatcher* dispatcher = nullptr;  // leaked on purpose: its thread may outlive every static destructor

Dispatcher* current_dispatcher() {
  std::lock_guard lock(dispatcher_mu);
  if (dispatcher == nullptr || dispatcher->pid != ::getpid()) {  // first use, or a forked child: a new thread
    dispatcher = new Dispatcher();
    std::thread([d = dispatcher] { d->run(); }).detach();
  }
  return dispatcher;
}

}  // namespace

void post_python_callback(PyObject* owned) {
  Dispatcher* d = current_dispatcher();
  {
    std::lock_guard lock(d->mu);
    if (d->closed) return;  // at exit: never called (the reference is leaked: no GIL here to drop it)
    d->queue.push_back(owned);
  }
  d->cv.notify_one();
}

// atexit (with the GIL): nothing more is called; the callback thread finishes the call it is in (the GIL is
// released meanwhile) and ends, so it never touches the interpreter while it shuts down. What is queued is dropped.
void close_python_callbacks() {
  Dispatcher* d;
  {
    std::lock_guard lock(dispatcher_mu);
    d = dispatcher;
  }
  if (d == nullptr || d->pid != ::getpid()) return;
  std::deque<PyObject*> dropped;
  {
    nb::gil_scoped_release release;
    std::unique_lock lock(d->mu);
    d->closed = true;
    dropped.swap(d->queue);
    d->cv.notify_all();
    d->cv.wait_for(lock, std::chrono::seconds(5), [&] { return d->exited; });
  }
  for (PyObject* fn : dropped) Py_DECREF(fn);
}

// ---- CancelToken -------------------------------------------------------------------

namespace {
struct PyCancelToken {
  std::shared_ptr<CancelSource> source = CancelSource::create();
};
}  // namespace

std::shared_ptr<CancelSource> cancel_source_of(nb::handle token) {
  if (token.is_none()) return nullptr;
  if (!nb::isinstance<PyCancelToken>(token)) throw nb::type_error("cancel must be an lsio.CancelToken or None");
  return nb::cast<PyCancelToken&>(token).source;
}

void init_wait(nb::module_& m) {
  using namespace nb::literals;
  nb::class_<PyCancelToken>(m, "CancelToken",
                            "Cancels the calls it is passed to (cancel=token), from any thread: reads stop, the\n"
                            "reads in the kernel drain, and the calls raise lsio.CancelledError.")
      .def(nb::init<>())
      .def(
          "cancel",
          [](PyCancelToken& t, const std::string& reason) { t.source->cancel(Status(StatusCode::kCancelled, reason)); },
          "reason"_a = "cancelled by CancelToken.cancel()")
      .def_prop_ro("cancelled", [](const PyCancelToken& t) { return t.source->cancelled(); });
  m.def("_close_callbacks", &close_python_callbacks,
        "Stops running done-callbacks (called at exit, before the interpreter shuts down).");
}

}  // namespace lsio::python
