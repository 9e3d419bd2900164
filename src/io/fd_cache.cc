#include "io/fd_cache.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>

namespace lsio::io {
namespace {

// Every live cache, for the fork handler.
std::mutex registry_mu;
std::vector<FdCache*>& registry() {
  static auto* caches = new std::vector<FdCache*>();  // never destroyed: used by atfork handlers at exit
  return *caches;
}

}  // namespace

// pthread_atfork prepare: close every idle cached descriptor, and hold the
// registry until the fork is done (so the child's copy is unlocked and
// consistent). Descriptors in use by a running batch are inherited as before.
void fd_cache_before_fork() {
  registry_mu.lock();
  std::vector<int> idle;
  for (FdCache* c : registry()) c->take_idle(idle);
  for (int fd : idle) ::close(fd);
}

namespace {
void fd_cache_in_parent() { registry_mu.unlock(); }
// The parent's caches belong to workers that do not exist in the child: forget
// them, so that no later fork of the child closes a descriptor through them
// (the child may have closed and reused that number itself).
void fd_cache_in_child() {
  registry().clear();
  registry_mu.unlock();
}
const int registered = pthread_atfork(&fd_cache_before_fork, &fd_cache_in_parent, &fd_cache_in_child);
}  // namespace

FdCache::FdCache(unsigned capacity) : entries_(std::max(1u, capacity)) {
  static_cast<void>(registered);
  for (uint32_t i = static_cast<uint32_t>(entries_.size()); i-- > 0;) free_.push_back(i);
  std::lock_guard lock(registry_mu);
  registry().push_back(this);
}

FdCache::~FdCache() {
  {
    std::lock_guard lock(registry_mu);
    std::erase(registry(), this);
  }
  for (Entry& e : entries_)
    if (e.used) ::close(e.fd);
}

std::string FdCache::make_key(std::string_view path, int flags) {
  std::string key = (flags & O_DIRECT) ? "d" : "b";
  key += path;
  return key;
}

FdCache::Hit FdCache::acquire(std::string_view path, int flags) {
  const std::string key = make_key(path, flags);
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return {};
  Entry& e = entries_[it->second];
  if (e.refs++ == 0) unlink_idle(it->second);
  return {it->second, e.fd};
}

bool FdCache::same_file(uint32_t entry, const struct statx& stx) const {
  std::lock_guard lock(mu_);
  const Entry& e = entries_[entry];
  return e.ino == stx.stx_ino && e.dev_major == stx.stx_dev_major && e.dev_minor == stx.stx_dev_minor;
}

void FdCache::release(uint32_t entry) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[entry];
  if (e.used && e.refs > 0 && --e.refs == 0) push_idle_front(entry);
}

int FdCache::drop(uint32_t entry) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[entry];
  // Another job of this worker still reads through it: give this use back
  // only; the entry is dropped by a later acquire once it is the last user.
  if (e.refs > 1) {
    --e.refs;
    return -1;
  }
  return remove(entry);
}

uint32_t FdCache::insert(std::string_view path, int flags, int fd, const struct statx& stx, int& evicted) {
  evicted = -1;
  std::string key = make_key(path, flags);
  std::lock_guard lock(mu_);
  if (index_.contains(key)) return kNone;
  if (free_.empty()) {
    if (idle_tail_ == kNone) return kNone;
    evicted = remove(idle_tail_);
  }
  const uint32_t id = free_.back();
  free_.pop_back();
  Entry& e = entries_[id];
  e.key = std::move(key);
  e.fd = fd;
  e.dev_major = stx.stx_dev_major;
  e.dev_minor = stx.stx_dev_minor;
  e.ino = stx.stx_ino;
  e.refs = 1;
  e.used = true;
  index_.emplace(e.key, id);
  return id;
}

void FdCache::release_all() {
  std::lock_guard lock(mu_);
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.used && e.refs > 0) {
      e.refs = 0;
      push_idle_front(i);
    }
  }
}

size_t FdCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size() - free_.size();
}

void FdCache::unlink_idle(uint32_t id) {
  Entry& e = entries_[id];
  if (e.prev != kNone)
    entries_[e.prev].next = e.next;
  else
    idle_head_ = e.next;
  if (e.next != kNone)
    entries_[e.next].prev = e.prev;
  else
    idle_tail_ = e.prev;
  e.prev = e.next = kNone;
}

void FdCache::push_idle_front(uint32_t id) {
  Entry& e = entries_[id];
  e.prev = kNone;
  e.next = idle_head_;
  if (idle_head_ != kNone) entries_[idle_head_].prev = id;
  idle_head_ = id;
  if (idle_tail_ == kNone) idle_tail_ = id;
}

int FdCache::remove(uint32_t id) {
  Entry& e = entries_[id];
  if (e.refs == 0) unlink_idle(id);
  if (auto it = index_.find(e.key); it != index_.end() && it->second == id) index_.erase(it);
  const int fd = e.fd;
  e = Entry{};
  free_.push_back(id);
  return fd;
}

void FdCache::take_idle(std::vector<int>& out) {
  std::lock_guard lock(mu_);
  while (idle_tail_ != kNone) out.push_back(remove(idle_tail_));
}

}  // namespace lsio::io
