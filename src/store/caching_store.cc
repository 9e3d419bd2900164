#include "store/caching_store.h"

#include <cstring>
#include <functional>

#include "core/batch_state.h"

namespace lsio::store {
namespace {

// Per-entry bookkeeping (list node, hash node, key string) counted against the budget.
constexpr uint64_t kEntryOverhead = 96;

void append_range(std::string& key, ByteRange range) {
  key += std::to_string(range.begin());
  key += ':';
  key += std::to_string(range.end());
}

// 'r' (path, version, range): the bytes a pinned version of an object has there.
std::string raw_key(std::string_view path, std::string_view version, ByteRange range) {
  std::string key;
  key.reserve(path.size() + version.size() + 40);
  key += 'r';
  key += path;
  key += '\0';
  key += version;
  key += '\0';
  append_range(key, range);
  return key;
}

// 'd' (path, version, range, tag): a value derived from those bytes.
std::string derived_key(const DerivedKey& k) {
  std::string key;
  key.reserve(k.path.size() + k.version.size() + k.tag.size() + 40);
  key += 'd';
  key += k.path;
  key += '\0';
  key += k.version;
  key += '\0';
  append_range(key, k.range);
  key += '\0';
  key += k.tag;
  return key;
}

// 'v' path: when the storage last reported the object's version, its size and that version.
std::string version_key(std::string_view path) { return 'v' + std::string(path); }

Bytes encode_version(std::chrono::steady_clock::time_point at, const ObjectInfo& info) {
  const int64_t ns = at.time_since_epoch().count();
  Bytes b = Bytes::allocate(16 + info.version.size());
  std::memcpy(b.mutable_data(), &ns, 8);
  std::memcpy(b.mutable_data() + 8, &info.size, 8);
  if (!info.version.empty()) std::memcpy(b.mutable_data() + 16, info.version.data(), info.version.size());
  return b;
}

std::pair<std::chrono::steady_clock::time_point, ObjectInfo> decode_version(const Bytes& b) {
  int64_t ns = 0;
  ObjectInfo info;
  std::memcpy(&ns, b.data(), 8);
  std::memcpy(&info.size, b.data() + 8, 8);
  info.version.assign(reinterpret_cast<const char*>(b.data()) + 16, b.size() - 16);
  return {std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ns)), std::move(info)};
}

}  // namespace

ByteCache::ByteCache(uint64_t budget_bytes) : shard_budget_(budget_bytes / kShards) {}

ByteCache::Shard& ByteCache::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

void ByteCache::unlink(Shard& s, std::list<Entry>::iterator it, std::list<Entry>& out) {
  const auto k = static_cast<size_t>(it->kind);
  s.bytes -= it->cost;
  s.kind_bytes[k] -= it->cost;
  --s.kind_entries[k];
  s.index.erase(it->key);
  out.splice(out.end(), s.lru, it);
}

std::optional<Bytes> ByteCache::get(CacheKind kind, const std::string& key) {
  Counters& c = counters_[static_cast<size_t>(kind)];
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    c.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  c.hits.fetch_add(1, std::memory_order_relaxed);
  return it->second->value;
}

void ByteCache::count_expired(CacheKind kind) {
  Counters& c = counters_[static_cast<size_t>(kind)];
  c.hits.fetch_sub(1, std::memory_order_relaxed);
  c.misses.fetch_add(1, std::memory_order_relaxed);
}

void ByteCache::put(CacheKind kind, const std::string& key, Bytes value) {
  const uint64_t cost = value.size() + key.size() + kEntryOverhead;
  if (cost > shard_budget_) return;  // bigger than a shard's budget: never worth evicting everything
  Counters& c = counters_[static_cast<size_t>(kind)];
  Shard& s = shard_of(key);
  std::list<Entry> dropped;  // freed after the lock is released
  {
    std::lock_guard lock(s.mu);
    if (auto it = s.index.find(key); it != s.index.end()) unlink(s, it->second, dropped);
    while (s.bytes + cost > shard_budget_ && !s.lru.empty()) {
      counters_[static_cast<size_t>(s.lru.back().kind)].evictions.fetch_add(1, std::memory_order_relaxed);
      unlink(s, std::prev(s.lru.end()), dropped);
    }
    s.lru.push_front(Entry{key, std::move(value), kind, cost});
    s.index.emplace(key, s.lru.begin());
    s.bytes += cost;
    s.kind_bytes[static_cast<size_t>(kind)] += cost;
    ++s.kind_entries[static_cast<size_t>(kind)];
  }
  c.inserts.fetch_add(1, std::memory_order_relaxed);
}

void ByteCache::erase(const std::string& key) {
  Shard& s = shard_of(key);
  std::list<Entry> dropped;
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) unlink(s, it->second, dropped);
}

CacheStats ByteCache::stats() const {
  CacheStats out;
  out.capacity_bytes = shard_budget_ * kShards;
  CacheCounters* kinds[3] = {&out.raw, &out.derived, &out.versions};
  for (const Shard& s : shards_) {
    std::lock_guard lock(const_cast<std::mutex&>(s.mu));
    for (size_t k = 0; k < 3; ++k) {
      kinds[k]->bytes += s.kind_bytes[k];
      kinds[k]->entries += s.kind_entries[k];
    }
  }
  for (size_t k = 0; k < 3; ++k) {
    kinds[k]->hits = counters_[k].hits.load();
    kinds[k]->misses = counters_[k].misses.load();
    kinds[k]->inserts = counters_[k].inserts.load();
    kinds[k]->evictions = counters_[k].evictions.load();
    out.bytes += kinds[k]->bytes;
    out.entries += kinds[k]->entries;
    out.hits += kinds[k]->hits;
    out.misses += kinds[k]->misses;
    out.inserts += kinds[k]->inserts;
    out.evictions += kinds[k]->evictions;
  }
  return out;
}

CachingStore::CachingStore(std::shared_ptr<Store> inner, uint64_t budget_bytes,
                           std::chrono::nanoseconds revalidate_after)
    : inner_(std::move(inner)), cache_(budget_bytes), revalidate_after_(revalidate_after) {}

std::string CachingStore::engine_description() const {
  return inner_->engine_description() + "; RAM cache of " + std::to_string(cache_.stats().capacity_bytes >> 20) +
         " MiB";
}

std::vector<Result<ObjectInfo>> CachingStore::stat(std::span<const std::string> paths) {
  if (revalidate_after_.count() <= 0) return inner_->stat(paths);
  const auto now = std::chrono::steady_clock::now();
  std::vector<Result<ObjectInfo>> out(paths.size(), Result<ObjectInfo>(ObjectInfo{}));
  std::vector<std::string> todo;
  std::vector<size_t> todo_at;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (auto hit = cache_.get(CacheKind::kVersion, version_key(paths[i]))) {
      auto [at, info] = decode_version(*hit);
      if (now - at < revalidate_after_) {
        out[i] = std::move(info);
        continue;
      }
      cache_.count_expired(CacheKind::kVersion);
    }
    todo.push_back(paths[i]);
    todo_at.push_back(i);
  }
  if (todo.empty()) return out;
  auto fresh = inner_->stat(todo);
  for (size_t j = 0; j < fresh.size(); ++j) {
    // Only found objects are kept: one that is missing now may appear at any time.
    if (fresh[j]) cache_.put(CacheKind::kVersion, version_key(todo[j]), encode_version(now, *fresh[j]));
    out[todo_at[j]] = std::move(fresh[j]);
  }
  return out;
}

void CachingStore::forget_version(std::string_view path) {
  if (revalidate_after_.count() > 0) cache_.erase(version_key(path));
}

std::vector<Status> CachingStore::write(std::span<const WriteRequest> requests) {
  auto out = inner_->write(requests);
  for (const WriteRequest& r : requests) forget_version(r.path);
  return out;
}

std::vector<Status> CachingStore::remove(std::span<const std::string> paths) {
  auto out = inner_->remove(paths);
  for (const std::string& p : paths) forget_version(p);
  return out;
}

Status CachingStore::put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) {
  Status s = inner_->put(path, data, options);
  forget_version(path);
  return s;
}

std::optional<Bytes> CachingStore::get_derived(const DerivedKey& key) {
  if (key.version.empty()) return std::nullopt;
  return cache_.get(CacheKind::kDerived, derived_key(key));
}

void CachingStore::put_derived(const DerivedKey& key, Bytes value) {
  if (key.version.empty()) return;
  cache_.erase(raw_key(key.path, key.version, key.range));
  cache_.put(CacheKind::kDerived, derived_key(key), std::move(value));
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
      std::string key = version.empty() ? std::string() : raw_key(batch.paths()[file], version, batch.range(i));
      if (!key.empty()) {
        if (auto hit = cache_.get(CacheKind::kRaw, key); hit && (!into || hit->size() == state->into->dest(i).size())) {
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
        if (statuses[j].ok() && !misses->keys[j].empty())
          cache_.put(CacheKind::kRaw, misses->keys[j], Bytes::copy_of(ib->dest(j)));
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
          if (r && !misses->keys[j].empty()) cache_.put(CacheKind::kRaw, misses->keys[j], *r);
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
