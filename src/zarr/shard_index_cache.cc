#include "zarr/shard_index_cache.h"

namespace lsio::zarr {

uint64_t ShardIndexCache::cost(const std::string& key, const Entry& e) {
  const uint64_t entries = e.index ? e.index->size() : 0;
  return entries * sizeof(codec::ShardIndexEntry) + key.size() + e.version.size() + 96;  // 96: node overhead
}

std::optional<ShardIndexCache::Entry> ShardIndexCache::get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void ShardIndexCache::put(const std::string& key, Entry entry) {
  const uint64_t c = cost(key, entry);
  std::lock_guard lock(mu_);
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    bytes_ -= cost(key, it->second->second);
    lru_.erase(it->second);
    by_key_.erase(it);
  }
  if (c > budget_) return;  // larger than the whole budget: never cached
  while (bytes_ + c > budget_ && !lru_.empty()) {
    bytes_ -= cost(lru_.back().first, lru_.back().second);
    by_key_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(key, std::move(entry));
  by_key_[key] = lru_.begin();
  bytes_ += c;
}

void ShardIndexCache::erase(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  bytes_ -= cost(key, it->second->second);
  lru_.erase(it->second);
  by_key_.erase(it);
}

uint64_t ShardIndexCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t ShardIndexCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace lsio::zarr
