#include "store/memory_store.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <mutex>

#include "plan/planner.h"

namespace lsio::store {

Result<Bytes> MemoryStore::read_one(const std::string& key, ByteRange range) const {
  if (Status s = range.check(); !s.ok()) return error(s.with_context("read " + key));
  Bytes object;
  {
    std::shared_lock lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return error(errno_status(ENOENT, "read", "memory://" + key));
    object = it->second;
  }
  const ByteRange::Absolute a = range.resolve(object.size());
  if (a.end > object.size() || a.begin > object.size()) {
    return error(plan::past_eof_status("memory://" + key, range, object.size()));
  }
  return object.slice(a.begin, a.end - a.begin);
}

std::vector<Result<Bytes>> MemoryStore::read(const ReadBatch& batch, const ReadOptions&) {
  std::vector<Result<Bytes>> out;
  out.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) out.push_back(read_one(batch.path_of(i), batch.range(i)));
  return out;
}

std::vector<Status> MemoryStore::read_into(const ReadIntoBatch& batch, const ReadOptions&) {
  std::vector<Status> out(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const ReadBatch& rb = batch.ranges();
    auto got = read_one(rb.path_of(i), rb.range(i));
    std::span<std::byte> dest = batch.dest(i);
    if (!got) {
      out[i] = got.error();
    } else if (got->size() != dest.size()) {
      out[i] = Status(StatusCode::kOutOfRange, "read memory://" + rb.path_of(i) + " " + rb.range(i).to_string() +
                                                   ": object has only " + std::to_string(got->size()) + " of the " +
                                                   std::to_string(dest.size()) + " bytes the destination needs");
    } else if (!dest.empty()) {
      std::memcpy(dest.data(), got->data(), dest.size());
    }
  }
  return out;
}

Status MemoryStore::for_each(const ReadBatch& batch, const ChunkCallback& callback, const ReadOptions&) {
  for (size_t i = 0; i < batch.size(); ++i) {
    try {
      callback(i, read_one(batch.path_of(i), batch.range(i)));
    } catch (const std::exception& e) {
      return Status(StatusCode::kCancelled, std::string("for_each callback threw: ") + e.what());
    }
  }
  return {};
}

std::vector<Result<uint64_t>> MemoryStore::sizes(std::span<const std::string> paths) {
  std::vector<Result<uint64_t>> out;
  std::shared_lock lock(mu_);
  for (const std::string& key : paths) {
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      out.push_back(error(errno_status(ENOENT, "size", "memory://" + key)));
    } else {
      out.push_back(it->second.size());
    }
  }
  return out;
}

std::vector<Status> MemoryStore::write(std::span<const WriteRequest> requests) {
  std::unique_lock lock(mu_);
  for (const WriteRequest& w : requests) {
    // Copy on write: readers may still hold slices of the old object.
    Bytes& object = objects_[w.path];
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
  std::unique_lock lock(mu_);
  for (const std::string& key : paths) objects_.erase(key);
  return std::vector<Status>(paths.size());
}

Status MemoryStore::put(std::string_view path, std::span<const std::byte> data, const PutOptions&) {
  Bytes copy = Bytes::copy_of(data);
  std::unique_lock lock(mu_);
  objects_[std::string(path)] = std::move(copy);
  return {};
}

}  // namespace lsio::store
