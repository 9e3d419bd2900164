#include "store/caching_store.h"

#include <cstring>
#include <functional>

#include "core/batch_state.h"

namespace lsio::store {
namespace {

// (path, version, range): the bytes a pinned version of an object has there.
std::string cache_key(const std::string& path, std::string_view version, ByteRange range) {
  std::string key;
  key.reserve(path.size() + version.size() + 40);
  key += path;
  key += '\0';
  key += version;
  key += '\0';
  key += std::to_string(range.begin());
  key += ':';
  key += std::to_string(range.end());
  return key;
}

}  // namespace

ByteCache::ByteCache(uint64_t budget_bytes) : shard_budget_(budget_bytes / kShards) {}

ByteCache::Shard& ByteCache::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::optional<Bytes> ByteCache::get(const std::string& key) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->second;
}

void ByteCache::put(const std::string& key, Bytes value) {
  const uint64_t cost = value.size() + key.size();
  if (cost > shard_budget_) return;  // bigger than a shard's budget: never worth evicting everything
  Shard& s = shard_of(key);
  std::list<std::pair<std::string, Bytes>> evicted;  // freed after the lock is released
  {
    std::lock_guard lock(s.mu);
    if (s.index.contains(key)) return;
    while (s.bytes + cost > shard_budget_ && !s.lru.empty()) {
      auto last = std::prev(s.lru.end());
      s.bytes -= last->second.size() + last->first.size();
      s.index.erase(last->first);
      evicted.splice(evicted.end(), s.lru, last);
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    s.lru.emplace_front(key, std::move(value));
    s.index.emplace(key, s.lru.begin());
    s.bytes += cost;
  }
  inserts_.fetch_add(1, std::memory_order_relaxed);
}

CacheStats ByteCache::stats() const {
  CacheStats out;
  out.capacity_bytes = shard_budget_ * kShards;
  for (const Shard& s : shards_) {
    std::lock_guard lock(const_cast<std::mutex&>(s.mu));
    out.bytes += s.bytes;
    out.entries += s.index.size();
  }
  out.hits = hits_.load();
  out.misses = misses_.load();
  out.inserts = inserts_.load();
  out.evictions = evictions_.load();
  return out;
}

CachingStore::CachingStore(std::shared_ptr<Store> inner, uint64_t budget_bytes)
    : inner_(std::move(inner)), cache_(budget_bytes) {}

std::string CachingStore::engine_description() const {
  return inner_->engine_description() + "; RAM cache of " + std::to_string(cache_.stats().capacity_bytes >> 20) +
         " MiB";
}

namespace {

// The requests of one batch that the cache could not answer.
struct Misses {
  std::vector<uint32_t> outer;    // miss j is request outer[j] of the caller's batch
  std::vector<std::string> keys;  // its cache key, "" when its version is not pinned
};

}  // namespace

void CachingStore::start(std::shared_ptr<detail::BatchState> state) {
  const ReadBatch& batch = *state->batch;
  const bool into = state->kind == detail::SinkKind::kInto;
  auto misses = std::make_shared<Misses>();
  auto rb = std::make_shared<ReadBatch>();
  auto ib = std::make_shared<ReadIntoBatch>();
  {
    detail::CallbackScope scope(this);  // hits are delivered here: a callback calling us back is refused
    for (size_t i = 0; i < batch.size() && !state->is_cancelled(); ++i) {
      const uint32_t file = batch.file_of(i);
      const std::string_view version = batch.expected_version(file);
      std::string key = version.empty() ? std::string() : cache_key(batch.paths()[file], version, batch.range(i));
      if (!key.empty()) {
        if (auto hit = cache_.get(key); hit && (!into || hit->size() == state->into->dest(i).size())) {
          if (into && !hit->empty()) std::memcpy(state->into->dest(i).data(), hit->data(), hit->size());
          const uint64_t n = hit->size();
          state->deliver(i, into ? Result<Bytes>(Bytes()) : Result<Bytes>(std::move(*hit)));
          state->add_progress(1, n);
          continue;
        }
      }
      auto& target = into ? ib->ranges() : *rb;
      const uint32_t id = into ? ib->file_id(batch.paths()[file]) : rb->file_id(batch.paths()[file]);
      if (!version.empty() && target.expected_version(id).empty()) {
        into ? ib->expect_version(id, std::string(version)) : rb->expect_version(id, std::string(version));
      }
      if (into) {
        const ByteRange r = batch.range(i);
        ib->add(id, r.begin(), state->into->dest(i));
      } else {
        rb->add(id, batch.range(i));
      }
      misses->outer.push_back(static_cast<uint32_t>(i));
      misses->keys.push_back(std::move(key));
    }
  }
  if (misses->outer.empty() || state->is_cancelled()) {
    state->finish();
    return;
  }
  Batch inner;
  if (into) {
    inner = inner_->submit(ib, state->options);
    inner.on_done([this, state, misses, inner, ib] {
      std::vector<Status> statuses = inner.take_statuses();
      for (size_t j = 0; j < statuses.size(); ++j) {
        const uint32_t i = misses->outer[j];
        if (statuses[j].ok() && !misses->keys[j].empty()) cache_.put(misses->keys[j], Bytes::copy_of(ib->dest(j)));
        const uint64_t n = statuses[j].ok() ? ib->dest(j).size() : 0;
        state->deliver(i, statuses[j].ok() ? Result<Bytes>(Bytes()) : Result<Bytes>(error(statuses[j])));
        state->add_progress(1, n);
      }
      state->finish();
    });
  } else {
    inner = inner_->submit(
        rb,
        [this, state, misses](size_t j, Result<Bytes> r) {
          detail::CallbackScope scope(this);
          if (r && !misses->keys[j].empty()) cache_.put(misses->keys[j], *r);
          const uint64_t n = r ? r->size() : 0;
          state->deliver(misses->outer[j], std::move(r));
          state->add_progress(1, n);
        },
        state->options);
    inner.on_done([state] { state->finish(); });
  }
  {
    std::lock_guard lock(state->mu);
    state->on_cancel = [inner] { inner.cancel(); };
  }
  if (state->is_cancelled()) inner.cancel();  // cancelled before the hook was in place
}

}  // namespace lsio::store
