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

// The same fraction estimated from kSampleWindows windows of kSampleBytes
// spread evenly over a range longer than kSampleWindows * kSampleBytes (exact
// for shorter ones). cachestat walks the page cache's tree page by page:
// asked about a whole 32 MiB read it took 5.7% of the CPU of reading it hot.
constexpr uint64_t kSampleWindows = 8;
constexpr uint64_t kSampleBytes = 64u << 10;
std::optional<double> estimated_page_cache_fraction(int fd, uint64_t offset, uint64_t length);

}  // namespace lsio::io
