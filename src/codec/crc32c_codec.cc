// crc32c (Castagnoli) checksum codec, computed by ISA-L.
#include <isa-l/crc.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "codec/bytes_codec.h"
#include "codec/codec_errors.h"

namespace lsio::codec {
namespace {

constexpr size_t kChecksumSize = 4;

uint32_t load_le32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<uint32_t>(p[i]);
  return v;
}

void store_le32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

class Crc32cCodec final : public BytesCodec {
 public:
  std::string_view name() const override { return "crc32c"; }

  uint64_t max_encoded_size(uint64_t n) const override {
    return n > std::numeric_limits<uint64_t>::max() - kChecksumSize ? std::numeric_limits<uint64_t>::max()
                                                                    : n + kChecksumSize;
  }

  bool is_checksum() const override { return true; }

  Result<std::span<const std::byte>> strip(std::span<const std::byte> in, std::string_view key) const override {
    if (in.size() < kChecksumSize) {
      return data_loss(key, name(), "truncated: " + std::to_string(in.size()) + " bytes, no room for a checksum");
    }
    const auto payload = in.first(in.size() - kChecksumSize);
    const uint32_t stored = load_le32(in.data() + payload.size());
    const uint32_t computed = crc32c(payload);
    if (stored != computed) {
      return data_loss(key, name(), "checksum mismatch: stored " + hex32(stored) + ", computed " + hex32(computed));
    }
    return payload;
  }

  Result<size_t> decode(std::span<const std::byte> in, std::span<std::byte> out, std::string_view key) const override {
    LSIO_ASSIGN_OR_RETURN(auto payload, strip(in, key));
    if (payload.size() > out.size()) return too_large(key, name(), out.size());
    if (!payload.empty()) std::memcpy(out.data(), payload.data(), payload.size());
    return payload.size();
  }

  Result<Bytes> encode(std::span<const std::byte> in, std::string_view) const override {
    Bytes out = Bytes::allocate(in.size() + kChecksumSize);
    if (!in.empty()) std::memcpy(out.mutable_data(), in.data(), in.size());
    store_le32(out.mutable_data() + in.size(), crc32c(in));
    return out;
  }
};

}  // namespace

Result<std::span<const std::byte>> BytesCodec::strip(std::span<const std::byte>, std::string_view key) const {
  return error(StatusCode::kInternal, std::string(key) + ": " + std::string(name()) + " is not a checksum codec");
}

Result<size_t> BytesCodec::encode_into(std::span<const std::byte>, std::span<std::byte>, std::string_view key) const {
  return error(StatusCode::kUnimplemented,
               std::string(key) + ": " + std::string(name()) + " encodes into its own buffer");
}

uint32_t crc32c(std::span<const std::byte> data) {
  constexpr size_t kStep = size_t{1} << 30;  // crc32_iscsi takes an int length
  uint32_t crc = 0xffffffffu;
  for (size_t pos = 0; pos < data.size(); pos += kStep) {
    const size_t n = std::min(kStep, data.size() - pos);
    crc = crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<std::byte*>(data.data() + pos)), static_cast<int>(n),
                      crc);
  }
  return ~crc;
}

std::unique_ptr<BytesCodec> make_crc32c() { return std::make_unique<Crc32cCodec>(); }

}  // namespace lsio::codec
