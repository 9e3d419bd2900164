// The numcodecs-only compressors of Zarr v2: LZ4 (numcodecs framing) and bzip2.
#include <bzlib.h>
#include <lz4.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "codec/bytes_codec.h"
#include "codec/codec_errors.h"

namespace lsio::codec {
namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

// numcodecs.LZ4: uint32 little-endian decoded size, then one LZ4 block.
class Lz4Codec final : public BytesCodec {
 public:
  explicit Lz4Codec(int acceleration) : acceleration_(acceleration) {}

  std::string_view name() const override { return "lz4"; }

  uint64_t max_encoded_size(uint64_t n) const override { return saturating_add(n, n / 255 + 16 + 4); }

  Result<size_t> decode(std::span<const std::byte> in, std::span<std::byte> out, std::string_view key) const override {
    if (in.size() < 4) return data_loss(key, name(), "truncated header (" + std::to_string(in.size()) + " bytes)");
    uint32_t size = 0;
    for (int i = 3; i >= 0; --i) size = (size << 8) | std::to_integer<uint32_t>(in[i]);
    if (size > out.size()) return too_large(key, name(), out.size());
    if (size > static_cast<uint32_t>(LZ4_MAX_INPUT_SIZE) || in.size() - 4 > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
      return data_loss(key, name(), "block larger than LZ4 allows");
    }
    const int rc =
        LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + 4), reinterpret_cast<char*>(out.data()),
                            static_cast<int>(in.size() - 4), static_cast<int>(size));
    if (rc < 0 || static_cast<uint32_t>(rc) != size) {
      return data_loss(key, name(), "corrupt or truncated block (header says " + std::to_string(size) + " bytes)");
    }
    return size;
  }

  Result<Bytes> encode(std::span<const std::byte> in, std::string_view key) const override {
    if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
      return cannot_encode(key, name(), "chunk of " + std::to_string(in.size()) + " bytes is over LZ4's limit");
    }
    const int n = static_cast<int>(in.size());
    const int bound = LZ4_compressBound(n);
    Bytes out = Bytes::allocate(static_cast<size_t>(bound) + 4);
    std::byte* dst = out.mutable_data();
    for (int i = 0; i < 4; ++i) dst[i] = static_cast<std::byte>(static_cast<uint32_t>(n) >> (8 * i));
    const int rc = LZ4_compress_fast(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(dst + 4), n,
                                     bound, acceleration_);
    if (rc <= 0 && n > 0) return cannot_encode(key, name(), "compression failed");
    return out.slice(0, static_cast<size_t>(rc) + 4);
  }

 private:
  int acceleration_;
};

class Bz2Codec final : public BytesCodec {
 public:
  explicit Bz2Codec(int level) : level_(level) {}

  std::string_view name() const override { return "bz2"; }

  uint64_t max_encoded_size(uint64_t n) const override { return saturating_add(n, n / 100 + 600); }

  Result<size_t> decode(std::span<const std::byte> in, std::span<std::byte> out, std::string_view key) const override {
    constexpr size_t kMax = std::numeric_limits<unsigned int>::max();
    if (in.size() > kMax) return data_loss(key, name(), "streams over 4 GiB are not supported");
    unsigned int size = static_cast<unsigned int>(std::min(out.size(), kMax));
    char* src = reinterpret_cast<char*>(const_cast<std::byte*>(in.data()));
    const int rc = BZ2_bzBuffToBuffDecompress(reinterpret_cast<char*>(out.data()), &size, src,
                                              static_cast<unsigned int>(in.size()), 0, 0);
    if (rc == BZ_OK) return size;
    if (rc == BZ_OUTBUFF_FULL) return too_large(key, name(), out.size());
    if (rc == BZ_UNEXPECTED_EOF) return data_loss(key, name(), "truncated stream");
    return data_loss(key, name(), "corrupt stream (bzip2 error " + std::to_string(rc) + ")");
  }

  Result<Bytes> encode(std::span<const std::byte> in, std::string_view key) const override {
    const uint64_t bound = max_encoded_size(in.size());
    if (bound > std::numeric_limits<unsigned int>::max()) {
      return cannot_encode(key, name(), "chunks over 4 GiB are not supported");
    }
    unsigned int size = static_cast<unsigned int>(bound);
    Bytes out = Bytes::allocate(size);
    char* src = reinterpret_cast<char*>(const_cast<std::byte*>(in.data()));
    const int rc = BZ2_bzBuffToBuffCompress(reinterpret_cast<char*>(out.mutable_data()), &size, src,
                                            static_cast<unsigned int>(in.size()), level_, 0, 0);
    if (rc != BZ_OK) return cannot_encode(key, name(), "compression failed (bzip2 error " + std::to_string(rc) + ")");
    return out.slice(0, size);
  }

 private:
  int level_;
};

}  // namespace

std::unique_ptr<BytesCodec> make_lz4(int acceleration) { return std::make_unique<Lz4Codec>(acceleration); }
std::unique_ptr<BytesCodec> make_bz2(int level) { return std::make_unique<Bz2Codec>(level); }

}  // namespace lsio::codec
