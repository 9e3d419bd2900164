// The exception types of lsio and the one table mapping StatusCode -> exception.
#include <string>

#include "bindings.h"

namespace lsio::python {

namespace {

// Owned by the module (set in init_errors, alive as long as the module).
PyObject* lsio_error = nullptr;
PyObject* out_of_range_error = nullptr;
PyObject* data_loss_error = nullptr;
PyObject* changed_error = nullptr;
PyObject* cancelled_error = nullptr;

PyObject* new_error_type(nb::module_& m, const char* name, const char* doc, PyObject* base) {
  const std::string qualified = std::string("lsio.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw nb::python_error();
  m.attr(name) = nb::steal(type);
  return type;
}

struct ErrorType {
  PyObject* type;
  bool is_os_error;  // takes an errno
};

// The one table: StatusCode -> Python exception type.
ErrorType error_type(StatusCode code) {
  switch (code) {
    case StatusCode::kNotFound:
      return {PyExc_FileNotFoundError, true};
    case StatusCode::kPermissionDenied:
      return {PyExc_PermissionError, true};
    case StatusCode::kInvalidArgument:
      return {PyExc_ValueError, false};
    case StatusCode::kOutOfRange:
      return {out_of_range_error, true};
    case StatusCode::kDataLoss:
      return {data_loss_error, true};
    case StatusCode::kAborted:
      return {changed_error, true};
    case StatusCode::kCancelled:
      return {cancelled_error, true};
    case StatusCode::kDeadlineExceeded:
      return {PyExc_TimeoutError, true};
    case StatusCode::kResourceExhausted:
      return {PyExc_MemoryError, false};
    case StatusCode::kFailedPrecondition:
      return {PyExc_RuntimeError, false};
    default:
      return {lsio_error, true};  // kIoError, kCancelled, kUnavailable, ...
  }
}

}  // namespace

void init_errors(nb::module_& m) {
  lsio_error = new_error_type(m, "LsioError",
                              "An I/O error reported by lsio (an OSError; errno is set when the system gave one).",
                              PyExc_OSError);
  out_of_range_error =
      new_error_type(m, "OutOfRangeError", "A byte range reaches past the end of its file.", lsio_error);
  data_loss_error = new_error_type(m, "DataLossError", "Corrupt or truncated data.", lsio_error);
  cancelled_error =
      new_error_type(m, "CancelledError", "The call was cancelled (lsio.CancelToken, a closed store).", lsio_error);
  changed_error = new_error_type(
      m, "ChangedError", "A file or object was replaced or modified by another writer while it was read.", lsio_error);
}

nb::object error_object(const Status& status) {
  // A full disk or quota (ENOSPC, EDQUOT) or too many open files is an OSError with its errno, as Python's own
  // file calls raise it; ResourceExhausted without an errno is memory (MemoryError).
  const bool system_limit = status.code() == StatusCode::kResourceExhausted && status.sys_errno() != 0;
  const ErrorType t = system_limit ? ErrorType{lsio_error, true} : error_type(status.code());
  const std::string text = status.to_string();
  nb::object message =
      nb::steal(PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "backslashreplace"));
  if (!message.is_valid()) throw nb::python_error();
  nb::object exc = nb::steal(PyObject_CallOneArg(t.type, message.ptr()));
  if (!exc.is_valid()) throw nb::python_error();
  // errno is set after construction: OSError(errno, msg) would prefix "[Errno N]"
  // to a message that already names the errno.
  if (t.is_os_error && status.sys_errno() != 0) exc.attr("errno") = status.sys_errno();
  return exc;
}

void raise_status(const Status& status) {
  nb::object exc = error_object(status);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw nb::python_error();
}

}  // namespace lsio::python
