// Declarations shared by the _lsio binding files (one file per concept).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lsio/lsio.h"

namespace lsio::python {

namespace nb = nanobind;

// errors.cc: lsio.LsioError, OutOfRangeError, DataLossError and the one table
// that maps a StatusCode to a Python exception type.
void init_errors(nb::module_& m);
// A new exception instance for a failed Status (message: Status::to_string();
// errno set on OSError subclasses when Status::sys_errno() != 0).
nb::object error_object(const Status& status);
// Raises error_object(status) as a C++ nb::python_error.
[[noreturn]] void raise_status(const Status& status);

// buffer.cc: lsio.Buffer, a read-only buffer-protocol view that keeps its Bytes alive.
void init_buffer(nb::module_& m);
nb::object make_buffer(Bytes bytes);

// store.cc: lsio.Store and lsio._lsio.open().
void init_store(nb::module_& m);
// The C++ object behind an lsio.Store.
struct PyStore {
  std::shared_ptr<Store> store;
  std::string url;
  nb::dict options;  // the keyword options of lsio.open, for pickling
  nb::dict sources;  // option -> where its value came from ("explicit", "default", "profile ...", "preset ...")
};
// The store of an lsio.Store object (shared: it stays alive while the result does). TypeError for anything else.
std::shared_ptr<Store> store_of(nb::handle obj);

// store.cc: runs a ReadBatch on the store (big batches prepared on a helper
// thread), waiting interruptibly (Ctrl-C, timeout) as read_ranges does; done on return.
Batch run_read_batch(const PyStore& self, std::shared_ptr<ReadBatch> batch, const ReadOptions& options,
                     std::optional<double> timeout, std::string_view what);
// Submits and waits interruptibly; waits for the drain when interrupted (the kernel never writes into
// caller memory after this returns or raises).
Batch run_batch(Batch batch, std::optional<double> timeout, std::string_view what);

// result.cc: lsio.BatchResult, the results of one batch in one object (read_batch).
void init_result(nb::module_& m);
nb::object read_batch(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends, nb::handle out,
                      std::string_view on_error, std::optional<uint64_t> coalesce_gap, bool direct,
                      std::optional<double> timeout, uint64_t max_request_bytes);
// read_ranges(..., out=buffer): every range read into one caller buffer, back to back; the offsets
// (n + 1 int64, numpy) where each range starts. Raises the first error.
nb::object read_ranges_flat(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends, nb::handle out,
                            bool direct, std::optional<double> timeout);

// zarr.cc: lsio._lsio.ZarrArray and zarr_open / zarr_create / zarr_open_node (after init_store: takes Store objects).
void init_zarr(nb::module_& m);

// grib.cc: lsio._lsio.grib_scan / grib_read (HAS_GRIB is False when the module was built without ecCodes).
void init_grib(nb::module_& m);

// wait.cc: interruptible waits (see the file's comment).
class Waitable {
 public:
  virtual ~Waitable() = default;
  virtual bool wait_for(std::chrono::nanoseconds d) const = 0;
  virtual void wait() const = 0;
  virtual void cancel(const Status& why) const = 0;
  virtual std::string pending() const = 0;  // what is left, for a timeout's message
  // After a cancel, wait for the drain before raising (false only where nothing the caller owns is in use).
  virtual bool drain_after_cancel() const { return true; }
};

struct BatchWaitable final : Waitable {
  explicit BatchWaitable(Batch b) : batch(std::move(b)) {}
  bool wait_for(std::chrono::nanoseconds d) const override;
  void wait() const override;
  void cancel(const Status& why) const override;
  std::string pending() const override;
  Batch batch;
};

// A blocking C++ call (e.g. a Zarr read) run on its own thread with a
// CancelSource in its ReadOptions, so that the calling thread can wait
// interruptibly. Its work must finish promptly once cancelled.
class BackgroundCall final : public Waitable {
 public:
  BackgroundCall(std::function<Status(const ReadOptions&)> work, std::string what,
                 std::shared_ptr<CancelSource> token = nullptr);
  ~BackgroundCall();
  bool wait_for(std::chrono::nanoseconds d) const override;
  void wait() const override;
  void cancel(const Status& why) const override;
  std::string pending() const override;
  bool done() const;
  Status status() const;  // when done
  void on_done(std::function<void()> fn) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::shared_ptr<CancelSource> cancel_;
  std::shared_ptr<CancelSource> token_;
  uint64_t token_subscription_ = 0;
  std::string what_;
};

// lsio.CancelToken: a CancelSource Python code can hold and cancel (e.g. a loader
// stopping its prefetch thread's read_crops).
void init_wait(nb::module_& m);
// Calls `owned` (a callable; the reference is taken over) soon on the done-callback thread, with the GIL,
// never on a store's worker; callable without the GIL. Dropped after lsio._lsio._close_callbacks() (atexit).
void post_python_callback(PyObject* owned);
// The CancelSource of a CancelToken object, or null for None (TypeError otherwise).
std::shared_ptr<CancelSource> cancel_source_of(nb::handle token);

// Waits for `work` with the GIL released; Ctrl-C (in the main thread) cancels
// it, waits for the drain and raises KeyboardInterrupt; a timeout (seconds,
// None: none) cancels it and raises TimeoutError naming `what` and what was
// still pending. Called with the GIL held.
// The deadline of a timeout in seconds (ValueError when negative or NaN).
std::optional<std::chrono::steady_clock::time_point> deadline_of(std::optional<double> timeout);
void wait_interruptible(const Waitable& work, std::optional<double> timeout, std::string_view what);
// Ctrl-C inside a loop that holds the GIL over millions of items (converting
// a batch's arguments or its results: 0.1-0.4 s per million): Python's
// handlers run every 2^16 items, and KeyboardInterrupt leaves the loop.
inline void poll_signals(size_t i) {
  if ((i & 0xFFFF) == 0xFFFF && PyErr_CheckSignals() != 0) throw nb::python_error();
}
// run `work` as a BackgroundCall and wait_interruptible for it; its Status.
// `token` (may be null) cancels it too, from any thread.
Status run_interruptible(std::function<Status(const ReadOptions&)> work, std::optional<double> timeout,
                         std::string_view what, std::shared_ptr<CancelSource> token = nullptr);

// args.cc: argument conversion (done with the GIL held, before the I/O starts).
enum class OnError : uint8_t { kRaise, kReturn };
OnError parse_on_error(std::string_view value);

// Converts path objects (str, bytes or os.PathLike) to UTF-8 (or, for names
// that are not valid UTF-8, filesystem-encoded) strings. Each distinct path is
// converted once: an object seen before is recognised by its address (a
// pointer-keyed hash map: about a third of the cost of a dict probe per
// range, measured with callgrind), equal objects by a dict lookup (str
// objects cache their hash). The objects must outlive the converter (a
// PathList holds them), so an address is never reused meanwhile.
class PathConverter {
 public:
  // `name` names the argument in errors ("paths[3]: expected str ...").
  explicit PathConverter(const char* name = "paths") : name_(name) {}
  // The path of `item` (a borrowed reference); `index` only names it in errors.
  // The view lives as long as the converter.
  std::string_view view(PyObject* item, size_t index) { return entry(item, index).path; }
  // Id of `item` in `batch` (ReadBatch::file_id), converted once per distinct path.
  uint32_t file_id(ReadBatch& batch, PyObject* item, size_t index);

 private:
  struct Entry {
    std::string_view path;
    uint32_t id;  // kNoId until file_id() asked for it
  };
  static constexpr uint32_t kNoId = UINT32_MAX;
  Entry& entry(PyObject* item, size_t index);
  std::string_view encode(PyObject* item, size_t index);

  const char* name_;
  PyObject* last_item_ = nullptr;
  Entry* last_entry_ = nullptr;
  std::unordered_map<PyObject*, Entry*> by_object_;  // every object seen (see the class comment)
  nb::dict positions_;                               // path object -> position in entries_ (keeps the objects alive)
  std::deque<Entry> entries_;                        // stable addresses
  std::deque<std::string> owned_;                    // encoded copies of non-str paths
};

// The items of `paths`: one path repeated `n` times when `paths` is a str,
// bytes or os.PathLike, else a sequence that must have exactly n items.
// Holds a reference that keeps the items alive.
class PathList {
 public:
  PathList(nb::handle paths, size_t n);
  // `paths` alone (no other column gives the length): a single path counts as one.
  explicit PathList(nb::handle paths);
  size_t size() const { return size_; }
  PyObject* operator[](size_t i) const { return single_ ? single_ : items_[i]; }

 private:
  void init(nb::handle paths, bool fixed_size, size_t n);
  nb::object holder_;
  PyObject* single_ = nullptr;
  PyObject** items_ = nullptr;
  size_t size_ = 0;
};

// A column of int64 values: a borrowed 1-d numpy (or other buffer/DLPack) array
// of integers, or a Python sequence of ints (None -> `none`, when allowed).
class IntColumn {
 public:
  IntColumn(nb::handle values, const char* name, bool allow_none, int64_t none = -1);
  size_t size() const { return size_; }
  int64_t operator[](size_t i) const { return data_[i]; }
  const int64_t* data() const { return data_; }

 private:
  // Keeps data_ alive when it points into an array (or a converted copy of one).
  nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> array_;
  std::vector<int64_t> owned_;
  const int64_t* data_ = nullptr;
  size_t size_ = 0;
};

// Builds a ReadBatch from (paths, starts, ends); ends may be None. Raises
// ValueError/TypeError for malformed arguments (never a per-request error).
ReadBatch make_read_batch(nb::handle paths, nb::handle starts, nb::handle ends);

// Py_buffer views of a sequence of buffer objects, released on destruction
// (with the GIL held). While held, the exporters cannot resize or free them.
class BufferViews {
 public:
  BufferViews(nb::handle objects, const char* name, bool writable);
  ~BufferViews();
  BufferViews(const BufferViews&) = delete;
  BufferViews& operator=(const BufferViews&) = delete;
  size_t size() const { return views_.size(); }
  const Py_buffer& operator[](size_t i) const { return views_[i]; }

 private:
  void release();
  std::vector<Py_buffer> views_;
};

// One contiguous Py_buffer, released on destruction.
class BufferView {
 public:
  BufferView(nb::handle object, int flags);
  ~BufferView() { PyBuffer_Release(&view_); }
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;
  std::span<const std::byte> bytes() const {
    return {static_cast<const std::byte*>(view_.buf), static_cast<size_t>(view_.len)};
  }

 private:
  Py_buffer view_;
};

}  // namespace lsio::python
