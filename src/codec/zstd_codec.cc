// zstd frames (libzstd), one compression and one decompression context per thread.
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <limits>

#include "codec/bytes_codec.h"
#include "codec/codec_errors.h"

namespace lsio::codec {
namespace {

struct ContextDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, ContextDeleter> dctx(ZSTD_createDCtx());
  return dctx.get();
}

ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, ContextDeleter> cctx(ZSTD_createCCtx());
  return cctx.get();
}

class ZstdCodec final : public BytesCodec {
 public:
  ZstdCodec(int level, bool checksum) : level_(level), checksum_(checksum) {}

  std::string_view name() const override { return "zstd"; }

  uint64_t max_encoded_size(uint64_t n) const override {
    // ZSTD_COMPRESSBOUND, saturating.
    const uint64_t extra = (n >> 8) + (n < (128 << 10) ? ((128 << 10) - n) >> 11 : 0) + 64;
    return n > std::numeric_limits<uint64_t>::max() - extra ? std::numeric_limits<uint64_t>::max() : n + extra;
  }

  Result<size_t> decode(std::span<const std::byte> in, std::span<std::byte> out, std::string_view key) const override {
    ZSTD_DCtx* dctx = thread_dctx();
    if (dctx == nullptr) return error(StatusCode::kResourceExhausted, std::string(key) + ": zstd: no context");
    // Bounded by out.size() whatever the frame header claims.
    const size_t rc = ZSTD_decompressDCtx(dctx, out.data(), out.size(), in.data(), in.size());
    if (!ZSTD_isError(rc)) return rc;
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
    if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall) return too_large(key, name(), out.size());
    return data_loss(key, name(), std::string("corrupt or truncated frame (") + ZSTD_getErrorName(rc) + ")");
  }

  // With 128 KiB (a block) + 64 bytes more room than a block's literals need past the output, libzstd
  // (ZSTD_allocateLiteralsBuffer, 1.5.x) decodes the literals there; otherwise, for a frame that fills its
  // output, it splits them between the end of the output and its own 64 KiB buffer and moves them around
  // (a memcpy and a memmove of ~100 KiB per 128 KiB chunk of noisy data: ~5% of the instructions, ~13% of the
  // time of a decode).
  uint64_t decode_room() const override { return (128u << 10) + 128; }

  Result<size_t> decode_with_room(std::span<const std::byte> in, std::span<std::byte> buffer, size_t out_size,
                                  std::string_view key) const override {
    ZSTD_DCtx* dctx = thread_dctx();
    if (dctx != nullptr && buffer.size() >= out_size) {
      const size_t rc = ZSTD_decompressDCtx(dctx, buffer.data(), buffer.size(), in.data(), in.size());
      if (!ZSTD_isError(rc) && rc <= out_size) return rc;
      if (ZSTD_isError(rc)) ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
    }
    // Failed, or decoded past out_size: the bounded decode gives the error decode() would.
    return decode(in, buffer.first(std::min(out_size, buffer.size())), key);
  }

  Result<Bytes> encode(std::span<const std::byte> in, std::string_view key) const override {
    Bytes out = Bytes::allocate(ZSTD_compressBound(in.size()));
    LSIO_ASSIGN_OR_RETURN(const size_t n, encode_into(in, {out.mutable_data(), out.size()}, key));
    return out.slice(0, n);
  }

  bool encodes_into() const override { return true; }

  Result<size_t> encode_into(std::span<const std::byte> in, std::span<std::byte> out,
                             std::string_view key) const override {
    ZSTD_CCtx* cctx = thread_cctx();
    if (cctx == nullptr) return error(StatusCode::kResourceExhausted, std::string(key) + ": zstd: no context");
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum_ ? 1 : 0);
    const size_t rc = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(rc)) return cannot_encode(key, name(), ZSTD_getErrorName(rc));
    return rc;
  }

 private:
  int level_;
  bool checksum_;
};

}  // namespace

std::unique_ptr<BytesCodec> make_zstd(int level, bool checksum) { return std::make_unique<ZstdCodec>(level, checksum); }

}  // namespace lsio::codec
