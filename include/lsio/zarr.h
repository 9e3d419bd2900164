// Zarr v2 and v3 arrays (sharded or not) and groups on a Store: open, create, read selections or many crops in one
// batch, write selections. Link lsio::zarr (CMake: find_package(lsio) + target_link_libraries(... lsio::zarr)).
//
//   auto store = lsio::open_store("/data");                          // Result<std::shared_ptr<Store>>
//   auto a = lsio::zarr::Array::open(*store, "sat.zarr");            // Result<Array>
//   using lsio::zarr::DimSelection;
//   lsio::zarr::Selection sel{DimSelection::slice(0, 4), DimSelection::slice(0, 512)};
//   std::vector<uint16_t> out(4 * 512);                              // a->dtype() == DataType::kUInt16
//   lsio::Status s = a->read(sel, std::as_writable_bytes(std::span(out)));
//
// Each read is one batch on the store's engine: for sharded arrays one batch of shard indexes, then one batch of
// every inner chunk the selection needs; each chunk is decoded on the worker that read it and written straight into
// its place in the caller's buffer. Missing chunks, shards and inner chunks read as the fill value.
//
// Errors are Status values (never exceptions) whose message names the key (e.g. "a.zarr/zarr.json",
// "a.zarr/c/0/1"): kNotFound for a missing array or group, kInvalidArgument for bad arguments or invalid metadata,
// kDataLoss for corrupt data (bad checksum, truncated shard, undecodable chunk, metadata that is not JSON),
// kUnimplemented for valid metadata this library does not support (an unknown codec, an extension data type), and
// the store's own codes (kIoError, kPermissionDenied...) for failed reads and writes.
//
// Options: every call that reads takes a trailing ReadOptions, passed to every store read the call makes (metadata,
// shard indexes, chunks), so the caller's coalescing, O_DIRECT and cancellation (ReadOptions::cancel) settings apply
// to all of them; writes stop between chunks once cancelled.
//
// Threads: an Array is a cheap handle (copies share one array); all its methods may be called from several threads
// at once, and their batches run on the store side by side. Calling an Array from inside a callback of its own store
// is refused (kFailedPrecondition): it could wait for workers busy running callbacks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lsio/dtype.h"
#include "lsio/status.h"
#include "lsio/store.h"

namespace lsio::zarr {

// What one dimension selects: a slice [start, stop) with step > 0, or a list of indices (any order, repeats
// allowed). An integer is a one-element list (the Python layer drops the dimension afterwards).
struct DimSelection {
  bool is_slice = true;
  uint64_t start = 0, stop = 0, step = 1;
  std::vector<uint64_t> indices;

  static DimSelection slice(uint64_t start, uint64_t stop, uint64_t step = 1) { return {true, start, stop, step, {}}; }
  static DimSelection list(std::vector<uint64_t> indices) { return {false, 0, 0, 1, std::move(indices)}; }
  uint64_t count() const;  // elements selected (0 for an empty slice)
};
// One DimSelection per array dimension: the orthogonal (outer) product of the per-dimension selections.
using Selection = std::vector<DimSelection>;

// Output shape of a selection: count() of each dimension.
std::vector<uint64_t> selection_shape(const Selection& sel);

// A conversion applied while chunks are placed into crops (Array::read_crops), so that normalising costs no second
// pass: out = in * scale[c] + offset[c], cast to `dtype`, where c is the element's index along `channel_dim` of its
// crop. scale and offset hold one value (every element) or one per index along channel_dim. Refused
// (kInvalidArgument) when dtype is not kFloat32/kFloat64, the array is complex, channel_dim is not a dimension of
// the crop while more than one value is given, or a list has neither 1 nor crop_shape[channel_dim] values.
struct Conversion {
  DataType dtype = DataType::kFloat32;
  size_t channel_dim = 0;
  std::vector<double> scale{1.0};
  std::vector<double> offset{0.0};
};

// Statistics of a selection reduced over some of its dimensions (Array::reduce): one entry per output element, C
// order over `shape` (the selection's kept dimensions; empty shape: one element). NaN elements are counted apart and
// left out of every other statistic; the caller decides what a NaN means (numpy's sum/nansum...).
struct Stats {
  std::vector<uint64_t> shape;
  std::vector<uint64_t> count;      // elements that are not NaN
  std::vector<uint64_t> nan_count;  // NaN elements (floating-point arrays only)
  std::vector<double> sum;          // compensated (Kahan) float64 sum of the non-NaN elements
  std::vector<double> mean;         // their mean (NaN when count is 0)
  std::vector<double> m2;           // sum of squared deviations from the mean (Chan/Welford): var = m2 / (count - ddof)
  // Integer and bool arrays: the exact sum as a 128-bit two's complement integer (hi * 2^64 + lo); else empty.
  std::vector<int64_t> int_sum_hi;
  std::vector<uint64_t> int_sum_lo;
  // Smallest and largest non-NaN element, itemsize() bytes each in the array's dtype (native endian); the fill value
  // where count is 0.
  std::vector<std::byte> min, max;
};

class ArrayImpl;  // src/zarr/array.h

// A Zarr v2 or v3 array. Holds its store (a shared_ptr) and the parsed metadata; copies are cheap and share the
// array, including its cache of decoded shard indexes. That cache is never invalidated by other writers: reopen the
// array to see shards that another Array or process rewrote since it was loaded.
class Array {
 public:
  // Opens the array at `path` in `store` ("" for the store root; trailing '/' ignored): zarr.json (v3) first, else
  // .zarray (+ .zattrs) (v2). kNotFound naming both keys when neither exists; metadata errors name the document's
  // key. Reads the metadata with `options`.
  static Result<Array> open(std::shared_ptr<Store> store, std::string_view path, const ReadOptions& options = {});

  // Creates an array at `path` from its metadata document: v3 zarr.json text, or v2 .zarray text (a document whose
  // "zarr_format" is 2) with `attributes_json` as its .zattrs text ("" for none; ignored for v3, whose attributes
  // are inside zarr.json). The document is validated (errors name path/zarr.json or path/.zarray) and written in
  // canonical form; the array starts empty (every element is the fill value). Existing metadata of either format
  // at `path` (zarr.json, .zarray, .zgroup) is kInvalidArgument unless `overwrite`, which removes it first; chunks
  // of an old array are not removed. Python's bare NaN/Infinity/-Infinity tokens are accepted.
  // Create makes no reads today (existence is checked with Store::sizes, which takes no options); `options` keeps
  // the signature of every other I/O call.
  static Result<Array> create(std::shared_ptr<Store> store, std::string_view path, std::string_view metadata_json,
                              std::string_view attributes_json = {}, bool overwrite = false,
                              const ReadOptions& options = {});

  // ---- metadata (no I/O; references stay valid while any copy of this Array lives) ----

  const std::string& path() const;              // the array's prefix in its store, without trailing '/'
  const std::shared_ptr<Store>& store() const;  // the store the array reads and writes through
  int zarr_format() const;                      // 2 or 3
  const std::vector<uint64_t>& shape() const;
  // The chunk shape a user reads in: the inner chunk shape for sharded arrays, else the chunk grid's.
  std::vector<uint64_t> chunk_shape() const;
  // The shard shape (the chunk grid's) for sharded arrays, else empty.
  std::vector<uint64_t> shard_shape() const;
  DataType dtype() const;
  // The numpy typestr of the decoded elements (native little-endian, e.g. "<u2"; "|u1" for one-byte types).
  std::string numpy_typestr() const;
  size_t itemsize() const;  // dtype_size(dtype())
  // One element of the fill value: itemsize() little-endian bytes.
  std::span<const std::byte> fill_value() const;
  // The attributes as a JSON object text ("{}" when none).
  std::string attributes_json() const;
  // The metadata document: zarr.json (v3), or .zarray with the .zattrs attributes under "attributes" (v2).
  std::string metadata_json() const;
  // One entry per dimension (nullopt: unnamed), or empty when the metadata has no dimension_names.
  const std::vector<std::optional<std::string>>& dimension_names() const;
  // The store key of the chunk (shard, for sharded arrays) at these chunk grid coordinates (one per dimension).
  std::string chunk_key(std::span<const uint64_t> coords) const;

  // ---- I/O ----

  // Reads `sel` into `out`: selection_shape(sel) elements in C order, itemsize() bytes each, native endian. `out`
  // must hold exactly that many bytes, stay valid until the call returns, and not be read meanwhile (it may be
  // written in any order by several workers; on error its contents are unspecified). kInvalidArgument for a
  // selection out of bounds (naming the dimension) or a wrong output size.
  Status read(const Selection& sel, std::span<std::byte> out, const ReadOptions& options = {}) const;

  // Reads many crops in one batch: crop i is the box starting at starts[i*ndim .. i*ndim+ndim) with `crop_shape`,
  // written to out[i * crop bytes ...] in C order (crop bytes: product(crop_shape) * the output itemsize). Starts
  // may be negative and crops may reach past the end: elements outside the array read as the fill value. Without a
  // conversion the output elements are the array's dtype; with one, conversion->dtype, converted (and scaled per
  // channel) as each chunk is placed. A chunk shared by several crops is read and decoded once. `out` follows the
  // rules of read(); `conversion` is only used during the call.
  Status read_crops(std::span<const int64_t> starts, std::span<const uint64_t> crop_shape, std::span<std::byte> out,
                    const Conversion* conversion = nullptr, const ReadOptions& options = {}) const;

  // Writes `src` (selection_shape(sel) elements, C order, native endian) into `sel`. Each chunk (or shard) is
  // rewritten whole and atomically (Store::put); chunks only partly covered are read (with `options`), modified and
  // written; chunks (inner chunks) left equal to the fill value are removed rather than stored. Not atomic as a
  // whole: on error, some chunks may hold the new elements. Concurrent writes touching the same chunk or shard may
  // lose one another's elements (each rewrites it whole).
  Status write(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options = {});

  // Reduces `sel` (slices only) over the dimensions in `axes` (indices into the array's dimensions, any order, no
  // repeats; all of them for a full reduction) without ever holding it whole: chunks are read in waves of a few
  // thousand, each decoded and folded on the worker that read it into that worker's accumulators (float64, Kahan
  // sums, Chan-merged variance; 128-bit integer sums), merged at the end. Missing chunks (and inner chunks) are
  // counted as the fill value without being read. Memory: the store's in-flight buffers, one decoded chunk per worker,
  // and one accumulator per output element per worker. kUnimplemented for complex arrays; kInvalidArgument for a bad
  // axis, a list selection, or a selection out of bounds. An empty selection gives counts of 0.
  Result<Stats> reduce(const Selection& sel, std::span<const size_t> axes, const ReadOptions& options = {}) const;

 private:
  friend struct ArrayAccess;  // src/zarr: builds Arrays around an ArrayImpl
  explicit Array(std::shared_ptr<ArrayImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<ArrayImpl> impl_;  // never null
};

// A Zarr group, as read by open_node: its documents, parsed. A plain value (no store, no I/O).
struct Group {
  std::string path;  // the group's prefix in its store, without trailing '/'
  int zarr_format = 3;
  std::string attributes_json = "{}";  // a JSON object text
  // v3: the "consolidated_metadata" member of zarr.json as written; v2: the "metadata" object of .zmetadata. As JSON
  // text; nullopt when there is none.
  std::optional<std::string> consolidated_json;
};

using Node = std::variant<Array, Group>;

// The array or group at `path` of `store` ("" for the root): zarr.json (v3) first (an array or a group, by its
// "node_type"), then .zarray (v2 array), then .zgroup (v2 group, with .zattrs and .zmetadata). kNotFound naming the
// three keys when none exists; metadata errors name the document's key. Reads with `options`.
Result<Node> open_node(std::shared_ptr<Store> store, std::string_view path, const ReadOptions& options = {});

}  // namespace lsio::zarr
