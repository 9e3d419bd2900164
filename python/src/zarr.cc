// lsio._lsio.ZarrArray and the zarr_* functions: Zarr v2/v3 arrays and groups on an lsio.Store, read into and
// written from caller buffers with the GIL released. The friendly API (numpy indexing, create() defaults, groups)
// is python/lsio/zarr.py; this file only converts arguments and runs the public C++ API (lsio/zarr.h).
#include "lsio/zarr.h"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bindings.h"
#include "lsio/dtype.h"

namespace lsio::python {

namespace {

using namespace nb::literals;
using zarr::DimSelection;
using zarr::Selection;

// ---- small helpers -----------------------------------------------------------------------------------------------

nb::tuple shape_tuple(const std::vector<uint64_t>& shape) {
  nb::list items;
  for (uint64_t v : shape) items.append(nb::int_(v));
  return nb::tuple(items);
}

nb::bytes bytes_of(std::span<const std::byte> v) {
  return nb::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

template <typename T>
T value_or_raise(Result<T> r) {
  if (!r) raise_status(r.error());
  return std::move(*r);
}

// A selection from Python: one item per dimension, either a (start, stop, step) tuple of non-negative ints or a 1-d
// sequence/array of non-negative indices. Converted with the GIL held, before any I/O.
Selection to_selection(nb::handle items) {
  const nb::sequence seq = nb::borrow<nb::sequence>(items);
  const size_t n = nb::len(seq);
  Selection sel;
  sel.reserve(n);
  for (size_t d = 0; d < n; ++d) {
    nb::object item = seq[d];
    if (nb::isinstance<nb::tuple>(item)) {
      const nb::tuple t = nb::borrow<nb::tuple>(item);
      if (nb::len(t) != 3)
        throw nb::value_error(("selection[" + std::to_string(d) + "]: expected (start, stop, step)").c_str());
      const int64_t start = nb::cast<int64_t>(t[0]), stop = nb::cast<int64_t>(t[1]), step = nb::cast<int64_t>(t[2]);
      if (start < 0 || stop < 0 || step <= 0) {
        throw nb::value_error(("selection[" + std::to_string(d) + "]: slice (" + std::to_string(start) + ", " +
                               std::to_string(stop) + ", " + std::to_string(step) +
                               ") needs start, stop >= 0 and step > 0")
                                  .c_str());
      }
      sel.push_back(
          DimSelection::slice(static_cast<uint64_t>(start), static_cast<uint64_t>(stop), static_cast<uint64_t>(step)));
    } else {
      const std::string name = "selection[" + std::to_string(d) + "]";
      const IntColumn column(item, name.c_str(), /*allow_none=*/false);
      std::vector<uint64_t> indices(column.size());
      for (size_t i = 0; i < column.size(); ++i) {
        if (column[i] < 0) {
          throw nb::value_error((name + "[" + std::to_string(i) + "]: negative index " + std::to_string(column[i]) +
                                 " (normalise indices first)")
                                    .c_str());
        }
        indices[i] = static_cast<uint64_t>(column[i]);
      }
      sel.push_back(DimSelection::list(std::move(indices)));
    }
  }
  return sel;
}

// The calls below run on a background thread, where the store cannot tell that
// its caller is one of its own callbacks: ask on the calling thread.
void check_not_in_callback(const zarr::Array& self, const char* what) {
  if (Status s = self.store()->check_not_in_callback(std::string(what) + " " + self.path()); !s.ok()) raise_status(s);
}

// ---- ZarrArray ---------------------------------------------------------------------------------------------------

// Zarr calls run on a background thread so that this one can wait interruptibly (Ctrl-C, timeout, token): the
// buffers stay valid since the wait includes the drain.
void read(const zarr::Array& self, nb::handle selection, nb::handle out, std::optional<double> timeout,
          nb::handle cancel) {
  const Selection sel = to_selection(selection);
  const BufferView view(out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS);
  const std::span<const std::byte> bytes = view.bytes();
  const std::span<std::byte> dest(const_cast<std::byte*>(bytes.data()), bytes.size());
  deadline_of(timeout);
  check_not_in_callback(self, "read");
  const Status status = run_interruptible([&](const ReadOptions& o) { return self.read(sel, dest, o); }, timeout,
                                          "read " + self.path(), cancel_source_of(cancel));
  if (!status.ok()) raise_status(status);
}

// starts: 1-d int64 (crops x ndim, flattened); out_dtype "" writes the array's dtype unconverted.
void read_crops(const zarr::Array& self, nb::handle starts, const std::vector<uint64_t>& shape, nb::handle out,
                const std::string& out_dtype, size_t channel_dim, const std::vector<double>& scale,
                const std::vector<double>& offset, std::optional<double> timeout, nb::handle cancel) {
  const IntColumn column(starts, "starts", /*allow_none=*/false);
  const std::span<const int64_t> begin(column.data(), column.size());
  std::optional<zarr::Conversion> conversion;
  if (!out_dtype.empty()) {
    const DataType t = value_or_raise(parse_dtype_name(out_dtype));
    conversion = zarr::Conversion{t, channel_dim, scale, offset};
  }
  const BufferView view(out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS);
  const std::span<const std::byte> bytes = view.bytes();
  const std::span<std::byte> dest(const_cast<std::byte*>(bytes.data()), bytes.size());
  deadline_of(timeout);
  check_not_in_callback(self, "read_crops");
  const zarr::Conversion* conv = conversion ? &*conversion : nullptr;
  const Status status =
      run_interruptible([&](const ReadOptions& o) { return self.read_crops(begin, shape, dest, conv, o); }, timeout,
                        "read_crops " + self.path(), cancel_source_of(cancel));
  if (!status.ok()) raise_status(status);
}

void write(zarr::Array& self, nb::handle selection, nb::handle src, std::optional<double> timeout, nb::handle cancel) {
  const Selection sel = to_selection(selection);
  const BufferView view(src, PyBUF_C_CONTIGUOUS);
  deadline_of(timeout);
  check_not_in_callback(self, "write");
  const Status status = run_interruptible([&](const ReadOptions& o) { return self.write(sel, view.bytes(), o); },
                                          timeout, "write " + self.path(), cancel_source_of(cancel));
  if (!status.ok()) raise_status(status);
}

std::optional<std::vector<std::optional<std::string>>> dimension_names(const zarr::Array& self) {
  const auto& names = self.dimension_names();
  if (names.empty()) return std::nullopt;
  return names;
}

zarr::Array open_array(nb::handle store, const std::string& path) {
  std::shared_ptr<Store> s = store_of(store);
  return value_or_raise([&] {
    nb::gil_scoped_release release;
    return zarr::Array::open(std::move(s), path);
  }());
}

// metadata_json: a v3 zarr.json document, or a v2 .zarray document (then attributes_json is the .zattrs text).
zarr::Array create_array(nb::handle store, const std::string& path, const std::string& metadata_json,
                         const std::string& attributes_json, bool overwrite) {
  std::shared_ptr<Store> s = store_of(store);
  return value_or_raise([&] {
    nb::gil_scoped_release release;
    return zarr::Array::create(std::move(s), path, metadata_json, attributes_json, overwrite);
  }());
}

// A group's documents, parsed: {"zarr_format", "attributes" (JSON text), "consolidated" (JSON text or None)}.
nb::dict group_info(const zarr::Group& g) {
  nb::dict d;
  d["zarr_format"] = g.zarr_format;
  d["attributes"] = g.attributes_json;
  d["consolidated"] = g.consolidated_json ? nb::object(nb::str(g.consolidated_json->c_str())) : nb::none();
  return d;
}

// The node at `path`: a ZarrArray, or a dict describing a group (see group_info). zarr.json (v3) first, then
// .zarray / .zgroup (v2, with .zattrs and .zmetadata). NotFound when there is none.
nb::object open_node(nb::handle store, const std::string& path) {
  std::shared_ptr<Store> s = store_of(store);
  zarr::Node node = value_or_raise([&] {
    nb::gil_scoped_release release;
    return zarr::open_node(std::move(s), path);
  }());
  if (auto* g = std::get_if<zarr::Group>(&node)) return group_info(*g);
  return nb::cast(std::get<zarr::Array>(std::move(node)));
}

template <typename T>
nb::bytes vector_bytes(const std::vector<T>& v) {
  return bytes_of(std::as_bytes(std::span(v)));
}

// Array::reduce: the statistics as a dict of raw native-endian buffers (lsio.zarr.Array wraps them in numpy).
nb::dict reduce(const zarr::Array& self, nb::handle selection, const std::vector<size_t>& axes,
                std::optional<double> timeout, nb::handle cancel) {
  const Selection sel = to_selection(selection);
  deadline_of(timeout);
  check_not_in_callback(self, "reduce");
  zarr::Stats stats;
  const Status status = run_interruptible(
      [&](const ReadOptions& o) {
        Result<zarr::Stats> r = self.reduce(sel, axes, o);
        if (!r) return r.error();
        stats = std::move(*r);
        return Status();
      },
      timeout, "reduce " + self.path(), cancel_source_of(cancel));
  if (!status.ok()) raise_status(status);
  nb::dict d;
  d["shape"] = shape_tuple(stats.shape);
  d["count"] = vector_bytes(stats.count);
  d["nan_count"] = vector_bytes(stats.nan_count);
  d["sum"] = vector_bytes(stats.sum);
  d["mean"] = vector_bytes(stats.mean);
  d["m2"] = vector_bytes(stats.m2);
  d["int_sum_hi"] = vector_bytes(stats.int_sum_hi);
  d["int_sum_lo"] = vector_bytes(stats.int_sum_lo);
  d["min"] = bytes_of(stats.min);
  d["max"] = bytes_of(stats.max);
  return d;
}

}  // namespace

void init_zarr(nb::module_& m) {
  using zarr::Array;
  nb::class_<Array>(m, "ZarrArray", "A Zarr v2 or v3 array on an lsio.Store (see lsio.zarr.Array).")
      .def_prop_ro(
          "path", [](const Array& a) { return a.path(); }, "The array's prefix in its store.")
      .def_prop_ro("zarr_format", [](const Array& a) { return a.zarr_format(); })
      .def_prop_ro("shape", [](const Array& a) { return shape_tuple(a.shape()); })
      .def_prop_ro(
          "chunks", [](const Array& a) { return shape_tuple(a.chunk_shape()); },
          "The chunk shape (inner chunks for a sharded array).")
      .def_prop_ro(
          "shards",
          [](const Array& a) -> nb::object {
            const auto s = a.shard_shape();
            return s.empty() ? nb::none() : nb::object(shape_tuple(s));
          },
          "The shard shape, or None when the array is not sharded.")
      .def_prop_ro(
          "dtype", [](const Array& a) { return a.numpy_typestr(); },
          "The numpy typestr of the decoded elements (native little-endian, e.g. '<u2').")
      .def_prop_ro("itemsize", [](const Array& a) { return a.itemsize(); })
      .def_prop_ro(
          "fill_value", [](const Array& a) { return bytes_of(a.fill_value()); },
          "One element of the fill value, little-endian bytes.")
      .def_prop_ro("attributes_json", [](const Array& a) { return a.attributes_json(); })
      .def_prop_ro(
          "metadata_json", [](const Array& a) { return a.metadata_json(); },
          "zarr.json (v3) or .zarray with the .zattrs attributes under \"attributes\" (v2).")
      .def_prop_ro("dimension_names", &dimension_names)
      .def(
          "chunk_key",
          [](const Array& a, const std::vector<uint64_t>& coords) {
            if (coords.size() != a.shape().size()) {
              throw nb::value_error(("chunk_key: " + std::to_string(coords.size()) + " coordinates for an array of " +
                                     std::to_string(a.shape().size()) + " dimensions")
                                        .c_str());
            }
            return a.chunk_key(coords);
          },
          "coords"_a, "The store key of the chunk (shard, when sharded) at these chunk grid coordinates.")
      .def("read", &read, "selection"_a, "out"_a, nb::kw_only(), "timeout"_a = nb::none(), "cancel"_a = nb::none(),
           "Reads a selection (one (start, stop, step) tuple or index sequence per dimension) into a writable\n"
           "C-contiguous buffer of exactly the selection's size (C order, native endian). GIL released.")
      .def("read_crops", &read_crops, "starts"_a, "shape"_a, "out"_a, "out_dtype"_a = "", "channel_dim"_a = 0,
           "scale"_a = std::vector<double>{1.0}, "offset"_a = std::vector<double>{0.0}, nb::kw_only(),
           "timeout"_a = nb::none(), "cancel"_a = nb::none(),
           "Reads crops (starts: flat int64, one start per dimension per crop; may lie partly outside the array,\n"
           "which reads as the fill value) of `shape` into a C-contiguous buffer, crop after crop, in one batch.\n"
           "out_dtype 'float32'/'float64' converts as each chunk is placed: out = x * scale[c] + offset[c], c the\n"
           "index along channel_dim of the crop. GIL released.")
      .def("write", &write, "selection"_a, "src"_a, nb::kw_only(), "timeout"_a = nb::none(), "cancel"_a = nb::none(),
           "Writes a C-contiguous buffer holding the selection's elements (C order, native endian). GIL released.")
      .def("reduce", &reduce, "selection"_a, "axes"_a, nb::kw_only(), "timeout"_a = nb::none(), "cancel"_a = nb::none(),
           "Reduces a selection of slices over `axes` in one streamed pass, decoding and folding each chunk on the\n"
           "worker that read it. Returns a dict: shape (the kept dimensions) and raw native-endian buffers with one\n"
           "entry per output element: count, nan_count (uint64), sum, mean, m2 (float64), int_sum_hi (int64) and\n"
           "int_sum_lo (uint64) for integer and bool arrays (empty otherwise), min, max (the array's dtype). GIL\n"
           "released.");
  m.def("zarr_open", &open_array, "store"_a, "path"_a, "Opens the Zarr array at path (zarr.json, else .zarray).");
  m.def("zarr_create", &create_array, "store"_a, "path"_a, "metadata_json"_a, "attributes_json"_a = "",
        "overwrite"_a = false,
        "Creates an array from its zarr.json (v3) or .zarray (v2, attributes as .zattrs text) document.");
  m.def("zarr_open_node", &open_node, "store"_a, "path"_a,
        "The array (ZarrArray) or group (dict: zarr_format, attributes, consolidated) at path.");
}

}  // namespace lsio::python
