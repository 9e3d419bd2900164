// lsio.Buffer: a read-only, zero-copy buffer-protocol view of an lsio::Bytes.
#include <nanobind/stl/string.h>

#include <string>

#include "bindings.h"

namespace lsio::python {

namespace {

struct Buffer {
  Bytes bytes;
};

nb::handle buffer_type;  // lsio.Buffer (owned by the module)

// Points zero-length buffers somewhere valid: consumers may reject a NULL buf.
const std::byte kEmpty[1] = {};

const std::byte* data_of(const Buffer& b) { return b.bytes.data() ? b.bytes.data() : kEmpty; }

// Py_bf_getbuffer: a 1-d read-only view of unsigned bytes ("B"). The view holds
// a reference to the Buffer, which keeps the Bytes allocation alive.
int buffer_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  const Buffer& b = *nb::inst_ptr<Buffer>(self);
  return PyBuffer_FillInfo(view, self, const_cast<std::byte*>(data_of(b)), static_cast<Py_ssize_t>(b.bytes.size()),
                           /*readonly=*/1, flags);
}

PyType_Slot buffer_slots[] = {
    {Py_bf_getbuffer, reinterpret_cast<void*>(buffer_getbuffer)},
    {0, nullptr},
};

}  // namespace

void init_buffer(nb::module_& m) {
  nb::class_<Buffer>(m, "Buffer", nb::type_slots(buffer_slots),
                     "Bytes read by lsio: a read-only buffer (zero-copy with memoryview, numpy.frombuffer, ...).\n\n"
                     "Buffers of one merged read share one allocation, freed when the last view goes.")
      .def("__len__", [](const Buffer& b) { return b.bytes.size(); })
      .def("__bytes__",
           [](const Buffer& b) {
             PyObject* out = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(data_of(b)),
                                                       static_cast<Py_ssize_t>(b.bytes.size()));
             if (out == nullptr) throw nb::python_error();
             return nb::steal<nb::bytes>(out);
           })
      .def("__repr__", [](const Buffer& b) { return "<lsio.Buffer of " + std::to_string(b.bytes.size()) + " bytes>"; });
  buffer_type = nb::type<Buffer>();
}

nb::object make_buffer(Bytes bytes) {
  // Direct instance construction: no per-object type lookup or overload dispatch.
  nb::object o = nb::inst_alloc(buffer_type);
  new (nb::inst_ptr<Buffer>(o)) Buffer{std::move(bytes)};
  nb::inst_mark_ready(o);
  return o;
}

}  // namespace lsio::python
