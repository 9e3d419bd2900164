// CodecChain::from_v2: a Zarr v2 array's order, dtype endianness and numcodecs compressor.
#include <nlohmann/json.hpp>

#include "codec/chain_stages.h"
#include "codec/json_config.h"

namespace lsio::codec {
namespace {

using nlohmann::json;

Status invalid(std::string_view where, std::string_view what) {
  return Status(StatusCode::kInvalidArgument, std::string(where) + ": " + std::string(what));
}

Result<std::unique_ptr<BytesCodec>> parse_v2_blosc(ConfigReader& r, DataType dtype) {
  BloscOptions o;
  o.typesize = dtype_size(dtype);
  LSIO_ASSIGN_OR_RETURN(o.cname, r.string("cname", "lz4"));
  LSIO_ASSIGN_OR_RETURN(const int64_t clevel, r.integer("clevel", 5, 0, 9));
  // numcodecs: -1 = AUTOSHUFFLE (bit shuffle for 1-byte items, byte shuffle otherwise).
  LSIO_ASSIGN_OR_RETURN(int64_t shuffle, r.integer("shuffle", 1, -1, 2));
  if (shuffle == -1) shuffle = o.typesize == 1 ? 2 : 1;
  LSIO_ASSIGN_OR_RETURN(const int64_t blocksize, r.integer("blocksize", 0, 0, int64_t{1} << 31));
  o.clevel = static_cast<int>(clevel);
  o.shuffle = static_cast<BloscShuffle>(shuffle);
  o.blocksize = static_cast<size_t>(blocksize);
  auto codec = make_blosc(o);
  if (!codec) return error(codec.error().with_context(r.where()));
  return codec;
}

Result<std::unique_ptr<BytesCodec>> parse_compressor(const json& compressor, DataType dtype, std::string_view where) {
  if (compressor.is_null()) return std::unique_ptr<BytesCodec>();
  const auto id = compressor.is_object() ? compressor.find("id") : json::const_iterator();
  if (!compressor.is_object() || id == compressor.end() || !id->is_string()) {
    return error(invalid(where, "\"compressor\" must be null or an object with an \"id\", not " + compressor.dump()));
  }
  const std::string name = id->get<std::string>();
  ConfigReader r(&compressor, name, where, /*strict=*/false);
  if (name == "blosc") return parse_v2_blosc(r, dtype);
  if (name == "zstd") {
    LSIO_ASSIGN_OR_RETURN(const int64_t level, r.integer("level", 1, -131072, 22));
    LSIO_ASSIGN_OR_RETURN(const bool checksum, r.boolean("checksum", false));
    return make_zstd(static_cast<int>(level), checksum);
  }
  if (name == "gzip" || name == "zlib") {
    LSIO_ASSIGN_OR_RETURN(const int64_t level, r.integer("level", 1, 0, 9));
    return name == "gzip" ? make_gzip(static_cast<int>(level)) : make_zlib(static_cast<int>(level));
  }
  if (name == "lz4") {
    LSIO_ASSIGN_OR_RETURN(const int64_t acceleration, r.integer("acceleration", 1, 1, 65537));
    return make_lz4(static_cast<int>(acceleration));
  }
  if (name == "bz2") {
    LSIO_ASSIGN_OR_RETURN(const int64_t level, r.integer("level", 9, 1, 9));
    return make_bz2(static_cast<int>(level));
  }
  return error(StatusCode::kUnimplemented, std::string(where) + ": unknown compressor '" + name + "'");
}

Status check_filters(const json& filters, std::string_view where) {
  if (filters.is_null() || (filters.is_array() && filters.empty())) return Status();
  if (!filters.is_array()) return invalid(where, "\"filters\" must be null or a list, not " + filters.dump());
  const json& first = filters.front();
  const auto id = first.is_object() ? first.find("id") : json::const_iterator();
  const std::string name =
      first.is_object() && id != first.end() && id->is_string() ? id->get<std::string>() : first.dump();
  return Status(StatusCode::kUnimplemented, std::string(where) + ": filter '" + name + "' is not supported");
}

}  // namespace

Result<std::shared_ptr<const CodecChain>> CodecChain::from_v2(const json& compressor, const json& filters, char order,
                                                              Endian endian, const ChunkLayout& layout,
                                                              std::string_view where) {
  LSIO_RETURN_IF_ERROR(check_layout(layout, where));
  LSIO_RETURN_IF_ERROR(check_filters(filters, where));
  if (order != 'C' && order != 'F') {
    return error(invalid(where, std::string("\"order\" must be \"C\" or \"F\", not \"") + order + "\""));
  }
  std::shared_ptr<CodecChain> chain(new CodecChain(layout));
  auto stages = std::make_unique<Stages>();
  if (order == 'F') {
    std::vector<size_t> reversed(layout.shape.size());
    for (size_t i = 0; i < reversed.size(); ++i) reversed[i] = reversed.size() - 1 - i;
    stages->array.transpose(reversed);
  }
  if (endian == Endian::kBig) stages->array.swap_unit = big_endian_swap_unit(layout.dtype);
  LSIO_ASSIGN_OR_RETURN(auto codec, parse_compressor(compressor, layout.dtype, where));
  if (codec) stages->codecs.push_back(std::move(codec));
  stages->compute_limits(layout.num_bytes());
  chain->stages_ = std::move(stages);
  return chain;
}

}  // namespace lsio::codec
