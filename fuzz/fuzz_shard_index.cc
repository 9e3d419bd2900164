// libFuzzer target for the shard index decoder (ShardingSpec::decode_index). Input layout:
//   byte 0: which sharding spec (grid, crc32c or not, index at start or end);
//   byte 1: flags: bit 0 = recompute the crc32c (so the entries reach validation),
//           bit 1 = pad / cut the index to its exact size;
//   bytes 2..9: the shard size (little-endian; bit 63 cleared unless byte 1 bit 2 is set);
//   the rest: the encoded index.
//
// Properties (a failure aborts with the details on stderr):
//   - never crash or hang; every error is kDataLoss naming the key;
//   - an accepted index is valid: every entry missing or inside the shard, no two entries
//     overlapping, none overlapping the index itself (checked here independently, O(n^2));
//   - an accepted index encodes back to the same bytes, and an encoded shard built from
//     its entries' sizes decodes to consistent entries.
//
// Build: cmake -DLSIO_FUZZ=ON with clang (see the Makefile's test-fuzz). Without
// libFuzzer (any compiler), -DLSIO_FUZZ_STANDALONE adds a main() that runs files given
// as arguments or random inputs: `fuzz_shard_index [-max_total_time=S] [-runs=N] [-seed=N] [FILE...]`.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/bytes_codec.h"
#include "codec/codec_chain.h"

namespace {

using lsio::DataType;
using lsio::StatusCode;
using lsio::codec::CodecChain;
using lsio::codec::IndexLocation;
using lsio::codec::ShardIndexEntry;
using lsio::codec::ShardingSpec;
using nlohmann::json;
using ChainPtr = std::shared_ptr<const CodecChain>;

constexpr std::string_view kKey = "fuzz/c/0/0";

[[noreturn]] void fail(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "fuzz_shard_index: %.*s\n%.*s\n", static_cast<int>(property.size()), property.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::vector<ChainPtr> make_chains() {
  struct Shape {
    std::vector<uint64_t> shard, inner;
  };
  const Shape shapes[] = {{{4}, {4}}, {{8}, {2}}, {{4, 6}, {2, 3}}, {{6, 2, 4}, {2, 1, 2}}};
  const json le = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  const json be = {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}};
  std::vector<ChainPtr> chains;
  for (const Shape& s : shapes) {
    for (int variant = 0; variant < 4; ++variant) {
      const json index = variant & 1 ? json::array({le, "crc32c"}) : json::array({variant & 2 ? be : le});
      const json sharding = {{"name", "sharding_indexed"},
                             {"configuration",
                              {{"chunk_shape", s.inner},
                               {"codecs", json::array({le})},
                               {"index_codecs", index},
                               {"index_location", variant & 2 ? "start" : "end"}}}};
      auto chain = CodecChain::from_v3(json::array({sharding}), {DataType::kUInt8, s.shard}, "fuzz");
      if (!chain) fail("a built-in chain does not parse", chain.error().to_string());
      chains.push_back(*chain);
    }
  }
  return chains;
}

const std::vector<ChainPtr>& chains() {
  static const std::vector<ChainPtr> all = make_chains();
  return all;
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// Recomputes a trailing crc32c so the fuzzer's entries get past the checksum.
void fix_crc(std::vector<std::byte>& index) {
  if (index.size() < 4) return;
  const uint32_t crc = lsio::codec::crc32c(std::span(index).first(index.size() - 4));
  for (int i = 0; i < 4; ++i) index[index.size() - 4 + i] = static_cast<std::byte>(crc >> (8 * i));
}

bool inside(const ShardIndexEntry& e, uint64_t size) { return e.offset <= size && e.nbytes <= size - e.offset; }

bool overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) { return an > 0 && bn > 0 && a < b + bn && b < a + an; }

void check_valid(const ShardingSpec& s, const std::vector<ShardIndexEntry>& entries, uint64_t shard_size) {
  if (entries.size() != s.inner_per_shard()) fail("wrong number of entries", std::to_string(entries.size()));
  const uint64_t index_size = s.index_encoded_size();
  const uint64_t index_at = s.location == IndexLocation::kStart ? 0 : shard_size - index_size;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ShardIndexEntry& e = entries[i];
    if (e.missing()) continue;
    if (!inside(e, shard_size)) fail("accepted an entry outside the shard", std::to_string(i));
    if (overlap(e.offset, e.nbytes, index_at, index_size)) fail("accepted an entry over the index", std::to_string(i));
    for (size_t j = 0; j < i; ++j) {
      const ShardIndexEntry& f = entries[j];
      if (!f.missing() && overlap(e.offset, e.nbytes, f.offset, f.nbytes)) {
        fail("accepted overlapping entries", std::to_string(j) + " and " + std::to_string(i));
      }
    }
  }
}

// A shard with chunks of the accepted entries' sizes: its own index must decode and agree on the sizes.
void check_encode_shard(const ShardingSpec& s, const std::vector<ShardIndexEntry>& entries) {
  std::vector<std::optional<lsio::Bytes>> chunks(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].missing() && entries[i].nbytes <= 4096) chunks[i] = lsio::Bytes::allocate(entries[i].nbytes);
  }
  const lsio::Bytes shard = s.encode_shard(chunks);
  auto at = s.index_offset(shard.size(), kKey);
  if (!at) fail("encode_shard made a shard shorter than its index", at.error().to_string());
  auto back = s.decode_index(shard.span().subspan(*at, s.index_encoded_size()), shard.size(), kKey);
  if (!back) fail("encode_shard made an invalid index", back.error().to_string());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (chunks[i].has_value() != !(*back)[i].missing() || (chunks[i] && chunks[i]->size() != (*back)[i].nbytes)) {
      fail("encode_shard index disagrees with its chunks", std::to_string(i));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 10) return 0;
  const ShardingSpec& s = *chains()[data[0] % chains().size()]->sharding();
  const uint8_t flags = data[1];
  uint64_t shard_size = load_le64(data + 2);
  if (!(flags & 4)) shard_size &= ~(uint64_t{1} << 63);
  std::vector<std::byte> index(reinterpret_cast<const std::byte*>(data + 10),
                               reinterpret_cast<const std::byte*>(data + size));
  if (flags & 2) index.resize(s.index_encoded_size());
  const bool has_crc = s.index->fixed_encoded_size() != s.index->layout().num_bytes();
  if ((flags & 1) && has_crc) fix_crc(index);

  auto entries = s.decode_index(index, shard_size, kKey);
  if (!entries) {
    const auto& e = entries.error();
    if (e.code() != StatusCode::kDataLoss || !e.message().starts_with(kKey)) fail("bad error", e.to_string());
    return 0;
  }
  check_valid(s, *entries, shard_size);
  const lsio::Bytes again = s.encode_index(*entries);
  if (!std::equal(index.begin(), index.end(), again.data(), again.data() + again.size())) {
    fail("an accepted index does not encode back to the same bytes", "");
  }
  check_encode_shard(s, *entries);
  return 0;
}

#ifdef LSIO_FUZZ_STANDALONE
// A small stand-in for libFuzzer's driver: files given as arguments, or random inputs (no coverage feedback).
// Random inputs are shaped like useful ones: an exact-size index of small entries with a valid crc32c.
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
    std::vector<uint8_t> input(10 + 16 * 24 + 4);
    input[0] = static_cast<uint8_t>(rng());
    input[1] = static_cast<uint8_t>(rng() % 8 == 0 ? rng() : 3);
    const uint64_t shard_size = rng() % 4 == 0 ? rng() : rng() % 1000;
    std::memcpy(&input[2], &shard_size, 8);
    for (size_t i = 10; i + 8 <= input.size(); i += 8) {
      const uint64_t v = rng() % 5 == 0 ? ~uint64_t{0} : rng() % 8 == 0 ? rng() : rng() % 600;
      std::memcpy(&input[i], &v, 8);
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::fprintf(stderr, "fuzz_shard_index: %llu runs clean\n", static_cast<unsigned long long>(n));
  return 0;
}
#endif
