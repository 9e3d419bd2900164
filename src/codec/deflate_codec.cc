// gzip and zlib: inflate with ISA-L igzip (fast), deflate with zlib (every level 0..9).
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <limits>

#include "codec/bytes_codec.h"
#include "codec/codec_errors.h"

namespace lsio::codec {
namespace {

// igzip and zlib count bytes in 32 bits: feed them at most this much at a time.
constexpr size_t kMaxStep = size_t{1} << 30;

std::string inflate_error(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "corrupt stream (invalid deflate block)";
    case ISAL_INVALID_SYMBOL:
      return "corrupt stream (invalid deflate symbol)";
    case ISAL_INVALID_LOOKBACK:
      return "corrupt stream (invalid lookback distance)";
    case ISAL_INVALID_WRAPPER:
      return "corrupt stream (invalid header)";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "checksum mismatch";
    case ISAL_NEED_DICT:
      return "stream needs a preset dictionary";
    default:
      return "inflate failed (igzip error " + std::to_string(code) + ")";
  }
}

inflate_state& thread_inflate_state() {
  thread_local auto state = std::make_unique<inflate_state>();
  return *state;
}

// Inflates one gzip/zlib stream (`wrapper` = ISAL_GZIP or ISAL_ZLIB) into `out`;
// bytes after the end of the stream are ignored.
Result<size_t> inflate_into(std::span<const std::byte> in, std::span<std::byte> out, uint32_t wrapper,
                            std::string_view key, std::string_view codec) {
  inflate_state& s = thread_inflate_state();
  isal_inflate_init(&s);
  s.crc_flag = wrapper;
  size_t in_given = 0, out_given = 0;
  uint8_t probe = 0;  // one byte past `out`: data landing there means the stream is too large
  bool probing = false;
  while (true) {
    if (s.avail_in == 0 && in_given < in.size()) {
      const size_t n = std::min(kMaxStep, in.size() - in_given);
      s.next_in = reinterpret_cast<uint8_t*>(const_cast<std::byte*>(in.data() + in_given));
      s.avail_in = static_cast<uint32_t>(n);
      in_given += n;
    }
    if (s.avail_out == 0) {
      if (probing) return too_large(key, codec, out.size());
      if (out_given < out.size()) {
        const size_t n = std::min(kMaxStep, out.size() - out_given);
        s.next_out = reinterpret_cast<uint8_t*>(out.data() + out_given);
        s.avail_out = static_cast<uint32_t>(n);
        out_given += n;
      } else {
        probing = true;
        s.next_out = &probe;
        s.avail_out = 1;
      }
    }
    const uint32_t avail_in = s.avail_in, avail_out = s.avail_out;
    const int rc = isal_inflate(&s);
    if (rc < 0 || rc == ISAL_NEED_DICT) return data_loss(key, codec, inflate_error(rc));
    if (s.block_state == ISAL_BLOCK_FINISH) break;
    if (s.avail_in == avail_in && s.avail_out == avail_out) {
      if (s.avail_in == 0 && in_given == in.size()) return data_loss(key, codec, "truncated stream");
      return data_loss(key, codec, "corrupt stream (no progress)");
    }
  }
  if (probing) {
    if (s.avail_out == 0) return too_large(key, codec, out.size());
    return out.size();
  }
  return out_given - s.avail_out;
}

Result<Bytes> deflate_all(std::span<const std::byte> in, int level, int window_bits, std::string_view key,
                          std::string_view codec) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return error(StatusCode::kInternal, std::string(key) + ": " + std::string(codec) + ": deflateInit2 failed");
  }
  const size_t bound = deflateBound(&zs, in.size());
  Bytes out = Bytes::allocate(bound);
  size_t in_given = 0, out_given = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_given < in.size()) {
      const size_t n = std::min(kMaxStep, in.size() - in_given);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data() + in_given));
      zs.avail_in = static_cast<uInt>(n);
      in_given += n;
    }
    if (zs.avail_out == 0) {
      const size_t n = std::min(kMaxStep, bound - out_given);
      if (n == 0) break;  // past deflateBound: should not happen
      zs.next_out = reinterpret_cast<Bytef*>(out.mutable_data() + out_given);
      zs.avail_out = static_cast<uInt>(n);
      out_given += n;
    }
    rc = deflate(&zs, in_given == in.size() ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) break;  // no progress possible: should not happen
  }
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return cannot_encode(key, codec, "deflate failed (zlib error " + std::to_string(rc) + ")");
  return out.slice(0, out_given - zs.avail_out);
}

class DeflateCodec final : public BytesCodec {
 public:
  DeflateCodec(bool gzip, int level) : gzip_(gzip), level_(level) {}

  std::string_view name() const override { return gzip_ ? "gzip" : "zlib"; }

  uint64_t max_encoded_size(uint64_t n) const override {
    // zlib's deflateBound for stored blocks plus the largest gzip header and trailer.
    const uint64_t extra = (n >> 12) + (n >> 14) + (n >> 25) + 64;
    return n > std::numeric_limits<uint64_t>::max() - extra ? std::numeric_limits<uint64_t>::max() : n + extra;
  }

  Result<size_t> decode(std::span<const std::byte> in, std::span<std::byte> out, std::string_view key) const override {
    return inflate_into(in, out, gzip_ ? ISAL_GZIP : ISAL_ZLIB, key, name());
  }

  Result<Bytes> encode(std::span<const std::byte> in, std::string_view key) const override {
    return deflate_all(in, level_, gzip_ ? 15 + 16 : 15, key, name());
  }

 private:
  bool gzip_;
  int level_;
};

}  // namespace

std::unique_ptr<BytesCodec> make_gzip(int level) { return std::make_unique<DeflateCodec>(true, level); }
std::unique_ptr<BytesCodec> make_zlib(int level) { return std::make_unique<DeflateCodec>(false, level); }

}  // namespace lsio::codec
