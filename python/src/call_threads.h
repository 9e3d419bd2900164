// Threads for blocking C++ calls made from Python.
//
// A blocking call (a Zarr read, the submission of a big batch) runs on another
// thread so that the Python thread can wait for it in short slices and answer
// Ctrl-C and timeouts meanwhile. Starting a thread per call (clone, a fresh
// stack and malloc arena) cost 5-15 us of the 60-75 us a one-element Zarr read
// took (313-322 -> 298-305 us for a 512 KiB inner chunk), so finished threads
// wait a while for the next call instead of exiting: a thread is started only when none is idle, and an
// idle one exits after kIdleExit. There is no upper bound: as before, every
// call in flight has its own thread (a bound would let a slow call hold up an
// unrelated one).
//
// Fork: the child has none of the parent's threads, so an atfork child handler
// forgets the pool (leaked: its mutex may have been held at the fork) and the
// child's first call makes a new one.
#pragma once

#include <functional>

namespace lsio::python {

// Runs `job` on an idle call thread, or on a new one. Never blocks on other jobs.
// `job` must not throw (an escaping exception is swallowed, never leaves the thread).
// Throws std::system_error when no thread can be started (the job is then not run).
void run_on_call_thread(std::function<void()> job);

}  // namespace lsio::python
