// lsio._lsio.ZarrArray and the zarr_* functions: Zarr v2/v3 arrays and groups on an lsio.Store, read into and
// written from caller buffers with the GIL released. The friendly API (numpy indexing, create() defaults, groups)
// is python/lsio/zarr.py; this file only converts arguments and runs lsio::zarr::Array.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bindings.h"
#include "zarr/array.h"
#include "zarr/dtype.h"
#include "zarr/metadata.h"

namespace lsio::python {

namespace {

using namespace nb::literals;
using zarr::DimSelection;
using zarr::Selection;

// ---- the store behind an lsio.Store object ----------------------------------------------------------------------

// store.cc keeps its PyStore in an anonymous namespace. This mirrors its layout (a shared_ptr<Store> then the url)
// so that a zarr array can share the executor of an lsio.Store object instead of starting another one. The url is
// compared with Store.url after the cast: a PyStore whose layout changed fails loudly here, not silently.
// TODO(store.cc owner): export `std::shared_ptr<Store> store_of(nb::handle)` from store.cc and drop this mirror.
struct PyStoreMirror {
  std::shared_ptr<Store> store;
  std::string url;
};

nb::handle store_type;  // lsio._lsio.Store (owned by the module)

std::shared_ptr<Store> store_of(nb::handle obj) {
  if (!store_type.is_valid() || !PyObject_TypeCheck(obj.ptr(), reinterpret_cast<PyTypeObject*>(store_type.ptr()))) {
    throw nb::type_error(("expected an lsio.Store, got " + nb::cast<std::string>(nb::repr(obj.type()))).c_str());
  }
  const auto* mirror = nb::inst_ptr<PyStoreMirror>(obj);
  const std::string url = nb::cast<std::string>(obj.attr("url"));
  if (mirror == nullptr || mirror->store == nullptr || mirror->url != url) {
    throw std::runtime_error("lsio internal error: the layout of lsio.Store changed (update python/src/zarr.cc)");
  }
  return mirror->store;
}

// ---- small helpers -----------------------------------------------------------------------------------------------

nb::tuple shape_tuple(const std::vector<uint64_t>& shape) {
  nb::list items;
  for (uint64_t v : shape) items.append(nb::int_(v));
  return nb::tuple(items);
}

nb::bytes bytes_of(const std::vector<std::byte>& v) {
  return nb::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

template <typename T>
T value_or_raise(Result<T> r) {
  if (!r) raise_status(r.error());
  return std::move(*r);
}

std::string join_key(std::string_view prefix, std::string_view name) {
  std::string p(prefix);
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p.empty() ? std::string(name) : p + "/" + std::string(name);
}

// Reads a whole key (with the GIL released); nullopt when it does not exist.
std::optional<std::string> read_optional(Store& store, const std::string& key) {
  Result<Bytes> r;
  {
    nb::gil_scoped_release release;
    ReadBatch batch;
    batch.add(key, ByteRange::whole());
    r = std::move(store.read(batch)[0]);
  }
  if (r) return std::string(r->as_string_view());
  if (r.error().code() == StatusCode::kNotFound) return std::nullopt;
  raise_status(r.error());
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

// ---- ZarrArray ---------------------------------------------------------------------------------------------------

struct PyArray {
  std::shared_ptr<zarr::Array> array;
};

void read(PyArray& self, nb::handle selection, nb::handle out) {
  const Selection sel = to_selection(selection);
  const BufferView view(out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS);
  const std::span<const std::byte> bytes = view.bytes();
  const std::span<std::byte> dest(const_cast<std::byte*>(bytes.data()), bytes.size());
  Status status;
  {
    nb::gil_scoped_release release;
    status = self.array->read(sel, dest);
  }
  if (!status.ok()) raise_status(status);
}

// starts: 1-d int64 (crops x ndim, flattened); out_dtype "" writes the array's dtype unconverted.
void read_crops(PyArray& self, nb::handle starts, const std::vector<uint64_t>& shape, nb::handle out,
                const std::string& out_dtype, size_t channel_dim, const std::vector<double>& scale,
                const std::vector<double>& offset) {
  const IntColumn column(starts, "starts", /*allow_none=*/false);
  const std::span<const int64_t> begin(column.data(), column.size());
  std::optional<zarr::Conversion> conversion;
  if (!out_dtype.empty()) {
    const zarr::DataType t = value_or_raise(zarr::parse_v3_dtype(out_dtype));
    conversion = zarr::Conversion{t, channel_dim, scale, offset};
  }
  const BufferView view(out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS);
  const std::span<const std::byte> bytes = view.bytes();
  const std::span<std::byte> dest(const_cast<std::byte*>(bytes.data()), bytes.size());
  Status status;
  {
    nb::gil_scoped_release release;
    status = self.array->read_crops(begin, shape, dest, conversion ? &*conversion : nullptr);
  }
  if (!status.ok()) raise_status(status);
}

void write(PyArray& self, nb::handle selection, nb::handle src) {
  const Selection sel = to_selection(selection);
  const BufferView view(src, PyBUF_C_CONTIGUOUS);
  Status status;
  {
    nb::gil_scoped_release release;
    status = self.array->write(sel, view.bytes());
  }
  if (!status.ok()) raise_status(status);
}

std::string metadata_json(const PyArray& self) {
  const zarr::ArrayMetadata& m = self.array->metadata();
  if (m.zarr_format == 3) return zarr::to_v3_json(m);
  // v2: the .zarray document, with the attributes of .zattrs under "attributes" (as zarr-python's metadata shows).
  nlohmann::json doc = nlohmann::json::parse(zarr::to_v2_zarray(m));
  doc["attributes"] = m.attributes;
  return doc.dump();
}

std::optional<std::vector<std::optional<std::string>>> dimension_names(const PyArray& self) {
  const auto& names = self.array->metadata().dimension_names;
  if (names.empty()) return std::nullopt;
  return names;
}

PyArray open_array(nb::handle store, const std::string& path) {
  std::shared_ptr<Store> s = store_of(store);
  Result<std::shared_ptr<zarr::Array>> r;
  {
    nb::gil_scoped_release release;
    r = zarr::Array::open(std::move(s), path);
  }
  return PyArray{value_or_raise(std::move(r))};
}

// metadata_json: a v3 zarr.json document, or a v2 .zarray document (then attributes_json is the .zattrs text).
PyArray create_array(nb::handle store, const std::string& path, const std::string& metadata_json,
                     const std::string& attributes_json, bool overwrite) {
  std::shared_ptr<Store> s = store_of(store);
  int format = 3;
  const nlohmann::json doc = nlohmann::json::parse(metadata_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("zarr_format") && doc["zarr_format"] == 2) format = 2;
  zarr::ArrayMetadata meta =
      value_or_raise(format == 3 ? zarr::parse_v3_array(metadata_json, join_key(path, "zarr.json"))
                                 : zarr::parse_v2_array(metadata_json, attributes_json, join_key(path, ".zarray")));
  Result<std::shared_ptr<zarr::Array>> r;
  {
    nb::gil_scoped_release release;
    r = zarr::Array::create(std::move(s), path, std::move(meta), overwrite);
  }
  return PyArray{value_or_raise(std::move(r))};
}

// A group's documents, parsed: {"zarr_format", "attributes" (JSON text), "consolidated" (JSON text or None)}.
nb::dict group_info(const zarr::GroupMetadata& g) {
  nb::dict d;
  d["zarr_format"] = g.zarr_format;
  d["attributes"] = g.attributes.dump();
  d["consolidated"] = g.consolidated.is_null() ? nb::none() : nb::object(nb::str(g.consolidated.dump().c_str()));
  return d;
}

// The node at `path`: a ZarrArray, or a dict describing a group (see group_info). zarr.json (v3) first, then
// .zarray / .zgroup (v2, with .zattrs and .zmetadata). NotFound when there is none.
nb::object open_node(nb::handle store, const std::string& path) {
  std::shared_ptr<Store> s = store_of(store);
  const std::string v3_key = join_key(path, "zarr.json");
  if (std::optional<std::string> v3 = read_optional(*s, v3_key)) {
    auto node = value_or_raise(zarr::parse_v3_node(*v3, v3_key));
    if (auto* g = std::get_if<zarr::GroupMetadata>(&node)) return group_info(*g);
    return nb::cast(open_array(store, path));
  }
  const std::string zarray_key = join_key(path, ".zarray");
  if (read_optional(*s, zarray_key)) return nb::cast(open_array(store, path));
  const std::string zgroup_key = join_key(path, ".zgroup");
  std::optional<std::string> zgroup = read_optional(*s, zgroup_key);
  if (!zgroup) {
    raise_status(Status(StatusCode::kNotFound, "no Zarr array or group at '" + path + "': none of " + v3_key + ", " +
                                                   zarray_key + ", " + zgroup_key + " exists"));
  }
  const std::optional<std::string> zattrs = read_optional(*s, join_key(path, ".zattrs"));
  zarr::GroupMetadata g = value_or_raise(zarr::parse_v2_group(*zgroup, zattrs ? *zattrs : "", zgroup_key));
  const std::string zmeta_key = join_key(path, ".zmetadata");
  if (std::optional<std::string> zmeta = read_optional(*s, zmeta_key)) {
    g.consolidated = value_or_raise(zarr::parse_v2_consolidated(*zmeta, zmeta_key));
  }
  return group_info(g);
}

}  // namespace

void init_zarr(nb::module_& m) {
  store_type = m.attr("Store");
  nb::class_<PyArray>(m, "ZarrArray", "A Zarr v2 or v3 array on an lsio.Store (see lsio.zarr.Array).")
      .def_prop_ro(
          "path", [](const PyArray& a) { return a.array->path(); }, "The array's prefix in its store.")
      .def_prop_ro("zarr_format", [](const PyArray& a) { return a.array->metadata().zarr_format; })
      .def_prop_ro("shape", [](const PyArray& a) { return shape_tuple(a.array->metadata().shape); })
      .def_prop_ro(
          "chunks", [](const PyArray& a) { return shape_tuple(a.array->read_chunk_shape()); },
          "The chunk shape (inner chunks for a sharded array).")
      .def_prop_ro(
          "shards",
          [](const PyArray& a) -> nb::object {
            const auto s = a.array->shard_shape();
            return s.empty() ? nb::none() : nb::object(shape_tuple(s));
          },
          "The shard shape, or None when the array is not sharded.")
      .def_prop_ro(
          "dtype", [](const PyArray& a) { return zarr::numpy_typestr(a.array->metadata().dtype); },
          "The numpy typestr of the decoded elements (native little-endian, e.g. '<u2').")
      .def_prop_ro("itemsize", [](const PyArray& a) { return a.array->itemsize(); })
      .def_prop_ro(
          "fill_value", [](const PyArray& a) { return bytes_of(a.array->metadata().fill_value); },
          "One element of the fill value, little-endian bytes.")
      .def_prop_ro("attributes_json", [](const PyArray& a) { return a.array->metadata().attributes.dump(); })
      .def_prop_ro("metadata_json", &metadata_json,
                   "zarr.json (v3) or .zarray with the .zattrs attributes under \"attributes\" (v2).")
      .def_prop_ro("dimension_names", &dimension_names)
      .def("read", &read, "selection"_a, "out"_a,
           "Reads a selection (one (start, stop, step) tuple or index sequence per dimension) into a writable\n"
           "C-contiguous buffer of exactly the selection's size (C order, native endian). GIL released.")
      .def("read_crops", &read_crops, "starts"_a, "shape"_a, "out"_a, "out_dtype"_a = "", "channel_dim"_a = 0,
           "scale"_a = std::vector<double>{1.0}, "offset"_a = std::vector<double>{0.0},
           "Reads crops (starts: flat int64, one start per dimension per crop; may lie partly outside the array,\n"
           "which reads as the fill value) of `shape` into a C-contiguous buffer, crop after crop, in one batch.\n"
           "out_dtype 'float32'/'float64' converts as each chunk is placed: out = x * scale[c] + offset[c], c the\n"
           "index along channel_dim of the crop. GIL released.")
      .def("write", &write, "selection"_a, "src"_a,
           "Writes a C-contiguous buffer holding the selection's elements (C order, native endian). GIL released.");
  m.def("zarr_open", &open_array, "store"_a, "path"_a, "Opens the Zarr array at path (zarr.json, else .zarray).");
  m.def("zarr_create", &create_array, "store"_a, "path"_a, "metadata_json"_a, "attributes_json"_a = "",
        "overwrite"_a = false,
        "Creates an array from its zarr.json (v3) or .zarray (v2, attributes as .zattrs text) document.");
  m.def("zarr_open_node", &open_node, "store"_a, "path"_a,
        "The array (ZarrArray) or group (dict: zarr_format, attributes, consolidated) at path.");
}

}  // namespace lsio::python
