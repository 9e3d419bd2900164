// Plain synchronous file helpers shared by the file store's write paths.
#pragma once

#include <span>
#include <string>

#include "lsio/status.h"

namespace lsio::store {

// mkdir -p of the directory that will hold `path`.
Status make_parent_dirs(const std::string& path);
// open(path, flags | O_CREAT | O_CLOEXEC, 0644) after make_parent_dirs; a
// directory removed in between (remove_and_prune in another thread) is made
// again. The descriptor, or the error naming `what` and the path.
Result<int> create_file(const std::string& path, int flags, const char* what);
// unlink(path) (a missing file is fine), then rmdir of each parent directory
// left empty, up to but not including `root` (none when root is "").
Status remove_and_prune(const std::string& path, const std::string& root);
// Writes all of `data` at `offset` of the open descriptor (short writes resumed).
Status write_all(int fd, std::span<const std::byte> data, uint64_t offset, const std::string& path);
// Atomic replace: temp file beside `path`, write, optional fsync, rename. Data of at least `direct_threshold`
// bytes (0: never) is written with O_DIRECT where the file system takes it (see local_files.cc), else buffered.
Status atomic_put(const std::string& path, std::span<const std::byte> data, bool fsync, uint64_t direct_threshold = 0);

}  // namespace lsio::store
