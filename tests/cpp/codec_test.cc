// Tests of src/codec: every codec and option round trips; chunks written by numcodecs,
// zarr-python and tensorstore decode to what those libraries wrote; corrupt, truncated
// and hostile inputs give kDataLoss naming the key; shard indexes are validated.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "codec/bytes_codec.h"
#include "codec/codec_chain.h"
#include "lsio/dtype.h"

namespace lsio::codec {
namespace {

using nlohmann::json;

using ChainPtr = std::shared_ptr<const CodecChain>;
using ByteVec = std::vector<std::byte>;

// ---------------------------------------------------------------------------
// Helpers

ByteVec from_hex(std::string_view hex) {
  ByteVec out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return out;
}

ByteVec to_vec(const Bytes& b) { return ByteVec(b.data(), b.data() + b.size()); }

// Deterministic, moderately compressible data.
ByteVec sample(size_t n, uint64_t seed = 1) {
  ByteVec out(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i % 7 == 0) ? rng() : i / 5);
  return out;
}

ChainPtr v3(const json& codecs, DataType dtype, std::vector<uint64_t> shape) {
  auto chain = CodecChain::from_v3(codecs, {dtype, std::move(shape)}, "test array");
  EXPECT_TRUE(chain.has_value()) << chain.error().to_string();
  return chain ? *chain : nullptr;
}

Status v3_error(const json& codecs, DataType dtype = DataType::kUInt16, std::vector<uint64_t> shape = {4, 6}) {
  auto chain = CodecChain::from_v3(codecs, {dtype, std::move(shape)}, "test array");
  return chain ? Status() : chain.error();
}

json bytes_le() { return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}; }
json bytes_be() { return {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}}; }
json named(std::string name, json config = json::object()) { return {{"name", name}, {"configuration", config}}; }

json sharding(std::vector<uint64_t> inner, json codecs, json index_codecs, std::string location = "end") {
  return named(
      "sharding_indexed",
      {{"chunk_shape", inner}, {"codecs", codecs}, {"index_codecs", index_codecs}, {"index_location", location}});
}

// Copies a C-order block of shape `block` into a C-order array of shape `shape` at `origin`.
void place_block(std::span<const std::byte> src, std::span<std::byte> dst, std::span<const uint64_t> shape,
                 std::span<const uint64_t> block, std::span<const uint64_t> origin, size_t itemsize) {
  const size_t nd = shape.size();
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < nd; ++d) rows *= block[d];
  const uint64_t row_bytes = (nd ? block[nd - 1] : 1) * itemsize;
  for (uint64_t r = 0; r < rows; ++r) {
    uint64_t rest = r, offset = 0, stride = itemsize;
    std::vector<uint64_t> idx(nd, 0);
    for (size_t d = nd - 1; d-- > 0;) {
      idx[d] = rest % block[d];
      rest /= block[d];
    }
    for (size_t d = nd; d-- > 0;) {
      offset += (origin[d] + idx[d]) * stride;
      stride *= shape[d];
    }
    std::memcpy(dst.data() + offset, src.data() + r * row_bytes, row_bytes);
  }
}

// Extracts a block (the inverse of place_block).
ByteVec take_block(std::span<const std::byte> src, std::span<const uint64_t> shape, std::span<const uint64_t> block,
                   std::span<const uint64_t> origin, size_t itemsize) {
  uint64_t n = itemsize;
  for (uint64_t b : block) n *= b;
  ByteVec out(n);
  const size_t nd = shape.size();
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < nd; ++d) rows *= block[d];
  const uint64_t row_bytes = (nd ? block[nd - 1] : 1) * itemsize;
  for (uint64_t r = 0; r < rows; ++r) {
    uint64_t rest = r, offset = 0, stride = itemsize;
    std::vector<uint64_t> idx(nd, 0);
    for (size_t d = nd - 1; d-- > 0;) {
      idx[d] = rest % block[d];
      rest /= block[d];
    }
    for (size_t d = nd; d-- > 0;) {
      offset += (origin[d] + idx[d]) * stride;
      stride *= shape[d];
    }
    std::memcpy(out.data() + r * row_bytes, src.data() + offset, row_bytes);
  }
  return out;
}

std::vector<uint64_t> grid_origin(size_t i, std::span<const uint64_t> grid, std::span<const uint64_t> inner) {
  std::vector<uint64_t> origin(grid.size());
  for (size_t d = grid.size(); d-- > 0;) {
    origin[d] = (i % grid[d]) * inner[d];
    i /= grid[d];
  }
  return origin;
}

// Decodes a chunk, or a whole shard (recursively; missing inner chunks read as zeros).
Result<ByteVec> decode_any(const CodecChain& chain, std::span<const std::byte> encoded, std::string_view key) {
  ByteVec out(chain.layout().num_bytes(), std::byte{0});
  const ShardingSpec* s = chain.sharding();
  if (s == nullptr) {
    LSIO_RETURN_IF_ERROR(chain.decode(encoded, out, key));
    return out;
  }
  LSIO_ASSIGN_OR_RETURN(const uint64_t at, s->index_offset(encoded.size(), key));
  LSIO_ASSIGN_OR_RETURN(auto entries,
                        s->decode_index(encoded.subspan(at, s->index_encoded_size()), encoded.size(), key));
  const auto grid = s->inner_grid();
  const size_t itemsize = dtype_size(chain.layout().dtype);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].missing()) continue;
    LSIO_ASSIGN_OR_RETURN(auto inner,
                          decode_any(*s->inner, encoded.subspan(entries[i].offset, entries[i].nbytes), key));
    place_block(inner, out, chain.layout().shape, s->inner_shape, grid_origin(i, grid, s->inner_shape), itemsize);
  }
  return out;
}

// Encodes a chunk, or a whole shard (all-zero inner chunks are left missing).
Result<Bytes> encode_any(const CodecChain& chain, std::span<const std::byte> decoded) {
  const ShardingSpec* s = chain.sharding();
  if (s == nullptr) return chain.encode(decoded, "test chunk");
  const auto grid = s->inner_grid();
  const size_t itemsize = dtype_size(chain.layout().dtype);
  std::vector<std::optional<Bytes>> inner(s->inner_per_shard());
  for (size_t i = 0; i < inner.size(); ++i) {
    ByteVec block =
        take_block(decoded, chain.layout().shape, s->inner_shape, grid_origin(i, grid, s->inner_shape), itemsize);
    if (std::all_of(block.begin(), block.end(), [](std::byte b) { return b == std::byte{0}; })) continue;
    LSIO_ASSIGN_OR_RETURN(inner[i], encode_any(*s->inner, block));
  }
  return s->encode_shard(inner);
}

bool contains(const Status& s, std::string_view text) { return s.message().find(text) != std::string_view::npos; }

#define EXPECT_STATUS(status, expected_code, text)                                      \
  do {                                                                                  \
    const ::lsio::Status s_ = (status);                                                 \
    EXPECT_EQ(s_.code(), expected_code) << s_.to_string();                              \
    EXPECT_TRUE(contains(s_, text)) << "'" << (text) << "' not in: " << s_.to_string(); \
  } while (0)

// ---------------------------------------------------------------------------
// Fixtures written by numcodecs, zarr-python and tensorstore

struct Fixture {
  const char* name;
  const char* meta;     // the array's metadata (only the fields about codecs)
  const char* encoded;  // hex of the stored chunk (or shard)
  const char* decoded;  // hex of the decoded chunk, C order, little-endian
};

// Generated by the script at the end of this file (clang-format would reflow it).
// clang-format off
const Fixture kFixtures[] = {
    {"v2 numcodecs id=blosc cname=lz4 clevel=5 shuffle=1 blocksize=0",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"blosc","cname":"lz4","clevel":5,"s)json"
        R"json(huffle":1,"blocksize":0},"filters":null})json",
        "02013302300000003000000040000000000007000e0015001c0023002a00310038003f0046004d0054005b0062006900"
        "700077007e0085008c0093009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=blosc cname=zstd clevel=3 shuffle=2 blocksize=0",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"blosc","cname":"zstd","clevel":3,")json"
        R"json(shuffle":2,"blocksize":0},"filters":null})json",
        "02019602300000003000000040000000000007000e0015001c0023002a00310038003f0046004d0054005b0062006900"
        "700077007e0085008c0093009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=blosc cname=blosclz clevel=9 shuffle=0 blocksize=0",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"blosc","cname":"blosclz","clevel":)json"
        R"json(9,"shuffle":0,"blocksize":0},"filters":null})json",
        "02011202300000003000000040000000000007000e0015001c0023002a00310038003f0046004d0054005b0062006900"
        "700077007e0085008c0093009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=blosc cname=zlib clevel=1 shuffle=1 blocksize=0",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"blosc","cname":"zlib","clevel":1,")json"
        R"json(shuffle":1,"blocksize":0},"filters":null})json",
        "02017302300000003000000040000000000007000e0015001c0023002a00310038003f0046004d0054005b0062006900"
        "700077007e0085008c0093009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=blosc cname=lz4hc clevel=5 shuffle=-1 blocksize=0",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"blosc","cname":"lz4hc","clevel":5,)json"
        R"json("shuffle":-1,"blocksize":0},"filters":null})json",
        "02013302300000003000000040000000000007000e0015001c0023002a00310038003f0046004d0054005b0062006900"
        "700077007e0085008c0093009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=zstd level=3 checksum=False",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"zstd","level":3,"checksum":false},)json"
        R"json("filters":null})json",
        "28b52ffd2030810100000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085"
        "008c0093009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=zstd level=1 checksum=True",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"zstd","level":1,"checksum":true},")json"
        R"json(filters":null})json",
        "28b52ffd2430810100000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085"
        "008c0093009a00a100359ecd58",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=gzip level=5",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"gzip","level":5},"filters":null})json",
        "1f8b0800b536026b00ff63606067e063106590615066d0623064b060b0677063f065086188664862c86428602867a863"
        "6865e86198cc308b6121030010fb4ea830000000",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=zlib level=5",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"zlib","level":5},"filters":null})json",
        "785e63606067e063106590615066d0623064b060b0677063f065086188664862c86428602867a8636865e86198cc308b"
        "612103007df8078d",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=lz4 acceleration=1",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"lz4","acceleration":1},"filters":n)json"
        R"json(ull})json",
        "30000000f021000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c00"
        "93009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 numcodecs id=bz2 level=9",
        R"json({"chunks":[4,6],"dtype":"<u2","order":"C","compressor":{"id":"bz2","level":9},"filters":null})json",
        "425a6839314159265359f0347988000000fff04081020408102040810204081020408102040810200020002235000003"
        "2141a3468320344512d8d73e1194e95b5f19d6f9df1a1800be2ee48a70a121e068f310",
        "000007000e0015001c0023002a00310038003f0046004d0054005b0062006900700077007e0085008c0093009a00a100"},
    {"v2 zarr-python F order big-endian int32 zlib",
        R"json({"chunks":[3,4,2],"dtype":">i4","order":"F","filters":null,"compressor":{"id":"zlib","level":1}})json",
        "78011dc4911680300040d1d92c9b655996655996655936cbb26c36cbb2feb47b7ae7dc17c2dfe8070d33172d2b959e9d"
        "87c8c44962a1d0b1713390793f3993078d",
        "00000000070000000e000000150000001c000000230000002a00000031000000380000003f000000460000004d000000"
        "540000005b000000620000006900000070000000770000007e000000850000008c000000930000009a000000a1000000"},
    {"v2 zarr-python F order complex128 big-endian",
        R"json({"chunks":[2,3],"dtype":">c16","order":"F","filters":null,"compressor":null})json",
        "c0080000000000000000000000000000401e00000000000000000000000000003fe00000000000000000000000000000"
        "4026000000000000000000000000000040100000000000000000000000000000402d0000000000000000000000000000",
        "00000000000008c00000000000000000000000000000e03f000000000000000000000000000010400000000000000000"
        "0000000000001e400000000000000000000000000000264000000000000000000000000000002d400000000000000000"},
    {"v2 zarr-python C order float16 big-endian gzip",
        R"json({"chunks":[5],"dtype":">f2","order":"C","filters":null,"compressor":{"id":"gzip","level":1}})json",
        "1f8b0800b536026b04ff3bc460c1e0c2e0dee0d9000030bad4760a000000",
        "00c20038004480478049"},
    {"v3 zarr-python transpose + big-endian int32 + gzip + crc32c",
        R"json({"data_type":"int32","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[3,4,2]}},"co)json"
        R"json(decs":[{"name":"transpose","configuration":{"order":[2,0,1]}},{"name":"bytes","configuration":{")json"
        R"json(endian":"big"}},{"name":"gzip","configuration":{"level":6}},{"name":"crc32c"}]})json",
        "1f8b0800b536026b00ff1dc3911680300000c0d92c9b655996655996655936cbb26c36cbb2feb47bdd7b17c2afb1b577"
        "747675f7f0b2fa184d760e4e2e6e664f8bb7ef07c90649b560000000a619c8dc",
        "00000000070000000e000000150000001c000000230000002a00000031000000380000003f000000460000004d000000"
        "540000005b000000620000006900000070000000770000007e000000850000008c000000930000009a000000a1000000"},
    {"v3 zarr-python complex64 big-endian blosc",
        R"json({"data_type":"complex64","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[3,5]}},")json"
        R"json(codecs":[{"name":"bytes","configuration":{"endian":"big"}},{"name":"blosc","configuration":{"typ)json"
        R"json(esize":8,"cname":"lz4","clevel":5,"shuffle":"shuffle","blocksize":0}}]})json",
        "02013308780000007800000088000000c0400000000000003f00000000000000408000000000000040f0000000000000"
        "41300000000000004168000000000000419000000000000041ac00000000000041c800000000000041e4000000000000"
        "4200000000000000420e000000000000421c000000000000422a0000000000004238000000000000",
        "000040c0000000000000003f0000000000008040000000000000f0400000000000003041000000000000684100000000"
        "00009041000000000000ac41000000000000c841000000000000e44100000000000000420000000000000e4200000000"
        "00001c420000000000002a42000000000000384200000000"},
    {"v3 zarr-python float64 zstd checksum",
        R"json({"data_type":"float64","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[10]}},"cod)json"
        R"json(ecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"leve)json"
        R"json(l":5,"checksum":true}}]})json",
        "28b52ffd2450350100900008c0e03f10401e262d3280350039803c400aa810980f90430f102af5015d02f156b80f024a"
        "a84a95",
        "00000000000008c0000000000000e03f00000000000010400000000000001e4000000000000026400000000000002d40"
        "0000000000003240000000000080354000000000000039400000000000803c40"},
    {"v3 zarr-python bool bytes",
        R"json({"data_type":"bool","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[7]}},"codecs")json"
        R"json(:[{"name":"bytes"}]})json",
        "00010101010101",
        "00010101010101"},
    {"v3 zarr-python sharded index end, zstd inner, a missing inner chunk",
        R"json({"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4,6]}},"cod)json"
        R"json(ecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2,3],"codecs":[{"name":"bytes",)json"
        R"json("configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":0,"checksum":false})json"
        R"json(}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}],"inde)json"
        R"json(x_location":"end"}}]})json",
        "28b52ffd200c610000000007000e002a003100380028b52ffd200c61000054005b0062007e0085008c0028b52ffd200c"
        "61000069007000770093009a00a10000000000000000001500000000000000ffffffffffffffffffffffffffffffff15"
        "0000000000000015000000000000002a0000000000000015000000000000004fe4e0a8",
        "000007000e000000000000002a003100380000000000000054005b0062006900700077007e0085008c0093009a00a100"},
    {"v3 zarr-python sharded index start, blosc inner",
        R"json({"data_type":"int16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4,6]}},"code)json"
        R"json(cs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2,3],"codecs":[{"name":"bytes",")json"
        R"json(configuration":{"endian":"little"}},{"name":"blosc","configuration":{"typesize":2,"cname":"zstd")json"
        R"json(,"clevel":3,"shuffle":"bitshuffle","blocksize":0}}],"index_codecs":[{"name":"bytes","configurati)json"
        R"json(on":{"endian":"little"}},{"name":"crc32c"}],"index_location":"start"}}]})json",
        "44000000000000001c0000000000000060000000000000001c00000000000000ffffffffffffffffffffffffffffffff"
        "7c000000000000001c00000000000000259af992020196020c0000000c0000001c000000000007000e002a0031003800"
        "020196020c0000000c0000001c00000015001c0023003f0046004d00020196020c0000000c0000001c00000069007000"
        "770093009a00a100",
        "000007000e0015001c0023002a00310038003f0046004d0000000000000069007000770000000000000093009a00a100"},
    {"v3 zarr-python nested sharding",
        R"json({"data_type":"uint32","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4,8]}},"cod)json"
        R"json(ecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2,4],"codecs":[{"name":"shardin)json"
        R"json(g_indexed","configuration":{"chunk_shape":[1,2],"codecs":[{"name":"bytes","configuration":{"endi)json"
        R"json(an":"little"}},{"name":"gzip","configuration":{"level":1}}],"index_codecs":[{"name":"bytes","con)json"
        R"json(figuration":{"endian":"little"}},{"name":"crc32c"}],"index_location":"end"}}],"index_codecs":[{")json"
        R"json(name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}],"index_location":"end"}}]})json",
        "1f8b0800b536026b04ffb3606060b0076200567f429b080000001f8b0800b536026b04ffe363606010056200f66a6f17"
        "080000001f8b0800b536026b04ff73636060f0056200e394aee308000000ffffffffffffffffffffffffffffffff1a00"
        "0000000000001a0000000000000000000000000000001a0000000000000034000000000000001a00000000000000f1d6"
        "d70b1f8b0800b536026b04ff2b60606028076200dcd69a3f080000001f8b0800b536026b04ff5bc1c0c0b01e8801032a"
        "8209080000001f8b0800b536026b04ffab63606068056200c21a7f06080000001f8b0800b536026b04ffdbc6c0c0b017"
        "88010e96a39a0800000000000000000000001a0000000000000034000000000000001a000000000000001a0000000000"
        "00001a000000000000004e000000000000001a000000000000002f5d0d511f8b0800b536026b04ff9361606050066200"
        "ddfbb1fc080000001f8b0800b536026b04ff0b61606088066200f6aa42a8080000001f8b0800b536026b04ffd3626060"
        "30046200333e0345080000001f8b0800b536026b04ff4b626060c804620026c0c2b10800000000000000000000001a00"
        "00000000000034000000000000001a000000000000001a000000000000001a000000000000004e000000000000001a00"
        "0000000000002f5d0d511f8b0800b536026b04ffeb616060980cc400b60143ce080000001f8b0800b536026b04ff3bc2"
        "c0c0701a8801a3ff823a080000001f8b0800b536026b04ff9bc5c0c0b01088013009b52e080000001f8b0800b536026b"
        "04ffbbc4c0c0701388011b58467a0800000000000000000000001a0000000000000034000000000000001a0000000000"
        "00001a000000000000001a000000000000004e000000000000001a000000000000002f5d0d5100000000000000009200"
        "0000000000003e01000000000000ac000000000000009200000000000000ac00000000000000ea01000000000000ac00"
        "000000000000366afdf8",
        "00000000000000000e000000150000001c000000230000002a00000031000000380000003f000000460000004d000000"
        "540000005b000000620000006900000070000000770000007e000000850000008c000000930000009a000000a1000000"
        "a8000000af000000b6000000bd000000c4000000cb000000d2000000d9000000"},
    {"v3 tensorstore sharded float32 big-endian zstd",
        R"json({"chunk_grid":{"configuration":{"chunk_shape":[4,6]},"name":"regular"},"codecs":[{"configuration)json"
        R"json(":{"chunk_shape":[2,2],"codecs":[{"configuration":{"endian":"big"},"name":"bytes"},{"configurati)json"
        R"json(on":{"checksum":false,"level":1},"name":"zstd"}],"index_codecs":[{"configuration":{"endian":"lit)json"
        R"json(tle"},"name":"bytes"},{"name":"crc32c"}]},"name":"sharding_indexed"}],"data_type":"float32"})json",
        "28b52ffd2010810000c04000003f0000004190000041ac000028b52ffd20108100004080000040f0000041c8000041e4"
        "000028b52ffd2010810000413000004168000042000000420e000028b52ffd2010810000421c0000422a000042700000"
        "427e000028b52ffd2010810000425400004262000042940000429b000000000000000000001900000000000000190000"
        "00000000001900000000000000320000000000000019000000000000004b000000000000001900000000000000ffffff"
        "ffffffffffffffffffffffffff6400000000000000190000000000000030d87962",
        "000040c00000003f000080400000f0400000304100006841000090410000ac410000c8410000e4410000004200000e42"
        "00001c4200002a42000000000000000000005442000062420000704200007e4200000000000000000000944200009b42"},
};
// clang-format on

// ---------------------------------------------------------------------------
// Round trips

struct RoundTripCase {
  std::string name;
  json codecs;
  DataType dtype;
  std::vector<uint64_t> shape;
};

std::vector<RoundTripCase> round_trip_cases() {
  std::vector<RoundTripCase> cases;
  const std::vector<uint64_t> shape = {6, 10, 7};
  for (DataType t :
       {DataType::kBool, DataType::kInt8, DataType::kUInt16, DataType::kInt32, DataType::kFloat16, DataType::kFloat32,
        DataType::kFloat64, DataType::kUInt64, DataType::kComplex64, DataType::kComplex128}) {
    const std::string tn(dtype_name(t));
    cases.push_back({tn + " bytes little", json::array({bytes_le()}), t, shape});
    cases.push_back({tn + " bytes big", json::array({bytes_be()}), t, shape});
    cases.push_back({tn + " transpose [2,0,1] big",
                     json::array({named("transpose", {{"order", {2, 0, 1}}}), bytes_be()}), t, shape});
    cases.push_back({tn + " transpose twice",
                     json::array({named("transpose", {{"order", {1, 2, 0}}}),
                                  named("transpose", {{"order", {0, 2, 1}}}), bytes_le()}),
                     t, shape});
    cases.push_back({tn + " transpose F", json::array({named("transpose", {{"order", "F"}}), bytes_le()}), t, shape});
  }
  cases.push_back({"bytes without configuration (1-byte)", json::array({"bytes"}), DataType::kUInt8, shape});
  cases.push_back({"0-d chunk",
                   json::array({bytes_be(), named("zstd", {{"level", 1}, {"checksum", false}})}),
                   DataType::kFloat64,
                   {}});
  for (int level : {0, 1, 6, 9}) {
    cases.push_back({"gzip " + std::to_string(level), json::array({bytes_le(), named("gzip", {{"level", level}})}),
                     DataType::kUInt16, shape});
  }
  for (int level : {-5, 0, 3, 19}) {
    for (bool checksum : {false, true}) {
      cases.push_back({"zstd " + std::to_string(level) + (checksum ? " checksum" : ""),
                       json::array({bytes_le(), named("zstd", {{"level", level}, {"checksum", checksum}})}),
                       DataType::kInt32, shape});
    }
  }
  for (std::string cname : {"lz4", "lz4hc", "blosclz", "zstd", "zlib", "snappy"}) {
    if (std::string(blosc_compressors()).find(cname) == std::string::npos) continue;
    for (std::string shuffle : {"noshuffle", "shuffle", "bitshuffle"}) {
      for (int typesize : {1, 4, 8}) {
        cases.push_back({"blosc " + cname + " " + shuffle + " typesize " + std::to_string(typesize),
                         json::array({bytes_le(), named("blosc", {{"cname", cname},
                                                                  {"clevel", 5},
                                                                  {"shuffle", shuffle},
                                                                  {"typesize", typesize},
                                                                  {"blocksize", 0}})}),
                         DataType::kFloat64, shape});
      }
    }
  }
  cases.push_back(
      {"blosc blocksize 256, clevel 0",
       json::array(
           {bytes_le(),
            named("blosc",
                  {{"cname", "lz4"}, {"clevel", 0}, {"shuffle", "shuffle"}, {"typesize", 2}, {"blocksize", 256}})}),
       DataType::kUInt16, shape});
  cases.push_back({"blosc defaults", json::array({bytes_le(), named("blosc")}), DataType::kUInt16, shape});
  cases.push_back({"crc32c", json::array({bytes_le(), "crc32c"}), DataType::kUInt16, shape});
  cases.push_back({"zstd + crc32c", json::array({bytes_le(), named("zstd", {{"level", 3}}), named("crc32c")}),
                   DataType::kUInt16, shape});
  cases.push_back({"crc32c + zstd", json::array({bytes_le(), named("crc32c"), named("zstd", {{"level", 3}})}),
                   DataType::kUInt16, shape});
  cases.push_back({"gzip + zstd + crc32c (two compressors)",
                   json::array({bytes_be(), named("gzip", {{"level", 1}}), named("zstd", {{"level", 1}}), "crc32c"}),
                   DataType::kInt64, shape});
  cases.push_back(
      {"transpose + big + blosc + crc32c",
       json::array({named("transpose", {{"order", {1, 0, 2}}}), bytes_be(),
                    named("blosc", {{"cname", "zstd"}, {"shuffle", "bitshuffle"}, {"typesize", 4}}), "crc32c"}),
       DataType::kFloat32, shape});
  return cases;
}

TEST(CodecRoundTrip, EveryCodecAndOption) {
  for (const RoundTripCase& c : round_trip_cases()) {
    SCOPED_TRACE(c.name);
    ChainPtr chain = v3(c.codecs, c.dtype, c.shape);
    ASSERT_NE(chain, nullptr);
    const ByteVec data = sample(chain->layout().num_bytes(), 7);
    auto encoded = chain->encode(data, "c/0");
    ASSERT_TRUE(encoded.has_value()) << encoded.error().to_string();
    ByteVec out(data.size());
    Status s = chain->decode(encoded->span(), out, "c/0");
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(out, data);
  }
}

TEST(CodecRoundTrip, BigEndianAndTransposeEncodeTheExpectedBytes) {
  // uint16 [[1, 2, 3], [4, 5, 6]] transposed to [[1, 4], [2, 5], [3, 6]], stored big-endian.
  ChainPtr chain = v3(json::array({named("transpose", {{"order", {1, 0}}}), bytes_be()}), DataType::kUInt16, {2, 3});
  ASSERT_NE(chain, nullptr);
  const uint16_t values[] = {1, 2, 3, 4, 5, 6};
  auto encoded = chain->encode(std::as_bytes(std::span(values)), "c/0");
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(to_vec(*encoded), from_hex("000100040002000500030006"));
  // complex64 swaps each float on its own.
  ChainPtr complex = v3(json::array({bytes_be()}), DataType::kComplex64, {1});
  const float c[] = {1.0f, -2.0f};
  auto ce = complex->encode(std::as_bytes(std::span(c)), "c/0");
  ASSERT_TRUE(ce.has_value());
  EXPECT_EQ(to_vec(*ce), from_hex("3f800000c0000000"));
}

// encoded[e] = decoded[d] with d[order[i]] = e[i], each item's bytes reversed when big-endian (complex: each half).
ByteVec naive_encode(const ByteVec& decoded, std::vector<uint64_t> shape, std::vector<size_t> order, size_t itemsize,
                     size_t swap_unit) {
  const size_t nd = shape.size();
  std::vector<uint64_t> eshape(nd);
  for (size_t i = 0; i < nd; ++i) eshape[i] = shape[order[i]];
  ByteVec out(decoded.size());
  const size_t n = decoded.size() / itemsize;
  for (size_t e = 0; e < n; ++e) {
    std::vector<uint64_t> d(nd);
    size_t rest = e;
    for (size_t i = nd; i-- > 0;) {
      d[order[i]] = rest % eshape[i];
      rest /= eshape[i];
    }
    size_t di = 0;
    for (size_t k = 0; k < nd; ++k) di = di * shape[k] + d[k];
    for (size_t b = 0; b < itemsize; ++b) {
      const size_t from = swap_unit ? (b / swap_unit) * swap_unit + swap_unit - 1 - b % swap_unit : b;
      out[e * itemsize + b] = decoded[di * itemsize + from];
    }
  }
  return out;
}

TEST(CodecRoundTrip, TransposeAndByteOrderMatchANaiveReference) {
  const std::vector<uint64_t> shape = {3, 17, 9, 10};
  const std::vector<std::vector<size_t>> orders = {
      {0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {0, 2, 1, 3}, {2, 0, 3, 1}};
  for (DataType t : {DataType::kUInt8, DataType::kInt16, DataType::kFloat32, DataType::kFloat64, DataType::kComplex64,
                     DataType::kComplex128}) {
    for (const auto& order : orders) {
      for (bool big : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " order " + json(order).dump() + (big ? " big" : ""));
        ChainPtr chain =
            v3(json::array({named("transpose", {{"order", order}}), big ? bytes_be() : bytes_le()}), t, shape);
        const size_t itemsize = dtype_size(t);
        const size_t unit = big && itemsize > 1 ? (is_complex(t) ? itemsize / 2 : itemsize) : 0;
        const ByteVec data = sample(chain->layout().num_bytes(), 2);
        auto encoded = chain->encode(data, "k");
        ASSERT_TRUE(encoded.has_value());
        EXPECT_EQ(to_vec(*encoded), naive_encode(data, shape, order, itemsize, unit));
        ByteVec out(data.size());
        ASSERT_TRUE(chain->decode(encoded->span(), out, "k").ok());
        EXPECT_EQ(out, data);
      }
    }
  }
}

TEST(CodecRoundTrip, LargeChunksThroughEveryCompressor) {
  const json compressors = json::array({named("gzip", {{"level", 1}}), named("zstd", {{"level", 1}}),
                                        named("blosc", {{"cname", "lz4"}, {"shuffle", "shuffle"}, {"typesize", 4}})});
  for (const json& c : compressors) {
    SCOPED_TRACE(c.dump());
    ChainPtr chain = v3(json::array({bytes_le(), c}), DataType::kFloat32, {256, 1024});
    ASSERT_NE(chain, nullptr);
    const ByteVec data = sample(chain->layout().num_bytes(), 3);
    auto encoded = chain->encode(data, "c/0");
    ASSERT_TRUE(encoded.has_value()) << encoded.error().to_string();
    ByteVec out(data.size());
    ASSERT_TRUE(chain->decode(encoded->span(), out, "c/0").ok());
    EXPECT_EQ(out, data);
  }
}

struct V2Case {
  json compressor;
  char order;
  Endian endian;
};

TEST(CodecRoundTrip, V2CompressorsOrdersAndEndians) {
  const json compressors = json::array({nullptr,
                                        {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}},
                                        {{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 3}, {"shuffle", -1}},
                                        {{"id", "blosc"}, {"cname", "zlib"}, {"shuffle", 2}, {"blocksize", 0}},
                                        {{"id", "zstd"}, {"level", 3}},
                                        {{"id", "zstd"}, {"level", 3}, {"checksum", true}},
                                        {{"id", "gzip"}, {"level", 1}},
                                        {{"id", "zlib"}, {"level", 9}},
                                        {{"id", "lz4"}, {"acceleration", 1}},
                                        {{"id", "lz4"}},
                                        {{"id", "bz2"}, {"level", 1}}});
  for (const json& compressor : compressors) {
    for (char order : {'C', 'F'}) {
      for (Endian endian : {Endian::kLittle, Endian::kBig}) {
        SCOPED_TRACE(compressor.dump() + " order " + order + (endian == Endian::kBig ? " big" : " little"));
        auto chain = CodecChain::from_v2(compressor, nullptr, order, endian, {DataType::kInt32, {5, 4, 3}}, "v2 array");
        ASSERT_TRUE(chain.has_value()) << chain.error().to_string();
        EXPECT_EQ((*chain)->is_identity(), compressor.is_null() && order == 'C' && endian == Endian::kLittle);
        const ByteVec data = sample((*chain)->layout().num_bytes(), 11);
        auto encoded = (*chain)->encode(data, "0.0.0");
        ASSERT_TRUE(encoded.has_value()) << encoded.error().to_string();
        ByteVec out(data.size());
        Status s = (*chain)->decode(encoded->span(), out, "0.0.0");
        ASSERT_TRUE(s.ok()) << s.to_string();
        EXPECT_EQ(out, data);
      }
    }
  }
}

TEST(CodecRoundTrip, V2FortranOrderStoresColumnsFirst) {
  auto chain = CodecChain::from_v2(nullptr, json::array(), 'F', Endian::kLittle, {DataType::kUInt8, {2, 3}}, "a");
  ASSERT_TRUE(chain.has_value());
  const uint8_t values[] = {1, 2, 3, 4, 5, 6};
  auto encoded = (*chain)->encode(std::as_bytes(std::span(values)), "0.0");
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(to_vec(*encoded), from_hex("010402050306"));
}

TEST(CodecChainApi, IsIdentity) {
  EXPECT_TRUE(v3(json::array({bytes_le()}), DataType::kUInt16, {4})->is_identity());
  EXPECT_TRUE(v3(json::array({bytes_be()}), DataType::kUInt8, {4})->is_identity());  // 1-byte: nothing to swap
  EXPECT_FALSE(v3(json::array({bytes_be()}), DataType::kUInt16, {4})->is_identity());
  EXPECT_FALSE(v3(json::array({bytes_le(), "crc32c"}), DataType::kUInt16, {4})->is_identity());
  EXPECT_FALSE(
      v3(json::array({named("transpose", {{"order", {1, 0}}}), bytes_le()}), DataType::kUInt16, {2, 2})->is_identity());
  EXPECT_TRUE(
      v3(json::array({named("transpose", {{"order", {0, 1}}}), bytes_le()}), DataType::kUInt16, {2, 2})->is_identity());
  EXPECT_TRUE(
      v3(json::array({named("transpose", {{"order", {0}}}), bytes_le()}), DataType::kUInt16, {5})->is_identity());
}

TEST(CodecChainApi, FixedEncodedSize) {
  EXPECT_EQ(v3(json::array({bytes_le(), "crc32c"}), DataType::kUInt16, {4})->fixed_encoded_size(), 12u);
  EXPECT_EQ(v3(json::array({bytes_le(), named("zstd")}), DataType::kUInt16, {4})->fixed_encoded_size(), std::nullopt);
}

TEST(CodecChainApi, DecodeChecksTheOutputAndFillSizes) {
  ChainPtr chain = v3(json::array({bytes_le()}), DataType::kUInt16, {4});
  ByteVec out(7);
  EXPECT_EQ(chain->decode(ByteVec(8), out, "c/0").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(chain->encode(ByteVec(7), "c/0").error().code(), StatusCode::kInvalidArgument);
  ChainPtr sharded =
      v3(json::array({sharding({2}, json::array({bytes_le()}), json::array({bytes_le()}))}), DataType::kUInt16, {4});
  ASSERT_NE(sharded->sharding(), nullptr);
  EXPECT_EQ(sharded->decode(ByteVec(40), out, "c/0").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sharded->encode(ByteVec(7), "c/0").error().code(), StatusCode::kInvalidArgument);
  ByteVec full(8);
  EXPECT_STATUS(sharded->decode(ByteVec(40), full, "c/0", ByteVec(3)), StatusCode::kInvalidArgument, "fill value");
  // Sizes fine, but the zeros are an index of two empty inner chunks (not missing): data loss.
  EXPECT_STATUS(sharded->decode(ByteVec(40), full, "c/0"), StatusCode::kDataLoss, "c/0 inner chunk 0");
}

// ---------------------------------------------------------------------------
// Corrupt, truncated and hostile input

std::vector<json> compressing_chains() {
  return {json::array({bytes_le(), named("gzip", {{"level", 5}})}),
          json::array({bytes_le(), named("zstd", {{"level", 3}})}),
          json::array({bytes_le(), named("blosc", {{"cname", "lz4"}, {"shuffle", "shuffle"}, {"typesize", 2}})}),
          json::array({bytes_le(), named("blosc", {{"cname", "zstd"}, {"shuffle", "bitshuffle"}, {"typesize", 2}})}),
          json::array({bytes_le(), named("blosc", {{"cname", "zlib"}, {"shuffle", "noshuffle"}})}),
          json::array({bytes_le(), "crc32c"}),
          json::array({bytes_be()}),
          json::array({bytes_le(), named("zstd", {{"level", 3}}), "crc32c"}),
          json::array({bytes_le(), named("gzip", {{"level", 1}}), named("zstd", {{"level", 1}})})};
}

ChainPtr v2_chain(json compressor, std::vector<uint64_t> shape = {6, 10, 7}) {
  auto chain = CodecChain::from_v2(compressor, nullptr, 'C', Endian::kLittle, {DataType::kUInt16, shape}, "v2");
  return chain ? *chain : nullptr;
}

std::vector<ChainPtr> all_chains() {
  std::vector<ChainPtr> chains;
  for (const json& c : compressing_chains()) chains.push_back(v3(c, DataType::kUInt16, {6, 10, 7}));
  for (const char* id : {"zlib", "lz4", "bz2"}) chains.push_back(v2_chain({{"id", id}}));
  return chains;
}

TEST(CodecCorruption, TruncatedInputIsDataLossForEveryCodec) {
  for (const ChainPtr& chain : all_chains()) {
    const ByteVec data = sample(chain->layout().num_bytes(), 5);
    auto encoded = chain->encode(data, "c/1/2/3");
    ASSERT_TRUE(encoded.has_value());
    ByteVec out(data.size());
    for (size_t keep : {size_t{0}, size_t{1}, size_t{3}, size_t{15}, encoded->size() / 2, encoded->size() - 1}) {
      SCOPED_TRACE(std::to_string(keep) + " of " + std::to_string(encoded->size()) + " bytes");
      Status s = chain->decode(encoded->span().first(keep), out, "c/1/2/3");
      EXPECT_STATUS(s, StatusCode::kDataLoss, "c/1/2/3");
    }
  }
}

TEST(CodecCorruption, FlippedBytesNeverCrash) {
  for (const ChainPtr& chain : all_chains()) {
    const ByteVec data = sample(chain->layout().num_bytes(), 5);
    auto encoded = chain->encode(data, "k");
    ASSERT_TRUE(encoded.has_value());
    ByteVec out(data.size());
    std::mt19937 rng(1);
    for (size_t i = 0; i < encoded->size(); ++i) {
      ByteVec bad = to_vec(*encoded);
      bad[i] ^= static_cast<std::byte>(1 + rng() % 255);
      Status s = chain->decode(bad, out, "k");
      if (!s.ok()) EXPECT_STATUS(s, StatusCode::kDataLoss, "k");
    }
  }
}

TEST(CodecCorruption, Crc32cCatchesEveryFlippedByte) {
  for (const json& codecs :
       {json::array({bytes_le(), "crc32c"}), json::array({bytes_le(), named("zstd", {{"level", 3}}), "crc32c"}),
        json::array({bytes_le(), named("blosc"), "crc32c"})}) {
    SCOPED_TRACE(codecs.dump());
    ChainPtr chain = v3(codecs, DataType::kUInt16, {6, 10, 7});
    const ByteVec data = sample(chain->layout().num_bytes(), 5);
    const ByteVec encoded = to_vec(*chain->encode(data, "k"));
    ByteVec out(data.size());
    for (size_t i = 0; i < encoded.size(); ++i) {
      for (uint8_t x : {0x01, 0x80, 0xff}) {
        ByteVec bad = encoded;
        bad[i] ^= std::byte{x};
        EXPECT_STATUS(chain->decode(bad, out, "arr/c/0"), StatusCode::kDataLoss, "arr/c/0: crc32c: checksum mismatch");
      }
    }
  }
}

TEST(CodecCorruption, RandomBytesAreRejectedOrDecodedWithinBounds) {
  std::mt19937_64 rng(42);
  for (const ChainPtr& chain : all_chains()) {
    ByteVec out(chain->layout().num_bytes() + 64, std::byte{0x5a});
    std::span<std::byte> target = std::span(out).first(chain->layout().num_bytes());
    for (int trial = 0; trial < 200; ++trial) {
      ByteVec junk(rng() % 2000);
      for (auto& b : junk) b = static_cast<std::byte>(rng());
      Status s = chain->decode(junk, target, "k");
      if (!s.ok()) EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
    }
    for (size_t i = chain->layout().num_bytes(); i < out.size(); ++i) ASSERT_EQ(out[i], std::byte{0x5a});  // no overrun
  }
}

TEST(CodecCorruption, ChunkDecodingToTheWrongSizeIsDataLoss) {
  const json codecs[] = {json::array({bytes_le()}), json::array({bytes_le(), named("zstd")}),
                         json::array({bytes_le(), named("gzip")}), json::array({bytes_le(), named("blosc")}),
                         json::array({bytes_be(), named("zstd"), "crc32c"})};
  for (const json& c : codecs) {
    SCOPED_TRACE(c.dump());
    ChainPtr small = v3(c, DataType::kUInt16, {10});
    ChainPtr big = v3(c, DataType::kUInt16, {11});
    const ByteVec data = sample(22);
    auto encoded_big = big->encode(data, "k");
    ByteVec out(20);
    EXPECT_STATUS(small->decode(encoded_big->span(), out, "c/7"), StatusCode::kDataLoss, "c/7");
    auto encoded_small = small->encode(std::span(data).first(20), "k");
    ByteVec out_big(22);
    EXPECT_STATUS(big->decode(encoded_small->span(), out_big, "c/8"), StatusCode::kDataLoss, "c/8");
  }
  for (const char* id : {"zlib", "lz4", "bz2"}) {
    auto encoded = v2_chain({{"id", id}}, {11})->encode(sample(22), "k");
    ByteVec out(20);
    EXPECT_STATUS(v2_chain({{"id", id}}, {10})->decode(encoded->span(), out, "0"), StatusCode::kDataLoss, "0");
  }
}

// decode_with_room: the bytes past the chunk are working space (zstd puts a block's literals there); results and
// errors are decode()'s, byte for byte and word for word.
void expect_same_decode(const CodecChain& chain, std::span<const std::byte> encoded, const std::string& what) {
  SCOPED_TRACE(what);
  const size_t n = chain.layout().num_bytes();
  ByteVec plain(n, std::byte{0x5a});
  const Status expected = chain.decode(encoded, plain, "c/4/2");
  ByteVec roomy(n + chain.decode_room() + 3, std::byte{0xa5});
  const Status got = chain.decode_with_room(encoded, roomy, "c/4/2");
  EXPECT_EQ(got.code(), expected.code());
  EXPECT_EQ(got.message(), expected.message());
  if (expected.ok()) EXPECT_TRUE(std::equal(plain.begin(), plain.end(), roomy.begin()));
}

TEST(CodecChainApi, DecodeWithRoomMatchesDecode) {
  // A 128 KiB chunk of noise-like uint16 (literals too large for zstd's own 64 KiB buffer), level 1 as Zarr
  // writers use it, alone and under a crc32c.
  std::vector<ChainPtr> chains = all_chains();
  chains.push_back(v3(json::array({bytes_le(), named("zstd", {{"level", 1}})}), DataType::kUInt16, {4, 128, 128}));
  chains.push_back(
      v3(json::array({bytes_le(), named("zstd", {{"level", 1}}), "crc32c"}), DataType::kUInt16, {4, 128, 128}));
  for (const ChainPtr& chain : chains) {
    ByteVec data(chain->layout().num_bytes());
    std::mt19937_64 rng(9);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i % 2 ? rng() % 7 : rng());
    auto encoded = chain->encode(data, "k");
    ASSERT_TRUE(encoded.has_value());
    expect_same_decode(*chain, encoded->span(), "whole");
    for (size_t keep : {size_t{0}, size_t{5}, encoded->size() / 2, encoded->size() - 1})
      expect_same_decode(*chain, encoded->span().first(keep), "truncated to " + std::to_string(keep));
    ByteVec flipped = to_vec(*encoded);
    flipped[flipped.size() / 3] ^= std::byte{0x40};
    expect_same_decode(*chain, flipped, "flipped");
  }
  // Room only where the codec writing the chunk can use it: zstd last to decode, no transpose, not sharded.
  EXPECT_GT(chains.back()->decode_room(), 0u);
  EXPECT_EQ(v3(json::array({bytes_le(), named("gzip")}), DataType::kUInt16, {8})->decode_room(), 0u);
  EXPECT_EQ(v3(json::array({named("transpose", {{"order", json::array({1, 0})}}), bytes_le(), named("zstd")}),
               DataType::kUInt16, {8, 8})
                ->decode_room(),
            0u);
  EXPECT_EQ(v3(json::array({sharding({2}, json::array({bytes_le(), named("zstd")}), json::array({bytes_le()}))}),
               DataType::kUInt16, {4})
                ->decode_room(),
            0u);
  // Frames decoding to another size than the chunk's, into a buffer with room for them: decode()'s errors.
  const json zstd = json::array({bytes_le(), named("zstd")});
  ChainPtr small = v3(zstd, DataType::kUInt16, {10}), big = v3(zstd, DataType::kUInt16, {11});
  expect_same_decode(*small, big->encode(sample(22), "k")->span(), "one element too many");
  expect_same_decode(*big, small->encode(sample(20), "k")->span(), "one element too few");
  ChainPtr bomb_chain = v3(zstd, DataType::kUInt8, {1 << 20});
  expect_same_decode(*v3(zstd, DataType::kUInt8, {64}), bomb_chain->encode(ByteVec(1 << 20), "k")->span(), "bomb");
  // A buffer shorter than the chunk.
  ByteVec short_buffer(21);
  EXPECT_EQ(big->decode_with_room(small->encode(sample(20), "k")->span(), short_buffer, "c/0").code(),
            StatusCode::kInvalidArgument);
}

TEST(CodecCorruption, SizeHeadersAreNotTrusted) {
  ByteVec out(64);
  // A blosc header announcing 2 GB.
  ChainPtr blosc = v3(json::array({bytes_le(), named("blosc")}), DataType::kUInt8, {64});
  auto enc = blosc->encode(sample(64), "k");
  ByteVec forged = to_vec(*enc);
  forged[4] = forged[5] = forged[6] = std::byte{0xff};
  forged[7] = std::byte{0x7f};
  EXPECT_STATUS(blosc->decode(forged, out, "blosc key"), StatusCode::kDataLoss, "blosc key");
  // An LZ4 (numcodecs) header announcing 4 GB.
  ChainPtr lz4 = v2_chain({{"id", "lz4"}}, {32});
  auto lenc = lz4->encode(sample(64), "k");
  ByteVec lforged = to_vec(*lenc);
  for (int i = 0; i < 4; ++i) lforged[i] = std::byte{0xff};
  EXPECT_STATUS(lz4->decode(lforged, out, "lz4 key"), StatusCode::kDataLoss, "decodes to more than 64 bytes");
  // zstd and gzip "bombs": 10 MB of zeros into a 64-byte chunk.
  for (const json& c : {named("zstd"), named("gzip")}) {
    ChainPtr big = v3(json::array({bytes_le(), c}), DataType::kUInt8, {10 << 20});
    ChainPtr small = v3(json::array({bytes_le(), c}), DataType::kUInt8, {64});
    auto bomb = big->encode(ByteVec(10 << 20), "k");
    EXPECT_STATUS(small->decode(bomb->span(), out, "bomb"), StatusCode::kDataLoss, "decodes to more than 64 bytes");
  }
}

TEST(CodecCrc32c, KnownValueAndMismatchMessage) {
  const std::string_view check = "123456789";
  EXPECT_EQ(crc32c(std::as_bytes(std::span(check))), 0xe3069283u);
  EXPECT_EQ(crc32c({}), 0u);
  ChainPtr chain = v3(json::array({bytes_le(), "crc32c"}), DataType::kUInt8, {9});
  auto encoded = chain->encode(std::as_bytes(std::span(check)), "k");
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(to_vec(*encoded), from_hex("313233343536373839839206e3"));
  ByteVec bad = to_vec(*encoded);
  bad[0] = std::byte{'0'};
  ByteVec out(9);
  const Status s = chain->decode(bad, out, "arr/c/0/1");
  EXPECT_STATUS(s, StatusCode::kDataLoss, "arr/c/0/1: crc32c: checksum mismatch: stored 0xe3069283, computed 0x");
}

// ---------------------------------------------------------------------------
// Configuration errors

TEST(CodecConfig, UnknownCodecsAreUnimplementedNamingCodecAndArray) {
  EXPECT_STATUS(v3_error(json::array({bytes_le(), named("lzma")})), StatusCode::kUnimplemented,
                "test array: unknown codec 'lzma'");
  EXPECT_STATUS(v3_error(json::array({named("vlen-utf8")})), StatusCode::kUnimplemented, "vlen-utf8");
  auto v2 = CodecChain::from_v2({{"id", "lzma"}}, nullptr, 'C', Endian::kLittle, {DataType::kUInt8, {4}}, "x/.zarray");
  EXPECT_STATUS(v2.error(), StatusCode::kUnimplemented, "x/.zarray: unknown compressor 'lzma'");
  auto filt = CodecChain::from_v2(nullptr, json::array({{{"id", "delta"}, {"dtype", "<i4"}}}), 'C', Endian::kLittle,
                                  {DataType::kInt32, {4}}, "x/.zarray");
  EXPECT_STATUS(filt.error(), StatusCode::kUnimplemented, "filter 'delta'");
  auto blosc = v3_error(json::array({bytes_le(), named("blosc", {{"cname", "brotli"}})}));
  EXPECT_STATUS(blosc, StatusCode::kUnimplemented, "brotli");
}

TEST(CodecConfig, InvalidConfigurationsAreInvalidArgument) {
  const std::pair<json, std::string> cases[] = {
      {json::array(), "non-empty"},
      {json::object(), "non-empty"},
      {json::array({named("zstd")}), "before the array->bytes codec"},
      {json::array({bytes_le(), bytes_le()}), "second array->bytes"},
      {json::array({bytes_le(), named("transpose", {{"order", {1, 0}}})}), "after the array->bytes"},
      {json::array({named("gzip", {{"level", 1}})}), "before the array->bytes"},
      {json::array({"crc32c"}), "before the array->bytes"},
      {json::array({named("transpose", {{"order", {1, 0}}})}), "no array->bytes"},
      {json::array({"bytes"}), "missing \"endian\""},
      {json::array({named("bytes", {{"endian", "middle"}})}), "\"endian\""},
      {json::array({named("bytes", {{"endian", "little"}, {"extra", 1}})}), "unknown configuration field \"extra\""},
      {json::array({named("transpose", {{"order", {0, 0}}}), bytes_le()}), "permutation"},
      {json::array({named("transpose", {{"order", {0, 1, 2}}}), bytes_le()}), "permutation"},
      {json::array({named("transpose", {{"order", "X"}}), bytes_le()}), "permutation"},
      {json::array({bytes_le(), named("gzip", {{"level", 10}})}), "\"level\" = 10 is not in [0, 9]"},
      {json::array({bytes_le(), named("gzip", {{"level", "high"}})}), "must be an integer"},
      {json::array({bytes_le(), named("zstd", {{"checksum", 1}})}), "must be a boolean"},
      {json::array({bytes_le(), named("blosc", {{"shuffle", "twice"}})}), "\"shuffle\""},
      {json::array({bytes_le(), named("blosc", {{"clevel", 12}})}), "\"clevel\""},
      {json::array({bytes_le(), {{"name", "crc32c"}, {"colour", "red"}}}), "unknown field \"colour\""},
      {json::array({42}), "must be an object or a name"},
      {json::array({sharding({3, 3}, json::array({bytes_le()}), json::array({bytes_le()}))}), "does not divide"},
      {json::array({sharding({2}, json::array({bytes_le()}), json::array({bytes_le()}))}), "dimensions"},
      {json::array({sharding({2, 0}, json::array({bytes_le()}), json::array({bytes_le()}))}), "positive integers"},
      {json::array({sharding({2, 3}, json::array({bytes_le()}), json::array({bytes_le()}), "middle")}),
       "index_location"},
      {json::array({named("sharding_indexed", {{"chunk_shape", {2, 3}}, {"codecs", json::array({bytes_le()})}})}),
       "missing \"index_codecs\""},
  };
  for (const auto& [codecs, text] : cases) {
    SCOPED_TRACE(codecs.dump());
    EXPECT_STATUS(v3_error(codecs), StatusCode::kInvalidArgument, text);
  }
  EXPECT_STATUS(v3_error(json::array({bytes_le()}), DataType::kUInt8, {4, 0}), StatusCode::kInvalidArgument, "zero");
  EXPECT_STATUS(v3_error(json::array({bytes_le()}), DataType::kUInt64, {1ull << 31, 1ull << 31}),
                StatusCode::kInvalidArgument, "too large");
  auto order = CodecChain::from_v2(nullptr, nullptr, 'X', Endian::kLittle, {DataType::kUInt8, {4}}, "a");
  EXPECT_STATUS(order.error(), StatusCode::kInvalidArgument, "\"order\"");
}

TEST(CodecConfig, NormalisedAndBareEntriesAreAccepted) {
  // The metadata parser normalises entries to {name, configuration} (configuration {} when absent) and keeps
  // must_understand.
  EXPECT_NE(
      v3(json::array({bytes_le(), {{"name", "crc32c"}, {"configuration", json::object()}}}), DataType::kUInt16, {4}),
      nullptr);
  EXPECT_NE(v3(json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}, {"must_understand", true}}}),
               DataType::kUInt16, {4}),
            nullptr);
  EXPECT_NE(v3(json::array({"bytes", "crc32c"}), DataType::kBool, {4}), nullptr);
}

TEST(CodecConfig, ShardingUnsupportedShapesAreUnimplemented) {
  // A compressed index has no fixed size.
  EXPECT_STATUS(
      v3_error(json::array({sharding({2, 3}, json::array({bytes_le()}), json::array({bytes_le(), named("zstd")}))})),
      StatusCode::kUnimplemented, "index_codecs");
  EXPECT_STATUS(
      v3_error(json::array({sharding({2, 3}, json::array({bytes_le()}), json::array({bytes_le()})), named("zstd")})),
      StatusCode::kUnimplemented, "after sharding_indexed");
  EXPECT_STATUS(v3_error(json::array({named("transpose", {{"order", {1, 0}}}),
                                      sharding({2, 3}, json::array({bytes_le()}), json::array({bytes_le()}))})),
                StatusCode::kUnimplemented, "transpose before sharding_indexed");
  // Errors inside the inner chain name where they are.
  EXPECT_STATUS(
      v3_error(json::array({sharding({2, 3}, json::array({bytes_le(), named("lzma")}), json::array({bytes_le()}))})),
      StatusCode::kUnimplemented, "test array (sharding_indexed codecs): unknown codec 'lzma'");
}

// ---------------------------------------------------------------------------
// Shard index

ChainPtr sharded_chain(bool crc, std::string location, std::vector<uint64_t> shape = {4, 6},
                       std::vector<uint64_t> inner = {2, 3}) {
  json index = crc ? json::array({bytes_le(), "crc32c"}) : json::array({bytes_le()});
  return v3(json::array({sharding(inner, json::array({bytes_le(), named("zstd")}), index, location)}),
            DataType::kUInt16, shape);
}

// An index of `entries` in a shard of `shard_size` bytes, decoded and validated.
Result<std::vector<ShardIndexEntry>> decode_entries(const ShardingSpec& s, std::vector<ShardIndexEntry> entries,
                                                    uint64_t shard_size) {
  const Bytes index = s.encode_index(entries);
  return s.decode_index(index.span(), shard_size, "arr/c/1/2");
}

TEST(ShardIndex, Geometry) {
  ChainPtr with_crc = sharded_chain(true, "end", {4, 6, 8}, {2, 3, 2});
  const ShardingSpec& s = *with_crc->sharding();
  EXPECT_EQ(s.inner_grid(), (std::vector<uint64_t>{2, 2, 4}));
  EXPECT_EQ(s.inner_per_shard(), 16u);
  EXPECT_EQ(s.index_encoded_size(), 16u * 16 + 4);
  EXPECT_EQ(s.location, IndexLocation::kEnd);
  EXPECT_EQ(s.inner->layout().shape, (std::vector<uint64_t>{2, 3, 2}));
  EXPECT_EQ(s.index->layout().shape, (std::vector<uint64_t>{2, 2, 4, 2}));
  ChainPtr plain = sharded_chain(false, "start");
  EXPECT_EQ(plain->sharding()->index_encoded_size(), 64u);
  EXPECT_EQ(plain->sharding()->location, IndexLocation::kStart);
  EXPECT_EQ(plain->sharding()->index_offset(100, "k"), 0u);
  EXPECT_EQ(with_crc->sharding()->index_offset(300, "k"), 300u - 260);
  EXPECT_STATUS(with_crc->sharding()->index_offset(259, "k").error(), StatusCode::kDataLoss, "shorter than its index");
}

TEST(ShardIndex, ValidIndexesAtEndAndStartWithMissingEntries) {
  for (std::string location : {"end", "start"}) {
    for (bool crc : {false, true}) {
      SCOPED_TRACE(location + (crc ? " crc32c" : ""));
      ChainPtr s_chain = sharded_chain(crc, location);
      const ShardingSpec& s = *s_chain->sharding();
      const uint64_t base = location == "start" ? s.index_encoded_size() : 0;
      std::vector<ShardIndexEntry> entries = {{base + 10, 5}, {}, {base, 10}, {base + 15, 0}};
      const uint64_t shard_size = base + 15 + (location == "end" ? s.index_encoded_size() : 0);
      auto decoded = decode_entries(s, entries, shard_size);
      ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
      EXPECT_EQ(*decoded, entries);
      EXPECT_TRUE((*decoded)[1].missing());
      // All missing: a shard that is only its index.
      auto empty = decode_entries(s, std::vector<ShardIndexEntry>(4), s.index_encoded_size());
      ASSERT_TRUE(empty.has_value()) << empty.error().to_string();
    }
  }
}

TEST(ShardIndex, EntryPastTheEnd) {
  ChainPtr s_chain = sharded_chain(true, "end");
  const ShardingSpec& s = *s_chain->sharding();
  const uint64_t size = 100 + s.index_encoded_size();
  auto r = decode_entries(s, {{}, {}, {160, 20}, {}}, size);
  EXPECT_STATUS(r.error(), StatusCode::kDataLoss, "arr/c/1/2: shard index: entry 2 (inner chunk [1, 0]) at offset 160");
  EXPECT_STATUS(r.error(), StatusCode::kDataLoss, "ends past the end of the shard (" + std::to_string(size));
  EXPECT_FALSE(decode_entries(s, {{size + 1, 0}, {}, {}, {}}, size).has_value());
  // Half-missing pairs are not missing: they point past the end.
  EXPECT_FALSE(decode_entries(s, {{ShardIndexEntry::kMissing, 4}, {}, {}, {}}, size).has_value());
  EXPECT_FALSE(decode_entries(s, {{0, ShardIndexEntry::kMissing}, {}, {}, {}}, size).has_value());
}

TEST(ShardIndex, OverflowingEntries) {
  ChainPtr s_chain = sharded_chain(false, "end");
  const ShardingSpec& s = *s_chain->sharding();
  const uint64_t near_max = std::numeric_limits<uint64_t>::max() - 10;
  auto r = decode_entries(s, {{}, {near_max, 20}, {}, {}}, 1000);
  EXPECT_STATUS(r.error(), StatusCode::kDataLoss, "entry 1 (inner chunk [0, 1])");
  EXPECT_FALSE(decode_entries(s, {{}, {20, near_max}, {}, {}}, 1000).has_value());
  EXPECT_FALSE(decode_entries(s, {{}, {near_max, near_max}, {}, {}}, std::numeric_limits<uint64_t>::max()).has_value());
}

TEST(ShardIndex, OverlappingEntries) {
  ChainPtr s_chain = sharded_chain(true, "end");
  const ShardingSpec& s = *s_chain->sharding();
  const uint64_t size = 100 + s.index_encoded_size();
  auto r = decode_entries(s, {{0, 10}, {50, 10}, {9, 5}, {}}, size);
  EXPECT_STATUS(r.error(), StatusCode::kDataLoss, "entry 2 (inner chunk [1, 0]) [9, 14) overlaps entry 0");
  // An entry covering two others.
  EXPECT_FALSE(decode_entries(s, {{0, 60}, {10, 5}, {40, 5}, {}}, size).has_value());
  // The same range twice.
  EXPECT_FALSE(decode_entries(s, {{}, {20, 5}, {}, {20, 5}}, size).has_value());
  // Touching ranges and zero-length entries do not overlap.
  EXPECT_TRUE(decode_entries(s, {{0, 10}, {10, 10}, {20, 0}, {15, 0}}, size).has_value());
}

TEST(ShardIndex, EntriesOverlappingTheIndex) {
  ChainPtr end_chain = sharded_chain(true, "end");
  const ShardingSpec& end = *end_chain->sharding();
  const uint64_t size = 100 + end.index_encoded_size();
  EXPECT_STATUS(decode_entries(end, {{95, 10}, {}, {}, {}}, size).error(), StatusCode::kDataLoss, "the index");
  ChainPtr start_chain = sharded_chain(true, "start");
  const ShardingSpec& start = *start_chain->sharding();
  EXPECT_STATUS(decode_entries(start, {{0, 10}, {}, {}, {}}, size).error(), StatusCode::kDataLoss,
                "overlaps the index");
  EXPECT_TRUE(decode_entries(start, {{size - 10, 10}, {}, {}, {}}, size).has_value());
}

TEST(ShardIndex, BadChecksumAndWrongSize) {
  ChainPtr s_chain = sharded_chain(true, "end");
  const ShardingSpec& s = *s_chain->sharding();
  ByteVec index = to_vec(s.encode_index(std::vector<ShardIndexEntry>(4)));
  index[3] ^= std::byte{1};
  auto r = s.decode_index(index, 1000, "arr/c/0/0");
  EXPECT_STATUS(r.error(), StatusCode::kDataLoss, "arr/c/0/0 (shard index): crc32c: checksum mismatch: stored 0x");
  EXPECT_STATUS(s.decode_index(std::span(index).first(60), 1000, "arr/c/0/0").error(), StatusCode::kDataLoss,
                "60 bytes, expected 68");
  EXPECT_STATUS(s.decode_index(ByteVec(68), 67, "k").error(), StatusCode::kDataLoss, "shorter than its index");
}

TEST(ShardIndex, EncodeShardRoundTripAtBothLocations) {
  for (std::string location : {"end", "start"}) {
    SCOPED_TRACE(location);
    ChainPtr chain = sharded_chain(true, location);
    const ShardingSpec& s = *chain->sharding();
    std::vector<std::optional<Bytes>> inner(4);
    inner[0] = Bytes::copy_of("first");
    inner[2] = Bytes::copy_of("third chunk");
    inner[3] = Bytes::copy_of("");
    const Bytes shard = s.encode_shard(inner);
    EXPECT_EQ(shard.size(), 16u + s.index_encoded_size());
    auto at = s.index_offset(shard.size(), "k");
    ASSERT_TRUE(at.has_value());
    auto entries = s.decode_index(shard.span().subspan(*at, s.index_encoded_size()), shard.size(), "k");
    ASSERT_TRUE(entries.has_value()) << entries.error().to_string();
    EXPECT_TRUE((*entries)[1].missing());
    EXPECT_EQ(shard.slice((*entries)[2].offset, (*entries)[2].nbytes).as_string_view(), "third chunk");
    EXPECT_EQ(shard.slice((*entries)[0].offset, (*entries)[0].nbytes).as_string_view(), "first");
    EXPECT_EQ((*entries)[3].nbytes, 0u);
  }
}

TEST(ShardIndex, NestedShardingAndFullShardRoundTrip) {
  json inner = json::array({sharding({1, 3}, json::array({bytes_be(), named("gzip")}), json::array({bytes_le()}))});
  ChainPtr chain = v3(json::array({sharding({2, 6}, inner, json::array({bytes_le(), "crc32c"}), "start")}),
                      DataType::kInt32, {4, 12});
  ASSERT_NE(chain, nullptr);
  ASSERT_NE(chain->sharding(), nullptr);
  ASSERT_NE(chain->sharding()->inner->sharding(), nullptr);
  EXPECT_EQ(chain->sharding()->inner->sharding()->inner_grid(), (std::vector<uint64_t>{2, 2}));
  ByteVec data = sample(chain->layout().num_bytes(), 9);
  std::fill(data.begin(), data.begin() + 12, std::byte{0});  // inner-inner chunk [0, 0] of shard chunk [0, 0]
  auto shard = encode_any(*chain, data);
  ASSERT_TRUE(shard.has_value()) << shard.error().to_string();
  auto decoded = decode_any(*chain, shard->span(), "k");
  ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
  EXPECT_EQ(*decoded, data);
}

// ---------------------------------------------------------------------------
// Whole shards through CodecChain::decode / encode (nested sharding)

// Shard 8x8 of inner shards 4x4 of innermost chunks 2x2 (zstd); crc32c indexes at `location`.
ChainPtr two_level_chain(std::string location = "end") {
  const json index = json::array({bytes_le(), "crc32c"});
  const json innermost = json::array({bytes_le(), named("zstd", {{"level", 1}, {"checksum", false}})});
  const json inner = json::array({sharding({2, 2}, innermost, index, location)});
  return v3(json::array({sharding({4, 4}, inner, index, location)}), DataType::kUInt16, {8, 8});
}

// The index entries of a whole shard.
std::vector<ShardIndexEntry> entries_of(const CodecChain& chain, std::span<const std::byte> shard) {
  const ShardingSpec& s = *chain.sharding();
  auto at = s.index_offset(shard.size(), "k");
  EXPECT_TRUE(at.has_value());
  auto entries = s.decode_index(shard.subspan(*at, s.index_encoded_size()), shard.size(), "k");
  EXPECT_TRUE(entries.has_value()) << entries.error().to_string();
  return entries ? *entries : std::vector<ShardIndexEntry>();
}

// Sets the 2x2 block at (row, col) of an 8x8 uint16 shard to zero.
void zero_block(ByteVec& shard, uint64_t row, uint64_t col) {
  for (uint64_t r = row; r < row + 2; ++r) std::fill_n(shard.begin() + (r * 8 + col) * 2, 4, std::byte{0});
}

TEST(ShardChain, TwoAndThreeLevelRoundTripsAgreeWithTheReference) {
  const json index = json::array({bytes_le(), "crc32c"});
  const json level3 = json::array({sharding(
      {4, 8},
      json::array({sharding({2, 4}, json::array({sharding({1, 2}, json::array({bytes_be(), named("gzip")}), index)}),
                            json::array({bytes_le()}), "start")}),
      index)});
  std::vector<std::pair<std::string, ChainPtr>> chains = {{"2 levels, end", two_level_chain("end")},
                                                          {"2 levels, start", two_level_chain("start")},
                                                          {"3 levels", v3(level3, DataType::kUInt16, {8, 8})}};
  for (const auto& [name, chain] : chains) {
    SCOPED_TRACE(name);
    ASSERT_NE(chain, nullptr);
    EXPECT_EQ(chain->fixed_encoded_size(), std::nullopt);
    EXPECT_FALSE(chain->is_identity());
    ByteVec data = sample(chain->layout().num_bytes(), 3);
    zero_block(data, 0, 2);  // all zeros: encode_any leaves it missing, encode stores it
    auto encoded = chain->encode(data, "c/0/0");
    ASSERT_TRUE(encoded.has_value()) << encoded.error().to_string();
    for (const ShardIndexEntry& e : entries_of(*chain, encoded->span())) EXPECT_FALSE(e.missing());
    ByteVec out(data.size());
    Status s = chain->decode(encoded->span(), out, "c/0/0");
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(out, data);
    // Both directions against the test's own shard reader and writer.
    auto reference = decode_any(*chain, encoded->span(), "c/0/0");
    ASSERT_TRUE(reference.has_value()) << reference.error().to_string();
    EXPECT_EQ(*reference, data);
    auto sparse = encode_any(*chain, data);
    ASSERT_TRUE(sparse.has_value()) << sparse.error().to_string();
    std::fill(out.begin(), out.end(), std::byte{0xff});
    s = chain->decode(sparse->span(), out, "c/0/0");
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(out, data);
  }
}

TEST(ShardChain, MissingInnerChunksAtEveryLevelReadAsTheFillValue) {
  ChainPtr chain = two_level_chain();
  ASSERT_NE(chain, nullptr);
  ByteVec data = sample(chain->layout().num_bytes(), 4);
  zero_block(data, 2, 6);                // an innermost chunk of inner shard [0, 1]
  for (uint64_t r = 4; r < 8; r += 2) {  // all of inner shard [1, 0]
    zero_block(data, r, 0);
    zero_block(data, r, 2);
  }
  auto sparse = encode_any(*chain, data);  // leaves the zero chunks missing
  ASSERT_TRUE(sparse.has_value()) << sparse.error().to_string();
  EXPECT_TRUE(entries_of(*chain, sparse->span())[2].missing());

  ByteVec out(data.size());
  ASSERT_TRUE(chain->decode(sparse->span(), out, "c/0/0").ok());
  EXPECT_EQ(out, data);  // no fill given: zeros
  const uint16_t fill = 0xbeef;
  ByteVec fill_bytes(2);
  std::memcpy(fill_bytes.data(), &fill, 2);
  ASSERT_TRUE(chain->decode(sparse->span(), out, "c/0/0", fill_bytes).ok());
  for (uint64_t r = 0; r < 8; ++r) {
    for (uint64_t c = 0; c < 8; ++c) {
      const bool missing = (r >= 2 && r < 4 && c >= 6) || (r >= 4 && c < 4);
      uint16_t got, expected = fill;
      std::memcpy(&got, out.data() + (r * 8 + c) * 2, 2);
      if (!missing) std::memcpy(&expected, data.data() + (r * 8 + c) * 2, 2);
      EXPECT_EQ(got, expected) << r << "," << c;
    }
  }
}

TEST(ShardChain, CorruptInnerShardsAreDataLossNamingKeyAndInnerChunk) {
  ChainPtr chain = two_level_chain();
  ASSERT_NE(chain, nullptr);
  const ByteVec data = sample(chain->layout().num_bytes(), 5);
  auto encoded = chain->encode(data, "c/0/0");
  ASSERT_TRUE(encoded.has_value()) << encoded.error().to_string();
  const ByteVec shard = to_vec(*encoded);
  const ShardIndexEntry e = entries_of(*chain, shard)[2];
  ByteVec out(data.size());

  // A flipped byte in the index of inner shard 2 (at its end).
  ByteVec bad = shard;
  bad[e.offset + e.nbytes - 6] ^= std::byte{1};
  EXPECT_STATUS(chain->decode(bad, out, "arr/c/0/0"), StatusCode::kDataLoss,
                "arr/c/0/0 inner chunk 2 (shard index): crc32c: checksum mismatch");

  // Inner shard 2 truncated: its index is read from the wrong bytes.
  const ShardingSpec& s = *chain->sharding();
  std::vector<std::optional<Bytes>> inner(s.inner_per_shard());
  const std::vector<ShardIndexEntry> outer_entries = entries_of(*chain, shard);
  for (size_t i = 0; i < inner.size(); ++i) {
    const ShardIndexEntry& ei = outer_entries[i];
    inner[i] = Bytes::copy_of(std::span(shard).subspan(ei.offset, i == 2 ? ei.nbytes - 9 : ei.nbytes));
  }
  const Bytes truncated = s.encode_shard(inner);
  EXPECT_STATUS(chain->decode(truncated.span(), out, "arr/c/0/0"), StatusCode::kDataLoss, "arr/c/0/0 inner chunk 2");

  // The whole shard truncated: its own index no longer checks out.
  EXPECT_STATUS(chain->decode(std::span(shard).first(shard.size() - 3), out, "arr/c/0/0"), StatusCode::kDataLoss,
                "arr/c/0/0");
  EXPECT_STATUS(chain->decode(std::span(shard).first(10), out, "arr/c/0/0"), StatusCode::kDataLoss,
                "shorter than its index");

  // An innermost chunk that is not zstd: named by both inner chunk numbers.
  const ShardingSpec& is = *s.inner->sharding();
  const ByteVec inner2(shard.begin() + e.offset, shard.begin() + e.offset + e.nbytes);
  const std::vector<ShardIndexEntry> ie = entries_of(*s.inner, inner2);
  ASSERT_EQ(ie.size(), is.inner_per_shard());
  ByteVec garbled = shard;
  std::fill_n(garbled.begin() + e.offset + ie[3].offset, ie[3].nbytes, std::byte{0x5a});
  EXPECT_STATUS(chain->decode(garbled, out, "arr/c/0/0"), StatusCode::kDataLoss,
                "arr/c/0/0 inner chunk 2 inner chunk 3");
}

// Builds the chain of a fixture's metadata (v2 when it has "dtype", v3 otherwise).
ChainPtr fixture_chain(const Fixture& f) {
  const json meta = json::parse(f.meta);
  if (meta.contains("dtype")) {
    auto type = parse_numpy_typestr(meta["dtype"].get<std::string>());
    EXPECT_TRUE(type.has_value());
    ChunkLayout layout{type->type, meta["chunks"].get<std::vector<uint64_t>>()};
    auto chain = CodecChain::from_v2(meta["compressor"], meta["filters"], meta["order"].get<std::string>()[0],
                                     type->endian, layout, f.name);
    EXPECT_TRUE(chain.has_value()) << chain.error().to_string();
    return chain ? *chain : nullptr;
  }
  auto type = parse_dtype_name(meta["data_type"].get<std::string>());
  EXPECT_TRUE(type.has_value());
  ChunkLayout layout{*type, meta["chunk_grid"]["configuration"]["chunk_shape"].get<std::vector<uint64_t>>()};
  auto chain = CodecChain::from_v3(meta["codecs"], layout, f.name);
  EXPECT_TRUE(chain.has_value()) << chain.error().to_string();
  return chain ? *chain : nullptr;
}

TEST(CodecFixtures, DecodeChunksWrittenByNumcodecsZarrPythonAndTensorstore) {
  for (const Fixture& f : kFixtures) {
    SCOPED_TRACE(f.name);
    ChainPtr chain = fixture_chain(f);
    ASSERT_NE(chain, nullptr);
    auto decoded = decode_any(*chain, from_hex(f.encoded), "c/0/0");
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(*decoded, from_hex(f.decoded));
  }
}

TEST(CodecFixtures, ReencodeAndDecodeAgain) {
  for (const Fixture& f : kFixtures) {
    SCOPED_TRACE(f.name);
    ChainPtr chain = fixture_chain(f);
    ASSERT_NE(chain, nullptr);
    const ByteVec expected = from_hex(f.decoded);
    auto encoded = encode_any(*chain, expected);
    ASSERT_TRUE(encoded.has_value()) << encoded.error().to_string();
    auto decoded = decode_any(*chain, encoded->span(), "c/0/0");
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(*decoded, expected);
  }
}

TEST(CodecFixtures, ShardsWrittenByZarrPythonLeaveFillValueChunksMissing) {
  for (const Fixture& f : kFixtures) {
    if (std::string_view(f.name).find("missing inner chunk") == std::string_view::npos) continue;
    ChainPtr chain = fixture_chain(f);
    ASSERT_NE(chain, nullptr);
    const ShardingSpec* s = chain->sharding();
    ASSERT_NE(s, nullptr);
    const ByteVec shard = from_hex(f.encoded);
    auto entries = s->decode_index(std::span(shard).last(s->index_encoded_size()), shard.size(), "c/0/0");
    ASSERT_TRUE(entries.has_value()) << entries.error().to_string();
    ASSERT_EQ(entries->size(), 4u);
    EXPECT_FALSE((*entries)[0].missing());
    EXPECT_TRUE((*entries)[1].missing());  // x[0:2, 3:6] was written as zeros
  }
}

}  // namespace
}  // namespace lsio::codec

// clang-format off
/* The fixtures above come from this script, run with the venv of `make deps` (zarr 3.1, numcodecs,
   tensorstore): .venv/bin/python gen.py > fixtures.inc

# Writes the kFixtures table of tests/cpp/codec_test.cc: chunks and shards written by numcodecs,
# zarr-python 3.1 and tensorstore, with the decoded chunk each must give (C order, little-endian).
import json, os, shutil, tempfile
import numpy as np, numcodecs, tensorstore as ts, zarr
from zarr.codecs import BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, ShardingCodec, TransposeCodec, ZstdCodec

KEEP = ('chunks', 'dtype', 'order', 'compressor', 'filters', 'data_type', 'chunk_grid', 'codecs')
out = []

def emit(name, meta, encoded, decoded):
    meta = {k: v for k, v in meta.items() if k in KEEP}
    out.append((name, json.dumps(meta, separators=(',', ':')), encoded.hex(), decoded.hex()))

def data(shape, dtype):
    a = (np.arange(int(np.prod(shape))) * 7 % 251).astype(dtype).reshape(shape)
    return a * 0.5 - 3 if np.dtype(dtype).kind in 'fc' else a

def little(x):
    return x.astype(x.dtype.newbyteorder('<')).tobytes()

def stored(d, meta_name, key, name, x):
    meta = json.load(open(os.path.join(d, meta_name)))
    emit(name, meta, open(os.path.join(d, key), 'rb').read(), little(x))
    shutil.rmtree(d)

# numcodecs compressors (zarr v2) over one C-order little-endian uint16 chunk.
B = numcodecs.Blosc
a = data((4, 6), '<u2')
for comp in [B('lz4', 5, B.SHUFFLE), B('zstd', 3, B.BITSHUFFLE), B('blosclz', 9, B.NOSHUFFLE),
             B('zlib', 1, B.SHUFFLE), B('lz4hc', 5, B.AUTOSHUFFLE), numcodecs.Zstd(3),
             numcodecs.Zstd(1, checksum=True), numcodecs.GZip(5), numcodecs.Zlib(5), numcodecs.LZ4(1),
             numcodecs.BZ2(9)]:
    cfg = comp.get_config()
    name = 'v2 numcodecs ' + ' '.join('%s=%s' % kv for kv in cfg.items())
    meta = {'chunks': [4, 6], 'dtype': '<u2', 'order': 'C', 'compressor': cfg, 'filters': None}
    emit(name, meta, bytes(comp.encode(a)), a.tobytes())

def v2_array(name, shape, dtype, order, compressor):
    d = tempfile.mkdtemp()
    z = zarr.create_array(d, shape=shape, chunks=shape, dtype=dtype, zarr_format=2, order=order,
                          compressors=compressor, filters=None, fill_value=0)
    x = data(shape, dtype)
    z[...] = x
    stored(d, '.zarray', '.'.join(['0'] * len(shape)), name, x)

v2_array('v2 zarr-python F order big-endian int32 zlib', (3, 4, 2), '>i4', 'F', numcodecs.Zlib(1))
v2_array('v2 zarr-python F order complex128 big-endian', (2, 3), '>c16', 'F', None)
v2_array('v2 zarr-python C order float16 big-endian gzip', (5,), '>f2', 'C', numcodecs.GZip(1))

def v3_array(name, shape, dtype, serializer, compressors=None, filters=None, missing=None):
    d = tempfile.mkdtemp()
    z = zarr.create_array(d, shape=shape, chunks=shape, dtype=dtype, fill_value=0, serializer=serializer,
                          compressors=compressors, filters=filters)
    x = data(shape, dtype)
    if missing is not None:
        x[missing] = 0
    z[...] = x
    stored(d, 'zarr.json', 'c/' + '/'.join(['0'] * len(shape)), name, x)

v3_array('v3 zarr-python transpose + big-endian int32 + gzip + crc32c', (3, 4, 2), 'int32',
         BytesCodec(endian='big'), [GzipCodec(level=6), Crc32cCodec()], [TransposeCodec(order=(2, 0, 1))])
v3_array('v3 zarr-python complex64 big-endian blosc', (3, 5), 'complex64', BytesCodec(endian='big'),
         [BloscCodec(cname='lz4', clevel=5, shuffle='shuffle', typesize=8)])
v3_array('v3 zarr-python float64 zstd checksum', (10,), 'float64', BytesCodec(),
         [ZstdCodec(level=5, checksum=True)])
v3_array('v3 zarr-python bool bytes', (7,), 'bool', BytesCodec())
v3_array('v3 zarr-python sharded index end, zstd inner, a missing inner chunk', (4, 6), 'uint16',
         ShardingCodec(chunk_shape=(2, 3), codecs=[BytesCodec(), ZstdCodec(level=0)]),
         missing=(slice(0, 2), slice(3, 6)))
v3_array('v3 zarr-python sharded index start, blosc inner', (4, 6), 'int16',
         ShardingCodec(chunk_shape=(2, 3), index_location='start',
                       codecs=[BytesCodec(), BloscCodec(cname='zstd', clevel=3, shuffle='bitshuffle', typesize=2)]),
         missing=(slice(2, 4), slice(0, 3)))
v3_array('v3 zarr-python nested sharding', (4, 8), 'uint32',
         ShardingCodec(chunk_shape=(2, 4), index_codecs=[BytesCodec(), Crc32cCodec()],
                       codecs=[ShardingCodec(chunk_shape=(1, 2), codecs=[BytesCodec(), GzipCodec(level=1)])]),
         missing=(slice(0, 1), slice(0, 2)))

# tensorstore: sharded zstd, index at the end, big-endian float32 inner chunks.
d = tempfile.mkdtemp()
inner = [{'name': 'bytes', 'configuration': {'endian': 'big'}}, {'name': 'zstd', 'configuration': {'level': 1}}]
index = [{'name': 'bytes', 'configuration': {'endian': 'little'}}, {'name': 'crc32c'}]
sharding = {'name': 'sharding_indexed',
            'configuration': {'chunk_shape': [2, 2], 'codecs': inner, 'index_codecs': index}}
grid = {'name': 'regular', 'configuration': {'chunk_shape': [4, 6]}}
spec = {'driver': 'zarr3', 'kvstore': {'driver': 'file', 'path': d}, 'create': True,
        'metadata': {'shape': [4, 6], 'data_type': 'float32', 'chunk_grid': grid, 'codecs': [sharding]}}
t = ts.open(spec).result()
x = data((4, 6), 'float32')
x[2:4, 2:4] = 0
t[...] = x
stored(d, 'zarr.json', 'c/0/0', 'v3 tensorstore sharded float32 big-endian zstd', x)

def pieces(s, quote):
    parts = [s[i:i + 96] for i in range(0, len(s), 96)] or ['']
    return '\n'.join('        ' + quote(p) for p in parts)

print('const Fixture kFixtures[] = {')
for name, meta, enc, dec in out:
    raw = pieces(meta, lambda p: 'R"json(%s)json"' % p)
    print('    {"%s",\n%s,\n%s,\n%s},' % (name, raw, pieces(enc, '"%s"'.__mod__), pieces(dec, '"%s"'.__mod__)))
print('};')
*/
// clang-format on
