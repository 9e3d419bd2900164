#include "gil.h"

#include <pthread.h>

#include <shared_mutex>

namespace lsio::python {
namespace {

// Never destroyed (fork handlers may run at exit). Replaced, not unlocked, in a
// forked child: glibc unlocks a write-locked rwlock as a writer only on the
// thread id that locked it, and the child's thread has another id.
std::shared_mutex* creating = new std::shared_mutex();

void before_fork() { creating->lock(); }
void in_parent() { creating->unlock(); }
void in_child() { creating = new std::shared_mutex(); }  // the parent's copy stays locked: leaked
const int registered = pthread_atfork(&before_fork, &in_parent, &in_child);

}  // namespace

WorkerGil::WorkerGil() {
  static_cast<void>(registered);
  if (PyGILState_GetThisThreadState() != nullptr) {  // a Python thread, or nested: no thread state is created
    state_ = PyGILState_Ensure();
    return;
  }
  {
    std::shared_lock lock(*creating);
    created_ = PyThreadState_New(PyInterpreterState_Main());
  }
  PyEval_RestoreThread(created_);
}

WorkerGil::~WorkerGil() {
  if (created_ == nullptr) {
    PyGILState_Release(state_);
    return;
  }
  PyThreadState_Clear(created_);
  PyThreadState_DeleteCurrent();  // also releases the GIL
}

}  // namespace lsio::python
