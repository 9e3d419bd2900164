#include "zarr/fill_value.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

namespace lsio::zarr {
namespace {

using nlohmann::json;
using Int128 = __int128;

constexpr size_t kExcerptChars = 60;
constexpr int kExcerptDepth = 3;

void append_excerpt(const json& v, int depth, std::string& out) {
  if (out.size() > kExcerptChars) return;
  if (v.is_array() || v.is_object()) {
    bool object = v.is_object();
    out += object ? '{' : '[';
    if (depth >= kExcerptDepth && !v.empty()) {
      out += "...";
    } else {
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        if (out.size() > kExcerptChars) {
          out += "...";
          break;
        }
        if (object) out += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + ": ";
        append_excerpt(*it, depth + 1, out);
      }
    }
    out += object ? '}' : ']';
    return;
  }
  if (v.is_string() && v.get_ref<const std::string&>().size() > kExcerptChars) {
    out += json(v.get_ref<const std::string&>().substr(0, kExcerptChars) + "...")
               .dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::unexpected<Status> invalid(std::string_view context, std::string_view what) {
  std::string msg(context);
  msg += ' ';
  msg += what;
  return error(StatusCode::kInvalidArgument, std::move(msg));
}

void put_le(uint64_t bits, size_t width, std::byte* out) {
  for (size_t i = 0; i < width; ++i) out[i] = static_cast<std::byte>(bits >> (8 * i));
}

uint64_t get_le(const std::byte* in, size_t width) {
  uint64_t bits = 0;
  for (size_t i = 0; i < width; ++i) bits |= static_cast<uint64_t>(in[i]) << (8 * i);
  return bits;
}

// ---- floats ----------------------------------------------------------------------------------------------------

struct FloatFormat {
  size_t width;  // bytes
  std::string_view name;
  uint64_t quiet_nan;
  uint64_t infinity;
  uint64_t sign;
};

constexpr FloatFormat kHalf{2, "float16", 0x7e00, 0x7c00, 0x8000};
constexpr FloatFormat kSingle{4, "float32", 0x7fc00000, 0x7f800000, 0x80000000};
constexpr FloatFormat kDouble{8, "float64", 0x7ff8000000000000, 0x7ff0000000000000, 0x8000000000000000};

const FloatFormat& float_format(DataType t) {
  switch (t) {
    case DataType::kFloat16:
      return kHalf;
    case DataType::kFloat32:
    case DataType::kComplex64:
      return kSingle;
    default:
      return kDouble;
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<uint64_t> parse_hex_bits(std::string_view s, const FloatFormat& f, std::string_view context) {
  std::string_view digits = s.substr(2);
  if (digits.size() != 2 * f.width) {
    return invalid(context, json_excerpt(json(std::string(s))) + " must have exactly " + std::to_string(2 * f.width) +
                                " hex digits after \"0x\" for " + std::string(f.name));
  }
  uint64_t bits = 0;
  for (char c : digits) {
    int d = hex_digit(c);
    if (d < 0) return invalid(context, json_excerpt(json(std::string(s))) + " is not a valid hex string");
    bits = (bits << 4) | static_cast<uint64_t>(d);
  }
  return bits;
}

Result<uint64_t> number_to_float_bits(double d, const FloatFormat& f, const json& v, std::string_view context) {
  auto out_of_range = [&] { return invalid(context, json_excerpt(v) + " is out of range for " + std::string(f.name)); };
  if (f.width == 8) return std::bit_cast<uint64_t>(d);
  if (f.width == 4) {
    float x = static_cast<float>(d);
    if (std::isinf(x)) return out_of_range();
    return std::bit_cast<uint32_t>(x);
  }
  uint16_t half = 0;
  if (!double_to_half_bits(d, &half)) return out_of_range();
  return half;
}

Result<uint64_t> parse_float_bits(const json& v, const FloatFormat& f, int zarr_format, std::string_view context) {
  if (v.is_number()) return number_to_float_bits(v.get<double>(), f, v, context);
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return f.quiet_nan;
    if (s == "Infinity") return f.infinity;
    if (s == "-Infinity") return f.infinity | f.sign;
    if (zarr_format == 3 && s.starts_with("0x")) return parse_hex_bits(s, f, context);
  }
  std::string forms = zarr_format == 3
                          ? "a number, \"NaN\", \"Infinity\", \"-Infinity\" or a hex bit pattern such as \"0x"
                          : "a number, \"NaN\", \"Infinity\" or \"-Infinity\"";
  if (zarr_format == 3) forms += std::string(2 * f.width, '0') + "\"";
  return invalid(context, "must be " + forms + " for " + std::string(f.name) + ", got " + json_excerpt(v));
}

std::string float_bits_to_text(uint64_t bits, const FloatFormat& f) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (size_t i = 2 * f.width; i-- > 0;) out += kHex[(bits >> (4 * i)) & 0xf];
  return out;
}

double float_bits_to_double(uint64_t bits, const FloatFormat& f) {
  if (f.width == 8) return std::bit_cast<double>(bits);
  if (f.width == 4) return std::bit_cast<float>(static_cast<uint32_t>(bits));
  return half_bits_to_double(static_cast<uint16_t>(bits));
}

json float_to_json(uint64_t bits, const FloatFormat& f, int zarr_format) {
  double d = float_bits_to_double(bits, f);
  if (std::isnan(d)) return (zarr_format == 2 || bits == f.quiet_nan) ? json("NaN") : json(float_bits_to_text(bits, f));
  if (std::isinf(d)) return json(d > 0 ? "Infinity" : "-Infinity");
  return json(d);
}

// ---- integers and bool ----------------------------------------------------------------------------------------

struct IntRange {
  Int128 lo, hi;
};

IntRange int_range(DataType t) {
  size_t bits = 8 * dtype_size(t);
  if (is_signed(t)) return {-(Int128(1) << (bits - 1)), (Int128(1) << (bits - 1)) - 1};
  return {0, (Int128(1) << bits) - 1};
}

// A JSON integer, or a JSON float with an integral value (as zarr-python accepts).
bool json_to_int128(const json& v, Int128* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) >= 0x1p64) return false;
  *out = d < 0 ? -static_cast<Int128>(static_cast<uint64_t>(-d)) : static_cast<Int128>(static_cast<uint64_t>(d));
  return true;
}

Status parse_integer(const json& v, DataType t, std::string_view context, std::byte* out) {
  Int128 value = 0;
  if (!json_to_int128(v, &value)) {
    std::string got = json_excerpt(v);
    return invalid(context, "must be an integer for " + std::string(dtype_name(t)) + ", got " + got).error();
  }
  IntRange r = int_range(t);
  if (value < r.lo || value > r.hi) {
    std::string range = is_signed(t) ? "[" + std::to_string(static_cast<int64_t>(r.lo)) + ", " +
                                           std::to_string(static_cast<int64_t>(r.hi)) + "]"
                                     : "[0, " + std::to_string(static_cast<uint64_t>(r.hi)) + "]";
    return invalid(context, json_excerpt(v) + " is out of range for " + std::string(dtype_name(t)) + " " + range)
        .error();
  }
  put_le(static_cast<uint64_t>(value), dtype_size(t), out);
  return Status();
}

Status parse_bool(const json& v, int zarr_format, std::string_view context, std::byte* out) {
  if (v.is_boolean()) {
    out[0] = std::byte{v.get<bool>() ? uint8_t{1} : uint8_t{0}};
    return Status();
  }
  if (zarr_format == 2 && v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) {
    out[0] = std::byte{static_cast<uint8_t>(v.get<int64_t>())};
    return Status();
  }
  return invalid(context, "must be true or false for bool, got " + json_excerpt(v)).error();
}

json integer_to_json(std::span<const std::byte> bytes, DataType t) {
  size_t width = dtype_size(t);
  uint64_t raw = get_le(bytes.data(), width);
  if (!is_signed(t)) return json(raw);
  int shift = static_cast<int>(64 - 8 * width);
  return json(static_cast<int64_t>(raw << shift) >> shift);
}

// ---- complex ---------------------------------------------------------------------------------------------------

Status parse_complex(const json& v, DataType t, int zarr_format, std::string_view context, std::byte* out) {
  if (!v.is_array() || v.size() != 2) {
    return invalid(context, "must be a two-element array [real, imaginary] for " + std::string(dtype_name(t)) +
                                ", got " + json_excerpt(v))
        .error();
  }
  const FloatFormat& f = float_format(t);
  for (size_t part = 0; part < 2; ++part) {
    std::string part_context = std::string(context) + "[" + std::to_string(part) + "]";
    Result<uint64_t> bits = parse_float_bits(v[part], f, zarr_format, part_context);
    if (!bits) return bits.error();
    put_le(*bits, f.width, out + part * f.width);
  }
  return Status();
}

}  // namespace

std::string json_excerpt(const json& value) {
  std::string out;
  append_excerpt(value, 0, out);
  return out;
}

Result<std::vector<std::byte>> parse_fill_value(const json& value, DataType type, int zarr_format,
                                                std::string_view context) {
  std::vector<std::byte> out(dtype_size(type));
  if (zarr_format == 2 && value.is_null()) return out;  // v2: no fill value, read as zeros
  Status st;
  if (type == DataType::kBool) {
    st = parse_bool(value, zarr_format, context, out.data());
  } else if (is_integer(type)) {
    st = parse_integer(value, type, context, out.data());
  } else if (is_complex(type)) {
    st = parse_complex(value, type, zarr_format, context, out.data());
  } else {
    const FloatFormat& f = float_format(type);
    Result<uint64_t> bits = parse_float_bits(value, f, zarr_format, context);
    if (!bits) return std::unexpected(bits.error());
    put_le(*bits, f.width, out.data());
  }
  if (!st.ok()) return error(st);
  return out;
}

json fill_value_to_json(std::span<const std::byte> bytes, DataType type, int zarr_format) {
  if (bytes.size() < dtype_size(type)) return json(nullptr);
  if (type == DataType::kBool) return json(bytes[0] != std::byte{0});
  if (is_integer(type)) return integer_to_json(bytes, type);
  const FloatFormat& f = float_format(type);
  if (!is_complex(type)) return float_to_json(get_le(bytes.data(), f.width), f, zarr_format);
  return json::array({float_to_json(get_le(bytes.data(), f.width), f, zarr_format),
                      float_to_json(get_le(bytes.data() + f.width, f.width), f, zarr_format)});
}

bool double_to_half_bits(double value, uint16_t* bits) {
  uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  double a = std::fabs(value);
  if (std::isnan(value)) {
    *bits = sign | 0x7e00;
    return true;
  }
  if (std::isinf(value)) {
    *bits = sign | 0x7c00;
    return true;
  }
  if (a >= 65520.0) return false;  // rounds to infinity: 65504 is the largest half, 65520 the midpoint above it
  if (a < 0x1p-14) {               // subnormal (or zero): units of 2^-24, round to nearest even
    *bits = sign | static_cast<uint16_t>(std::nearbyint(a * 0x1p24));
    return true;
  }
  int exp = 0;
  double frac = std::frexp(a, &exp);  // a = frac * 2^exp, frac in [0.5, 1)
  int e = exp - 1;                    // a = (2 * frac) * 2^e
  double mant = std::nearbyint((2 * frac - 1) * 1024.0);
  if (mant >= 1024.0) {
    mant = 0;
    ++e;
  }
  *bits = sign | static_cast<uint16_t>(((e + 15) << 10) | static_cast<int>(mant));
  return true;
}

double half_bits_to_double(uint16_t bits) {
  double sign = (bits & 0x8000) ? -1.0 : 1.0;
  int exp = (bits >> 10) & 0x1f;
  int mant = bits & 0x3ff;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  if (exp == 31) return mant == 0 ? sign * INFINITY : std::copysign(NAN, sign);
  return sign * std::ldexp(1024 + mant, exp - 25);
}

}  // namespace lsio::zarr
