// lsio.BatchResult: the results of one read batch in one Python object.
//
// read_ranges builds one lsio.Buffer per range, serially after the I/O; for
// millions of small ranges that object building costs as much as the reads.
// A BatchResult keeps the C++ results as they came (or one flat buffer, for
// out=) and makes a zero-copy Buffer only for the range asked for; sizes,
// offsets and the ok mask come out as numpy arrays in one pass.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include <cstring>
#include <memory>
#include <string>

#include "bindings.h"
#include "gil.h"

namespace lsio::python {

namespace {

using namespace nb::literals;

// Points zero-length arrays somewhere valid.
const std::byte kEmpty[1] = {};

struct PyBatchResult {
  // The read path: one Result per range, buffers shared with merged reads.
  std::vector<Result<Bytes>> results;
  // The flat path (out=): every range at flat[offsets[i], offsets[i + 1]).
  bool flat = false;
  Bytes buffer;
  std::vector<int64_t> offsets;
  std::vector<Status> statuses;

  size_t size() const { return flat ? statuses.size() : results.size(); }
  bool ok(size_t i) const { return flat ? statuses[i].ok() : results[i].has_value(); }
  const Status& error(size_t i) const { return flat ? statuses[i] : results[i].error(); }
  // The bytes of range i (precondition: ok(i)).
  Bytes bytes(size_t i) const {
    if (!flat) return *results[i];
    return buffer.slice(static_cast<size_t>(offsets[i]), static_cast<size_t>(offsets[i + 1] - offsets[i]));
  }
  int64_t size_of(size_t i) const { return ok(i) ? static_cast<int64_t>(bytes_size(i)) : 0; }
  size_t bytes_size(size_t i) const {
    return flat ? static_cast<size_t>(offsets[i + 1] - offsets[i]) : results[i]->size();
  }
  // Raises the first error, if any.
  void raise_first() const {
    for (size_t i = 0; i < size(); ++i)
      if (!ok(i)) raise_status(error(i));
  }
};

struct PyBatchResultIter {
  nb::object owner;  // the BatchResult
  size_t next = 0;
};

size_t index_of(const PyBatchResult& r, int64_t i) {
  const int64_t n = static_cast<int64_t>(r.size());
  if (i < 0) i += n;
  if (i < 0 || i >= n)
    throw nb::index_error(("BatchResult index out of range (" + std::to_string(n) + " ranges)").c_str());
  return static_cast<size_t>(i);
}

// A Buffer for a good range, the exception for a failed one (as read_ranges with on_error="return").
nb::object item(const PyBatchResult& r, size_t i) {
  return r.ok(i) ? make_buffer(r.bytes(i)) : error_object(r.error(i));
}

// A 1-d numpy array owning `values`.
template <class T>
nb::object numpy_of(std::unique_ptr<T[]> values, size_t n) {
  T* data = values.release();
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nb::cast(nb::ndarray<nb::numpy, T, nb::ndim<1>>(data, {n}, owner));
}

nb::object sizes_of(const PyBatchResult& r) {
  const size_t n = r.size();
  auto out = std::make_unique<int64_t[]>(n);
  for (size_t i = 0; i < n; ++i) out[i] = r.size_of(i);
  return numpy_of(std::move(out), n);
}

// Where each range starts in to_numpy() (n + 1 values; the last is the total).
nb::object offsets_of(const PyBatchResult& r) {
  const size_t n = r.size();
  auto out = std::make_unique<int64_t[]>(n + 1);
  if (r.flat) {
    std::memcpy(out.get(), r.offsets.data(), (n + 1) * sizeof(int64_t));
  } else {
    out[0] = 0;
    for (size_t i = 0; i < n; ++i) out[i + 1] = out[i] + r.size_of(i);
  }
  return numpy_of(std::move(out), n + 1);
}

nb::object ok_of(const PyBatchResult& r) {
  const size_t n = r.size();
  auto out = std::make_unique<bool[]>(n);
  for (size_t i = 0; i < n; ++i) out[i] = r.ok(i);
  return numpy_of(std::move(out), n);
}

nb::list errors_of(const PyBatchResult& r) {
  nb::list out;
  for (size_t i = 0; i < r.size(); ++i)
    if (!r.ok(i)) out.append(nb::make_tuple(i, error_object(r.error(i))));
  return out;
}

int64_t total_bytes(const PyBatchResult& r) {
  if (r.flat) return r.offsets.back();
  int64_t total = 0;
  for (size_t i = 0; i < r.size(); ++i) total += r.size_of(i);
  return total;
}

// A read-only uint8 numpy array over `data`, kept alive by `owner`.
nb::object numpy_view(const std::byte* data, size_t n, nb::handle owner) {
  return nb::cast(nb::ndarray<nb::numpy, const uint8_t, nb::ndim<1>>(
      reinterpret_cast<const uint8_t*>(data ? data : kEmpty), {n}, owner));
}

// Flat results: a view of the buffer (failed ranges keep their slots, contents undefined).
// Otherwise one copy of every good range, back to back (as offsets says).
nb::object to_numpy(nb::handle self) {
  const PyBatchResult& r = nb::cast<const PyBatchResult&>(self);
  if (r.flat) return numpy_view(r.buffer.data(), static_cast<size_t>(r.offsets.back()), self);
  const auto total = static_cast<size_t>(total_bytes(r));
  auto copy = std::make_unique<Bytes>(Bytes::allocate(total));
  std::byte* at = copy->mutable_data();
  for (size_t i = 0; i < r.size(); ++i) {
    if (!r.ok(i)) continue;
    const Bytes& b = *r.results[i];
    if (b.size() > 0) std::memcpy(at, b.data(), b.size());
    at += b.size();
  }
  const std::byte* data = copy->data();
  nb::capsule owner(copy.release(), [](void* p) noexcept { delete static_cast<Bytes*>(p); });
  return numpy_view(data, total, owner);
}

// The caller's buffer as Bytes: the Py_buffer (which pins the exporter: a
// bytearray cannot resize meanwhile) is released when the last view goes.
Bytes adopt_writable(nb::handle out) {
  auto view = std::make_unique<Py_buffer>();
  if (PyObject_GetBuffer(out.ptr(), view.get(), PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) {
    nb::python_error cause;
    nb::raise_from(cause, PyExc_TypeError, "out: expected a writable C-contiguous buffer, not %s",
                   Py_TYPE(out.ptr())->tp_name);
  }
  const auto* data = static_cast<const std::byte*>(view->buf);
  const auto size = static_cast<size_t>(view->len);
  std::shared_ptr<Py_buffer> owner(view.release(), [](Py_buffer* v) {
    {
      WorkerGil gil;  // Bytes may be dropped anywhere
      PyBuffer_Release(v);
    }
    delete v;
  });
  return Bytes::adopt(std::move(owner), data, size);
}

// Every range read back to back into `out` (None: a buffer of our own), by
// read_into: the kernel writes straight into place.
PyBatchResult read_flat(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends, nb::handle out,
                        bool direct, std::optional<double> timeout) {
  if (Status s = self.store->check_not_in_callback("lsio.Store"); !s.ok()) raise_status(s);
  deadline_of(timeout);
  const ReadBatch ranges = make_read_batch(paths, starts, ends);
  const size_t n = ranges.size();
  PyBatchResult r;
  r.flat = true;
  r.offsets.resize(n + 1);
  r.offsets[0] = 0;
  for (size_t i = 0; i < n; ++i) {
    const ByteRange range = ranges.range(i);
    if (!range.is_bounded() || range.begin() < 0)
      throw nb::value_error(("range " + std::to_string(i) + " (" + ranges.path_of(i) + " " + range.to_string() +
                             "): out= needs ranges [start, end) with 0 <= start <= end")
                                .c_str());
    r.offsets[i + 1] = r.offsets[i] + static_cast<int64_t>(range.length());
  }
  const auto total = static_cast<size_t>(r.offsets[n]);
  r.buffer = out.is_none() ? Bytes::allocate(total) : adopt_writable(out);
  if (r.buffer.size() < total)
    throw nb::value_error(("out holds " + std::to_string(r.buffer.size()) + " bytes but the " + std::to_string(n) +
                           " ranges need " + std::to_string(total))
                              .c_str());
  auto batch = std::make_shared<ReadIntoBatch>();
  batch->reserve(n);
  std::vector<uint32_t> ids;
  ids.reserve(ranges.paths().size());
  for (const std::string& path : ranges.paths()) ids.push_back(batch->file_id(path));
  std::byte* base = r.buffer.mutable_data();
  for (size_t i = 0; i < n; ++i) {
    const size_t at = static_cast<size_t>(r.offsets[i]);
    const size_t len = static_cast<size_t>(r.offsets[i + 1]) - at;
    batch->add(ids[ranges.file_of(i)], ranges.range(i).begin(), std::span<std::byte>(base ? base + at : nullptr, len));
  }
  ReadOptions options;
  options.direct = direct;
  Batch running;
  {
    nb::gil_scoped_release release;
    running = self.store->submit(std::move(batch), options);
  }
  // Waits for the drain even when interrupted: the kernel never writes into `out` after this returns.
  running = run_batch(std::move(running), timeout, "read_batch");
  r.statuses = running.take_statuses();
  return r;
}

nb::object wrap(PyBatchResult r) { return nb::cast(std::move(r), nb::rv_policy::move); }

}  // namespace

nb::object read_batch(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends, nb::handle out,
                      std::string_view on_error, std::optional<uint64_t> coalesce_gap, bool direct,
                      std::optional<double> timeout, uint64_t max_request_bytes) {
  if (Status s = self.store->check_not_in_callback("lsio.Store"); !s.ok()) raise_status(s);
  const OnError mode = parse_on_error(on_error);
  PyBatchResult r;
  if (!out.is_none()) {
    r = read_flat(self, paths, starts, ends, out, direct, timeout);
  } else {
    deadline_of(timeout);
    auto batch = std::make_shared<ReadBatch>(make_read_batch(paths, starts, ends));
    ReadOptions options;
    options.coalesce_gap = coalesce_gap;
    options.direct = direct;
    options.max_request_bytes = max_request_bytes;
    Batch running = run_read_batch(self, std::move(batch), options, timeout, "read_batch");
    r.results = running.take_results();
  }
  if (mode == OnError::kRaise) r.raise_first();
  return wrap(std::move(r));
}

nb::object read_ranges_flat(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends, nb::handle out,
                            bool direct, std::optional<double> timeout) {
  const PyBatchResult r = read_flat(self, paths, starts, ends, out, direct, timeout);
  r.raise_first();
  return offsets_of(r);
}

void init_result(nb::module_& m) {
  nb::class_<PyBatchResultIter>(m, "_BatchResultIterator")
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
      .def("__next__", [](PyBatchResultIter& it) {
        const PyBatchResult& r = nb::cast<const PyBatchResult&>(it.owner);
        if (it.next >= r.size()) throw nb::stop_iteration();
        return item(r, it.next++);
      });
  nb::class_<PyBatchResult>(m, "BatchResult",
                            "The ranges of one read batch (Store.read_batch): r[i] is a zero-copy read-only Buffer\n"
                            "(or, for a failed range with on_error='return', its exception); sizes, offsets and ok\n"
                            "are numpy arrays. Views stay valid after the result (and the store) are gone.")
      .def("__len__", &PyBatchResult::size)
      .def(
          "__getitem__", [](const PyBatchResult& r, int64_t i) { return item(r, index_of(r, i)); }, "i"_a)
      .def("__iter__", [](nb::handle self) { return PyBatchResultIter{nb::borrow(self), 0}; })
      .def_prop_ro("sizes", &sizes_of, "Bytes of each range (0 for a failed range), numpy int64.")
      .def_prop_ro("offsets", &offsets_of,
                   "Where each range starts in to_numpy() (and in out=), n + 1 values, numpy int64.")
      .def_prop_ro("ok", &ok_of, "True for each range that was read, numpy bool.")
      .def_prop_ro("nbytes", &total_bytes, "Total bytes of the ranges (the size of to_numpy()).")
      .def_prop_ro(
          "flat", [](const PyBatchResult& r) { return r.flat; },
          "True when every range lies in one buffer (out=): to_numpy() is then a view, not a copy.")
      .def(
          "error",
          [](const PyBatchResult& r, int64_t i) -> nb::object {
            const size_t k = index_of(r, i);
            return r.ok(k) ? nb::none() : error_object(r.error(k));
          },
          "i"_a, "The exception of range i (naming its path and range), or None.")
      .def("errors", &errors_of, "(index, exception) of every failed range.")
      .def("to_numpy", &to_numpy,
           "All ranges back to back as one read-only uint8 array (offsets says where each starts): a view\n"
           "when flat, else a copy.")
      .def("__repr__", [](const PyBatchResult& r) {
        size_t failed = 0;
        for (size_t i = 0; i < r.size(); ++i) failed += r.ok(i) ? 0 : 1;
        return "<lsio.BatchResult of " + std::to_string(r.size()) + " ranges, " + std::to_string(failed) + " failed" +
               (r.flat ? ", flat>" : ">");
      });
}

}  // namespace lsio::python
