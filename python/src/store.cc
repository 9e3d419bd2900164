// lsio.Store: batched reads and writes through an lsio::Store, GIL released during I/O.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "bindings.h"
#include "call_threads.h"
#include "gil.h"

namespace lsio::python {

namespace {

using namespace nb::literals;

// A per-chunk callback threw; unwinds through the store's for_each.
struct CallbackFailed {};

// The store itself refuses calls from its own callbacks (kFailedPrecondition,
// RuntimeError here) at every entry point; checking here too gives the error
// before any argument is converted.
void check_not_in_callback(const PyStore& self) {
  if (Status s = self.store->check_not_in_callback("lsio.Store"); !s.ok()) raise_status(s);
}

EngineKind parse_engine(std::string_view engine) {
  if (engine == "auto") return EngineKind::kAuto;
  if (engine == "uring") return EngineKind::kUring;
  if (engine == "posix") return EngineKind::kPosix;
  throw nb::value_error(("engine must be 'auto', 'uring' or 'posix', not '" + std::string(engine) + "'").c_str());
}

ReadOptions read_options(std::optional<uint64_t> coalesce_gap, bool direct, uint64_t max_request_bytes = 0) {
  ReadOptions options;
  options.coalesce_gap = coalesce_gap;
  options.direct = direct;
  options.max_request_bytes = max_request_bytes;
  return options;
}

[[noreturn]] void raise_value(const std::string& message) { throw nb::value_error(message.c_str()); }

nb::list new_list(size_t n) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(n));
  if (list == nullptr) throw nb::python_error();
  return nb::steal<nb::list>(list);
}

// Buffers (or exceptions, with OnError::kReturn) in request order.
nb::list result_list(std::vector<Result<Bytes>>& results, OnError on_error) {
  if (on_error == OnError::kRaise)
    for (const Result<Bytes>& r : results)
      if (!r) raise_status(r.error());
  nb::list list = new_list(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    poll_signals(i);
    Result<Bytes>& r = results[i];
    nb::object item = r ? make_buffer(std::move(*r)) : error_object(r.error());
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), item.release().ptr());
  }
  return list;
}

// None (raising the first error), or a list of None-or-exception.
nb::object status_list(const std::vector<Status>& statuses, OnError on_error) {
  if (on_error == OnError::kRaise) {
    for (const Status& s : statuses)
      if (!s.ok()) raise_status(s);
    return nb::none();
  }
  nb::list list = new_list(statuses.size());
  for (size_t i = 0; i < statuses.size(); ++i) {
    poll_signals(i);
    nb::object item = statuses[i].ok() ? nb::none() : error_object(statuses[i]);
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), item.release().ptr());
  }
  return list;
}

// A big batch submitted on a helper thread: preparing millions of requests takes
// long enough (0.1 s per million) that Ctrl-C must be answered meanwhile. The
// results belong to the batch alone, so an interrupted or timed-out call
// returns at once and the cancelled batch finishes on its own.
class AsideBatch final : public Waitable {
 public:
  AsideBatch(std::shared_ptr<Store> store, std::shared_ptr<const ReadBatch> batch, ReadOptions options)
      : state_(std::make_shared<State>()), cancel_(CancelSource::create()), requests_(batch) {
    options.cancel = cancel_;
    run_on_call_thread([state = state_, store = std::move(store), batch = std::move(batch), options]() mutable {
      Batch submitted = store->submit(std::move(batch), options);
      {
        std::lock_guard lock(state->mu);
        state->batch = std::move(submitted);
      }
      state->cv.notify_all();
    });
  }
  bool wait_for(std::chrono::nanoseconds d) const override {
    const auto deadline = std::chrono::steady_clock::now() + d;
    std::unique_lock lock(state_->mu);
    if (!state_->cv.wait_until(lock, deadline, [&] { return state_->batch.valid(); })) return false;
    const Batch b = state_->batch;
    lock.unlock();
    return b.wait_for(std::max<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now(), {}));
  }
  void wait() const override { submitted().wait(); }
  void cancel(const Status& why) const override { cancel_->cancel(why); }
  std::string pending() const override {
    std::lock_guard lock(state_->mu);
    if (state_->batch.valid()) return state_->batch.describe_pending();
    // Still being prepared: nothing is delivered yet.
    const size_t n = requests_->size();
    return std::to_string(n) + " of " + std::to_string(n) + " requests not delivered; first: request 0 (" +
           requests_->path_of(0) + " " + requests_->range(0).to_string() + ")";
  }
  bool drain_after_cancel() const override { return false; }
  Batch submitted() const {
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->batch.valid(); });
    return state_->batch;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    Batch batch;
  };
  std::shared_ptr<State> state_;
  std::shared_ptr<CancelSource> cancel_;
  std::shared_ptr<const ReadBatch> requests_;
};

constexpr size_t kSubmitAside = 1 << 16;  // requests from which read_ranges prepares its batch on a helper thread

}  // namespace

Batch run_batch(Batch batch, std::optional<double> timeout, std::string_view what) {
  BatchWaitable waitable(std::move(batch));
  wait_interruptible(waitable, timeout, what);
  return std::move(waitable.batch);
}

Batch run_read_batch(const PyStore& self, std::shared_ptr<ReadBatch> batch, const ReadOptions& options,
                     std::optional<double> timeout, std::string_view what) {
  if (batch->size() >= kSubmitAside) {
    AsideBatch aside(self.store, std::move(batch), options);
    wait_interruptible(aside, timeout, what);
    return aside.submitted();
  }
  Batch running;
  {
    nb::gil_scoped_release release;
    running = self.store->submit(std::move(batch), options);
  }
  return run_batch(std::move(running), timeout, what);
}

namespace {

nb::object read_ranges(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends, std::string_view on_error,
                       std::optional<uint64_t> coalesce_gap, bool direct, std::optional<double> timeout,
                       uint64_t max_request_bytes, nb::handle out) {
  check_not_in_callback(self);
  const OnError mode = parse_on_error(on_error);
  if (!out.is_none()) {
    if (mode != OnError::kRaise)
      throw nb::value_error(
          "read_ranges(out=...) raises the first error; for errors per range use read_batch(out=...)");
    return read_ranges_flat(self, paths, starts, ends, out, direct, timeout);
  }
  deadline_of(timeout);  // validates it before any I/O
  auto batch = std::make_shared<ReadBatch>(make_read_batch(paths, starts, ends));
  Batch running = run_read_batch(self, std::move(batch), read_options(coalesce_gap, direct, max_request_bytes), timeout,
                                 "read_ranges");
  std::vector<Result<Bytes>> results = running.take_results();
  return result_list(results, mode);
}

// A batch submitted by Store.submit_read (the asyncio path: lsio.Store.read_ranges_async).
struct PyPendingRead {
  Batch batch;
  bool taken = false;
};

PyPendingRead submit_read(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends,
                          std::optional<uint64_t> coalesce_gap, bool direct, uint64_t max_request_bytes) {
  check_not_in_callback(self);
  auto batch = std::make_shared<ReadBatch>(make_read_batch(paths, starts, ends));
  const ReadOptions options = read_options(coalesce_gap, direct, max_request_bytes);
  nb::gil_scoped_release release;
  return PyPendingRead{self.store->submit(std::move(batch), options)};
}

nb::list pending_result(PyPendingRead& self, std::string_view on_error) {
  const OnError mode = parse_on_error(on_error);
  if (!self.batch.done()) throw std::runtime_error("the batch is still running: wait for it first");
  if (self.taken) throw std::runtime_error("the results of this batch were already taken");
  self.taken = true;
  std::vector<Result<Bytes>> results = self.batch.take_results();
  return result_list(results, mode);
}

// Calls fn() once the batch is done, on lsio's done-callback thread (with the GIL).
void pending_add_done_callback(PyPendingRead& self, nb::callable fn) {
  // The reference travels as a raw pointer: the worker that finishes the batch has no GIL and must not
  // touch reference counts; the callback thread calls and releases it.
  if (self.batch.done()) {  // like Batch::on_done: at once, on this thread
    fn();
    return;
  }
  PyObject* raw = fn.release().ptr();
  self.batch.on_done([raw] { post_python_callback(raw); });
}

nb::object read_into(PyStore& self, nb::handle paths, nb::handle starts, nb::handle outs, std::string_view on_error,
                     bool direct, std::optional<double> timeout) {
  check_not_in_callback(self);
  const OnError mode = parse_on_error(on_error);
  const IntColumn offsets(starts, "starts", /*allow_none=*/false);
  const size_t n = offsets.size();
  const BufferViews views(outs, "outs", /*writable=*/true);
  if (views.size() != n)
    raise_value("outs has " + std::to_string(views.size()) + " items but starts has " + std::to_string(n));
  const PathList items(paths, n);
  PathConverter converter;
  deadline_of(timeout);
  auto batch = std::make_shared<ReadIntoBatch>();
  for (size_t i = 0; i < n; ++i) {
    poll_signals(i);
    const int64_t offset = offsets[i];
    const Py_buffer& view = views[i];
    if (offset < 0 && offset != -static_cast<int64_t>(view.len))
      raise_value("request " + std::to_string(i) + ": start " + std::to_string(offset) + " reads the last " +
                  std::to_string(-offset) + " bytes, but outs[" + std::to_string(i) + "] holds " +
                  std::to_string(view.len) + " bytes");
    batch->add(converter.view(items[i], i), offset,
               std::span<std::byte>(static_cast<std::byte*>(view.buf), static_cast<size_t>(view.len)));
  }
  const ReadOptions options = read_options(std::nullopt, direct);
  Batch running;
  {
    nb::gil_scoped_release release;
    running = self.store->submit(std::move(batch), options);
  }
  // Waits for the drain even when interrupted: the kernel never writes into `outs` after this returns.
  running = run_batch(std::move(running), timeout, "read_into");
  return status_list(running.take_statuses(), mode);
}

nb::list sizes(PyStore& self, nb::handle paths, std::string_view on_error) {
  check_not_in_callback(self);
  const OnError mode = parse_on_error(on_error);
  const PathList items(paths);
  PathConverter converter;
  std::vector<std::string> names;
  names.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) names.emplace_back(converter.view(items[i], i));
  std::vector<Result<uint64_t>> results;
  {
    nb::gil_scoped_release release;
    results = self.store->sizes(names);
  }
  if (mode == OnError::kRaise)
    for (const Result<uint64_t>& r : results)
      if (!r) raise_status(r.error());
  nb::list list = new_list(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    poll_signals(i);
    nb::object item = results[i] ? nb::int_(*results[i]) : error_object(results[i].error());
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), item.release().ptr());
  }
  return list;
}

std::vector<std::string> path_strings(nb::handle paths) {
  const PathList items(paths);
  PathConverter converter;
  std::vector<std::string> names;
  names.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) names.emplace_back(converter.view(items[i], i));
  return names;
}

nb::object remove(PyStore& self, nb::handle paths, std::string_view on_error) {
  check_not_in_callback(self);
  const OnError mode = parse_on_error(on_error);
  const std::vector<std::string> names = path_strings(paths);
  std::vector<Status> statuses;
  {
    nb::gil_scoped_release release;
    statuses = self.store->remove(names);
  }
  return status_list(statuses, mode);
}

Listing list_objects(PyStore& self, std::string_view prefix, bool recursive) {
  check_not_in_callback(self);
  Result<Listing> listing;
  {
    nb::gil_scoped_release release;
    listing = self.store->list(prefix, recursive);
  }
  if (!listing) raise_status(listing.error());
  return std::move(*listing);
}

nb::list entries(const Listing& listing) {
  nb::list out = new_list(listing.objects.size());
  for (size_t i = 0; i < listing.objects.size(); ++i) {
    const ListEntry& e = listing.objects[i];
    nb::object item = nb::make_tuple(e.path, e.size);
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), item.release().ptr());
  }
  return out;
}

nb::list list(PyStore& self, std::string_view prefix) { return entries(list_objects(self, prefix, true)); }

nb::tuple list_dir(PyStore& self, std::string_view prefix) {
  const Listing listing = list_objects(self, prefix, false);
  nb::list prefixes;
  for (const std::string& p : listing.prefixes) prefixes.append(p);
  return nb::make_tuple(entries(listing), prefixes);
}

nb::object write(PyStore& self, nb::handle paths, nb::handle offsets, nb::handle datas, std::string_view on_error) {
  check_not_in_callback(self);
  const OnError mode = parse_on_error(on_error);
  const IntColumn at(offsets, "offsets", /*allow_none=*/false);
  const size_t n = at.size();
  const BufferViews views(datas, "datas", /*writable=*/false);
  if (views.size() != n)
    raise_value("datas has " + std::to_string(views.size()) + " items but offsets has " + std::to_string(n));
  const PathList items(paths, n);
  PathConverter converter;
  std::vector<WriteRequest> requests(n);
  for (size_t i = 0; i < n; ++i) {
    poll_signals(i);
    if (at[i] < 0) raise_value("offsets[" + std::to_string(i) + "] is negative: " + std::to_string(at[i]));
    requests[i].path = converter.view(items[i], i);
    requests[i].offset = static_cast<uint64_t>(at[i]);
    requests[i].data = {static_cast<const std::byte*>(views[i].buf), static_cast<size_t>(views[i].len)};
  }
  std::vector<Status> statuses;
  {
    nb::gil_scoped_release release;
    statuses = self.store->write(requests);
  }
  return status_list(statuses, mode);
}

void put(PyStore& self, nb::handle path, nb::handle data, bool fsync) {
  check_not_in_callback(self);
  PathConverter converter("path");
  const std::string_view name = converter.view(path.ptr(), 0);
  const BufferView view(data, PyBUF_C_CONTIGUOUS);
  PutOptions options;
  options.fsync = fsync;
  Status status;
  {
    nb::gil_scoped_release release;
    status = self.store->put(name, view.bytes(), options);
  }
  if (!status.ok()) raise_status(status);
}

// Calls fn(index, Buffer | exception) for each range as its read completes, on
// the store's worker threads (taking the GIL). The first exception raised by fn
// cancels the batch and is re-raised here.
void for_each(PyStore& self, nb::handle paths, nb::handle starts, nb::handle ends, nb::callable fn,
              std::optional<uint64_t> coalesce_gap, bool direct, std::optional<double> timeout) {
  check_not_in_callback(self);
  deadline_of(timeout);
  auto batch = std::make_shared<ReadBatch>(make_read_batch(paths, starts, ends));
  const ReadOptions options = read_options(coalesce_gap, direct);
  std::optional<nb::python_error> failure;  // guarded by the GIL
  const ChunkCallback callback = [&](size_t index, Result<Bytes> chunk) {
    WorkerGil gil;  // not nb::gil_scoped_acquire: see gil.h
    if (failure) throw CallbackFailed{};
    try {
      nb::object value = chunk ? make_buffer(std::move(*chunk)) : error_object(chunk.error());
      fn(index, value);
    } catch (nb::python_error& e) {
      failure.emplace(std::move(e));
      throw CallbackFailed{};
    }
  };
  Batch running;
  {
    nb::gil_scoped_release release;
    running = self.store->submit(std::move(batch), callback, options);
  }
  running = run_batch(std::move(running), timeout, "for_each");
  if (failure) throw nb::python_error(std::move(*failure));
  if (Status status = running.status(); !status.ok()) raise_status(status);
}

// RemoteOptions from lsio.open's remote keywords (lsio.REMOTE_OPTIONS; unknown ones are refused in Python).
RemoteOptions remote_options(const nb::dict& remote) {
  RemoteOptions o;
  auto str = [&](const char* key, std::string& out) {
    if (remote.contains(key)) out = nb::cast<std::string>(remote[key]);
  };
  auto num = [&](const char* key, auto& out) {
    if (remote.contains(key)) out = nb::cast<std::remove_reference_t<decltype(out)>>(remote[key]);
  };
  str("endpoint", o.endpoint);
  str("region", o.region);
  str("access_key_id", o.access_key_id);
  str("secret_access_key", o.secret_access_key);
  str("session_token", o.session_token);
  str("profile", o.profile);
  str("ca_bundle", o.ca_bundle);
  num("anonymous", o.anonymous);
  num("http2", o.http2);
  num("verify_tls", o.verify_tls);
  num("max_connections", o.max_connections);
  num("max_inflight", o.max_inflight);
  num("max_inflight_bytes", o.max_inflight_bytes);
  num("connect_timeout", o.connect_timeout_s);
  num("low_speed_limit", o.low_speed_bytes);
  num("low_speed_time", o.low_speed_time_s);
  num("max_attempts", o.max_attempts);
  num("max_retry_time", o.max_retry_time_s);
  num("backoff_initial", o.backoff_initial_s);
  num("backoff_max", o.backoff_max_s);
  num("retry_after_cap", o.retry_after_cap_s);
  num("multipart_threshold", o.multipart_threshold);
  num("multipart_part_size", o.multipart_part_size);
  num("coalesce_gap", o.coalesce_gap);
  num("max_merged", o.max_merged);
  num("part_size", o.part_size);
  if (remote.contains("addressing")) {
    const std::string a = nb::cast<std::string>(remote["addressing"]);
    if (a == "auto")
      o.addressing = S3Addressing::kAuto;
    else if (a == "path")
      o.addressing = S3Addressing::kPath;
    else if (a == "virtual")
      o.addressing = S3Addressing::kVirtualHost;
    else
      throw nb::value_error(("addressing must be 'auto', 'path' or 'virtual', not '" + a + "'").c_str());
  }
  return o;
}

// The planning defaults coalesce_gap, max_merged and part_size (keywords shared by file and remote stores), and
// a file store's max_inflight_bytes.
void file_planning(const nb::dict& remote, StoreOptions& o) {
  if (remote.contains("coalesce_gap")) o.coalesce_gap = nb::cast<uint64_t>(remote["coalesce_gap"]);
  if (remote.contains("max_merged")) o.max_merged = nb::cast<uint64_t>(remote["max_merged"]);
  if (remote.contains("part_size")) o.part_size = nb::cast<uint64_t>(remote["part_size"]);
  if (remote.contains("max_inflight_bytes")) o.max_inflight_bytes = nb::cast<uint64_t>(remote["max_inflight_bytes"]);
}

PyStore open(const std::string& url, std::string_view engine, unsigned workers, unsigned queue_depth,
             unsigned max_open_files, uint64_t cache_bytes, double cache_revalidate_after, const nb::dict& remote,
             uint64_t direct_threshold, bool inline_reads, const nb::dict& sources) {
  nb::dict kwargs;
  if (cache_bytes > 0) kwargs["cache"] = cache_bytes;
  if (cache_revalidate_after > 0) kwargs["revalidate_after"] = cache_revalidate_after;
  if (direct_threshold != StoreOptions{}.direct_threshold) kwargs["direct_threshold"] = direct_threshold;
  if (!inline_reads) kwargs["inline_reads"] = false;
  kwargs["engine"] = engine;
  kwargs["workers"] = workers;
  kwargs["queue_depth"] = queue_depth;
  kwargs["max_open_files"] = max_open_files;
  for (auto [k, v] : remote) kwargs[k] = v;
  StoreOptions options;
  options.engine = parse_engine(engine);
  options.workers = workers;
  options.queue_depth = queue_depth;
  options.max_open_files = max_open_files;
  options.remote = remote_options(remote);
  file_planning(remote, options);
  options.direct_threshold = direct_threshold;
  options.inline_reads = inline_reads;
  options.cache_bytes = cache_bytes;
  if (!(cache_revalidate_after >= 0) || cache_revalidate_after > 1e9) {
    throw nb::value_error("revalidate_after must be between 0 and 1e9 seconds");
  }
  options.cache_revalidate_after =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(cache_revalidate_after));
  Result<std::shared_ptr<Store>> store;
  {
    nb::gil_scoped_release release;
    store = open_store(url, options);
  }
  if (!store) raise_status(store.error());
  return PyStore{std::move(*store), url, kwargs, sources};
}

// The options without secrets (for the `options` property and repr).
nb::dict shown_options(const PyStore& s) {
  nb::dict out = nb::cast<nb::dict>(s.options.attr("copy")());
  for (const char* secret : {"secret_access_key", "session_token"}) {
    if (out.contains(secret)) out[secret] = "***";
  }
  return out;
}

// Pickles as lsio.open(url, **options): the copy opens its own store lazily (threads start on first use).
nb::tuple reduce(const PyStore& self) {
  if (self.url.starts_with("memory://")) {
    throw nb::type_error(("cannot pickle the store " + self.url +
                          ": its data lives in this process only (use a file, s3:// or http(s):// store)")
                             .c_str());
  }
  nb::object reopen = nb::module_::import_("lsio").attr("_reopen");
  return nb::make_tuple(reopen, nb::make_tuple(self.url, self.options));
}

}  // namespace

std::shared_ptr<Store> store_of(nb::handle obj) {
  if (!nb::isinstance<PyStore>(obj))
    throw nb::type_error(("expected an lsio.Store, got " + nb::cast<std::string>(nb::repr(obj.type()))).c_str());
  return nb::cast<const PyStore&>(obj).store;
}

// A writable uint8 array over store->allocate(n), which owns it (and returns it to its pool when dropped).
nb::object allocate_array(const PyStore& self, size_t nbytes) {
  auto owner = std::make_unique<Bytes>(self.store->allocate(nbytes));
  auto* data = reinterpret_cast<uint8_t*>(owner->mutable_data());
  nb::capsule keep(owner.release(), [](void* p) noexcept { delete static_cast<Bytes*>(p); });
  return nb::cast(nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>>(data, {nbytes}, keep));
}

void init_store(nb::module_& m) {
  nb::class_<PyStore>(m, "Store", "Batched reads and writes of byte ranges of many files (see lsio.open).")
      .def_prop_ro(
          "engine", [](const PyStore& s) { return s.store->engine_description(); },
          "The engine in use ('uring' or 'posix', with the reason when chosen automatically).")
      .def_prop_ro(
          "url", [](const PyStore& s) { return s.url; }, "The URL the store was opened with.")
      .def("__repr__",
           [](const PyStore& s) {
             return nb::str("lsio.Store({!r}, engine={!r})").format(s.url, s.store->engine_description());
           })
      .def_prop_ro("options", &shown_options,
                   "The keyword options the store was opened with (engine, workers, ...), secrets shown as '***'.")
      .def_prop_ro(
          "option_sources", [](const PyStore& s) { return s.sources.attr("copy")(); },
          "Where each setting came from: 'explicit' (a keyword of lsio.open), 'default', 'profile <key> (<file>)'\n"
          "or 'preset <name>' (see lsio.tune).")
      .def("__reduce__", &reduce)
      .def("allocate", &allocate_array, "nbytes"_a,
           "A writable, 4096-aligned uint8 numpy array of nbytes for results to be filled in (lsio.zarr reads\n"
           "allocate their outputs here). A file store hands out recycled memory from the buffer pool its\n"
           "workers read into, already faulted in; the memory goes back to the pool when the array and\n"
           "every view of it are dropped. Other stores allocate.")
      .def(
          "cache_stats",
          [](const PyStore& s) -> nb::object {
            const std::optional<CacheStats> c = s.store->cache_stats();
            if (!c) return nb::none();
            nb::dict d;
            d["capacity_bytes"] = c->capacity_bytes;
            auto add = [&](const std::string& prefix, const CacheCounters& k) {
              d[(prefix + "bytes").c_str()] = k.bytes;
              d[(prefix + "entries").c_str()] = k.entries;
              d[(prefix + "hits").c_str()] = k.hits;
              d[(prefix + "misses").c_str()] = k.misses;
              d[(prefix + "inserts").c_str()] = k.inserts;
              d[(prefix + "evictions").c_str()] = k.evictions;
            };
            add("", *c);
            add("raw_", c->raw);
            add("decoded_", c->derived);
            add("version_", c->versions);
            return d;
          },
          "The RAM cache's counters, or None when the store was opened without cache=: capacity_bytes, and\n"
          "bytes, entries, hits, misses, inserts, evictions over every kind of entry and per kind with the\n"
          "prefixes raw_ (read results), decoded_ (decoded Zarr inner chunks) and version_ (object versions).")
      .def("read_ranges", &read_ranges, "paths"_a, "starts"_a, "ends"_a = nb::none(), nb::kw_only(),
           "on_error"_a = "raise", "coalesce_gap"_a = nb::none(), "direct"_a = false, "timeout"_a = nb::none(),
           "max_request_bytes"_a = 0, "out"_a = nb::none(),
           "One read-only Buffer per range [starts[i], ends[i]) of paths[i], in request order; with out=, every\n"
           "range read into that writable buffer back to back, returning the n + 1 offsets (numpy int64).")
      .def("read_batch", &read_batch, "paths"_a, "starts"_a, "ends"_a = nb::none(), nb::kw_only(), "out"_a = nb::none(),
           "on_error"_a = "raise", "coalesce_gap"_a = nb::none(), "direct"_a = false, "timeout"_a = nb::none(),
           "max_request_bytes"_a = 0,
           "The ranges of one batch as one BatchResult (zero-copy views on access, sizes/offsets arrays,\n"
           "errors per range); with out=, read back to back into that writable buffer.")
      .def(
          "read_ranges_async",
          [](nb::handle self, nb::args args, nb::kwargs kwargs) {
            return nb::module_::import_("lsio").attr("_read_ranges_async")(self, *args, **kwargs);
          },
          "await store.read_ranges_async(paths, starts, ends, on_error=, coalesce_gap=, direct=): read_ranges\n"
          "for asyncio (the batch runs on the store's workers; cancelling the task cancels the batch).")
      .def("submit_read", &submit_read, "paths"_a, "starts"_a, "ends"_a = nb::none(), nb::kw_only(),
           "coalesce_gap"_a = nb::none(), "direct"_a = false, "max_request_bytes"_a = 0,
           "Starts a read_ranges batch and returns a PendingRead at once (used by read_ranges_async).")
      .def("read_into", &read_into, "paths"_a, "starts"_a, "outs"_a, nb::kw_only(), "on_error"_a = "raise",
           "direct"_a = false, "timeout"_a = nb::none(),
           "Reads len(outs[i]) bytes (its size in bytes) at starts[i] into each writable buffer.")
      .def("sizes", &sizes, "paths"_a, nb::kw_only(), "on_error"_a = "raise", "The size in bytes of each path.")
      .def("remove", &remove, "paths"_a, nb::kw_only(), "on_error"_a = "raise",
           "Deletes each path; a path that does not exist is not an error.")
      .def("list", &list, "prefix"_a = "",
           "(path, size) of every object whose path starts with prefix (a plain string prefix, as in S3),\n"
           "sorted by path.")
      .def("list_dir", &list_dir, "prefix"_a = "",
           "(objects, prefixes): the (path, size) of the objects directly below prefix (up to the next '/'),\n"
           "and the prefixes ('sub/dir/') of what lies deeper, both sorted.")
      .def("write", &write, "paths"_a, "offsets"_a, "datas"_a, nb::kw_only(), "on_error"_a = "raise",
           "Writes datas[i] at offsets[i] of paths[i], creating files as needed.")
      .def("put", &put, "path"_a, "data"_a, nb::kw_only(), "fsync"_a = false,
           "Replaces path atomically with data (readers see the old or the new file, never a mix).")
      .def("for_each", &for_each, "paths"_a, "starts"_a, "ends"_a.none(), "fn"_a, nb::kw_only(),
           "coalesce_gap"_a = nb::none(), "direct"_a = false, "timeout"_a = nb::none(),
           "Calls fn(index, Buffer | exception) for each range as its read completes, on worker threads\n"
           "(holding the GIL). An exception raised by fn cancels the rest and is re-raised.");
  nb::class_<PyPendingRead>(m, "PendingRead", "A running read_ranges batch (see Store.read_ranges_async).")
      .def("done", [](const PyPendingRead& p) { return p.batch.done(); })
      .def(
          "cancel", [](const PyPendingRead& p) { p.batch.cancel(); },
          "Stops issuing reads; wait() then returns once the reads in the kernel drained.")
      .def(
          "wait",
          [](PyPendingRead& p, std::optional<double> timeout) {
            BatchWaitable w(p.batch);
            wait_interruptible(w, timeout, "PendingRead.wait");
          },
          "timeout"_a = nb::none())
      .def("result", &pending_result, "on_error"_a = "raise", "The buffers (see read_ranges); once, when done.")
      .def("add_done_callback", &pending_add_done_callback, "fn"_a,
           "Calls fn() once done: at once when it is, else on lsio's done-callback thread (never a store worker).")
      .def_prop_ro("requests_total", [](const PyPendingRead& p) { return p.batch.requests_total(); })
      .def_prop_ro("requests_done", [](const PyPendingRead& p) { return p.batch.requests_done(); })
      .def_prop_ro("bytes_read", [](const PyPendingRead& p) { return p.batch.bytes_read(); });
  m.def("open", &open, "url"_a = "", nb::kw_only(), "engine"_a = "auto", "workers"_a = 0, "queue_depth"_a = 128,
        "max_open_files"_a = 0, "cache_bytes"_a = 0, "cache_revalidate_after"_a = 0.0, "remote"_a = nb::dict(),
        "direct_threshold"_a = StoreOptions{}.direct_threshold, "inline_reads"_a = true, "sources"_a = nb::dict(),
        "Opens a store by URL (see lsio.open).");
}

}  // namespace lsio::python
