// Bytes->bytes codecs (compressors and checksums), each a thin wrapper over a
// well-kept library: zstd, c-blosc, ISA-L igzip (inflate) and zlib (deflate),
// lz4, bzip2, ISA-L crc32c.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "lsio/bytes.h"
#include "lsio/status.h"

namespace lsio::codec {

class BytesCodec {
 public:
  virtual ~BytesCodec() = default;
  // The codec's name in errors ("zstd", "blosc", "crc32c", ...).
  virtual std::string_view name() const = 0;
  // An upper bound of the encoded size of `decoded_size` bytes (saturates at 2^64-1).
  virtual uint64_t max_encoded_size(uint64_t decoded_size) const = 0;
  // Decodes `in` into the front of `out` and returns the decoded size. kDataLoss naming
  // `key` when `in` is corrupt or truncated or would decode to more than out.size() bytes.
  virtual Result<size_t> decode(std::span<const std::byte> in, std::span<std::byte> out,
                                std::string_view key) const = 0;
  virtual Result<Bytes> encode(std::span<const std::byte> in, std::string_view key) const = 0;
  // Encodes `in` into the front of `out` (at least max_encoded_size(in.size()) bytes) and returns the encoded size,
  // for codecs that can write into a caller's buffer (encodes_into()): a writer reusing its buffers pays no fresh
  // pages per chunk. The default is kUnimplemented.
  virtual bool encodes_into() const { return false; }
  virtual Result<size_t> encode_into(std::span<const std::byte> in, std::span<std::byte> out,
                                     std::string_view key) const;
  // Bytes past the end of `out` that decode_with_room() can use as working space (0: none).
  virtual uint64_t decode_room() const { return 0; }
  // decode() into `out` = the front of `buffer`, whose bytes past `out` (at least decode_room() of them)
  // may be overwritten. Same results and errors as decode(in, out, key).
  virtual Result<size_t> decode_with_room(std::span<const std::byte> in, std::span<std::byte> buffer, size_t out_size,
                                          std::string_view key) const {
    return decode(in, buffer.first(out_size), key);
  }

  // Checksum codecs decode to a view of their input (no copy): strip() verifies and
  // returns the payload. Other codecs return false / kInternal.
  virtual bool is_checksum() const { return false; }
  virtual Result<std::span<const std::byte>> strip(std::span<const std::byte> in, std::string_view key) const;
};

// gzip (RFC 1952) and zlib (RFC 1950) streams; level 0..9.
std::unique_ptr<BytesCodec> make_gzip(int level);
std::unique_ptr<BytesCodec> make_zlib(int level);
// zstd frames; `checksum` adds the frame content checksum on encode (always verified when present).
std::unique_ptr<BytesCodec> make_zstd(int level, bool checksum);

enum class BloscShuffle { kNoShuffle = 0, kShuffle = 1, kBitShuffle = 2 };
struct BloscOptions {
  std::string cname = "lz4";  // blosclz, lz4, lz4hc, snappy, zlib, zstd (as built into c-blosc)
  int clevel = 5;             // 0..9
  BloscShuffle shuffle = BloscShuffle::kShuffle;
  size_t typesize = 1;
  size_t blocksize = 0;  // 0: automatic
};
// kUnimplemented when c-blosc was built without `cname`.
Result<std::unique_ptr<BytesCodec>> make_blosc(const BloscOptions& options);
// The compressors of this c-blosc build, as "blosclz,lz4,...".
std::string_view blosc_compressors();

// numcodecs LZ4: a 4-byte little-endian decoded size, then one LZ4 block.
std::unique_ptr<BytesCodec> make_lz4(int acceleration);
// bzip2 stream; level 1..9 (block size in 100 kB).
std::unique_ptr<BytesCodec> make_bz2(int level);
// crc32c (Castagnoli) of the payload appended as 4 little-endian bytes.
std::unique_ptr<BytesCodec> make_crc32c();

// crc32c of `data` (ISA-L crc32_iscsi with the standard pre/post inversion).
uint32_t crc32c(std::span<const std::byte> data);

}  // namespace lsio::codec
