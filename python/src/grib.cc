// lsio._lsio.grib_scan / grib_read: the GRIB2 index and decoder (lsio/grib.h) on an lsio.Store, GIL released.
// The friendly API (Index, records, JSON, xarray) is python/lsio/grib.py; this file only converts arguments.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "bindings.h"

#ifdef LSIO_HAS_GRIB
#include "lsio/grib.h"
#endif

namespace lsio::python {

#ifdef LSIO_HAS_GRIB
namespace {

using namespace nb::literals;

// Columns of the index: name -> list (one item per message).
nb::dict columns(const std::vector<grib::Message>& ms) {
  nb::dict cols;
  auto str_col = [&](const char* name, auto get) {
    nb::list l;
    for (const auto& m : ms) l.append(nb::str(get(m).c_str()));
    cols[name] = l;
  };
  auto int_col = [&](const char* name, auto get) {
    nb::list l;
    for (const auto& m : ms) l.append(nb::int_(get(m)));
    cols[name] = l;
  };
  auto float_col = [&](const char* name, auto get) {
    nb::list l;
    for (const auto& m : ms) l.append(nb::float_(get(m)));
    cols[name] = l;
  };
  using M = grib::Message;
  str_col("path", [](const M& m) -> const std::string& { return m.path; });
  int_col("offset", [](const M& m) { return m.offset; });
  int_col("length", [](const M& m) { return m.length; });
  int_col("field", [](const M& m) { return m.field; });
  int_col("fields", [](const M& m) { return m.fields; });
  int_col("edition", [](const M& m) { return m.edition; });
  str_col("shortName", [](const M& m) -> const std::string& { return m.short_name; });
  str_col("typeOfLevel", [](const M& m) -> const std::string& { return m.type_of_level; });
  str_col("packingType", [](const M& m) -> const std::string& { return m.packing_type; });
  str_col("gridType", [](const M& m) -> const std::string& { return m.grid_type; });
  str_col("units", [](const M& m) -> const std::string& { return m.units; });
  str_col("name", [](const M& m) -> const std::string& { return m.name; });
  str_col("stepUnits", [](const M& m) -> const std::string& { return m.step_units; });
  int_col("level", [](const M& m) { return m.level; });
  int_col("dataDate", [](const M& m) { return m.data_date; });
  int_col("dataTime", [](const M& m) { return m.data_time; });
  int_col("step", [](const M& m) { return m.step; });
  int_col("validityDate", [](const M& m) { return m.validity_date; });
  int_col("validityTime", [](const M& m) { return m.validity_time; });
  int_col("number", [](const M& m) { return m.number; });
  int_col("paramId", [](const M& m) { return m.param_id; });
  int_col("discipline", [](const M& m) { return m.discipline; });
  int_col("parameterCategory", [](const M& m) { return m.parameter_category; });
  int_col("parameterNumber", [](const M& m) { return m.parameter_number; });
  int_col("Ni", [](const M& m) { return m.ni; });
  int_col("Nj", [](const M& m) { return m.nj; });
  int_col("numberOfPoints", [](const M& m) { return m.number_of_points; });
  int_col("numberOfValues", [](const M& m) { return m.number_of_values; });
  int_col("bitmapPresent", [](const M& m) { return m.bitmap ? 1 : 0; });
  float_col("latitudeOfFirstGridPointInDegrees", [](const M& m) { return m.lat_first; });
  float_col("longitudeOfFirstGridPointInDegrees", [](const M& m) { return m.lon_first; });
  float_col("latitudeOfLastGridPointInDegrees", [](const M& m) { return m.lat_last; });
  float_col("longitudeOfLastGridPointInDegrees", [](const M& m) { return m.lon_last; });
  float_col("iDirectionIncrementInDegrees", [](const M& m) { return m.di; });
  float_col("jDirectionIncrementInDegrees", [](const M& m) { return m.dj; });
  int_col("iScansNegatively", [](const M& m) { return m.i_scans_negatively; });
  int_col("jScansPositively", [](const M& m) { return m.j_scans_positively; });
  return cols;
}

nb::list warning_list(const std::vector<std::string>& ws) {
  nb::list warnings;
  for (const std::string& w : ws) warnings.append(nb::str(w.c_str()));
  return warnings;
}

// Runs one scan (`fn(options)` returns its Result) with the GIL released, interruptible.
template <typename R, typename Fn>
R run_scan(Store& store, bool skip_garbage, uint64_t probe_bytes, std::optional<double> timeout, Fn fn) {
  if (Status s = store.check_not_in_callback("grib index"); !s.ok()) raise_status(s);
  grib::ScanOptions options;
  options.skip_garbage = skip_garbage;
  options.probe_bytes = probe_bytes;
  R result = error(Status(StatusCode::kInternal, "grib index did not run"));
  const Status status = run_interruptible(
      [&](const ReadOptions& o) {
        grib::ScanOptions opts = options;
        opts.read = o;
        result = fn(opts);
        return result.has_value() ? Status() : result.error();
      },
      timeout, "grib index");
  if (!status.ok()) raise_status(status);
  return result;
}

// (columns, warnings) of every message of `paths`.
nb::tuple scan(nb::handle store_obj, const std::vector<std::string>& paths, bool skip_garbage, uint64_t probe_bytes,
               std::optional<double> timeout) {
  std::shared_ptr<Store> store = store_of(store_obj);
  auto result =
      run_scan<Result<grib::ScanResult>>(*store, skip_garbage, probe_bytes, timeout,
                                         [&](const grib::ScanOptions& o) { return grib::scan(*store, paths, o); });
  return nb::make_tuple(columns(result->messages), warning_list(result->warnings));
}

// (columns, warnings, errors) of the messages an inventory gives: errors[i] is None or the exception of span i.
nb::tuple scan_spans(nb::handle store_obj, const std::vector<std::string>& paths, const std::vector<uint64_t>& offsets,
                     const std::vector<uint64_t>& lengths, uint64_t probe_bytes, std::optional<double> timeout) {
  std::shared_ptr<Store> store = store_of(store_obj);
  if (offsets.size() != paths.size() || lengths.size() != paths.size())
    raise_status(Status(StatusCode::kInvalidArgument, "grib index: the span columns differ in length"));
  std::vector<grib::MessageSpan> spans(paths.size());
  for (size_t i = 0; i < spans.size(); ++i) spans[i] = {paths[i], offsets[i], lengths[i]};
  auto result = run_scan<Result<grib::SpanScanResult>>(
      *store, false, probe_bytes, timeout,
      [&](const grib::ScanOptions& o) { return grib::scan_spans(*store, spans, o); });
  nb::list errors;
  for (const Status& e : result->errors) errors.append(e.ok() ? nb::none() : error_object(e));
  return nb::make_tuple(columns(result->scan.messages), warning_list(result->scan.warnings), errors);
}

void read(nb::handle store_obj, const std::vector<std::string>& paths, const std::vector<uint64_t>& offsets,
          const std::vector<uint64_t>& lengths, const std::vector<int64_t>& points, const std::vector<uint32_t>& field,
          const std::vector<uint32_t>& fields, nb::handle out, const std::string& dtype, size_t stride,
          std::optional<double> timeout) {
  std::shared_ptr<Store> store = store_of(store_obj);
  const size_t n = paths.size();
  if (offsets.size() != n || lengths.size() != n || points.size() != n || field.size() != n || fields.size() != n)
    raise_status(Status(StatusCode::kInvalidArgument, "grib read: the message columns differ in length"));
  grib::ValueType type;
  if (dtype == "float32")
    type = grib::ValueType::kFloat32;
  else if (dtype == "float64")
    type = grib::ValueType::kFloat64;
  else
    raise_status(Status(StatusCode::kInvalidArgument, "grib read: dtype must be float32 or float64, not " + dtype));
  const size_t elem = type == grib::ValueType::kFloat32 ? 4 : 8;
  std::vector<grib::Message> ms(paths.size());
  for (size_t i = 0; i < ms.size(); ++i) {
    ms[i].path = paths[i];
    ms[i].offset = offsets[i];
    ms[i].length = lengths[i];
    ms[i].number_of_points = points[i];
    ms[i].field = field[i];
    ms[i].fields = fields[i];
  }
  const BufferView view(out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS);
  const std::span<const std::byte> bytes = view.bytes();
  if (bytes.size() < ms.size() * stride * elem)
    raise_status(Status(StatusCode::kInvalidArgument, "grib read: the output buffer is too small"));
  void* dest = const_cast<std::byte*>(bytes.data());
  if (Status s = store->check_not_in_callback("grib read"); !s.ok()) raise_status(s);
  const Status status = run_interruptible(
      [&](const ReadOptions& o) { return grib::read_fields(*store, ms, dest, type, stride, o); }, timeout, "grib read");
  if (!status.ok()) raise_status(status);
}

// Per message: (gridType, distinct, latitudes bytes, longitudes bytes) as float64, or the message of an
// Unimplemented status (ecCodes has no coordinates for that grid); any other error raises.
nb::list coordinates(nb::handle store_obj, const std::vector<std::string>& paths, const std::vector<uint64_t>& offsets,
                     const std::vector<uint64_t>& lengths, const std::vector<uint32_t>& field,
                     const std::vector<uint32_t>& fields, std::optional<double> timeout) {
  std::shared_ptr<Store> store = store_of(store_obj);
  const size_t n = paths.size();
  if (offsets.size() != n || lengths.size() != n || field.size() != n || fields.size() != n)
    raise_status(Status(StatusCode::kInvalidArgument, "grib coordinates: the message columns differ in length"));
  std::vector<grib::Message> ms(n);
  for (size_t i = 0; i < n; ++i) {
    ms[i].path = paths[i];
    ms[i].offset = offsets[i];
    ms[i].length = lengths[i];
    ms[i].field = field[i];
    ms[i].fields = fields[i];
  }
  if (Status s = store->check_not_in_callback("grib coordinates"); !s.ok()) raise_status(s);
  std::vector<Result<grib::GridCoordinates>> out;
  const Status status = run_interruptible(
      [&](const ReadOptions& o) { return grib::grid_coordinates(*store, ms, out, o); }, timeout, "grib coordinates");
  if (!status.ok()) raise_status(status);
  nb::list result;
  for (const auto& r : out) {
    if (!r.has_value()) {
      if (r.error().code() != StatusCode::kUnimplemented) raise_status(r.error());
      result.append(nb::str(r.error().message().data(), r.error().message().size()));
      continue;
    }
    auto bytes = [](const std::vector<double>& v) {
      return nb::bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
    };
    result.append(
        nb::make_tuple(nb::str(r->grid_type.c_str()), r->distinct, bytes(r->latitudes), bytes(r->longitudes)));
  }
  return result;
}

}  // namespace
#endif

void init_grib(nb::module_& m) {
#ifdef LSIO_HAS_GRIB
  m.attr("HAS_GRIB") = true;
  m.def("grib_scan", &scan, "store"_a, "paths"_a, nb::kw_only(), "skip_garbage"_a = true, "probe_bytes"_a = 65536,
        "timeout"_a = nb::none(),
        "Indexes the GRIB2 messages of `paths` (store paths) without decoding values: (columns, warnings).");
  m.def("grib_scan_spans", &scan_spans, "store"_a, "paths"_a, "offsets"_a, "lengths"_a, nb::kw_only(),
        "probe_bytes"_a = 65536, "timeout"_a = nb::none(),
        "Indexes the messages at known (path, offset, length) spans (from inventories), all in one batch: "
        "(columns, warnings, errors), errors[i] None or the exception of span i.");
  m.def("grib_read", &read, "store"_a, "paths"_a, "offsets"_a, "lengths"_a, "points"_a, "field"_a, "fields"_a, "out"_a,
        nb::kw_only(), "dtype"_a, "stride"_a, "timeout"_a = nb::none(),
        "Decodes message i into out[i * stride:] (float32 or float64; missing values NaN) on the store's "
        "workers. GIL released.");
  m.def("grib_coordinates", &coordinates, "store"_a, "paths"_a, "offsets"_a, "lengths"_a, "field"_a, "fields"_a,
        nb::kw_only(), "timeout"_a = nb::none(),
        "Per message: (gridType, distinct, latitudes, longitudes) as float64 bytes (ecCodes' distinctLatitudes/"
        "distinctLongitudes for regular grids, else one per point), or a str when ecCodes has no coordinates for "
        "the grid. One batch on the store's workers, GIL released.");
#else
  m.attr("HAS_GRIB") = false;
#endif
}

}  // namespace lsio::python
