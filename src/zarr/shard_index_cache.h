// ShardIndexCache: decoded shard indexes of one array, bounded in bytes (least
// recently used evicted first) and tagged with the version of the shard file
// they were read from (Store::stat; device, inode, size and mtime for files,
// an ETag for remote stores). A reader reads inner chunks with
// ReadBatch::expect_version(that version): a shard replaced since fails those
// reads with kAborted, and the reader drops the entry and reads the new index.
// Missing shards are not cached: one written later by another process is seen.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "codec/codec_chain.h"

namespace lsio::zarr {

class ShardIndexCache {
 public:
  using Index = std::shared_ptr<const std::vector<codec::ShardIndexEntry>>;
  struct Entry {
    std::string version;  // of the shard the index was read from
    Index index;
  };
  static constexpr uint64_t kDefaultBudget = 64ull << 20;

  explicit ShardIndexCache(uint64_t budget_bytes = kDefaultBudget) : budget_(budget_bytes) {}

  std::optional<Entry> get(const std::string& key);
  void put(const std::string& key, Entry entry);
  void erase(const std::string& key);
  uint64_t bytes() const;
  size_t size() const;

 private:
  static uint64_t cost(const std::string& key, const Entry& e);
  using Lru = std::list<std::pair<std::string, Entry>>;

  const uint64_t budget_;
  mutable std::mutex mu_;
  Lru lru_;  // front: most recently used
  std::unordered_map<std::string, Lru::iterator> by_key_;
  uint64_t bytes_ = 0;
};

}  // namespace lsio::zarr
