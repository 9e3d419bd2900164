// CachingStore: a byte-budgeted RAM cache of read results in front of any
// store (StoreOptions::cache_bytes, lsio.open(url, cache="2GiB")).
//
// Validity: an entry is keyed by (path, version, range), and only requests
// whose batch pins the object's version (ReadBatch::expect_version: the Zarr
// layer does for every inner chunk of a shard, from the shard's stat) are
// cached or served from the cache. A replaced object has a new version, so an
// old entry can never answer for it; it ages out of the LRU. Requests without
// a pinned version always go to the store.
//
// Layout: 16 shards by key hash, each an LRU list under its own mutex, held
// only to look up, insert or evict (never across I/O); each shard owns
// budget / 16 bytes.
#pragma once

#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>

#include "lsio/store.h"

namespace lsio::store {

class ByteCache {
 public:
  explicit ByteCache(uint64_t budget_bytes);
  std::optional<Bytes> get(const std::string& key);
  void put(const std::string& key, Bytes value);
  CacheStats stats() const;

 private:
  struct Shard {
    std::mutex mu;
    std::list<std::pair<std::string, Bytes>> lru;  // front: most recent
    std::unordered_map<std::string, std::list<std::pair<std::string, Bytes>>::iterator> index;
    uint64_t bytes = 0;
  };
  static constexpr size_t kShards = 16;
  Shard& shard_of(const std::string& key);

  const uint64_t shard_budget_;
  Shard shards_[kShards];
  std::atomic<uint64_t> hits_{0}, misses_{0}, inserts_{0}, evictions_{0};
};

class CachingStore final : public Store {
 public:
  CachingStore(std::shared_ptr<Store> inner, uint64_t budget_bytes);

  std::string engine_description() const override;
  std::vector<Result<ObjectInfo>> stat(std::span<const std::string> paths) override { return inner_->stat(paths); }
  Result<Listing> list(std::string_view prefix, bool recursive) override { return inner_->list(prefix, recursive); }
  std::vector<Status> write(std::span<const WriteRequest> requests) override { return inner_->write(requests); }
  std::vector<Status> remove(std::span<const std::string> paths) override { return inner_->remove(paths); }
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override {
    return inner_->put(path, data, options);
  }
  std::optional<CacheStats> cache_stats() const override { return cache_.stats(); }

 protected:
  // Serves hits at once; the misses go to the inner store as one batch whose
  // results are cached (when their version is pinned) and handed on.
  void start(std::shared_ptr<detail::BatchState> state) override;

 private:
  std::shared_ptr<Store> inner_;
  ByteCache cache_;
};

}  // namespace lsio::store
