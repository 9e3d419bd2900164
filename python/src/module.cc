// The compiled core of the lsio Python package (see python/lsio/__init__.py).
#include "bindings.h"

NB_MODULE(_lsio, m) {
  namespace py = lsio::python;
  m.doc() = "Compiled core of lsio: batched byte-range reads with io_uring. Use the lsio package.";
  py::init_errors(m);
  py::init_buffer(m);
  py::init_wait(m);
  py::init_store(m);
  py::init_result(m);
  py::init_zarr(m);
  py::init_grib(m);
}
