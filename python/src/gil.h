// The GIL for a thread Python did not start (a store's worker, the done-callback
// thread), safe against os.fork() in another thread.
//
// PyGILState_Ensure on such a thread creates a thread state, taking the
// runtime's thread-list lock without holding the GIL. CPython 3.11's fork
// child takes that lock again before re-initialising it, so a fork landing in
// that window hangs the child forever (a fork while for_each callbacks run hit
// it in the soak test). WorkerGil creates the thread state itself, under a lock
// a pthread_atfork handler takes around every fork: the forking thread holds
// the GIL, and nothing done under that lock waits for the GIL, so it cannot
// deadlock.
#pragma once

#include <Python.h>

namespace lsio::python {

class WorkerGil {
 public:
  WorkerGil();
  ~WorkerGil();
  WorkerGil(const WorkerGil&) = delete;
  WorkerGil& operator=(const WorkerGil&) = delete;

 private:
  PyThreadState* created_ = nullptr;  // ours to delete, or null (PyGILState_Ensure was enough)
  PyGILState_STATE state_{};
};

}  // namespace lsio::python
