// Plain synchronous file helpers shared by the file store's write paths.
#pragma once

#include <span>
#include <string>

#include "lsio/status.h"

namespace lsio::store {

// mkdir -p of the directory that will hold `path`.
Status make_parent_dirs(const std::string& path);
// Writes all of `data` at `offset` of the open descriptor (short writes resumed).
Status write_all(int fd, std::span<const std::byte> data, uint64_t offset, const std::string& path);
// Atomic replace: temp file beside `path`, write, optional fsync, rename.
Status atomic_put(const std::string& path, std::span<const std::byte> data, bool fsync);

}  // namespace lsio::store
