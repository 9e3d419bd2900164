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
  std::vector<Result<Bytes>> read(const ReadBatch& batch, const ReadOptions& options) override;
  std::vector<Status> read_into(const ReadIntoBatch& batch, const ReadOptions& options) override;
  Status for_each(const ReadBatch& batch, const ChunkCallback& callback, const ReadOptions& options) override;
  std::vector<Result<uint64_t>> sizes(std::span<const std::string> paths) override;
  std::vector<Status> write(std::span<const WriteRequest> requests) override;
  std::vector<Status> remove(std::span<const std::string> paths) override;
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override;

 private:
  Result<Bytes> read_one(const std::string& key, ByteRange range) const;

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Bytes> objects_;
};

}  // namespace lsio::store
