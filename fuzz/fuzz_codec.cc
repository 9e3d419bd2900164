// libFuzzer target for the codec chains (src/codec): arbitrary bytes decoded through
// every codec, valid chunks corrupted in fuzzer-chosen places, and fuzzer-written v3
// "codecs" lists. Input layout:
//   byte 0: mode (below) and byte 1: which chain; the rest is the payload.
//   mode 0: the payload is an encoded chunk: decode it.
//   mode 1: the payload is decoded data: encode it, then corrupt the encoding with
//           (position, xor) pairs and a truncation taken from the payload's first bytes.
//   mode 2: the payload is a JSON "codecs" list for a small uint16 chunk.
//
// Properties (a failure aborts with the details on stderr):
//   - never crash, hang, or write outside the output span (a canary follows it);
//   - every error is kDataLoss and names the key (decode), every encode succeeds;
//   - decode(encode(x)) == x for every chain, built in or parsed;
//   - a chain ending in crc32c never accepts a corrupted chunk.
//
// Build: cmake -DLSIO_FUZZ=ON with clang (see the Makefile's test-fuzz). Without
// libFuzzer (any compiler), -DLSIO_FUZZ_STANDALONE adds a main() that runs files given
// as arguments or random inputs: `fuzz_codec [-max_total_time=S] [-runs=N] [-seed=N] [FILE...]`.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec_chain.h"

namespace {

using lsio::DataType;
using lsio::Status;
using lsio::StatusCode;
using lsio::codec::ChunkLayout;
using lsio::codec::CodecChain;
using nlohmann::json;
using ChainPtr = std::shared_ptr<const CodecChain>;

constexpr std::string_view kKey = "fuzz/c/0/0";
constexpr std::byte kCanary{0xa5};
constexpr size_t kCanarySize = 64;

[[noreturn]] void fail(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "fuzz_codec: %.*s\n%.*s\n", static_cast<int>(property.size()), property.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

struct NamedChain {
  ChainPtr chain;
  bool checksummed;  // the last codec is crc32c: any corruption must be caught
};

json codec(std::string name, json config = json::object()) { return {{"name", name}, {"configuration", config}}; }

ChainPtr must(lsio::Result<ChainPtr> r) {
  if (!r) fail("a built-in chain does not parse", r.error().to_string());
  return *r;
}

std::vector<NamedChain> make_chains() {
  const json le = codec("bytes", {{"endian", "little"}});
  const json be = codec("bytes", {{"endian", "big"}});
  const auto blosc = [](std::string cname, std::string shuffle, int typesize) {
    return codec("blosc", {{"cname", cname}, {"clevel", 5}, {"shuffle", shuffle}, {"typesize", typesize}});
  };
  const json lists[] = {
      json::array({le}),
      json::array({codec("transpose", {{"order", {1, 0}}}), be}),
      json::array({le, codec("gzip", {{"level", 5}})}),
      json::array({le, codec("zstd", {{"level", 3}, {"checksum", true}})}),
      json::array({le, codec("zstd", {{"level", 1}}), "crc32c"}),
      json::array({le, "crc32c"}),
      json::array({le, blosc("lz4", "shuffle", 2)}),
      json::array({le, blosc("zstd", "bitshuffle", 2)}),
      json::array({le, blosc("blosclz", "noshuffle", 1)}),
      json::array({le, blosc("zlib", "shuffle", 4)}),
      json::array({le, blosc("lz4hc", "shuffle", 8)}),
      json::array({le, codec("gzip", {{"level", 1}}), codec("zstd", {{"level", 1}})}),
      json::array({le, "crc32c", codec("zstd", {{"level", 1}})}),
  };
  std::vector<NamedChain> chains;
  const ChunkLayout layout{DataType::kUInt16, {8, 16}};
  for (const json& list : lists) {
    chains.push_back({must(CodecChain::from_v3(list, layout, "fuzz")), list.back() == "crc32c"});
  }
  // Nested sharding: whole shards decoded in memory, inner shards inside.
  const json index = json::array({le, "crc32c"});
  const json inner = codec("sharding_indexed", {{"chunk_shape", {2, 4}},
                                                {"codecs", json::array({le, codec("zstd", {{"level", 1}})})},
                                                {"index_codecs", index},
                                                {"index_location", "start"}});
  const json outer = codec(
      "sharding_indexed",
      {{"chunk_shape", {4, 8}}, {"codecs", json::array({inner})}, {"index_codecs", index}, {"index_location", "end"}});
  chains.push_back({must(CodecChain::from_v3(json::array({outer}), layout, "fuzz")), false});
  // A bigger chunk: blosc splits it into several blocks.
  chains.push_back(
      {must(CodecChain::from_v3(json::array({le, blosc("lz4", "shuffle", 8)}), {DataType::kFloat64, {64, 64}}, "fuzz")),
       false});
  const json v2[] = {{{"id", "zlib"}, {"level", 1}},
                     {{"id", "gzip"}, {"level", 1}},
                     {{"id", "lz4"}},
                     {{"id", "bz2"}, {"level", 1}},
                     {{"id", "blosc"}, {"cname", "lz4"}, {"shuffle", -1}}};
  for (const json& compressor : v2) {
    chains.push_back(
        {must(CodecChain::from_v2(compressor, nullptr, 'F', lsio::Endian::kBig, {DataType::kInt32, {4, 8}}, "fuzz")),
         false});
  }
  return chains;
}

const std::vector<NamedChain>& chains() {
  static const std::vector<NamedChain> all = make_chains();
  return all;
}

// Decodes with a canary after the output; returns the status.
Status checked_decode(const CodecChain& chain, std::span<const std::byte> encoded, std::vector<std::byte>& out) {
  const size_t n = chain.layout().num_bytes();
  out.assign(n + kCanarySize, kCanary);
  Status s = chain.decode(encoded, std::span(out).first(n), kKey);
  for (size_t i = n; i < out.size(); ++i) {
    if (out[i] != kCanary) fail("decode wrote past its output", std::to_string(i - n) + " bytes past");
  }
  if (!s.ok() && (s.code() != StatusCode::kDataLoss || s.message().find(kKey) == std::string_view::npos)) {
    fail("decode error is not kDataLoss naming the key", s.to_string());
  }
  out.resize(n);
  return s;
}

// `data` resized to the chain's chunk (repeated, or zeros when empty).
std::vector<std::byte> fit(const CodecChain& chain, std::span<const std::byte> data) {
  std::vector<std::byte> out(chain.layout().num_bytes());
  for (size_t i = 0; i < out.size() && !data.empty(); ++i) out[i] = data[i % data.size()];
  return out;
}

std::vector<std::byte> encode_or_die(const CodecChain& chain, std::span<const std::byte> decoded) {
  auto encoded = chain.encode(decoded, kKey);
  if (!encoded) fail("encode failed", encoded.error().to_string());
  return {encoded->data(), encoded->data() + encoded->size()};
}

void check_round_trip(const CodecChain& chain, std::span<const std::byte> decoded) {
  const auto encoded = encode_or_die(chain, decoded);
  std::vector<std::byte> out;
  Status s = checked_decode(chain, encoded, out);
  if (!s.ok()) fail("decode(encode(x)) failed", s.to_string());
  if (!std::equal(out.begin(), out.end(), decoded.begin(), decoded.end())) fail("decode(encode(x)) != x", "");
}

void fuzz_decode(const NamedChain& c, std::span<const std::byte> payload) {
  std::vector<std::byte> out;
  if (checked_decode(*c.chain, payload, out).ok()) check_round_trip(*c.chain, out);
}

// Payload: [truncate: 2 bytes][pairs: n (position 2 bytes, xor 1 byte)][0xff][data...]
void fuzz_corrupt(const NamedChain& c, std::span<const std::byte> payload) {
  size_t pos = 0;
  const auto take = [&]() -> unsigned { return pos < payload.size() ? std::to_integer<unsigned>(payload[pos++]) : 0; };
  const unsigned truncate = take() | take() << 8;
  std::vector<std::pair<unsigned, std::byte>> flips;
  while (pos < payload.size() && payload[pos] != std::byte{0xff} && flips.size() < 8) {
    const unsigned at = take() | take() << 8;
    flips.emplace_back(at, static_cast<std::byte>(take()));
  }
  take();  // the 0xff separator
  const std::vector<std::byte> decoded = fit(*c.chain, payload.subspan(std::min(pos, payload.size())));
  check_round_trip(*c.chain, decoded);
  std::vector<std::byte> encoded = encode_or_die(*c.chain, decoded);
  bool changed = false;
  for (const auto& [at, x] : flips) {
    if (encoded.empty() || x == std::byte{0}) continue;
    encoded[at % encoded.size()] ^= x;
    changed = true;
  }
  if (truncate % 4 == 1 && !encoded.empty()) {
    encoded.resize((truncate >> 2) % encoded.size());
    changed = true;
  }
  std::vector<std::byte> out;
  const Status s = checked_decode(*c.chain, encoded, out);
  if (c.checksummed && changed && s.ok() && out != decoded) fail("crc32c accepted a corrupted chunk", "");
}

void fuzz_codecs_json(std::span<const std::byte> payload) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  const json codecs = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (codecs.is_discarded()) return;
  auto chain = CodecChain::from_v3(codecs, {DataType::kUInt16, {4, 6}}, "fuzz");
  if (!chain) {
    const StatusCode code = chain.error().code();
    if (code != StatusCode::kInvalidArgument && code != StatusCode::kUnimplemented) {
      fail("from_v3 error is neither kInvalidArgument nor kUnimplemented", chain.error().to_string());
    }
    if (!chain.error().message().starts_with("fuzz"))
      fail("from_v3 error does not name the array", chain.error().to_string());
    return;
  }
  std::vector<std::byte> data((*chain)->layout().num_bytes());
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 37 / 5);
  check_round_trip(**chain, data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto payload = std::as_bytes(std::span(data + 2, size - 2));
  const NamedChain& c = chains()[data[1] % chains().size()];
  switch (data[0] % 3) {
    case 0:
      fuzz_decode(c, payload);
      break;
    case 1:
      fuzz_corrupt(c, payload);
      break;
    case 2:
      fuzz_codecs_json(payload);
      break;
  }
  return 0;
}

#ifdef LSIO_FUZZ_STANDALONE
// A small stand-in for libFuzzer's driver: files given as arguments, or random inputs (no coverage feedback).
#include <chrono>
#include <fstream>
#include <iterator>
#include <random>

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t runs = ~uint64_t{0}, seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("-max_total_time="))
      seconds = std::stod(arg.substr(16));
    else if (arg.starts_with("-runs="))
      runs = std::stoull(arg.substr(6));
    else if (arg.starts_with("-seed="))
      seed = std::stoull(arg.substr(6));
    else
      files.push_back(arg);
  }
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  if (!files.empty()) return 0;
  std::mt19937_64 rng(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t n = 0;
  for (; n < runs && std::chrono::steady_clock::now() < end; ++n) {
    std::vector<uint8_t> input(2 + rng() % 600);
    for (auto& b : input) b = static_cast<uint8_t>(rng());
    if (input.size() > 2 && input[0] % 3 == 1) input[2] = 1;  // mode 1: truncate often
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::fprintf(stderr, "fuzz_codec: %llu runs clean\n", static_cast<unsigned long long>(n));
  return 0;
}
#endif
