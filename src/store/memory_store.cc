#include "store/memory_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/batch_state.h"
#include "plan/planner.h"
#include "store/listing.h"

namespace lsio::store {

Result<Bytes> MemoryStore::read_one(const std::string& key, ByteRange range, std::string_view expected) const {
  if (Status s = range.check(); !s.ok()) return error(s.with_context("read " + key));
  Bytes object;
  {
    std::shared_lock lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return error(errno_status(ENOENT, "read", "memory://" + key));
    if (!expected.empty() && std::to_string(it->second.version) != expected) {
      return error(StatusCode::kAborted, "read memory://" + key + ": the object changed since version " +
                                             std::string(expected) + " was seen (now " +
                                             std::to_string(it->second.version) + ")");
    }
    object = it->second.data;
  }
  const ByteRange::Absolute a = range.resolve(object.size());
  if (a.end > object.size() || a.begin > object.size()) {
    return error(plan::past_eof_status("memory://" + key, range, object.size()));
  }
  return object.slice(a.begin, a.end - a.begin);
}

Status MemoryStore::read_into_one(const ReadIntoBatch& batch, size_t i) const {
  const ReadBatch& rb = batch.ranges();
  auto got = read_one(rb.path_of(i), rb.range(i), rb.expected_version(rb.file_of(i)));
  std::span<std::byte> dest = batch.dest(i);
  if (!got) return got.error();
  if (got->size() != dest.size()) {
    return Status(StatusCode::kOutOfRange, "read memory://" + rb.path_of(i) + " " + rb.range(i).to_string() +
                                               ": object has only " + std::to_string(got->size()) + " of the " +
                                               std::to_string(dest.size()) + " bytes the destination needs");
  }
  if (!dest.empty()) std::memcpy(dest.data(), got->data(), dest.size());
  return {};
}

void MemoryStore::start(std::shared_ptr<detail::BatchState> state) {
  detail::CallbackScope scope(this);  // callbacks run on this (the caller's) thread
  const ReadBatch& batch = *state->batch;
  for (size_t i = 0; i < batch.size() && !state->is_cancelled(); ++i) {
    if (state->kind == detail::SinkKind::kInto) {
      const Status s = read_into_one(*state->into, i);
      state->deliver(i, s.ok() ? Result<Bytes>(Bytes()) : error(s));
    } else {
      state->deliver(i, read_one(batch.path_of(i), batch.range(i), batch.expected_version(batch.file_of(i))));
    }
    state->add_progress(1, 0);
  }
  state->finish();
}

std::vector<Result<ObjectInfo>> MemoryStore::stat(std::span<const std::string> paths) {
  std::vector<Result<ObjectInfo>> out;
  if (Status s = check_not_in_callback("stat"); !s.ok()) return std::vector<Result<ObjectInfo>>(paths.size(), error(s));
  std::shared_lock lock(mu_);
  for (const std::string& key : paths) {
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      out.push_back(error(errno_status(ENOENT, "stat", "memory://" + key)));
    } else {
      out.push_back(ObjectInfo{it->second.data.size(), std::to_string(it->second.version)});
    }
  }
  return out;
}

Result<Listing> MemoryStore::list(std::string_view prefix, bool recursive) {
  LSIO_RETURN_IF_ERROR(check_not_in_callback("list"));
  std::vector<ListEntry> found;
  {
    std::shared_lock lock(mu_);
    for (const auto& [key, object] : objects_) {
      if (key.starts_with(prefix)) found.push_back(ListEntry{key, object.data.size(), std::to_string(object.version)});
    }
  }
  return make_listing(std::move(found), prefix, recursive);
}

std::vector<Status> MemoryStore::write(std::span<const WriteRequest> requests) {
  if (Status s = check_not_in_callback("write"); !s.ok()) return std::vector<Status>(requests.size(), s);
  std::unique_lock lock(mu_);
  for (const WriteRequest& w : requests) {
    // Copy on write: readers may still hold slices of the old object.
    Object& entry = objects_[w.path];
    entry.version = next_version_++;
    Bytes& object = entry.data;
    const size_t size = std::max<size_t>(object.size(), w.offset + w.data.size());
    Bytes grown = Bytes::allocate(size);
    std::byte* out = grown.mutable_data();
    std::fill(out, out + size, std::byte{0});
    std::copy(object.data(), object.data() + object.size(), out);
    std::copy(w.data.begin(), w.data.end(), out + w.offset);
    object = std::move(grown);
  }
  return std::vector<Status>(requests.size());
}

std::vector<Status> MemoryStore::remove(std::span<const std::string> paths) {
  if (Status s = check_not_in_callback("remove"); !s.ok()) return std::vector<Status>(paths.size(), s);
  std::unique_lock lock(mu_);
  for (const std::string& key : paths) objects_.erase(key);
  return std::vector<Status>(paths.size());
}

Status MemoryStore::put(std::string_view path, std::span<const std::byte> data, const PutOptions&) {
  LSIO_RETURN_IF_ERROR(check_not_in_callback("put"));
  Bytes copy = Bytes::copy_of(data);
  std::unique_lock lock(mu_);
  objects_[std::string(path)] = Object{std::move(copy), next_version_++};
  return {};
}

}  // namespace lsio::store
