// c-blosc 1.x buffers, through the context API (thread safe, no global lock).
#include <blosc.h>

#include <limits>

#include "codec/bytes_codec.h"
#include "codec/codec_errors.h"

namespace lsio::codec {
namespace {

class BloscCodec final : public BytesCodec {
 public:
  explicit BloscCodec(BloscOptions options) : o_(std::move(options)) {}

  std::string_view name() const override { return "blosc"; }

  uint64_t max_encoded_size(uint64_t n) const override {
    return n > std::numeric_limits<uint64_t>::max() - BLOSC_MAX_OVERHEAD ? std::numeric_limits<uint64_t>::max()
                                                                         : n + BLOSC_MAX_OVERHEAD;
  }

  Result<size_t> decode(std::span<const std::byte> in, std::span<std::byte> out, std::string_view key) const override {
    // Validate the header against the input before blosc reads anything past it.
    size_t nbytes = 0;
    if (in.size() < BLOSC_MIN_HEADER_LENGTH || blosc_cbuffer_validate(in.data(), in.size(), &nbytes) != 0) {
      return data_loss(key, name(), "not a valid blosc buffer (" + std::to_string(in.size()) + " bytes)");
    }
    if (nbytes > out.size()) return too_large(key, name(), out.size());
    if (nbytes == 0) return 0;
    const int rc = blosc_decompress_ctx(in.data(), out.data(), nbytes, 1);
    if (rc <= 0 || static_cast<size_t>(rc) != nbytes) {
      return data_loss(key, name(), "corrupt buffer (blosc error " + std::to_string(rc) + ")");
    }
    return nbytes;
  }

  Result<Bytes> encode(std::span<const std::byte> in, std::string_view key) const override {
    if (in.size() > BLOSC_MAX_BUFFERSIZE) {
      return cannot_encode(key, name(), "chunk of " + std::to_string(in.size()) + " bytes is over blosc's limit");
    }
    const size_t capacity = in.size() + BLOSC_MAX_OVERHEAD;
    Bytes out = Bytes::allocate(capacity);
    const int rc = blosc_compress_ctx(o_.clevel, static_cast<int>(o_.shuffle), o_.typesize, in.size(), in.data(),
                                      out.mutable_data(), capacity, o_.cname.c_str(), o_.blocksize, 1);
    if (rc <= 0) return cannot_encode(key, name(), "compression failed (blosc error " + std::to_string(rc) + ")");
    return out.slice(0, static_cast<size_t>(rc));
  }

 private:
  BloscOptions o_;
};

}  // namespace

std::string_view blosc_compressors() { return blosc_list_compressors(); }

Result<std::unique_ptr<BytesCodec>> make_blosc(const BloscOptions& options) {
  if (blosc_compname_to_compcode(options.cname.c_str()) < 0) {
    return error(StatusCode::kUnimplemented, "blosc compressor '" + options.cname +
                                                 "' is not in this c-blosc build (it has " +
                                                 std::string(blosc_compressors()) + ")");
  }
  return std::make_unique<BloscCodec>(options);
}

}  // namespace lsio::codec
