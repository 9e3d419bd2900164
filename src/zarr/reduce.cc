// Array::reduce: decode and reduce fused per chunk. The selection is cut into
// waves of a few thousand chunks (bounded plan memory); each wave is one
// visit() batch whose chunks are decoded on the worker that read them and
// folded into that worker's accumulators (one per output element). Missing
// chunks are folded as fill-value runs without being read. The workers'
// accumulators are merged at the end (Chan's formula for the variance).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "zarr/array.h"
#include "zarr/array_internal.h"

namespace lsio::zarr {
namespace {

// At most this many (inner) chunks are planned at once.
constexpr uint64_t kWaveChunks = 4096;

struct Half {  // float16 storage
  uint16_t bits;
};

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  const float sub = static_cast<float>(mant) * 0x1p-24f;
  return sign ? -sub : sub;
}

// Per storage type S: K, the type elements are compared and summed in.
template <typename S>
struct Traits {
  using K = S;
  static K key(S v) { return v; }
};
template <>
struct Traits<Half> {
  using K = float;
  static K key(Half v) { return half_to_float(v.bits); }
};
template <>
struct Traits<bool> {
  using K = uint8_t;
  static K key(bool v) { return v ? 1 : 0; }
};

template <typename S>
constexpr bool kInt = std::is_integral_v<typename Traits<S>::K>;

// Statistics of one output element.
template <typename S>
struct Acc {
  using K = typename Traits<S>::K;
  uint64_t n = 0, nan = 0;      // n: finite elements (those in mean and m2)
  uint64_t pinf = 0, ninf = 0;  // +inf and -inf elements: in the sum, min and max, not in mean and m2
  double sum = 0, comp = 0;     // Kahan (Neumaier) sum and its compensation
  double mean = 0, m2 = 0;
  __int128 isum = 0;
  bool any = false;
  K mn{}, mx{};
  S mn_raw{}, mx_raw{};

  void add_sum(double v) {  // Neumaier's variant of Kahan summation
    const double t = sum + v;
    if (!std::isfinite(t)) {  // an infinity (or inf - inf): no compensation to track
      sum = t;
      return;
    }
    comp += std::abs(sum) >= std::abs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
  }
  void add_minmax(K k, S raw) {
    if (!any || k < mn) mn = k, mn_raw = raw;
    if (!any || k > mx) mx = k, mx_raw = raw;
    any = true;
  }
  // Chan's parallel merge of (count, mean, m2).
  void merge_moments(uint64_t nb, double mean_b, double m2_b) {
    if (nb == 0) return;
    if (n == 0) {
      n = nb, mean = mean_b, m2 = m2_b;
      return;
    }
    const double na = static_cast<double>(n), nbd = static_cast<double>(nb), nt = na + nbd;
    const double delta = mean_b - mean;
    mean += delta * nbd / nt;
    m2 += m2_b + delta * delta * na * nbd / nt;
    n += nb;
  }
  void add_one(S raw) {
    const K k = Traits<S>::key(raw);
    const double x = static_cast<double>(k);
    if constexpr (!kInt<S>) {
      if (std::isnan(k)) return void(++nan);
      if (std::isinf(k)) {
        ++(k > 0 ? pinf : ninf);
        add_sum(x);
        return add_minmax(k, raw);
      }
    } else {
      isum += k;
    }
    add_sum(x);
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
    add_minmax(k, raw);
  }
  // n copies of one value.
  void add_repeated(S raw, uint64_t count) {
    if (count == 0) return;
    const K k = Traits<S>::key(raw);
    const double x = static_cast<double>(k);
    if constexpr (!kInt<S>) {
      if (std::isnan(k)) return void(nan += count);
    }
    add_sum(x * static_cast<double>(count));
    if constexpr (!kInt<S>) {
      if (std::isinf(k)) {
        (k > 0 ? pinf : ninf) += count;
        return add_minmax(k, raw);
      }
    } else {
      isum += static_cast<__int128>(k) * count;
    }
    merge_moments(count, x, 0.0);
    add_minmax(k, raw);
  }
  // A run of elements. Plain numbers take one pass in independent lanes (the compiler vectorizes it): sums of
  // x - pivot and of its square (pivot: the run's first element, so the shifted sums do not cancel), min and max;
  // merged with Chan's formula. A run holding NaN (or infinities that make the sums NaN), float16 and bool take
  // the careful path.
  void add_run(const S* p, uint64_t count) {
    if constexpr (std::is_arithmetic_v<S> && !std::is_same_v<S, bool>) {
      if (count == 0) return;
      constexpr int L = 8;
      const S first = p[0];
      const double pivot = static_cast<double>(first);
      double s1[L] = {}, s2[L] = {};
      S lo[L], hi[L];
      using Wide = std::conditional_t<(sizeof(S) <= 4), int64_t, __int128>;
      Wide is[L] = {};
      for (int l = 0; l < L; ++l) lo[l] = hi[l] = first;
      uint64_t i = 0;
      for (; i + L <= count; i += L) {
        for (int l = 0; l < L; ++l) {
          const S x = p[i + l];
          const double d = static_cast<double>(x) - pivot;
          s1[l] += d;
          s2[l] += d * d;
          lo[l] = x < lo[l] ? x : lo[l];
          hi[l] = x > hi[l] ? x : hi[l];
          if constexpr (kInt<S>) is[l] += x;
        }
      }
      for (; i < count; ++i) {
        const S x = p[i];
        const double d = static_cast<double>(x) - pivot;
        s1[0] += d;
        s2[0] += d * d;
        lo[0] = x < lo[0] ? x : lo[0];
        hi[0] = x > hi[0] ? x : hi[0];
        if constexpr (kInt<S>) is[0] += x;
      }
      double a = 0, b = 0;
      S mn = lo[0], mx = hi[0];
      __int128 wide = 0;
      for (int l = 0; l < L; ++l) {
        a += s1[l], b += s2[l];
        mn = lo[l] < mn ? lo[l] : mn;
        mx = hi[l] > mx ? hi[l] : mx;
        wide += is[l];
      }
      if constexpr (!kInt<S>) {
        if (!std::isfinite(a) || !std::isfinite(b)) return add_run_careful(p, count);
      } else {
        isum += wide;
      }
      const double n = static_cast<double>(count);
      add_sum(pivot * n);
      add_sum(a);
      merge_moments(count, pivot + a / n, std::max(0.0, b - a * a / n));
      add_minmax(mn, mn);
      add_minmax(mx, mx);
    } else {
      add_run_careful(p, count);
    }
  }
  // Two passes (sum, then squared deviations); NaN counted apart, infinities kept out of mean and m2.
  void add_run_careful(const S* p, uint64_t count) {
    uint64_t valid = 0, nans = 0;
    double lanes[4] = {0, 0, 0, 0};
    __int128 run_isum = 0;
    K lo{}, hi{};
    uint64_t lo_i = 0, hi_i = 0;
    bool seen = false;
    for (uint64_t i = 0; i < count; ++i) {
      const K k = Traits<S>::key(p[i]);
      if constexpr (!kInt<S>) {
        if (std::isnan(k)) {
          ++nans;
          continue;
        }
        if (std::isinf(k)) {
          add_one(p[i]);
          continue;
        }
      } else {
        run_isum += k;
      }
      lanes[i & 3] += static_cast<double>(k);
      ++valid;
      if (!seen || k < lo) lo = k, lo_i = i;
      if (!seen || k > hi) hi = k, hi_i = i;
      seen = true;
    }
    nan += nans;
    if (valid == 0) return;
    const double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    const double m = s / static_cast<double>(valid);
    double dev[4] = {0, 0, 0, 0};
    for (uint64_t i = 0; i < count; ++i) {
      const K k = Traits<S>::key(p[i]);
      if constexpr (!kInt<S>) {
        if (!std::isfinite(k)) continue;
      }
      const double d = static_cast<double>(k) - m;
      dev[i & 3] += d * d;
    }
    add_sum(s);
    isum += run_isum;
    merge_moments(valid, m, (dev[0] + dev[1]) + (dev[2] + dev[3]));
    add_minmax(lo, p[lo_i]);
    add_minmax(hi, p[hi_i]);
  }
  void merge(const Acc& b) {
    nan += b.nan;
    pinf += b.pinf;
    ninf += b.ninf;
    add_sum(b.sum);
    add_sum(b.comp);
    isum += b.isum;
    merge_moments(b.n, b.mean, b.m2);
    if (b.any) {
      add_minmax(b.mn, b.mn_raw);
      add_minmax(b.mx, b.mx_raw);
    }
  }
};

template <typename S>
class Reducer final : public ChunkSink {
 public:
  // `shape`: the selection's; `keep`: per dimension, whether it is kept in the output.
  Reducer(std::vector<uint64_t> shape, const std::vector<bool>& keep, S fill)
      : shape_(std::move(shape)), sstride_(strides(shape_)), ostride_(shape_.size(), 0), fill_(fill) {
    uint64_t n = 1;
    for (size_t d = shape_.size(); d-- > 0;) {
      if (!keep[d]) continue;
      ostride_[d] = n;
      n *= shape_[d];
      out_shape_.insert(out_shape_.begin(), shape_[d]);
    }
    out_size_ = n;
  }

  const std::vector<uint64_t>& out_shape() const { return out_shape_; }

  // A wave planned again after a shard changed under it: what it already folded cannot be taken out, so the
  // whole reduction must start over (poisoned()).
  void reset() override {
    std::lock_guard lock(mu_);
    poisoned_ |= wave_touched_;
  }
  void start_wave() { wave_touched_ = false; }
  bool poisoned() const { return poisoned_; }

  Status chunk(const std::byte* src, std::span<const uint64_t> chunk_shape, std::span<const DimPart* const> parts,
               std::span<const uint64_t> block_shape) override {
    try {
      std::vector<Acc<S>>& acc = mine();
      const S* p = reinterpret_cast<const S*>(src);
      for_each_joined_run(parts, chunk_shape, block_shape, [&](uint64_t c, uint64_t o, uint64_t n) {
        if (out_size_ == 1) return acc[0].add_run(p + c, n);
        for_each_out(o, n, [&](uint64_t k, uint64_t out) { acc[out].add_one(p[c + k]); });
      });
      return {};
    } catch (const std::exception& e) {
      return Status(StatusCode::kResourceExhausted, std::string("reduce: ") + e.what());
    }
  }

  Status fill(std::span<const DimPart* const> parts, std::span<const uint64_t> block_shape) override {
    try {
      std::vector<Acc<S>>& acc = mine();
      for_each_joined_run(parts, block_shape, block_shape, [&](uint64_t, uint64_t o, uint64_t n) {
        if (out_size_ == 1) return acc[0].add_repeated(fill_, n);
        for_each_out(o, n, [&](uint64_t, uint64_t out) { acc[out].add_one(fill_); });
      });
      return {};
    } catch (const std::exception& e) {
      return Status(StatusCode::kResourceExhausted, std::string("reduce: ") + e.what());
    }
  }

  Stats finish() {
    std::vector<Acc<S>> total(out_size_);
    for (auto& [id, part] : partials_)
      for (uint64_t i = 0; i < out_size_; ++i) total[i].merge(part[i]);
    Stats st;
    st.shape = out_shape_;
    st.count.resize(out_size_);
    st.nan_count.resize(out_size_);
    st.sum.resize(out_size_);
    st.mean.resize(out_size_);
    st.m2.resize(out_size_);
    st.min.resize(out_size_ * sizeof(S));
    st.max.resize(out_size_ * sizeof(S));
    if constexpr (kInt<S>) {
      st.int_sum_hi.resize(out_size_);
      st.int_sum_lo.resize(out_size_);
    }
    for (uint64_t i = 0; i < out_size_; ++i) {
      const Acc<S>& a = total[i];
      constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
      constexpr double kInf = std::numeric_limits<double>::infinity();
      st.count[i] = a.n + a.pinf + a.ninf;
      st.nan_count[i] = a.nan;
      st.sum[i] = std::isfinite(a.sum) ? a.sum + a.comp : a.sum;
      // numpy: an infinity makes the mean infinite (NaN with both signs) and the variance NaN.
      st.mean[i] = a.pinf && a.ninf ? kNaN : a.pinf ? kInf : a.ninf ? -kInf : a.n ? a.mean : kNaN;
      st.m2[i] = a.pinf || a.ninf ? kNaN : a.m2;
      const S lo = a.any ? a.mn_raw : fill_, hi = a.any ? a.mx_raw : fill_;
      std::memcpy(st.min.data() + i * sizeof(S), &lo, sizeof(S));
      std::memcpy(st.max.data() + i * sizeof(S), &hi, sizeof(S));
      if constexpr (kInt<S>) {
        const auto u = static_cast<unsigned __int128>(a.isum);
        st.int_sum_hi[i] = static_cast<int64_t>(static_cast<uint64_t>(u >> 64));
        st.int_sum_lo[i] = static_cast<uint64_t>(u);
        // For integers the float64 sum is the exact sum, rounded once.
        st.sum[i] = static_cast<double>(a.isum);
      }
    }
    return st;
  }

 private:
  // This worker's accumulators.
  std::vector<Acc<S>>& mine() {
    std::lock_guard lock(mu_);
    wave_touched_ = true;
    auto& p = partials_[std::this_thread::get_id()];
    if (p.empty()) p.resize(out_size_);
    return p;
  }

  // Calls fn(k, output index) for the n elements of the block from flat index o.
  template <typename Fn>
  void for_each_out(uint64_t o, uint64_t n, Fn&& fn) const {
    const size_t nd = shape_.size();
    thread_local std::vector<uint64_t> coords;
    coords.assign(nd, 0);
    uint64_t out = 0;
    for (size_t d = 0; d < nd; ++d) {
      coords[d] = (o / sstride_[d]) % shape_[d];
      out += coords[d] * ostride_[d];
    }
    for (uint64_t k = 0; k < n; ++k) {
      fn(k, out);
      for (size_t d = nd; d-- > 0;) {
        out += ostride_[d];
        if (++coords[d] < shape_[d]) break;
        out -= shape_[d] * ostride_[d];
        coords[d] = 0;
      }
    }
  }

  std::vector<uint64_t> shape_, sstride_, ostride_, out_shape_;
  uint64_t out_size_ = 1;
  S fill_;
  std::mutex mu_;
  bool wave_touched_ = false, poisoned_ = false;
  std::unordered_map<std::thread::id, std::vector<Acc<S>>> partials_;
};

// The waves: boxes of the selection holding at most about kWaveChunks chunks, as blocks whose offsets place them
// in the selection.
std::vector<ArrayImpl::Block> plan_waves(const Selection& sel, std::span<const uint64_t> grid_chunk,
                                         uint64_t inner_per_chunk, const std::vector<uint64_t>& shape, DataType dtype) {
  const size_t nd = sel.size();
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> ranges(nd);  // per dim: output range of each chunk
  for (size_t d = 0; d < nd; ++d)
    for (const DimPart& p : split_dimension(sel[d], grid_chunk[d]))
      ranges[d].push_back({p.in_out.front(), p.in_out.back() + 1});
  // Split dimension: the first d whose trailing dimensions hold at most a wave.
  size_t split = nd;
  uint64_t group = 1;
  {
    uint64_t tail = inner_per_chunk;
    std::vector<uint64_t> tails(nd + 1, inner_per_chunk);
    for (size_t d = nd; d-- > 0;) tails[d] = tails[d + 1] * std::max<uint64_t>(ranges[d].size(), 1);
    for (size_t d = 0; d < nd; ++d) {
      tail = tails[d + 1];
      if (tail <= kWaveChunks) {
        split = d;
        group = std::max<uint64_t>(1, kWaveChunks / tail);
        break;
      }
    }
  }
  auto slice_of = [&](size_t d, uint64_t ob, uint64_t oe) {
    const DimSelection& s = sel[d];
    return DimSelection::slice(s.start + ob * s.step, s.start + (oe - 1) * s.step + 1, s.step);
  };
  std::vector<ArrayImpl::Block> blocks;
  if (split == nd) split = nd == 0 ? 0 : nd - 1, group = 1;
  if (nd == 0) {
    blocks.push_back(ArrayImpl::Block{{}, {}, Placement(nullptr, {}, dtype, nullptr)});
    return blocks;
  }
  // Iterate over the chunks of dims < split and groups along split.
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> lists(split + 1);
  for (size_t d = 0; d < split; ++d) lists[d] = ranges[d];
  for (size_t i = 0; i < ranges[split].size(); i += group) {
    const size_t e = std::min<size_t>(i + group, ranges[split].size()) - 1;
    lists[split].push_back({ranges[split][i].first, ranges[split][e].second});
  }
  for_each_combination(lists, [&](std::span<const std::pair<uint64_t, uint64_t>* const> combo) {
    ArrayImpl::Block b{{}, std::vector<uint64_t>(nd, 0), Placement(nullptr, shape, dtype, nullptr)};
    for (size_t d = 0; d < nd; ++d) {
      if (d <= split) {
        b.sel.push_back(slice_of(d, combo[d]->first, combo[d]->second));
        b.out_offset[d] = combo[d]->first;
      } else {
        b.sel.push_back(sel[d]);
      }
    }
    blocks.push_back(std::move(b));
  });
  return blocks;
}

template <typename S>
Result<Stats> reduce_as(ArrayImpl& a, const Selection& sel, const std::vector<bool>& keep, const ReadOptions& options) {
  S fill;
  std::memcpy(&fill, a.metadata().fill_value.data(), sizeof(S));
  std::vector<uint64_t> shape = selection_shape(sel);
  bool empty = false;
  for (uint64_t s : shape) empty |= s == 0;
  if (empty) return Reducer<S>(shape, keep, fill).finish();
  const std::vector<uint64_t> grid = a.metadata().chunk_shape;
  const std::vector<uint64_t> inner = a.read_chunk_shape();
  uint64_t inner_per_chunk = 1;
  for (size_t d = 0; d < grid.size(); ++d) inner_per_chunk *= (grid[d] + inner[d] - 1) / inner[d];
  const std::vector<ArrayImpl::Block> waves = plan_waves(sel, grid, inner_per_chunk, shape, a.metadata().dtype);
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    Reducer<S> r(shape, keep, fill);
    for (const ArrayImpl::Block& w : waves) {
      r.start_wave();
      LSIO_RETURN_IF_ERROR(a.visit(std::span(&w, 1), r, options));
      if (r.poisoned()) break;
    }
    if (!r.poisoned()) return r.finish();
    if (attempt == kAttempts) {
      return error(StatusCode::kAborted, "reduce " + a.path() + ": shards kept changing while being reduced (" +
                                             std::to_string(kAttempts) + " attempts)");
    }
  }
}

}  // namespace

Result<Stats> ArrayImpl::reduce(const Selection& sel, std::span<const size_t> axes, const ReadOptions& options) {
  const std::string where = "reduce " + path_;
  LSIO_RETURN_IF_ERROR(check_selection(sel, meta_.shape).with_context(where));
  for (size_t d = 0; d < sel.size(); ++d) {
    if (!sel[d].is_slice) {
      return error(StatusCode::kInvalidArgument,
                   where + ": dimension " + std::to_string(d) + " selects a list of indices; only slices reduce");
    }
  }
  std::vector<bool> keep(meta_.shape.size(), true);
  for (size_t ax : axes) {
    if (ax >= keep.size() || !keep[ax]) {
      return error(
          StatusCode::kInvalidArgument,
          where + ": axis " + std::to_string(ax) +
              (ax >= keep.size() ? " is out of range for an array of " + std::to_string(keep.size()) + " dimensions"
                                 : " is repeated"));
    }
    keep[ax] = false;
  }
  switch (meta_.dtype) {
    case DataType::kBool:
      return reduce_as<bool>(*this, sel, keep, options);
    case DataType::kInt8:
      return reduce_as<int8_t>(*this, sel, keep, options);
    case DataType::kInt16:
      return reduce_as<int16_t>(*this, sel, keep, options);
    case DataType::kInt32:
      return reduce_as<int32_t>(*this, sel, keep, options);
    case DataType::kInt64:
      return reduce_as<int64_t>(*this, sel, keep, options);
    case DataType::kUInt8:
      return reduce_as<uint8_t>(*this, sel, keep, options);
    case DataType::kUInt16:
      return reduce_as<uint16_t>(*this, sel, keep, options);
    case DataType::kUInt32:
      return reduce_as<uint32_t>(*this, sel, keep, options);
    case DataType::kUInt64:
      return reduce_as<uint64_t>(*this, sel, keep, options);
    case DataType::kFloat16:
      return reduce_as<Half>(*this, sel, keep, options);
    case DataType::kFloat32:
      return reduce_as<float>(*this, sel, keep, options);
    case DataType::kFloat64:
      return reduce_as<double>(*this, sel, keep, options);
    default:
      return error(StatusCode::kUnimplemented,
                   where + ": reductions of " + std::string(dtype_name(meta_.dtype)) + " arrays are not supported");
  }
}

}  // namespace lsio::zarr
