// Conversion of Python arguments (paths, offsets, buffers) to lsio batches.
#include <nanobind/ndarray.h>

#include <optional>
#include <string>

#include "bindings.h"

namespace lsio::python {

namespace {

using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;

[[noreturn]] void raise_type(const char* fmt, auto... args) {
  PyErr_Format(PyExc_TypeError, fmt, args...);
  throw nb::python_error();
}

[[noreturn]] void raise_value(const char* fmt, auto... args) {
  PyErr_Format(PyExc_ValueError, fmt, args...);
  throw nb::python_error();
}

bool is_single_path(PyObject* o) {
  return PyUnicode_Check(o) || PyBytes_Check(o) || PyObject_HasAttrString(o, "__fspath__");
}

}  // namespace

OnError parse_on_error(std::string_view value) {
  if (value == "raise") return OnError::kRaise;
  if (value == "return") return OnError::kReturn;
  raise_value("on_error must be 'raise' or 'return', not '%.100s'", std::string(value).c_str());
}

// ---- paths ----

PathConverter::Entry& PathConverter::entry(PyObject* item, size_t index) {
  if (item == last_item_) return *last_entry_;
  if (auto seen = by_object_.find(item); seen != by_object_.end()) {
    last_item_ = item;
    last_entry_ = seen->second;
    return *seen->second;
  }
  Entry* found = nullptr;
  if (PyObject* position = PyDict_GetItemWithError(positions_.ptr(), item)) {  // borrowed
    found = &entries_[PyLong_AsSize_t(position)];
  } else {
    if (PyErr_Occurred()) {  // unhashable
      PyErr_Clear();
      raise_type("%s[%zu]: expected str, bytes or os.PathLike, not %.100s", name_, index, Py_TYPE(item)->tp_name);
    }
    const std::string_view path = encode(item, index);
    nb::object next = nb::steal(PyLong_FromSize_t(entries_.size()));
    if (!next.is_valid() || PyDict_SetItem(positions_.ptr(), item, next.ptr()) != 0) throw nb::python_error();
    found = &entries_.emplace_back(Entry{path, kNoId});
  }
  by_object_.emplace(item, found);
  last_item_ = item;
  last_entry_ = found;
  return *found;
}

std::string_view PathConverter::encode(PyObject* item, size_t index) {
  Py_ssize_t size = 0;
  if (PyUnicode_Check(item)) {
    const char* utf8 = PyUnicode_AsUTF8AndSize(item, &size);
    if (utf8 != nullptr) return {utf8, static_cast<size_t>(size)};  // cached inside the str object
    PyErr_Clear();  // e.g. surrogate-escaped file names: use the filesystem encoding below
  }
  nb::object fs = nb::steal(PyOS_FSPath(item));
  if (!fs.is_valid()) {
    PyErr_Clear();
    raise_type("%s[%zu]: expected str, bytes or os.PathLike, not %.100s", name_, index, Py_TYPE(item)->tp_name);
  }
  if (PyUnicode_Check(fs.ptr())) fs = nb::steal(PyUnicode_EncodeFSDefault(fs.ptr()));
  char* data = nullptr;
  if (!fs.is_valid() || PyBytes_AsStringAndSize(fs.ptr(), &data, &size) != 0) throw nb::python_error();
  return owned_.emplace_back(data, static_cast<size_t>(size));
}

uint32_t PathConverter::file_id(ReadBatch& batch, PyObject* item, size_t index) {
  Entry& e = entry(item, index);
  if (e.id == kNoId) e.id = batch.file_id(e.path);
  return e.id;
}

PathList::PathList(nb::handle paths, size_t n) { init(paths, true, n); }
PathList::PathList(nb::handle paths) { init(paths, false, 1); }

void PathList::init(nb::handle paths, bool fixed_size, size_t n) {
  holder_ = nb::borrow(paths);
  if (is_single_path(paths.ptr())) {
    single_ = paths.ptr();
    size_ = n;
    return;
  }
  holder_ = nb::steal(PySequence_Fast(paths.ptr(), "paths must be a str, os.PathLike or a sequence of them"));
  if (!holder_.is_valid()) throw nb::python_error();
  size_ = static_cast<size_t>(PySequence_Fast_GET_SIZE(holder_.ptr()));
  items_ = PySequence_Fast_ITEMS(holder_.ptr());
  if (fixed_size && size_ != n) raise_value("paths has %zu items but starts has %zu", size_, n);
}

// ---- integer columns ----

IntColumn::IntColumn(nb::handle values, const char* name, bool allow_none, int64_t none) {
  bool ok = nb::try_cast(values, array_, /*convert=*/false);
  if (!ok) {
    AnyArray any;
    if (nb::try_cast(values, any, /*convert=*/false)) {
      if (any.ndim() != 1) raise_value("%s must be 1-dimensional, not %zu-dimensional", name, any.ndim());
      auto code = any.dtype().code;
      if (code != static_cast<uint8_t>(nb::dlpack::dtype_code::Int) &&
          code != static_cast<uint8_t>(nb::dlpack::dtype_code::UInt))
        raise_type("%s must hold integers", name);
      ok = nb::try_cast(values, array_, /*convert=*/true);  // other integer width, or strided
      if (!ok) raise_type("%s: cannot convert the array to int64", name);
    }
  }
  if (ok) {
    data_ = array_.data();
    size_ = array_.shape(0);
    return;
  }
  nb::object seq = nb::steal(PySequence_Fast(values.ptr(), ""));
  if (!seq.is_valid()) {
    PyErr_Clear();
    raise_type("%s must be a sequence of int or a 1-d integer array, not %.100s", name, Py_TYPE(values.ptr())->tp_name);
  }
  size_ = static_cast<size_t>(PySequence_Fast_GET_SIZE(seq.ptr()));
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  owned_.resize(size_);
  for (size_t i = 0; i < size_; ++i) {
    poll_signals(i);
    PyObject* item = items[i];
    if (item == Py_None && allow_none) {
      owned_[i] = none;
      continue;
    }
    if (!PyLong_Check(item) && !PyIndex_Check(item))
      raise_type("%s[%zu]: expected int%s, not %.100s", name, i, allow_none ? " or None" : "", Py_TYPE(item)->tp_name);
    long long v = PyLong_AsLongLong(item);
    if (v == -1 && PyErr_Occurred()) throw nb::python_error();
    owned_[i] = v;
  }
  data_ = owned_.data();
}

// ---- read batches ----

namespace {

// The compact path form (files, file_index): a tuple of a sequence of paths and
// an integer column, so that a million ranges over a few thousand files need
// no string per range.
bool is_compact_paths(PyObject* paths) {
  return PyTuple_Check(paths) && PyTuple_GET_SIZE(paths) == 2 && !is_single_path(PyTuple_GET_ITEM(paths, 0)) &&
         !is_single_path(PyTuple_GET_ITEM(paths, 1)) && PySequence_Check(PyTuple_GET_ITEM(paths, 0));
}

// Calls add(i, file_id) for every range: the file ids of `paths` in `batch`
// (each distinct path converted once).
template <class Add>
void for_each_file_id(ReadBatch& batch, nb::handle paths, size_t n, Add add) {
  if (is_compact_paths(paths.ptr())) {
    const PathList files(PyTuple_GET_ITEM(paths.ptr(), 0));
    const IntColumn index(PyTuple_GET_ITEM(paths.ptr(), 1), "file_index", /*allow_none=*/false);
    if (index.size() != n) raise_value("file_index has %zu items but starts has %zu", index.size(), n);
    PathConverter converter("files");
    constexpr uint32_t kUnset = UINT32_MAX;
    std::vector<uint32_t> ids(files.size(), kUnset);  // converted on first use
    for (size_t i = 0; i < n; ++i) {
      poll_signals(i);
      const int64_t k = index[i];
      if (k < 0 || static_cast<uint64_t>(k) >= files.size())
        raise_value("file_index[%zu] = %lld is out of range for %zu files", i, static_cast<long long>(k), files.size());
      uint32_t& id = ids[static_cast<size_t>(k)];
      if (id == kUnset) id = converter.file_id(batch, files[static_cast<size_t>(k)], static_cast<size_t>(k));
      add(i, id);
    }
    return;
  }
  const PathList items(paths, n);
  PathConverter converter;
  for (size_t i = 0; i < n; ++i) {
    poll_signals(i);
    add(i, converter.file_id(batch, items[i], i));
  }
}

}  // namespace

ReadBatch make_read_batch(nb::handle paths, nb::handle starts, nb::handle ends) {
  IntColumn begin(starts, "starts", /*allow_none=*/false);
  const size_t n = begin.size();
  const bool to_end = ends.is_none();
  std::optional<IntColumn> end;
  if (!to_end) {
    end.emplace(ends, "ends", /*allow_none=*/true);
    if (end->size() != n) raise_value("ends has %zu items but starts has %zu", end->size(), n);
  }
  ReadBatch batch;
  batch.reserve(n);
  for_each_file_id(batch, paths, n, [&](size_t i, uint32_t file) {
    const int64_t b = begin[i];
    const int64_t e = to_end ? ByteRange::kToEnd : (*end)[i];
    if (b < 0 && e != ByteRange::kToEnd)
      raise_value("range %zu: a negative start (%lld: the last %lld bytes) needs end None or -1, not %lld", i,
                  static_cast<long long>(b), -static_cast<long long>(b), static_cast<long long>(e));
    if (b == INT64_MIN || e < ByteRange::kToEnd || (e != ByteRange::kToEnd && e < b))
      raise_value("range %zu: invalid range [%lld, %lld)", i, static_cast<long long>(b), static_cast<long long>(e));
    batch.add(file, ByteRange::raw(b, e));
  });
  return batch;
}

// ---- buffers ----

BufferViews::BufferViews(nb::handle objects, const char* name, bool writable) {
  nb::object seq = nb::steal(PySequence_Fast(objects.ptr(), ""));
  if (!seq.is_valid()) {
    PyErr_Clear();
    raise_type("%s must be a sequence of buffers, not %.100s", name, Py_TYPE(objects.ptr())->tp_name);
  }
  const size_t n = static_cast<size_t>(PySequence_Fast_GET_SIZE(seq.ptr()));
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  const int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
  views_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    try {
      poll_signals(i);
    } catch (...) {
      release();
      throw;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(items[i], &view, flags) != 0) {
      release();  // the destructor does not run when the constructor throws
      nb::python_error cause;
      nb::raise_from(cause, PyExc_TypeError, "%s[%zu]: expected a C-contiguous%s buffer", name, i,
                     writable ? " writable" : "");
    }
    views_.push_back(view);
  }
}

BufferViews::~BufferViews() { release(); }

void BufferViews::release() {
  for (Py_buffer& view : views_) PyBuffer_Release(&view);
  views_.clear();
}

BufferView::BufferView(nb::handle object, int flags) {
  if (PyObject_GetBuffer(object.ptr(), &view_, flags) != 0) throw nb::python_error();
}

}  // namespace lsio::python
