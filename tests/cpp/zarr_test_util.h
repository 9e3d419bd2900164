// Zarr v3 metadata for C++ tests that make arrays through the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "lsio/dtype.h"
#include "zarr/metadata.h"

namespace lsio::testing {

// ArrayMetadata of a v3 array: shape, chunk (or shard) shape, data type, fill value bytes and codecs.
inline zarr::ArrayMetadata v3_metadata(std::vector<uint64_t> shape, std::vector<uint64_t> chunks, DataType dtype,
                                       std::vector<std::byte> fill, const nlohmann::json& codecs) {
  zarr::ArrayMetadata m;
  m.zarr_format = 3;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.dtype = dtype;
  m.fill_value = std::move(fill);
  m.codecs = nlohmann::json::parse(codecs.dump());
  return m;
}

}  // namespace lsio::testing
