#include "zarr/array.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>

#include "zarr/array_internal.h"
#include "zarr/encode_pool.h"

namespace lsio::zarr {

std::string join_key(std::string_view prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : std::string(prefix) + "/" + std::string(name);
}

Result<std::optional<Bytes>> read_optional(Store& store, const std::string& key, const ReadOptions& options) {
  ReadBatch b;
  b.add(key, ByteRange::whole());
  auto r = std::move(store.read(b, options)[0]);
  if (r) return std::optional<Bytes>(std::move(*r));
  if (r.error().code() == StatusCode::kNotFound) return std::optional<Bytes>();
  return error(r.error());
}

namespace {

// Elements of `in_chunk` that are distinct (a list selection may repeat one).
uint64_t distinct_positions(const DimPart& part, uint64_t chunk_len) {
  std::vector<bool> seen(chunk_len, false);
  uint64_t distinct = 0;
  for (uint32_t p : part.in_chunk) distinct += !seen[p], seen[p] = true;
  return distinct;
}

// True when the parts select every element of the chunk that lies inside the array.
bool covers_chunk(std::span<const DimPart* const> parts, std::span<const uint64_t> chunk_shape,
                  std::span<const uint64_t> array_shape) {
  for (size_t d = 0; d < parts.size(); ++d) {
    const uint64_t begin = parts[d]->chunk * chunk_shape[d];
    const uint64_t inside = std::min(chunk_shape[d], array_shape[d] - std::min(array_shape[d], begin));
    if (parts[d]->in_chunk.size() < inside || distinct_positions(*parts[d], chunk_shape[d]) < inside) return false;
  }
  return true;
}

// True when the parts select every element of the chunk (which then lies wholly inside the array: a selection
// never reaches past its end): the write sets every byte of the chunk buffer, and neither the chunk's old content
// nor the fill value is needed.
bool overwrites_whole_chunk(std::span<const DimPart* const> parts, std::span<const uint64_t> chunk_shape) {
  for (size_t d = 0; d < parts.size(); ++d) {
    if (parts[d]->in_chunk.size() < chunk_shape[d] || distinct_positions(*parts[d], chunk_shape[d]) < chunk_shape[d])
      return false;
  }
  return true;
}

void release_write_buffers();

// Runs fn(i) (returning a Status) for i in [0, n) on this thread and the
// shared encode pool (one thread per CPU in all), so that chunks are encoded in parallel. Stops handing out
// work after the first error, which it returns; no exception leaves a thread. Each thread keeps its chunk and
// encode buffers from one chunk to the next and frees them when it leaves the call.
template <typename Fn>
Status parallel_for(size_t n, Fn&& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  FirstError first;
  auto work = [&]() noexcept {
    struct Release {
      ~Release() { release_write_buffers(); }
    } release;
    while (!failed.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s;
      try {
        s = fn(i);
      } catch (const std::exception& e) {
        s = Status(StatusCode::kResourceExhausted, std::string("write: ") + e.what());
      }
      if (!s.ok()) {
        first.set(std::move(s));
        failed = true;
      }
    }
  };
  // The calling thread and up to n - 1 threads of the shared encode pool (not threads started per call).
  const std::function<void()> run = work;
  run_on_pool(n > 0 ? n - 1 : 0, run);
  return first.get();
}

// The cancel reason when the call was cancelled (between chunk writes: each
// chunk or shard is written whole and atomically, or not at all).
Status cancelled(const ReadOptions& options, const std::string& what) {
  if (!options.cancel || !options.cancel->cancelled()) return {};
  return options.cancel->reason().with_context(what + ": stopped between chunks (each written chunk is complete)");
}

}  // namespace

struct ArrayImpl::ChunkTask {
  std::vector<uint64_t> coords;
  std::vector<const DimPart*> parts;
};

size_t ArrayImpl::itemsize() const { return dtype_size(meta_.dtype); }

std::vector<uint64_t> ArrayImpl::shard_shape() const {
  return chain_->sharding() ? meta_.chunk_shape : std::vector<uint64_t>{};
}

std::vector<uint64_t> ArrayImpl::read_chunk_shape() const {
  return chain_->sharding() ? chain_->sharding()->inner_shape : meta_.chunk_shape;
}

std::string ArrayImpl::chunk_key(std::span<const uint64_t> coords) const {
  return join_key(path_, meta_.key_encoding.key(coords));
}

Result<std::shared_ptr<ArrayImpl>> ArrayImpl::open(std::shared_ptr<Store> store, std::string path,
                                                   const ReadOptions& options) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  const std::string v3_key = join_key(path, "zarr.json");
  LSIO_ASSIGN_OR_RETURN(auto v3, read_optional(*store, v3_key, options));
  if (v3) {
    LSIO_ASSIGN_OR_RETURN(ArrayMetadata meta, parse_v3_array(v3->as_string_view(), v3_key));
    return from_metadata(std::move(store), std::move(path), std::move(meta), v3_key);
  }
  const std::string v2_key = join_key(path, ".zarray");
  LSIO_ASSIGN_OR_RETURN(auto v2, read_optional(*store, v2_key, options));
  if (!v2) {
    return error(StatusCode::kNotFound, "no Zarr array at '" + path + "': neither " + v3_key + " nor " + v2_key);
  }
  LSIO_ASSIGN_OR_RETURN(auto attrs, read_optional(*store, join_key(path, ".zattrs"), options));
  LSIO_ASSIGN_OR_RETURN(ArrayMetadata meta,
                        parse_v2_array(v2->as_string_view(), attrs ? attrs->as_string_view() : "", v2_key));
  return from_metadata(std::move(store), std::move(path), std::move(meta), v2_key);
}

Result<std::shared_ptr<ArrayImpl>> ArrayImpl::from_metadata(std::shared_ptr<Store> store, std::string path,
                                                            ArrayMetadata meta, std::string_view where) {
  std::shared_ptr<const codec::CodecChain> chain;
  if (meta.zarr_format == 3) {
    LSIO_ASSIGN_OR_RETURN(chain, codec::CodecChain::from_v3(meta.codecs, {meta.dtype, meta.chunk_shape}, where));
  } else {
    LSIO_ASSIGN_OR_RETURN(chain, codec::CodecChain::from_v2(meta.v2_compressor, meta.v2_filters, meta.v2_order,
                                                            meta.v2_endian, {meta.dtype, meta.chunk_shape}, where));
  }
  return std::shared_ptr<ArrayImpl>(
      new ArrayImpl(std::move(store), std::move(path), std::move(meta), std::move(chain)));
}

Result<std::shared_ptr<ArrayImpl>> ArrayImpl::create(std::shared_ptr<Store> store, std::string path, ArrayMetadata meta,
                                                     bool overwrite) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  const bool v3 = meta.zarr_format == 3;
  const std::string key = join_key(path, v3 ? "zarr.json" : ".zarray");
  // The codec chain first: metadata whose codecs cannot run is refused before anything is removed or written.
  const std::string doc = v3 ? to_v3_json(meta) : to_v2_zarray(meta);
  const std::string attrs = v3 || meta.attributes.empty() ? std::string() : meta.attributes.dump();
  LSIO_ASSIGN_OR_RETURN(auto array, from_metadata(store, path, std::move(meta), key));
  // Metadata of either format at this node: refused, or all replaced.
  std::vector<std::string> node_keys;
  for (const char* name : {"zarr.json", ".zarray", ".zgroup", ".zattrs"}) node_keys.push_back(join_key(path, name));
  if (overwrite) {
    for (const Status& s : store->remove(node_keys)) LSIO_RETURN_IF_ERROR(s);
  } else {
    const auto sizes = store->sizes(node_keys);
    for (size_t i = 0; i < 3; ++i) {
      if (sizes[i])
        return error(StatusCode::kInvalidArgument, "cannot create array: " + node_keys[i] + " already exists");
    }
  }
  LSIO_RETURN_IF_ERROR(store->put(key, std::as_bytes(std::span(doc))));
  if (!attrs.empty()) LSIO_RETURN_IF_ERROR(store->put(join_key(path, ".zattrs"), std::as_bytes(std::span(attrs))));
  return array;
}

std::vector<ArrayImpl::ChunkTask> ArrayImpl::plan_chunks(const Selection& sel, std::span<const uint64_t> grid_chunk,
                                                         std::vector<std::vector<DimPart>>& storage) const {
  storage.clear();
  for (size_t d = 0; d < sel.size(); ++d) storage.push_back(split_dimension(sel[d], grid_chunk[d]));
  std::vector<ChunkTask> tasks;
  for_each_combination(storage, [&](std::span<const DimPart* const> combo) {
    ChunkTask t;
    for (const DimPart* p : combo) t.coords.push_back(p->chunk);
    t.parts.assign(combo.begin(), combo.end());
    tasks.push_back(std::move(t));
  });
  if (sel.empty()) tasks.push_back(ChunkTask{});  // 0-d array: its single chunk
  return tasks;
}

Result<ArrayImpl::ShardIndexes> ArrayImpl::shard_indexes(const std::vector<std::string>& keys,
                                                         const ReadOptions& options) const {
  ShardIndexes out;
  std::vector<std::string> todo;
  for (const std::string& k : keys) {
    if (auto cached = index_cache_.get(k)) {
      out.emplace(k, std::move(*cached));
    } else {
      todo.push_back(k);
    }
  }
  if (store_->has_cache()) LSIO_RETURN_IF_ERROR(revalidate_indexes(out, todo));
  // A shard replaced between its stat and its index read is read again (kAborted); a few times at most.
  for (int attempt = 0; !todo.empty(); ++attempt) {
    Status s = read_shard_indexes(todo, options, out);
    if (s.ok()) break;
    if (s.code() != StatusCode::kAborted || attempt == 3) return error(s);
    std::erase_if(todo, [&](const std::string& k) { return out.contains(k); });
  }
  return out;
}

Status ArrayImpl::revalidate_indexes(ShardIndexes& held, std::vector<std::string>& todo) const {
  if (held.empty()) return {};
  std::vector<std::string> keys;
  for (const auto& [k, e] : held) keys.push_back(k);
  const auto infos = store_->stat(keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!infos[i] && infos[i].error().code() != StatusCode::kNotFound) {
      return infos[i].error().with_context("revalidate shard " + keys[i]);
    }
    if (infos[i] && infos[i]->version == held.at(keys[i]).version) continue;
    index_cache_.erase(keys[i]);  // replaced or removed: read anew (a removed shard reads as the fill value)
    held.erase(keys[i]);
    todo.push_back(keys[i]);
  }
  return {};
}

Status ArrayImpl::read_shard_indexes(const std::vector<std::string>& keys, const ReadOptions& options,
                                     ShardIndexes& out) const {
  const codec::ShardingSpec& spec = *chain_->sharding();
  const auto infos = store_->stat(keys);
  ReadBatch batch;
  std::vector<const ObjectInfo*> present;
  std::vector<const std::string*> present_keys;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!infos[i]) {
      if (infos[i].error().code() != StatusCode::kNotFound) return infos[i].error().with_context("read shard index");
      out[keys[i]] = ShardIndexCache::Entry{};  // missing: reads as the fill value (not cached: it may appear)
      continue;
    }
    LSIO_ASSIGN_OR_RETURN(uint64_t at, spec.index_offset(infos[i]->size, keys[i]));
    const uint32_t file = batch.file_id(keys[i]);
    batch.expect_version(file, infos[i]->version);
    batch.add(file, ByteRange::bounded(at, at + spec.index_encoded_size()));
    present.push_back(&*infos[i]);
    present_keys.push_back(&keys[i]);
  }
  auto results = store_->read(batch, options);
  Status changed;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string& key = *present_keys[i];
    if (!results[i]) {
      if (results[i].error().code() == StatusCode::kAborted) {
        changed = results[i].error();
        continue;
      }
      return results[i].error().with_context("read shard index of " + key);
    }
    LSIO_ASSIGN_OR_RETURN(auto entries, spec.decode_index(results[i]->span(), present[i]->size, key));
    ShardIndexCache::Entry e{present[i]->version,
                             std::make_shared<const std::vector<codec::ShardIndexEntry>>(std::move(entries))};
    index_cache_.put(key, e);
    out[key] = std::move(e);
  }
  return changed;
}

bool ArrayImpl::is_fill(std::span<const std::byte> chunk) const {
  // The first element is the fill value and every element equals the one before it: two memcmp, not one per element.
  const size_t n = meta_.fill_value.size();
  if (chunk.size() < n || std::memcmp(chunk.data(), meta_.fill_value.data(), n) != 0) return false;
  return std::memcmp(chunk.data(), chunk.data() + n, chunk.size() - n) == 0;
}

Status ArrayImpl::write(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options) {
  LSIO_RETURN_IF_ERROR(check_selection(sel, meta_.shape).with_context("write " + path_));
  uint64_t n = itemsize();
  for (uint64_t s : selection_shape(sel)) n *= s;
  if (src.size() != n) {
    return Status(StatusCode::kInvalidArgument, "write " + path_ + ": source has " + std::to_string(src.size()) +
                                                    " bytes, the selection needs " + std::to_string(n));
  }
  if (n == 0) return {};
  return chain_->sharding() ? write_sharded(sel, src, options) : write_unsharded(sel, src, options);
}

namespace {

// Chunk buffers a writer thread keeps for its next chunks up to this size (larger ones are freed after the chunk).
constexpr size_t kKeepChunkBuffer = size_t{64} << 20;

// The buffer a writer thread gathers a chunk into (uninitialised), reused by its next chunks of the same write
// call (parallel_for frees it when the thread leaves the call): a fresh buffer per chunk costs the kernel zeroing
// its pages (and the vector zeroing them again) every time.
class ChunkBuffer {
 public:
  ChunkBuffer() : buffer_(thread_buffer()) {}
  ~ChunkBuffer() {
    if (buffer_.capacity > kKeepChunkBuffer) release();
  }
  static void release() {
    Storage& b = thread_buffer();
    b.data.reset();
    b.capacity = 0;
  }
  ChunkBuffer(const ChunkBuffer&) = delete;
  ChunkBuffer& operator=(const ChunkBuffer&) = delete;

  std::span<std::byte> get(size_t n) {
    if (buffer_.capacity < n) {
      buffer_.data.reset();
      buffer_.capacity = 0;
      buffer_.data = std::make_unique_for_overwrite<std::byte[]>(n);
      buffer_.capacity = n;
    }
    return {buffer_.data.get(), n};
  }

 private:
  struct Storage {
    std::unique_ptr<std::byte[]> data;
    size_t capacity = 0;
  };
  // One per thread: a writer thread gathers one chunk at a time.
  static Storage& thread_buffer() {
    thread_local Storage storage;
    return storage;
  }
  Storage& buffer_;
};

void release_write_buffers() {
  ChunkBuffer::release();
  codec::CodecChain::release_encode_buffers();
}

// Sets every element of `out` to `fill` (one element): memset when its bytes are all equal, else the first
// element copied, then the filled prefix doubled.
void fill_with(std::span<std::byte> out, std::span<const std::byte> fill) {
  if (out.empty()) return;
  if (fill.empty() || std::all_of(fill.begin(), fill.end(), [&](std::byte b) { return b == fill[0]; })) {
    std::memset(out.data(), fill.empty() ? 0 : std::to_integer<int>(fill[0]), out.size());
    return;
  }
  std::memcpy(out.data(), fill.data(), std::min(fill.size(), out.size()));
  for (size_t done = fill.size(); done < out.size(); done *= 2)
    std::memcpy(out.data() + done, out.data(), std::min(done, out.size() - done));
}

// Prepares a chunk buffer for a write that sets only part of it: the old chunk decoded, else the fill value.
Status prepare_chunk(const codec::CodecChain& chain, const std::optional<Bytes>& encoded,
                     std::span<const std::byte> fill, std::span<std::byte> buf, const std::string& where) {
  if (encoded) return chain.decode(encoded->span(), buf, where, fill);
  fill_with(buf, fill);
  return {};
}

}  // namespace

Status ArrayImpl::write_unsharded(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options) {
  std::vector<std::vector<DimPart>> storage;
  const std::vector<ChunkTask> tasks = plan_chunks(sel, meta_.chunk_shape, storage);
  const std::vector<uint64_t> src_shape = selection_shape(sel);
  // Read the chunks that are only partly overwritten, all in one batch.
  ReadBatch partial;
  std::vector<size_t> partial_task;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!covers_chunk(tasks[i].parts, meta_.chunk_shape, meta_.shape)) {
      partial.add(chunk_key(tasks[i].coords), ByteRange::whole());
      partial_task.push_back(i);
    }
  }
  auto existing = store_->read(partial, options);
  std::vector<std::optional<Bytes>> old(tasks.size());
  for (size_t k = 0; k < existing.size(); ++k) {
    if (existing[k]) {
      old[partial_task[k]] = std::move(*existing[k]);
    } else if (existing[k].error().code() != StatusCode::kNotFound) {
      return existing[k].error().with_context("write " + path_ + ": read-modify-write");
    }
  }
  std::vector<std::string> to_remove;
  std::mutex remove_mu;
  // Each chunk gathered, encoded and put on one of up to one thread per CPU.
  LSIO_RETURN_IF_ERROR(parallel_for(tasks.size(), [&](size_t i) -> Status {
    LSIO_RETURN_IF_ERROR(cancelled(options, "write " + path_));
    const std::string key = chunk_key(tasks[i].coords);
    ChunkBuffer chunk;
    const std::span<std::byte> buf = chunk.get(chain_->layout().num_bytes());
    if (!overwrites_whole_chunk(tasks[i].parts, meta_.chunk_shape)) {
      LSIO_RETURN_IF_ERROR(prepare_chunk(*chain_, old[i], meta_.fill_value, buf, key));
    }
    gather_chunk(buf.data(), meta_.chunk_shape, tasks[i].parts, src.data(), src_shape, itemsize());
    if (is_fill(buf)) {
      std::lock_guard lock(remove_mu);
      to_remove.push_back(key);  // zarr-python's write_empty_chunks=False
      return {};
    }
    return chain_->encode_with(buf, key, [&](std::span<const std::byte> encoded) { return store_->put(key, encoded); });
  }));
  for (const Status& s : store_->remove(to_remove)) LSIO_RETURN_IF_ERROR(s);
  return {};
}

Status ArrayImpl::write_sharded(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options) {
  const codec::ShardingSpec& spec = *chain_->sharding();
  std::vector<std::vector<DimPart>> storage;
  const std::vector<ChunkTask> shards = plan_chunks(sel, meta_.chunk_shape, storage);
  const std::vector<uint64_t> src_shape = selection_shape(sel);
  const std::vector<uint64_t> grid = spec.inner_grid();
  const codec::CodecChain& inner = *spec.inner;
  for (const ChunkTask& shard : shards) {
    LSIO_RETURN_IF_ERROR(cancelled(options, "write " + path_));
    const std::string key = chunk_key(shard.coords);
    // The old shard, when this write does not replace it whole.
    std::optional<Bytes> old;
    std::vector<codec::ShardIndexEntry> old_index(spec.inner_per_shard());
    if (!covers_chunk(shard.parts, meta_.chunk_shape, meta_.shape)) {
      LSIO_ASSIGN_OR_RETURN(old, read_optional(*store_, key, options));
      if (old) {
        LSIO_ASSIGN_OR_RETURN(uint64_t at, spec.index_offset(old->size(), key));
        LSIO_ASSIGN_OR_RETURN(old_index,
                              spec.decode_index(old->span().subspan(at, spec.index_encoded_size()), old->size(), key));
      }
    }
    std::vector<std::optional<Bytes>> chunks(spec.inner_per_shard());
    for (size_t i = 0; i < chunks.size(); ++i)
      if (!old_index[i].missing()) chunks[i] = old->slice(old_index[i].offset, old_index[i].nbytes);

    std::vector<std::vector<DimPart>> inner_parts;
    for (size_t d = 0; d < grid.size(); ++d) inner_parts.push_back(split_part(*shard.parts[d], spec.inner_shape[d]));
    std::vector<std::vector<const DimPart*>> combos;
    for_each_combination(
        inner_parts, [&](std::span<const DimPart* const> combo) { combos.emplace_back(combo.begin(), combo.end()); });
    // Inner chunks encoded in parallel; each writes only its own slot of `chunks`.
    LSIO_RETURN_IF_ERROR(parallel_for(combos.size(), [&](size_t k) -> Status {
      const std::vector<const DimPart*>& combo = combos[k];
      std::vector<uint64_t> coords;
      for (const DimPart* p : combo) coords.push_back(p->chunk);
      const uint64_t li = linear_index(coords, grid);
      const std::string where = key + " inner chunk " + std::to_string(li);
      ChunkBuffer chunk;
      const std::span<std::byte> buf = chunk.get(inner.layout().num_bytes());
      if (!overwrites_whole_chunk(combo, spec.inner_shape)) {
        LSIO_RETURN_IF_ERROR(prepare_chunk(inner, chunks[li], meta_.fill_value, buf, where));
      }
      gather_chunk(buf.data(), spec.inner_shape, combo, src.data(), src_shape, itemsize());
      if (is_fill(buf)) {
        chunks[li].reset();
        return {};
      }
      LSIO_ASSIGN_OR_RETURN(Bytes encoded, inner.encode(buf, where));
      chunks[li] = std::move(encoded);
      return {};
    }));
    index_cache_.erase(key);  // the next read takes the new index (and its version)
    if (std::none_of(chunks.begin(), chunks.end(), [](const auto& c) { return c.has_value(); })) {
      LSIO_RETURN_IF_ERROR(store_->remove(std::vector<std::string>{key})[0]);
      continue;
    }
    LSIO_RETURN_IF_ERROR(store_->put(key, spec.encode_shard(chunks).span()));
  }
  return {};
}

}  // namespace lsio::zarr
