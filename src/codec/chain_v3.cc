// CodecChain::from_v3: the Zarr v3 "codecs" list.
#include <nlohmann/json.hpp>

#include "codec/chain_stages.h"
#include "codec/json_config.h"

namespace lsio::codec {
namespace {

using nlohmann::json;

Status invalid(std::string_view where, std::string_view what) {
  return Status(StatusCode::kInvalidArgument, std::string(where) + ": " + std::string(what));
}

Result<std::vector<size_t>> parse_transpose(ConfigReader& r, size_t ndim) {
  const json* order = r.raw("order");
  std::vector<size_t> perm(ndim);
  if (order != nullptr && order->is_string()) {  // the early "C" / "F" spelling
    const std::string s = order->get<std::string>();
    if (s != "C" && s != "F") return error(r.invalid("\"order\" must be a permutation, not " + order->dump()));
    for (size_t i = 0; i < ndim; ++i) perm[i] = s == "C" ? i : ndim - 1 - i;
    return perm;
  }
  std::vector<bool> used(ndim, false);
  bool ok = order != nullptr && order->is_array() && order->size() == ndim;
  for (size_t i = 0; ok && i < ndim; ++i) {
    const auto axis = as_unsigned((*order)[i]);
    ok = axis && *axis < ndim && !used[*axis];
    if (ok) used[perm[i] = *axis] = true;
  }
  if (!ok) {
    return error(r.invalid("\"order\" must be a permutation of 0.." + std::to_string(ndim) + "-1, not " +
                           (order ? order->dump() : std::string("missing"))));
  }
  return perm;
}

// The bytes codec: returns the swap unit (0 when stored little-endian or 1-byte).
Result<size_t> parse_bytes(ConfigReader& r, DataType dtype) {
  const bool single_byte = dtype_size(dtype) == 1;
  LSIO_ASSIGN_OR_RETURN(std::string endian,
                        r.string("endian", single_byte ? std::optional<std::string>("little") : std::nullopt));
  if (endian != "little" && endian != "big") {
    return error(r.invalid("\"endian\" must be \"little\" or \"big\", not \"" + endian + "\""));
  }
  return endian == "big" ? big_endian_swap_unit(dtype) : 0;
}

Result<BloscShuffle> parse_shuffle(const std::string& s, ConfigReader& r) {
  if (s == "noshuffle") return BloscShuffle::kNoShuffle;
  if (s == "shuffle") return BloscShuffle::kShuffle;
  if (s == "bitshuffle") return BloscShuffle::kBitShuffle;
  return error(r.invalid("\"shuffle\" must be noshuffle, shuffle or bitshuffle, not \"" + s + "\""));
}

Result<std::unique_ptr<BytesCodec>> parse_blosc(ConfigReader& r, DataType dtype) {
  BloscOptions o;
  const int64_t itemsize = static_cast<int64_t>(dtype_size(dtype));
  LSIO_ASSIGN_OR_RETURN(o.cname, r.string("cname", "zstd"));
  LSIO_ASSIGN_OR_RETURN(const int64_t clevel, r.integer("clevel", 5, 0, 9));
  LSIO_ASSIGN_OR_RETURN(const std::string shuffle, r.string("shuffle", itemsize == 1 ? "bitshuffle" : "shuffle"));
  LSIO_ASSIGN_OR_RETURN(o.shuffle, parse_shuffle(shuffle, r));
  LSIO_ASSIGN_OR_RETURN(const int64_t typesize, r.integer("typesize", itemsize, 1, 255));
  LSIO_ASSIGN_OR_RETURN(const int64_t blocksize, r.integer("blocksize", 0, 0, int64_t{1} << 31));
  o.clevel = static_cast<int>(clevel);
  o.typesize = static_cast<size_t>(typesize);
  o.blocksize = static_cast<size_t>(blocksize);
  auto codec = make_blosc(o);
  if (!codec) return error(codec.error().with_context(r.where()));
  return codec;
}

// A bytes->bytes codec by name; nullptr (no error) when `name` is not one.
Result<std::unique_ptr<BytesCodec>> parse_bytes_to_bytes(const std::string& name, ConfigReader& r, DataType dtype) {
  if (name == "gzip") {
    LSIO_ASSIGN_OR_RETURN(const int64_t level, r.integer("level", 5, 0, 9));
    return make_gzip(static_cast<int>(level));
  }
  if (name == "zstd") {
    LSIO_ASSIGN_OR_RETURN(const int64_t level, r.integer("level", 0, -131072, 22));
    LSIO_ASSIGN_OR_RETURN(const bool checksum, r.boolean("checksum", false));
    return make_zstd(static_cast<int>(level), checksum);
  }
  if (name == "blosc") return parse_blosc(r, dtype);
  if (name == "crc32c") return make_crc32c();
  return std::unique_ptr<BytesCodec>();
}

Result<std::unique_ptr<ShardingSpec>> parse_sharding(ConfigReader& r, const ChunkLayout& layout,
                                                     std::string_view where) {
  auto spec = std::make_unique<ShardingSpec>();
  spec->shard_shape = layout.shape;
  LSIO_ASSIGN_OR_RETURN(spec->inner_shape, r.shape("chunk_shape"));
  if (spec->inner_shape.size() != layout.shape.size()) {
    return error(r.invalid("\"chunk_shape\" has " + std::to_string(spec->inner_shape.size()) +
                           " dimensions, the shard has " + std::to_string(layout.shape.size())));
  }
  for (size_t d = 0; d < layout.shape.size(); ++d) {
    if (layout.shape[d] % spec->inner_shape[d] != 0) {
      return error(r.invalid("inner chunk shape " + json(spec->inner_shape).dump() +
                             " does not divide the shard shape " + json(layout.shape).dump()));
    }
  }
  LSIO_ASSIGN_OR_RETURN(const std::string location, r.string("index_location", "end"));
  if (location != "start" && location != "end") {
    return error(r.invalid("\"index_location\" must be \"start\" or \"end\", not \"" + location + "\""));
  }
  spec->location = location == "start" ? IndexLocation::kStart : IndexLocation::kEnd;
  const json* codecs = r.raw("codecs");
  const json* index_codecs = r.raw("index_codecs");
  if (codecs == nullptr) return error(r.invalid("missing \"codecs\""));
  if (index_codecs == nullptr) return error(r.invalid("missing \"index_codecs\""));
  const std::string inner_where = std::string(where) + " (sharding_indexed codecs)";
  LSIO_ASSIGN_OR_RETURN(spec->inner, CodecChain::from_v3(*codecs, {layout.dtype, spec->inner_shape}, inner_where));
  std::vector<uint64_t> index_shape = spec->inner_grid();
  index_shape.push_back(2);
  const std::string index_where = std::string(where) + " (sharding_indexed index_codecs)";
  LSIO_ASSIGN_OR_RETURN(spec->index, CodecChain::from_v3(*index_codecs, {DataType::kUInt64, index_shape}, index_where));
  if (!spec->index->fixed_encoded_size()) {
    return error(StatusCode::kUnimplemented,
                 index_where + ": only bytes, transpose and crc32c are supported (the index must have a fixed size)");
  }
  return spec;
}

}  // namespace

Result<std::shared_ptr<const CodecChain>> CodecChain::from_v3(const json& codecs, const ChunkLayout& layout,
                                                              std::string_view where) {
  LSIO_RETURN_IF_ERROR(check_layout(layout, where));
  if (!codecs.is_array() || codecs.empty()) return error(invalid(where, "\"codecs\" must be a non-empty list"));
  std::shared_ptr<CodecChain> chain(new CodecChain(layout));
  auto stages = std::make_unique<Stages>();
  bool have_array_to_bytes = false;
  for (const json& item : codecs) {
    LSIO_ASSIGN_OR_RETURN(const CodecEntry entry, parse_codec_entry(item, where));
    ConfigReader r(entry.configuration, entry.name, where, /*strict=*/true);
    const auto misplaced = [&](std::string_view what) {
      return error(invalid(where, "codec '" + entry.name + "' " + std::string(what)));
    };
    if (entry.name == "transpose") {
      if (have_array_to_bytes) return misplaced("(array->array) comes after the array->bytes codec");
      LSIO_ASSIGN_OR_RETURN(const auto order, parse_transpose(r, layout.shape.size()));
      stages->array.transpose(order);
    } else if (entry.name == "bytes" || entry.name == "sharding_indexed") {
      if (have_array_to_bytes) return misplaced("is a second array->bytes codec");
      have_array_to_bytes = true;
      if (entry.name == "bytes") {
        LSIO_ASSIGN_OR_RETURN(stages->array.swap_unit, parse_bytes(r, layout.dtype));
      } else {
        if (!stages->array.permutation.empty()) {
          return error(StatusCode::kUnimplemented, std::string(where) + ": transpose before sharding_indexed");
        }
        LSIO_ASSIGN_OR_RETURN(chain->sharding_, parse_sharding(r, layout, where));
      }
    } else {
      LSIO_ASSIGN_OR_RETURN(auto codec, parse_bytes_to_bytes(entry.name, r, layout.dtype));
      if (!codec) return error(StatusCode::kUnimplemented, std::string(where) + ": unknown codec '" + entry.name + "'");
      if (!have_array_to_bytes) return misplaced("(bytes->bytes) comes before the array->bytes codec");
      if (chain->sharding_) {
        return error(StatusCode::kUnimplemented, std::string(where) + ": codec '" + entry.name +
                                                     "' after sharding_indexed (a shard must be readable in parts)");
      }
      stages->codecs.push_back(std::move(codec));
    }
    LSIO_RETURN_IF_ERROR(r.finish());
  }
  if (!have_array_to_bytes) return error(invalid(where, "\"codecs\" has no array->bytes codec (bytes or sharding)"));
  stages->compute_limits(layout.num_bytes());
  chain->stages_ = std::move(stages);
  return chain;
}

}  // namespace lsio::codec
