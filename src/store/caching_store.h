// CachingStore: a byte-budgeted RAM cache in front of any store
// (StoreOptions::cache_bytes, lsio.open(url, cache="2GiB")).
//
// Three kinds of entries share one budget and one LRU:
//  - raw read results, keyed by (path, version, range). Only requests whose
//    batch pins the object's version (ReadBatch::expect_version: the Zarr
//    layer does for every inner chunk of a shard) are cached or served;
//  - derived values (put_derived: Zarr's decoded inner chunks), keyed by
//    (path, version, range, tag). Putting one drops the raw entry of the same
//    (path, version, range), so a chunk is held once, decoded;
//  - object versions (stat results), only with cache_revalidate_after > 0,
//    answered from RAM while younger than that.
// A replaced object has a new version, so an entry of the old one can only
// answer a caller still pinning the old version (who gets exactly that
// version's bytes); it ages out of the LRU.
//
// Layout: 16 shards by key hash, each an LRU list under its own mutex, held
// only to look up, insert or evict (never across I/O); each shard owns
// budget / 16 bytes.
#pragma once

#include <array>
#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>

#include "lsio/store.h"

namespace lsio::store {

enum class CacheKind : uint8_t { kRaw, kDerived, kVersion };

class ByteCache {
 public:
  explicit ByteCache(uint64_t budget_bytes);
  // `key` must start with a byte unique to `kind` (the kinds never collide).
  std::optional<Bytes> get(CacheKind kind, const std::string& key);
  // Inserts or replaces.
  void put(CacheKind kind, const std::string& key, Bytes value);
  void erase(const std::string& key);
  // A lookup that found an entry unusable (an expired version) counts as a miss, not a hit.
  void count_expired(CacheKind kind);
  CacheStats stats() const;

 private:
  struct Entry {
    std::string key;
    Bytes value;
    CacheKind kind;
    uint64_t cost;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;  // front: most recent
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
    uint64_t bytes = 0;
    std::array<uint64_t, 3> kind_bytes{}, kind_entries{};
  };
  struct Counters {
    std::atomic<uint64_t> hits{0}, misses{0}, inserts{0}, evictions{0};
  };
  static constexpr size_t kShards = 16;
  Shard& shard_of(const std::string& key);
  // Unlinks `it` into `out` (freed by the caller after the lock is released).
  static void unlink(Shard& s, std::list<Entry>::iterator it, std::list<Entry>& out);

  const uint64_t shard_budget_;
  Shard shards_[kShards];
  Counters counters_[3];
};

class CachingStore final : public Store {
 public:
  CachingStore(std::shared_ptr<Store> inner, uint64_t budget_bytes, std::chrono::nanoseconds revalidate_after);

  std::string engine_description() const override;
  std::vector<Result<ObjectInfo>> stat(std::span<const std::string> paths) override;
  Result<Listing> list(std::string_view prefix, bool recursive) override { return inner_->list(prefix, recursive); }
  std::vector<Status> write(std::span<const WriteRequest> requests) override;
  std::vector<Status> remove(std::span<const std::string> paths) override;
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override;
  std::optional<CacheStats> cache_stats() const override { return cache_.stats(); }
  bool has_cache() const override { return true; }
  Bytes allocate(size_t size) override { return inner_->allocate(size); }
  std::optional<Bytes> get_derived(const DerivedKey& key) override;
  void put_derived(const DerivedKey& key, Bytes value) override;

 protected:
  // Serves hits at once; the misses go to the inner store as one batch whose
  // results are cached (when their version is pinned) and handed on.
  void start(std::shared_ptr<detail::BatchState> state) override;

 private:
  void forget_version(std::string_view path);

  std::shared_ptr<Store> inner_;
  ByteCache cache_;
  const std::chrono::nanoseconds revalidate_after_;
};

}  // namespace lsio::store
