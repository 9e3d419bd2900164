#include "io/page_cache.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace lsio::io {
namespace {

// The kernel's ABI (include/uapi/linux/mman.h, Linux 6.5); Debian 12's headers predate it.
struct CachestatRange {
  uint64_t off;
  uint64_t len;
};
struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};
#ifdef __NR_cachestat
constexpr long kCachestat = __NR_cachestat;
#else
constexpr long kCachestat = 451;  // the same number on every architecture (the unified syscall table)
#endif

std::atomic<bool> unsupported{false};

}  // namespace

std::optional<double> page_cache_fraction(int fd, uint64_t offset, uint64_t length) {
  if (length == 0 || unsupported.load(std::memory_order_relaxed)) return std::nullopt;
  CachestatRange range{offset, length};
  Cachestat stat{};
  if (::syscall(kCachestat, fd, &range, &stat, 0) != 0) {
    // ENOSYS (older kernel) or EPERM (a seccomp filter) will not change: stop asking.
    if (errno == ENOSYS || errno == EPERM) unsupported.store(true, std::memory_order_relaxed);
    return std::nullopt;
  }
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t pages = (offset + length + page - 1) / page - offset / page;
  return std::min(1.0, static_cast<double>(stat.nr_cache) / static_cast<double>(pages));
}

std::optional<double> estimated_page_cache_fraction(int fd, uint64_t offset, uint64_t length) {
  if (length <= kSampleWindows * kSampleBytes) return page_cache_fraction(fd, offset, length);
  constexpr uint64_t kPage = 4096;  // windows start on a page (the last one ends where the range does)
  double sum = 0;
  for (uint64_t k = 0; k < kSampleWindows; ++k) {
    uint64_t at = offset + k * (length - kSampleBytes) / (kSampleWindows - 1);
    at = std::max(offset, at - at % kPage);
    const std::optional<double> f = page_cache_fraction(fd, at, kSampleBytes);
    if (!f) return std::nullopt;
    sum += *f;
  }
  return sum / static_cast<double>(kSampleWindows);
}

}  // namespace lsio::io
