// lsio.Buffer: a read-only, zero-copy buffer-protocol view of an lsio::Bytes.
//
// A plain CPython heap type rather than an nb::class_: nanobind registers every
// instance in its C++ -> Python instance map, which made creating and freeing a
// million result buffers cost about twice the read itself. Buffers are never
// passed back into C++, so they need none of that.
#include <new>
#include <string>

#include "bindings.h"

namespace lsio::python {

namespace {

struct BufferObject {
  PyObject_HEAD
  Bytes bytes;
};

PyTypeObject* buffer_type = nullptr;  // lsio.Buffer (a reference is held by the module)

// Points zero-length buffers somewhere valid: consumers may reject a NULL buf.
const std::byte kEmpty[1] = {};

const Bytes& bytes_of(PyObject* self) { return reinterpret_cast<BufferObject*>(self)->bytes; }
const std::byte* data_of(const Bytes& b) { return b.data() ? b.data() : kEmpty; }

// Py_bf_getbuffer: a 1-d read-only view of unsigned bytes ("B"). The view holds
// a reference to the Buffer, which keeps the Bytes allocation alive.
int buffer_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  const Bytes& b = bytes_of(self);
  return PyBuffer_FillInfo(view, self, const_cast<std::byte*>(data_of(b)), static_cast<Py_ssize_t>(b.size()),
                           /*readonly=*/1, flags);
}

void buffer_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  reinterpret_cast<BufferObject*>(self)->bytes.~Bytes();
  type->tp_free(self);
  Py_DECREF(type);  // instances of heap types own a reference to their type
}

Py_ssize_t buffer_len(PyObject* self) { return static_cast<Py_ssize_t>(bytes_of(self).size()); }

PyObject* buffer_repr(PyObject* self) {
  return PyUnicode_FromFormat("<lsio.Buffer of %zu bytes>", bytes_of(self).size());
}

PyObject* buffer_bytes(PyObject* self, PyObject*) {
  const Bytes& b = bytes_of(self);
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(data_of(b)), static_cast<Py_ssize_t>(b.size()));
}

PyMethodDef buffer_methods[] = {
    {"__bytes__", buffer_bytes, METH_NOARGS, "A copy of the contents as bytes."},
    {nullptr, nullptr, 0, nullptr},
};

const char buffer_doc[] =
    "Bytes read by lsio: a read-only buffer (zero-copy with memoryview, numpy.frombuffer, ...).\n\n"
    "Buffers of one merged read share one allocation, freed when the last view goes.";

PyType_Slot buffer_slots[] = {
    {Py_bf_getbuffer, reinterpret_cast<void*>(buffer_getbuffer)},
    {Py_tp_dealloc, reinterpret_cast<void*>(buffer_dealloc)},
    {Py_sq_length, reinterpret_cast<void*>(buffer_len)},
    {Py_tp_repr, reinterpret_cast<void*>(buffer_repr)},
    {Py_tp_methods, buffer_methods},
    {Py_tp_doc, const_cast<char*>(buffer_doc)},
    {0, nullptr},
};

#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION  // Python >= 3.10
constexpr unsigned long kNoInit = Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE;
#else
constexpr unsigned long kNoInit = 0;
#endif

PyType_Spec buffer_spec = {
    "lsio.Buffer", sizeof(BufferObject), 0, Py_TPFLAGS_DEFAULT | kNoInit, buffer_slots,
};

}  // namespace

void init_buffer(nb::module_& m) {
  nb::object type = nb::steal(PyType_FromSpec(&buffer_spec));
  if (!type.is_valid()) throw nb::python_error();
  buffer_type = reinterpret_cast<PyTypeObject*>(type.ptr());
  m.attr("Buffer") = type;
}

nb::object make_buffer(Bytes bytes) {
  BufferObject* o = PyObject_New(BufferObject, buffer_type);
  if (o == nullptr) throw nb::python_error();
  new (&o->bytes) Bytes(std::move(bytes));
  return nb::steal(reinterpret_cast<PyObject*>(o));
}

}  // namespace lsio::python
