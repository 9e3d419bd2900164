// MemoryStore: a process-local store of whole objects ("memory://"). Serves
// the same API and the same conformance tests as the file stores.
#pragma once

#include <shared_mutex>
#include <unordered_map>

#include "lsio/store.h"

namespace lsio::store {

class MemoryStore final : public Store {
 public:
  std::string engine_description() const override { return "memory"; }
  std::vector<Result<ObjectInfo>> stat(std::span<const std::string> paths) override;
  Result<Listing> list(std::string_view prefix, bool recursive) override;
  std::vector<Status> write(std::span<const WriteRequest> requests) override;
  std::vector<Status> remove(std::span<const std::string> paths) override;
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override;

 protected:
  // Runs the batch on the calling thread before returning.
  void start(std::shared_ptr<detail::BatchState> state) override;

 private:
  struct Object {
    Bytes data;
    uint64_t version = 0;  // new on every put and write
  };
  Result<Bytes> read_one(const std::string& key, ByteRange range, std::string_view expected_version) const;
  Status read_into_one(const ReadIntoBatch& batch, size_t i) const;

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Object> objects_;
  uint64_t next_version_ = 1;
};

}  // namespace lsio::store
