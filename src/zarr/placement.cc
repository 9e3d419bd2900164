#include "zarr/placement.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <type_traits>

namespace lsio::zarr {
namespace {

// IEEE half to float, bit exact (numpy's float16).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf, nan
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  const float sub = static_cast<float>(mant) * 0x1p-24f;  // subnormal or zero
  return sign ? -sub : sub;
}

template <typename S>
double load(const std::byte* p) {
  S v;
  std::memcpy(&v, p, sizeof v);
  return static_cast<double>(v);
}

template <>
double load<uint16_t*>(const std::byte* p) {  // tag type: float16
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return half_to_float(v);
}

// dst[i] = src[i * step] * scale + offset for i < n.
template <typename S, typename D>
void affine(const std::byte* src, size_t step, D* dst, uint64_t n, double scale, double offset) {
  constexpr size_t kSize = std::is_pointer_v<S> ? 2 : sizeof(S);
  if constexpr (!std::is_pointer_v<S> && std::is_same_v<D, float> && sizeof(S) <= 2) {
    // Narrow integers: float arithmetic is exact enough and vectorises.
    const float fs = static_cast<float>(scale), fo = static_cast<float>(offset);
    if (step == kSize) {
      const S* s = reinterpret_cast<const S*>(src);
      for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]) * fs + fo;
      return;
    }
  }
  for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<D>(load<S>(src + i * step) * scale + offset);
}

template <typename D>
void affine_from(DataType t, const std::byte* src, size_t step, D* dst, uint64_t n, double scale, double offset) {
  switch (t) {
    case DataType::kBool:
    case DataType::kUInt8:
      return affine<uint8_t>(src, step, dst, n, scale, offset);
    case DataType::kInt8:
      return affine<int8_t>(src, step, dst, n, scale, offset);
    case DataType::kInt16:
      return affine<int16_t>(src, step, dst, n, scale, offset);
    case DataType::kUInt16:
      return affine<uint16_t>(src, step, dst, n, scale, offset);
    case DataType::kInt32:
      return affine<int32_t>(src, step, dst, n, scale, offset);
    case DataType::kUInt32:
      return affine<uint32_t>(src, step, dst, n, scale, offset);
    case DataType::kInt64:
      return affine<int64_t>(src, step, dst, n, scale, offset);
    case DataType::kUInt64:
      return affine<uint64_t>(src, step, dst, n, scale, offset);
    case DataType::kFloat16:
      return affine<uint16_t*>(src, step, dst, n, scale, offset);
    case DataType::kFloat32:
      return affine<float>(src, step, dst, n, scale, offset);
    case DataType::kFloat64:
      return affine<double>(src, step, dst, n, scale, offset);
    case DataType::kComplex64:
    case DataType::kComplex128:
      return;  // refused by Placement::check
  }
}

}  // namespace

Status Placement::check(const Conversion& c, DataType src_dtype, std::span<const uint64_t> block_shape) {
  if (c.dtype != DataType::kFloat32 && c.dtype != DataType::kFloat64) {
    return Status(StatusCode::kInvalidArgument,
                  "conversion: output dtype must be float32 or float64, not " + std::string(dtype_name(c.dtype)));
  }
  if (is_complex(src_dtype)) {
    return Status(StatusCode::kInvalidArgument,
                  "conversion: cannot convert " + std::string(dtype_name(src_dtype)) + " elements to real numbers");
  }
  if (c.scale.size() > 1 || c.offset.size() > 1) {
    if (c.channel_dim >= block_shape.size()) {
      return Status(StatusCode::kInvalidArgument, "conversion: channel dimension " + std::to_string(c.channel_dim) +
                                                      " is out of range for a block of " +
                                                      std::to_string(block_shape.size()) + " dimensions");
    }
    const uint64_t extent = block_shape[c.channel_dim];
    for (const auto* v : {&c.scale, &c.offset}) {
      if (v->size() != 1 && v->size() != extent) {
        return Status(StatusCode::kInvalidArgument,
                      "conversion: " + std::to_string(v->size()) + " scale/offset values for a channel dimension of " +
                          std::to_string(extent) + " (give 1 or " + std::to_string(extent) + ")");
      }
    }
  }
  if (c.scale.empty() || c.offset.empty()) {
    return Status(StatusCode::kInvalidArgument, "conversion: scale and offset need at least one value");
  }
  return {};
}

Placement::Placement(std::byte* out, std::vector<uint64_t> shape, DataType src_dtype, const Conversion* conversion)
    : out_(out),
      shape_(std::move(shape)),
      src_dtype_(src_dtype),
      conversion_(conversion),
      src_itemsize_(dtype_size(src_dtype)),
      out_itemsize_(conversion ? dtype_size(conversion->dtype) : src_itemsize_) {
  if (conversion_ && (conversion_->scale.size() > 1 || conversion_->offset.size() > 1)) {
    channel_extent_ = shape_[conversion_->channel_dim];
    for (size_t d = conversion_->channel_dim + 1; d < shape_.size(); ++d) channel_stride_ *= shape_[d];
  }
}

template <typename Fn>
void Placement::for_each_channel_run(uint64_t o, uint64_t n, Fn&& fn) const {
  if (channel_extent_ == 1) return fn(uint64_t{0}, n, size_t{0});
  for (uint64_t done = 0; done < n;) {
    const uint64_t e = o + done;
    const uint64_t left_in_channel = channel_stride_ - e % channel_stride_;
    const uint64_t k = std::min(n - done, left_in_channel);
    fn(done, k, static_cast<size_t>((e / channel_stride_) % channel_extent_));
    done += k;
  }
}

void Placement::convert(const std::byte* src, size_t src_step, uint64_t o, uint64_t n) const {
  const Conversion& c = *conversion_;
  for_each_channel_run(o, n, [&](uint64_t first, uint64_t k, size_t ch) {
    const double scale = c.scale[c.scale.size() == 1 ? 0 : ch];
    const double offset = c.offset[c.offset.size() == 1 ? 0 : ch];
    const std::byte* s = src + first * src_step;
    std::byte* d = out_ + (o + first) * out_itemsize_;
    if (c.dtype == DataType::kFloat32) {
      affine_from(src_dtype_, s, src_step, reinterpret_cast<float*>(d), k, scale, offset);
    } else {
      affine_from(src_dtype_, s, src_step, reinterpret_cast<double*>(d), k, scale, offset);
    }
  });
}

void Placement::fill(std::span<const std::byte> value, uint64_t o, uint64_t n) const {
  if (conversion_) return convert(value.data(), 0, o, n);
  std::byte* p = out_ + o * out_itemsize_;
  if (std::all_of(value.begin(), value.end(), [](std::byte b) { return b == std::byte{0}; })) {
    return void(std::memset(p, 0, n * out_itemsize_));
  }
  for (uint64_t i = 0; i < n; ++i) std::memcpy(p + i * out_itemsize_, value.data(), out_itemsize_);
}

}  // namespace lsio::zarr
