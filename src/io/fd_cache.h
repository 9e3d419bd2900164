// FdCache: one worker's open file descriptors, kept across batches so that
// many small batches on the same files (Zarr shard by shard, inner chunk by
// inner chunk) do not pay open + statx + close per batch.
//
// Bounded: at most `capacity` descriptors (the worker's file_slots, so a
// store never holds more than max_open_files); the least recently used idle
// one is evicted. Validated on reuse: the caller statx-es the PATH and uses
// the descriptor only when the path still names the same file (device and
// inode; the descriptor holds the inode, so its number cannot be reused), with
// the fresh statx as the size; a replaced, deleted or recreated file is
// reopened. A file modified in place is the same inode: the cached descriptor
// reads its current bytes, exactly as a new one would.
//
// Owned by one worker thread; its mutex is there only for the fork handler,
// which closes every idle descriptor before a fork so that a forked child
// inherits none (the child could neither use nor safely close them). Never
// held across I/O; closes happen after it is released.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lsio::io {

class FdCache {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit FdCache(unsigned capacity);
  // Closes every descriptor (the store is being destroyed).
  ~FdCache();
  FdCache(const FdCache&) = delete;
  FdCache& operator=(const FdCache&) = delete;

  struct Hit {
    uint32_t entry = kNone;
    int fd = -1;
  };
  // The cached descriptor of (path, flags), marked in use; entry kNone on a miss.
  Hit acquire(std::string_view path, int flags);
  // Whether `stx` (of the path, now) is the file entry's descriptor holds.
  bool same_file(uint32_t entry, const struct statx& stx) const;
  // Gives an entry back after use: idle, most recently used.
  void release(uint32_t entry);
  // Gives back an acquired entry whose file was replaced and removes it when
  // no other job uses it; returns the descriptor to close, or -1.
  int drop(uint32_t entry);
  // Adds a freshly opened descriptor, in use. Returns its entry, or kNone when
  // not cached (another descriptor of the same file is cached, or every entry
  // is in use); `evicted` is set to a descriptor the caller must close, or -1.
  uint32_t insert(std::string_view path, int flags, int fd, const struct statx& stx, int& evicted);
  // Marks every entry idle (the worker's file slots were reset).
  void release_all();
  size_t size() const;

 private:
  struct Entry {
    std::string key;
    int fd = -1;
    uint32_t dev_major = 0, dev_minor = 0;
    uint64_t ino = 0;
    uint32_t refs = 0;
    uint32_t prev = kNone, next = kNone;  // idle list, most recent first
    bool used = false;
  };
  static std::string make_key(std::string_view path, int flags);
  void unlink_idle(uint32_t e);
  void push_idle_front(uint32_t e);
  // Removes entry `e` (idle or acquired) and returns its descriptor.
  int remove(uint32_t e);
  // Takes every idle descriptor out (before a fork); the caller closes them.
  void take_idle(std::vector<int>& out);
  friend void fd_cache_before_fork();

  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, uint32_t> index_;
  uint32_t idle_head_ = kNone, idle_tail_ = kNone;
};

}  // namespace lsio::io
