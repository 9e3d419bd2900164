// How much of a byte range of an open file the page cache holds, from the
// cachestat(2) system call (Linux 6.5+).
#pragma once

#include <cstdint>
#include <optional>

namespace lsio::io {

// The fraction (0..1) of [offset, offset + length) in the page cache, or
// nullopt when the kernel cannot tell (no cachestat: older kernel, seccomp).
// Used to keep a hot file off O_DIRECT: a direct read never hits the cache.
std::optional<double> page_cache_fraction(int fd, uint64_t offset, uint64_t length);

}  // namespace lsio::io
