// Array reads: selections (or many crops at once) -> one list of chunk jobs ->
// one batch on the store -> each chunk decoded on the worker that read it and
// placed straight into its output block.
//
// A compressed chunk used whole as one contiguous run of a raw output (e.g. a
// chunk spanning the selection's trailing dimensions) is decoded straight into
// the output; the others decode into a per-worker scratch buffer and are placed.
//
// Uncompressed (identity-codec) chunks are not read whole when only part of
// them is needed: the byte runs the selection needs are read (runs close
// together in one range), and a chunk that maps to one contiguous run of a
// raw output is read by the kernel straight into the output.
#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <tuple>

#include "zarr/array.h"
#include "zarr/array_internal.h"

namespace lsio::zarr {
namespace {

// Runs whose gap in the chunk is at most this many bytes are read as one range
// (copying a few KiB from the page cache is cheaper than another request).
constexpr uint64_t kRunGap = 4096;
// Identity chunks needing at least this fraction of their bytes are read whole.
constexpr double kWholeFraction = 0.5;
// ... and, when one job uses such a chunk, in slabs of about this many bytes
// along its first dimension, each placed as it lands: the worker's buffer is
// reused while still in the CPU cache, where a chunk-sized one (a raw 256^3
// uint16 chunk is 32 MiB) is written to memory and read back for the copy.
constexpr uint64_t kSlabBytes = 1u << 20;

// One chunk (unsharded) or inner chunk (sharded) to place into one block.
struct Job {
  uint32_t block;
  uint32_t first;  // its parts (one per dimension: positions in the chunk and in the block) in ReadPlan::job_parts_
};

// Where a job's encoded chunk lives: a whole object, or a range of a shard.
struct Source {
  uint32_t job;
  std::string key;
  bool whole;
  uint64_t offset = 0, nbytes = 0;
};

// A run of elements copied from a read range to the output.
struct Run {
  uint64_t src;  // byte offset in the read range
  uint64_t out;  // element offset in the block
  uint64_t n;    // elements
};

// One request of the for_each batch: a whole chunk decoded once and placed
// for every job that needs it, byte runs of one job's identity chunk, or a
// slab (rows of the first dimension) of one job's identity chunk.
struct Item {
  enum Kind : uint8_t { kWhole, kRuns, kSlab } kind;
  uint32_t first, end;  // kWhole: into the group_jobs table; kRuns: into the runs table; kSlab: first = the slab
  uint32_t job;         // kRuns: the job
};

// Rows [row, row + rows) of an identity chunk, placed by `job` (a job of its
// own: the first dimension's positions are relative to `row`).
struct Slab {
  uint32_t job;
  uint64_t row, rows;
  bool to_end;  // read from `row` to the end of the object (whose size must be a chunk's)
};

// What decodes an inner chunk, for the keys of decoded chunks in a store's
// cache: the codecs (with the inner shape and chain), data type, chunk shape
// and fill value. Arrays whose metadata differ never share decoded chunks.
std::string decoded_chunk_tag(const ArrayMetadata& m) {
  std::string tag = "zarr:" + std::to_string(static_cast<int>(m.dtype)) + ":";
  for (uint64_t c : m.chunk_shape) tag += std::to_string(c) + ",";
  tag += ":";
  for (std::byte b : m.fill_value) tag += std::to_string(static_cast<int>(b)) + ",";
  tag += ":" + m.codecs.dump();
  return tag;
}

std::vector<std::vector<DimPart>> split_block(const ArrayImpl::Block& b, std::span<const uint64_t> grid_chunk) {
  std::vector<std::vector<DimPart>> dims;
  for (size_t d = 0; d < b.sel.size(); ++d) {
    dims.push_back(split_dimension(b.sel[d], grid_chunk[d]));
    if (b.out_offset.empty() || b.out_offset[d] == 0) continue;
    for (DimPart& p : dims.back())
      for (uint64_t& o : p.in_out) o += b.out_offset[d];
  }
  return dims;
}

}  // namespace

// Everything one read needs, built before the batch runs.
class ArrayImpl::ReadPlan {
 public:
  ReadPlan(ArrayImpl& array, std::span<const Block> blocks, const ReadOptions& options, ChunkSink* sink)
      : a_(array), blocks_(blocks), options_(options), sink_(sink) {
    const codec::ShardingSpec* spec = a_.chain_->sharding();
    chain_ = spec ? spec->inner.get() : a_.chain_.get();
    chunk_shape_ = spec ? spec->inner_shape : a_.meta_.chunk_shape;
    // Decoded inner chunks go to the store's RAM cache, keyed by the shard version the index came from.
    cache_decoded_ = spec && !chain_->is_identity() && a_.store_->has_cache();
    if (cache_decoded_) decoded_tag_ = decoded_chunk_tag(a_.meta_);
  }

  Status build() { return a_.chain_->sharding() ? add_sharded() : add_unsharded(); }

  Status run() {
    split_sources();
    expect_versions();
    LSIO_RETURN_IF_ERROR(sink_error_.get());
    LSIO_RETURN_IF_ERROR(read_direct());
    LSIO_RETURN_IF_ERROR(read_items_and_hits());
    return sink_error_.get();
  }

  // The shards this plan read indexes of (to drop from the cache when one changed under it).
  std::vector<std::string> shard_keys() const {
    std::vector<std::string> keys;
    for (const auto& [k, e] : indexes_) keys.push_back(k);
    return keys;
  }

 private:
  const Placement& place(const Job& j) const { return blocks_[j.block].place; }

  void fill_job(uint32_t block, std::span<const DimPart* const> parts) {
    const Placement& p = blocks_[block].place;
    if (sink_) {
      if (Status s = sink_->fill(parts, p.shape()); !s.ok()) sink_error_.set(std::move(s));
      return;
    }
    for_each_joined_run(parts, p.shape(), p.shape(),
                        [&](uint64_t, uint64_t o, uint64_t n) { p.fill(a_.meta_.fill_value, o, n); });
  }

  // The parts are pointers into block_dims_ / inner_dims_, which live as long as the plan (no copies: a crop
  // batch makes ~1,500 jobs, planned while the workers wait).
  uint32_t add_job(uint32_t block, std::span<const DimPart* const> parts) {
    jobs_.push_back(Job{block, static_cast<uint32_t>(job_parts_.size())});
    job_parts_.insert(job_parts_.end(), parts.begin(), parts.end());
    return static_cast<uint32_t>(jobs_.size() - 1);
  }
  std::span<const DimPart* const> parts_of(const Job& j) const { return {job_parts_.data() + j.first, ndim()}; }
  size_t ndim() const { return a_.meta_.shape.size(); }

  Status add_unsharded() {
    block_dims_.resize(blocks_.size());
    for (uint32_t b = 0; b < blocks_.size(); ++b) {
      const auto& dims = block_dims_[b] = split_block(blocks_[b], a_.meta_.chunk_shape);
      for_each_combination(dims, [&](std::span<const DimPart* const> combo) {
        sources_.push_back(Source{add_job(b, combo), a_.chunk_key(coords_of(combo)), true});
      });
    }
    return {};
  }

  Status add_sharded() {
    const codec::ShardingSpec& spec = *a_.chain_->sharding();
    // Every shard any block touches, indexes loaded in one batch.
    std::vector<std::vector<std::vector<DimPart>>>& dims = block_dims_;
    dims.resize(blocks_.size());
    std::vector<std::string> keys;
    for (uint32_t b = 0; b < blocks_.size(); ++b) {
      dims[b] = split_block(blocks_[b], a_.meta_.chunk_shape);
      for_each_combination(dims[b],
                           [&](std::span<const DimPart* const> c) { keys.push_back(a_.chunk_key(coords_of(c))); });
    }
    std::vector<std::string> unique = keys;
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    LSIO_ASSIGN_OR_RETURN(indexes_, a_.shard_indexes(unique, options_));

    const std::vector<uint64_t> grid = spec.inner_grid();
    size_t next_key = 0;
    Status failed;
    for (uint32_t b = 0; b < blocks_.size() && failed.ok(); ++b) {
      for_each_combination(dims[b], [&](std::span<const DimPart* const> shard) {
        const std::string& key = keys[next_key++];
        if (!failed.ok()) return;
        const ShardIndexCache::Entry& found = indexes_.at(key);
        const auto* index = &found.index;
        if (!found.index) return fill_job(b, shard);  // missing shard
        std::vector<std::vector<DimPart>>& inner = inner_dims_.emplace_back();
        for (size_t d = 0; d < grid.size(); ++d) inner.push_back(split_part(*shard[d], spec.inner_shape[d]));
        for_each_combination(inner, [&](std::span<const DimPart* const> combo) {
          const codec::ShardIndexEntry& e = (**index)[linear_index(coords_of(combo), grid)];
          if (e.missing()) return fill_job(b, combo);
          sources_.push_back(Source{add_job(b, combo), key, false, e.offset, e.nbytes});
        });
      });
    }
    return failed;
  }

  // Turns each source into batch requests: whole chunks (read and decoded
  // once however many jobs need them), runs of an identity chunk, or a direct
  // read into a raw output.
  void split_sources() {
    const uint64_t chunk_bytes = chain_->layout().num_bytes();
    std::stable_sort(sources_.begin(), sources_.end(), [](const Source& x, const Source& y) {
      return std::tie(x.key, x.offset) < std::tie(y.key, y.offset);
    });
    for (size_t i = 0; i < sources_.size();) {
      size_t end = i + 1;
      while (end < sources_.size() && sources_[end].key == sources_[i].key &&
             sources_[end].offset == sources_[i].offset)
        ++end;
      const bool identity = chain_->is_identity() && (sources_[i].whole || sources_[i].nbytes == chunk_bytes);
      if (!identity || sink_) {
        add_whole(std::span(sources_).subspan(i, end - i));
      } else {
        add_identity(std::span(sources_).subspan(i, end - i), chunk_bytes);
      }
      i = end;
    }
  }

  // How a job would read its identity chunk in runs: runs and bytes read.
  struct RunCost {
    uint64_t runs = 0, bytes = 0;
  };
  RunCost run_cost(const Job& j) const {
    RunCost cost;
    const size_t isz = a_.itemsize();
    uint64_t span_begin = 0, span_end = 0;
    for_each_joined_run(parts_of(j), chunk_shape_, place(j).shape(), [&](uint64_t c, uint64_t, uint64_t n) {
      const uint64_t b = c * isz, e = b + n * isz;
      if (cost.runs++ == 0 || b < span_end || b - span_end > kRunGap) {
        cost.bytes += span_end - span_begin;
        span_begin = b;
      }
      span_end = std::max(span_end, e);
    });
    cost.bytes += span_end - span_begin;
    return cost;
  }

  // Sources of one identity chunk: a job mapping to one contiguous run of a
  // raw output is read straight into it; the others share one whole read when
  // their runs would read at least half the chunk, else read their runs.
  void add_identity(std::span<const Source> same, uint64_t chunk_bytes) {
    std::vector<Source> rest;
    uint64_t total = 0;
    for (const Source& s : same) {
      const RunCost c = run_cost(jobs_[s.job]);
      if (c.runs == 1 && place(jobs_[s.job]).raw()) {
        add_direct(s, parts_of(jobs_[s.job]));
        continue;
      }
      rest.push_back(s);
      total += c.bytes;
    }
    if (rest.empty()) return;
    if (static_cast<double>(total) >= kWholeFraction * static_cast<double>(chunk_bytes)) {
      if (rest.size() == 1 && add_slabs(rest.front(), chunk_bytes)) return;
      return add_whole(rest);
    }
    for (const Source& s : rest) add_runs(s, parts_of(jobs_[s.job]));
  }

  // One job's identity chunk read in slabs of about kSlabBytes (false: the
  // chunk is too small to gain from it, or its first dimension is not
  // selected in order). An unsharded chunk's last slab reads to the end of
  // the object, so that a chunk file of the wrong size is still refused.
  bool add_slabs(const Source& s, uint64_t chunk_bytes) {
    const uint64_t row_bytes = chunk_bytes / chunk_shape_[0];
    const uint64_t rows = std::max<uint64_t>(1, kSlabBytes / std::max<uint64_t>(row_bytes, 1));
    if (ndim() < 2 || 2 * rows > chunk_shape_[0]) return false;
    const Job job = jobs_[s.job];  // copied: add_job grows jobs_ and job_parts_
    const std::span<const DimPart* const> held = parts_of(job);
    std::vector<const DimPart*> parts(held.begin(), held.end());
    const DimPart& outer = *parts[0];
    if (!std::is_sorted(outer.in_chunk.begin(), outer.in_chunk.end())) return false;
    for (size_t k = 0; k < outer.in_chunk.size();) {
      const uint64_t row = outer.in_chunk[k] - outer.in_chunk[k] % rows;
      const uint64_t end_row = std::min<uint64_t>(row + rows, chunk_shape_[0]);
      DimPart& sub = slab_parts_.emplace_back(DimPart{outer.chunk, {}, {}});
      for (; k < outer.in_chunk.size() && outer.in_chunk[k] < end_row; ++k) {
        sub.in_chunk.push_back(static_cast<uint32_t>(outer.in_chunk[k] - row));
        sub.in_out.push_back(outer.in_out[k]);
      }
      parts[0] = &sub;
      const uint32_t slab = static_cast<uint32_t>(slabs_.size());
      const bool to_end = s.whole && k == outer.in_chunk.size();
      slabs_.push_back(Slab{add_job(job.block, parts), row, end_row - row, to_end});
      const uint64_t begin = row * row_bytes, end = end_row * row_bytes;
      batch_.add(s.key, !s.whole ? range_of(s, begin, end)
                        : to_end ? ByteRange::from(begin)
                                 : ByteRange::bounded(begin, end));
      items_.push_back(Item{Item::kSlab, slab, slab + 1, 0});
    }
    return true;
  }

  ByteRange range_of(const Source& s, uint64_t begin, uint64_t end) const {
    return ByteRange::bounded(s.offset + begin, s.offset + end);
  }

  // Sources of one chunk (same key and offset), one per job needing it: placed
  // from the store's cache of decoded chunks, or read and decoded once.
  void add_whole(std::span<const Source> same) {
    const Source& s = same.front();
    const ByteRange range = s.whole ? ByteRange::whole() : range_of(s, 0, s.nbytes);
    const auto first = static_cast<uint32_t>(group_jobs_.size());
    for (const Source& x : same) group_jobs_.push_back(x.job);
    const Item item{Item::kWhole, first, static_cast<uint32_t>(group_jobs_.size()), 0};
    if (cache_decoded_ && !s.whole) {
      std::optional<Bytes> hit =
          a_.store_->get_derived(DerivedKey{s.key, indexes_.at(s.key).version, range, decoded_tag_});
      if (hit && hit->size() == chain_->layout().num_bytes()) {
        hits_.push_back(Hit{item, std::move(*hit), s.key});
        return;
      }
    }
    batch_.add(s.key, range);
    items_.push_back(item);
  }

  void add_direct(const Source& s, std::span<const DimPart* const> parts) {
    const Job& j = jobs_[s.job];
    const size_t isz = a_.itemsize();
    for_each_joined_run(parts, chunk_shape_, place(j).shape(), [&](uint64_t c, uint64_t o, uint64_t n) {
      direct_.add(s.key, static_cast<int64_t>(s.offset + c * isz), std::span(place(j).out() + o * isz, n * isz));
      direct_job_.push_back(s.job);
    });
  }

  void add_runs(const Source& s, std::span<const DimPart* const> parts) {
    const Job& j = jobs_[s.job];
    const size_t isz = a_.itemsize();
    uint64_t span_begin = 0, span_end = 0;
    size_t first = runs_.size();
    auto flush = [&] {
      if (runs_.size() == first) return;
      for (size_t r = first; r < runs_.size(); ++r) runs_[r].src -= span_begin;
      batch_.add(s.key, range_of(s, span_begin, span_end));
      items_.push_back(Item{Item::kRuns, static_cast<uint32_t>(first), static_cast<uint32_t>(runs_.size()), s.job});
      first = runs_.size();
    };
    for_each_joined_run(parts, chunk_shape_, place(j).shape(), [&](uint64_t c, uint64_t o, uint64_t n) {
      const uint64_t b = c * isz, e = b + n * isz;
      if (runs_.size() == first || b < span_end || b - span_end > kRunGap) {
        flush();
        span_begin = b;
      }
      runs_.push_back(Run{b, o, n});
      span_end = std::max(span_end, e);
    });
    flush();
  }

  // Reads that land straight in a raw output; a missing chunk fills its run.
  Status read_direct() {
    if (direct_.size() == 0) return {};
    const std::vector<Status> st = a_.store_->read_into(direct_, options_);
    for (size_t i = 0; i < st.size(); ++i) {
      if (st[i].ok()) continue;
      if (st[i].code() != StatusCode::kNotFound || !unsharded()) {
        return st[i].with_context("read chunk " + direct_.ranges().path_of(i));
      }
      const Placement& p = place(jobs_[direct_job_[i]]);
      p.fill(a_.meta_.fill_value, (direct_.dest(i).data() - p.out()) / a_.itemsize(),
             direct_.dest(i).size() / a_.itemsize());
    }
    return {};
  }

  // Slabs are read one by one: the store would merge them back into chunk-sized reads.
  ReadOptions batch_options() const {
    ReadOptions o = options_;
    if (!slabs_.empty() && !o.max_merged) o.max_merged = kSlabBytes;
    return o;
  }

  // Chunks are whole objects (a missing one reads as fill), not ranges of shards.
  bool unsharded() const { return !a_.chain_->sharding(); }

  // The batch runs on the store's workers while this thread places the
  // cached decoded chunks (a hit's only work is that copy).
  Status read_items_and_hits() {
    FirstError first;
    Batch running;
    if (batch_.size() > 0) {
      running = a_.store_->submit(
          std::shared_ptr<const ReadBatch>(&batch_, [](const ReadBatch*) {}),  // outlives the batch: waited below
          [&](size_t i, Result<Bytes> r) {
            if (Status st = place_item(items_[i], r, i); !st.ok()) first.set(std::move(st));
          },
          batch_options());
    }
    // The batch borrows batch_ and `first`: never leave before it is done.
    struct WaitOnExit {
      const Batch& batch;
      ~WaitOnExit() {
        if (batch.valid()) batch.wait();
      }
    } guard{running};
    for (const Hit& h : hits_) {
      if (Status st = place_decoded(h.item, h.decoded.data(), h.item.end, h.where); !st.ok()) {
        first.set(std::move(st));
        break;
      }
    }
    if (running.valid()) {
      running.wait();
      LSIO_RETURN_IF_ERROR(running.status());
    }
    return first.get();
  }

  Status place_item(const Item& item, Result<Bytes>& r, size_t i) {
    if (item.kind == Item::kSlab) return place_slab(slabs_[item.first], r, i);
    if (!r) {
      if (r.error().code() != StatusCode::kNotFound || !unsharded()) {
        return r.error().with_context(std::string(unsharded() ? "read chunk " : "read inner chunk of shard ") +
                                      batch_.path_of(i));
      }
      if (item.kind == Item::kRuns) {
        const Placement& p = place(jobs_[item.job]);
        for (uint32_t k = item.first; k < item.end; ++k) p.fill(a_.meta_.fill_value, runs_[k].out, runs_[k].n);
        return {};
      }
      for (uint32_t k = item.first; k < item.end; ++k) {
        const Job& j = jobs_[group_jobs_[k]];
        fill_job(j.block, parts_of(j));
      }
      return {};
    }
    if (item.kind == Item::kRuns) {
      const Placement& p = place(jobs_[item.job]);
      for (uint32_t k = item.first; k < item.end; ++k) p.copy(r->data() + runs_[k].src, runs_[k].out, runs_[k].n);
      return {};
    }
    const std::byte* src = r->data();
    const size_t chunk_bytes = chain_->layout().num_bytes();
    uint32_t decoded_in_place = item.end;  // the group slot whose output the chunk was decoded into
    if (!chain_->is_identity() || r->size() != chunk_bytes) {
      const std::string where = unsharded() ? batch_.path_of(i) : batch_.path_of(i) + " " + batch_.range(i).to_string();
      const std::span<std::byte> target = decode_target(item, decoded_in_place);
      const std::span<std::byte> dst = target.first(chunk_bytes);
      // On error the target holds partial output; the read fails, so it is never taken as valid.
      LSIO_RETURN_IF_ERROR(chain_->decode_with_room(r->span(), target, where, a_.meta_.fill_value));
      src = dst.data();
      if (cache_decoded_) {
        const DerivedKey key{batch_.path_of(i), indexes_.at(batch_.path_of(i)).version, batch_.range(i), decoded_tag_};
        a_.store_->put_derived(key, Bytes::copy_of(dst));
      }
    }
    return place_decoded(item, src, decoded_in_place, batch_.path_of(i));
  }

  // A slab of an identity chunk: placed for its job; a missing chunk (unsharded)
  // fills it; an object shorter or longer than a chunk is refused.
  Status place_slab(const Slab& slab, Result<Bytes>& r, size_t i) {
    const Job& j = jobs_[slab.job];
    const std::string_view where = batch_.path_of(i);
    const uint64_t chunk_bytes = chain_->layout().num_bytes();
    const uint64_t row_bytes = chunk_bytes / chunk_shape_[0];
    const uint64_t want = slab.to_end ? chunk_bytes - slab.row * row_bytes : slab.rows * row_bytes;
    if (!r) {
      if (r.error().code() == StatusCode::kNotFound && unsharded()) {
        fill_job(j.block, parts_of(j));
        return {};
      }
      if (r.error().code() == StatusCode::kOutOfRange && unsharded()) {
        return Status(StatusCode::kDataLoss, "read chunk " + std::string(where) + ": shorter than the " +
                                                 std::to_string(chunk_bytes) + " bytes of a chunk (" +
                                                 std::string(r.error().message()) + ")");
      }
      return r.error().with_context(std::string(unsharded() ? "read chunk " : "read inner chunk of shard ") +
                                    std::string(where));
    }
    if (r->size() != want) {
      return Status(StatusCode::kDataLoss, "read chunk " + std::string(where) + ": " +
                                               std::to_string(slab.row * row_bytes + r->size()) +
                                               " bytes, expected a chunk of " + std::to_string(chunk_bytes));
    }
    std::vector<uint64_t> shape = chunk_shape_;
    shape[0] = slab.rows;
    const Placement& p = place(j);
    if (p.raw()) {
      copy_box_or_runs(r->data(), parts_of(j), shape, p.out(), p.shape(), a_.itemsize());
    } else {
      const size_t isz = a_.itemsize();
      for_each_joined_run(parts_of(j), shape, p.shape(),
                          [&](uint64_t c, uint64_t o, uint64_t n) { p.copy(r->data() + c * isz, o, n); });
    }
    return {};
  }

  // Places a decoded chunk for every job of `item` but the one in group slot
  // `skip` (decoded straight into its output), or hands it to the sink.
  Status place_decoded(const Item& item, const std::byte* src, uint32_t skip, std::string_view where) {
    const size_t isz = a_.itemsize();
    for (uint32_t k = item.first; k < item.end; ++k) {
      if (k == skip) continue;
      const Job& j = jobs_[group_jobs_[k]];
      const Placement& p = place(j);
      if (sink_) {
        LSIO_RETURN_IF_ERROR(
            sink_->chunk(src, chunk_shape_, parts_of(j), p.shape())
                .with_context(std::string(unsharded() ? "reduce chunk " : "reduce inner chunk of shard ") +
                              std::string(where)));
        continue;
      }
      if (p.raw()) {
        copy_box_or_runs(src, parts_of(j), chunk_shape_, p.out(), p.shape(), isz);
        continue;
      }
      for_each_joined_run(parts_of(j), chunk_shape_, p.shape(),
                          [&](uint64_t c, uint64_t o, uint64_t n) { p.copy(src + c * isz, o, n); });
    }
    return {};
  }

  // Where a whole chunk's decode goes: straight into the output of a job that uses the chunk whole as one
  // contiguous run of a raw (unconverted) block, setting `slot` (exactly the chunk's bytes); else this worker's
  // scratch buffer (reused across chunks), from which every job is placed, with the room past the chunk that the
  // decoder can use (CodecChain::decode_room: zstd decodes faster with it).
  std::span<std::byte> decode_target(const Item& item, uint32_t& slot) const {
    const size_t chunk_bytes = chain_->layout().num_bytes();
    if (!sink_) {
      for (uint32_t k = item.first; k < item.end; ++k) {
        const Job& j = jobs_[group_jobs_[k]];
        const Placement& p = place(j);
        if (!p.raw()) continue;
        const auto at = contiguous_whole_chunk(parts_of(j), chunk_shape_, p.shape());
        if (!at) continue;
        slot = k;
        return {p.out() + *at * a_.itemsize(), chunk_bytes};
      }
    }
    // Uninitialised (the decode writes every byte) and grown only: kept for the worker's next chunks.
    thread_local std::unique_ptr<std::byte[]> scratch;
    thread_local size_t capacity = 0;
    const size_t size = chunk_bytes + chain_->decode_room();
    if (capacity < size) {
      scratch.reset();
      capacity = 0;
      scratch = std::make_unique_for_overwrite<std::byte[]>(size);
      capacity = size;
    }
    return {scratch.get(), size};
  }

  // Inner chunks are read from the shard version their index came from: a
  // shard replaced since fails them with kAborted instead of mixing versions.
  void expect_versions() {
    if (indexes_.empty()) return;
    for (uint32_t f = 0; f < batch_.paths().size(); ++f)
      if (auto it = indexes_.find(batch_.paths()[f]); it != indexes_.end())
        batch_.expect_version(f, it->second.version);
    const ReadBatch& direct = direct_.ranges();
    for (uint32_t f = 0; f < direct.paths().size(); ++f)
      if (auto it = indexes_.find(direct.paths()[f]); it != indexes_.end())
        direct_.expect_version(f, it->second.version);
  }

  ArrayImpl& a_;
  std::span<const Block> blocks_;
  const ReadOptions& options_;
  ChunkSink* sink_;
  FirstError sink_error_;  // from fills made while planning or from workers
  ArrayImpl::ShardIndexes indexes_;
  const codec::CodecChain* chain_;
  bool cache_decoded_ = false;
  std::string decoded_tag_;  // names the inner chunk codecs (with dtype, shape and fill) in cache keys
  // Inner chunks found decoded in the store's cache, placed by the calling thread.
  struct Hit {
    Item item;
    Bytes decoded;
    std::string_view where;  // the shard key, held by sources_
  };
  std::vector<Hit> hits_;
  std::vector<uint64_t> chunk_shape_;
  std::vector<Job> jobs_;
  std::vector<const DimPart*> job_parts_;                      // ndim() per job, see add_job
  std::vector<std::vector<std::vector<DimPart>>> block_dims_;  // per block: its parts per dimension
  std::deque<std::vector<std::vector<DimPart>>> inner_dims_;   // per shard of a block: inner parts per dimension
  std::deque<DimPart> slab_parts_;                             // the first dimension's part of each slab job
  std::vector<Slab> slabs_;
  std::vector<Source> sources_;
  ReadBatch batch_;
  std::vector<Item> items_;
  std::vector<uint32_t> group_jobs_;
  std::vector<Run> runs_;
  ReadIntoBatch direct_;
  std::vector<uint32_t> direct_job_;
};

Status ArrayImpl::read(const Selection& sel, std::span<std::byte> out, const ReadOptions& options) {
  LSIO_RETURN_IF_ERROR(check_selection(sel, meta_.shape).with_context("read " + path_));
  std::vector<uint64_t> out_shape = selection_shape(sel);
  uint64_t n = itemsize();
  for (uint64_t s : out_shape) n *= s;
  if (out.size() != n) {
    return Status(StatusCode::kInvalidArgument, "read " + path_ + ": output has " + std::to_string(out.size()) +
                                                    " bytes, the selection needs " + std::to_string(n));
  }
  if (n == 0) return {};
  const Block block{sel, {}, Placement(out.data(), std::move(out_shape), meta_.dtype, nullptr)};
  return read_blocks(std::span(&block, 1), options);
}

Status ArrayImpl::read_crops(std::span<const int64_t> starts, std::span<const uint64_t> crop_shape,
                             std::span<std::byte> out, const Conversion* conversion, const ReadOptions& options) {
  const size_t nd = meta_.shape.size();
  const std::string where = "read_crops " + path_;
  if (crop_shape.size() != nd) {
    return Status(StatusCode::kInvalidArgument, where + ": crop shape has " + std::to_string(crop_shape.size()) +
                                                    " dimensions, the array has " + std::to_string(nd));
  }
  if (nd == 0 || starts.size() % nd != 0) {
    return Status(StatusCode::kInvalidArgument, where + ": starts must hold one start per dimension per crop");
  }
  if (conversion) LSIO_RETURN_IF_ERROR(Placement::check(*conversion, meta_.dtype, crop_shape).with_context(where));
  const size_t count = starts.size() / nd;
  uint64_t crop_elems = 1;
  for (uint64_t s : crop_shape) crop_elems *= s;
  const size_t out_isz = conversion ? dtype_size(conversion->dtype) : itemsize();
  if (out.size() != count * crop_elems * out_isz) {
    return Status(StatusCode::kInvalidArgument, where + ": output has " + std::to_string(out.size()) + " bytes, " +
                                                    std::to_string(count) + " crops need " +
                                                    std::to_string(count * crop_elems * out_isz));
  }
  std::vector<Block> blocks;
  blocks.reserve(count);
  const std::vector<uint64_t> shape(crop_shape.begin(), crop_shape.end());
  for (size_t i = 0; i < count; ++i) {
    Placement place(out.data() + i * crop_elems * out_isz, shape, meta_.dtype, conversion);
    Selection sel;
    std::vector<uint64_t> offset(nd);
    bool clipped = false, empty = crop_elems == 0;
    for (size_t d = 0; d < nd; ++d) {
      const int64_t s = starts[i * nd + d];
      const int64_t lo = std::max<int64_t>(s, 0);
      const int64_t hi = std::min<int64_t>(s + static_cast<int64_t>(shape[d]), static_cast<int64_t>(meta_.shape[d]));
      clipped |= lo != s || hi != s + static_cast<int64_t>(shape[d]);
      empty |= lo >= hi;
      sel.push_back(DimSelection::slice(static_cast<uint64_t>(std::max(lo, int64_t{0})),
                                        static_cast<uint64_t>(std::max(hi, lo))));
      offset[d] = static_cast<uint64_t>(lo - s);
    }
    // Parts outside the array read as the fill value.
    if (clipped) place.fill(meta_.fill_value, 0, crop_elems);
    if (!empty) blocks.push_back(Block{std::move(sel), std::move(offset), std::move(place)});
  }
  return read_blocks(blocks, options);
}

Status ArrayImpl::visit(std::span<const Block> blocks, ChunkSink& sink, const ReadOptions& options) {
  return read_blocks(blocks, options, &sink);
}

Status ArrayImpl::read_blocks(std::span<const Block> blocks, const ReadOptions& options, ChunkSink* sink) {
  // A shard rewritten by another writer between its index read and its inner
  // chunk reads fails those with kAborted: drop the indexes and plan again
  // (the output is rewritten whole), so the reader sees the old or the new shard.
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    if (sink) sink->reset();
    ReadPlan plan(*this, blocks, options, sink);
    LSIO_RETURN_IF_ERROR(plan.build());
    Status s = plan.run();
    if (s.code() != StatusCode::kAborted) return s;
    for (const std::string& key : plan.shard_keys()) index_cache_.erase(key);
    if (attempt == kAttempts) {
      return s.with_context("read " + path_ + ": shards kept changing while being read (" + std::to_string(kAttempts) +
                            " attempts)");
    }
  }
}

}  // namespace lsio::zarr
