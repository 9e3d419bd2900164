// FileStore: local files, read by an Executor (io_uring or posix workers).
#pragma once

#include <memory>
#include <string>

#include "io/executor.h"
#include "lsio/store.h"

namespace lsio::store {

class FileStore final : public Store {
 public:
  // `root` "" uses request paths as given; otherwise keys are relative to it.
  FileStore(std::string root, std::unique_ptr<io::Executor> executor, std::string engine_note);

  std::string engine_description() const override;
  std::vector<Result<Bytes>> read(const ReadBatch& batch, const ReadOptions& options) override;
  std::vector<Status> read_into(const ReadIntoBatch& batch, const ReadOptions& options) override;
  Status for_each(const ReadBatch& batch, const ChunkCallback& callback, const ReadOptions& options) override;
  std::vector<Result<uint64_t>> sizes(std::span<const std::string> paths) override;
  std::vector<Status> write(std::span<const WriteRequest> requests) override;
  std::vector<Status> remove(std::span<const std::string> paths) override;
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override;

 private:
  // The path to open for `key`, or InvalidArgument for a key that escapes the root.
  Result<std::string> resolve(std::string_view key) const;
  Status run(io::Job& job, const ReadBatch& batch);

  std::string root_;
  std::unique_ptr<io::Executor> executor_;
  std::string engine_note_;
};

}  // namespace lsio::store
