#include "codec/array_encoding.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace lsio::codec {
namespace {

static_assert(std::endian::native == std::endian::little, "LSIO decodes into little-endian memory");

// One loop nest of a strided copy, in bytes: dimension k has extent[k], and advances
// the source by src[k] and the destination by dst[k].
struct Walk {
  std::vector<uint64_t> extent;
  std::vector<ptrdiff_t> src, dst;

  void add(uint64_t n, ptrdiff_t s, ptrdiff_t d) {
    if (n == 1) return;
    // Fold into the previous (outer) dimension when both sides stay contiguous.
    if (!extent.empty() && src.back() == s * static_cast<ptrdiff_t>(n) && dst.back() == d * static_cast<ptrdiff_t>(n)) {
      extent.back() *= n;
      src.back() = s;
      dst.back() = d;
      return;
    }
    extent.push_back(n);
    src.push_back(s);
    dst.push_back(d);
  }
};

template <typename Word>
void swap_copy(const std::byte* s, std::byte* d) {
  Word w;
  std::memcpy(&w, s, sizeof w);
  w = std::byteswap(w);
  std::memcpy(d, &w, sizeof w);
}

template <size_t kItem, size_t kUnit>
inline void copy_item(const std::byte* s, std::byte* d) {
  if constexpr (kUnit == 0) {
    std::memcpy(d, s, kItem);
  } else {
    using Word = std::conditional_t<kUnit == 2, uint16_t, std::conditional_t<kUnit == 4, uint32_t, uint64_t>>;
    for (size_t u = 0; u < kItem; u += kUnit) swap_copy<Word>(s + u, d + u);
  }
}

// The innermost copy: along dimension `a` only, or tiled over the plane (a, b) so that
// both sides stay within a few cache lines per tile (a transpose).
struct Kernel {
  uint64_t na = 1, nb = 1;
  ptrdiff_t sa = 0, da = 0, sb = 0, db = 0;
};

template <size_t kItem, size_t kUnit>
void copy_line(const std::byte* s, std::byte* d, uint64_t n, ptrdiff_t ss, ptrdiff_t ds) {
  constexpr auto kStep = static_cast<ptrdiff_t>(kItem);
  if (ss == kStep && ds == kStep) {  // contiguous on both sides: constant strides vectorise
    for (uint64_t i = 0; i < n; ++i) copy_item<kItem, kUnit>(s + i * kItem, d + i * kItem);
    return;
  }
  for (uint64_t i = 0; i < n; ++i, s += ss, d += ds) copy_item<kItem, kUnit>(s, d);
}

template <size_t kItem, size_t kUnit>
void copy_plane(const std::byte* s, std::byte* d, const Kernel& k) {
  constexpr uint64_t kTile = 8;  // 32 and up thrash the L1 sets when strides are powers of two
  for (uint64_t b0 = 0; b0 < k.nb; b0 += kTile) {
    const uint64_t b1 = std::min(k.nb, b0 + kTile);
    for (uint64_t a0 = 0; a0 < k.na; a0 += kTile) {
      const uint64_t n = std::min(k.na, a0 + kTile) - a0;
      for (uint64_t b = b0; b < b1; ++b) {
        const auto ob = static_cast<ptrdiff_t>(b), oa = static_cast<ptrdiff_t>(a0);
        copy_line<kItem, kUnit>(s + ob * k.sb + oa * k.sa, d + ob * k.db + oa * k.da, n, k.sa, k.da);
      }
    }
  }
}

size_t smallest_stride(const std::vector<ptrdiff_t>& strides) {
  size_t best = 0;
  for (size_t i = 1; i < strides.size(); ++i) {
    if (std::abs(strides[i]) < std::abs(strides[best])) best = i;
  }
  return best;
}

template <size_t kItem, size_t kUnit>
void run(const std::byte* src, std::byte* dst, const Walk& w) {
  const size_t nd = w.extent.size();
  if (nd == 0) return copy_item<kItem, kUnit>(src, dst);
  // a: the source's contiguous dimension; b: the destination's (when it is another one).
  const size_t a = smallest_stride(w.src), b = smallest_stride(w.dst);
  Kernel k{w.extent[a], 1, w.src[a], w.dst[a], 0, 0};
  if (b != a) k = {w.extent[a], w.extent[b], w.src[a], w.dst[a], w.src[b], w.dst[b]};
  std::vector<size_t> outer;  // the other dimensions, walked by an odometer
  for (size_t i = 0; i < nd; ++i) {
    if (i != a && i != b) outer.push_back(i);
  }
  std::vector<uint64_t> idx(outer.size(), 0);
  while (true) {
    if (b != a) {
      copy_plane<kItem, kUnit>(src, dst, k);
    } else {
      copy_line<kItem, kUnit>(src, dst, k.na, k.sa, k.da);
    }
    size_t j = outer.size();
    while (true) {
      if (j == 0) return;
      const size_t dim = outer[--j];
      src += w.src[dim];
      dst += w.dst[dim];
      if (++idx[j] < w.extent[dim]) break;
      src -= w.src[dim] * static_cast<ptrdiff_t>(w.extent[dim]);
      dst -= w.dst[dim] * static_cast<ptrdiff_t>(w.extent[dim]);
      idx[j] = 0;
    }
  }
}

template <size_t kItem>
void run_item(const std::byte* src, std::byte* dst, const Walk& w, size_t unit) {
  switch (unit) {
    case 0:
      return run<kItem, 0>(src, dst, w);
    case 2:
      if constexpr (kItem % 2 == 0) return run<kItem, 2>(src, dst, w);
      break;
    case 4:
      if constexpr (kItem % 4 == 0) return run<kItem, 4>(src, dst, w);
      break;
    case 8:
      if constexpr (kItem % 8 == 0) return run<kItem, 8>(src, dst, w);
      break;
  }
  run<kItem, 0>(src, dst, w);  // unreachable for valid encodings
}

void run_any(const std::byte* src, std::byte* dst, const Walk& w, size_t itemsize, size_t unit) {
  switch (itemsize) {
    case 1:
      return run_item<1>(src, dst, w, 0);
    case 2:
      return run_item<2>(src, dst, w, unit);
    case 4:
      return run_item<4>(src, dst, w, unit);
    case 8:
      return run_item<8>(src, dst, w, unit);
    case 16:
      return run_item<16>(src, dst, w, unit);
  }
}

std::vector<ptrdiff_t> c_strides(std::span<const uint64_t> shape, size_t itemsize) {
  std::vector<ptrdiff_t> strides(shape.size());
  ptrdiff_t s = static_cast<ptrdiff_t>(itemsize);
  for (size_t k = shape.size(); k-- > 0;) {
    strides[k] = s;
    s *= static_cast<ptrdiff_t>(shape[k]);
  }
  return strides;
}

// The walk over encoded C order: `encoded_first` says whether the source is the encoded side.
Walk make_walk(std::span<const uint64_t> shape, size_t itemsize, const ArrayEncoding& e, bool encoded_first) {
  Walk w;
  uint64_t total = 1;
  for (uint64_t n : shape) total *= n;
  if (e.permutation.empty()) {
    w.add(total, static_cast<ptrdiff_t>(itemsize), static_cast<ptrdiff_t>(itemsize));
    return w;
  }
  std::vector<uint64_t> encoded_shape(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) encoded_shape[i] = shape[e.permutation[i]];
  const auto es = c_strides(encoded_shape, itemsize);
  const auto ds = c_strides(shape, itemsize);
  for (size_t i = 0; i < shape.size(); ++i) {
    const ptrdiff_t d = ds[e.permutation[i]];
    if (encoded_first) {
      w.add(encoded_shape[i], es[i], d);
    } else {
      w.add(encoded_shape[i], d, es[i]);
    }
  }
  return w;
}

void convert(std::span<const std::byte> from, std::span<std::byte> to, std::span<const uint64_t> shape, size_t itemsize,
             const ArrayEncoding& e, bool from_encoded) {
  if (to.empty()) return;
  if (e.identity()) {
    std::memcpy(to.data(), from.data(), to.size());
    return;
  }
  run_any(from.data(), to.data(), make_walk(shape, itemsize, e, from_encoded), itemsize, e.swap_unit);
}

}  // namespace

void ArrayEncoding::transpose(std::span<const size_t> order) {
  std::vector<size_t> next(order.size());
  bool is_identity = true;
  for (size_t i = 0; i < order.size(); ++i) {
    next[i] = permutation.empty() ? order[i] : permutation[order[i]];
    is_identity = is_identity && next[i] == i;
  }
  permutation = is_identity ? std::vector<size_t>{} : std::move(next);
}

void decode_array(std::span<const std::byte> encoded, std::span<std::byte> decoded, std::span<const uint64_t> shape,
                  size_t itemsize, const ArrayEncoding& encoding) {
  convert(encoded, decoded, shape, itemsize, encoding, true);
}

void encode_array(std::span<const std::byte> decoded, std::span<std::byte> encoded, std::span<const uint64_t> shape,
                  size_t itemsize, const ArrayEncoding& encoding) {
  convert(decoded, encoded, shape, itemsize, encoding, false);
}

}  // namespace lsio::codec
