// FileStore: local files, read by an Executor (io_uring or posix workers).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "io/executor.h"
#include "lsio/store.h"

namespace lsio::store {

class FileStore final : public Store {
 public:
  using ExecutorFactory = std::function<Result<std::unique_ptr<io::Executor>>()>;
  // `root` "" uses request paths as given; otherwise keys are relative to it.
  // `factory` makes the executor again in a forked child.
  // `defaults` plan the batches whose ReadOptions leave a field unset.
  FileStore(std::string root, std::unique_ptr<io::Executor> executor, ExecutorFactory factory, std::string engine_note,
            io::PlanValues defaults = {});
  // Cancels the running batches and drains their reads (in a forked child:
  // leaves the parent's executor alone, its threads do not exist here).
  ~FileStore() override;

  std::string engine_description() const override;
  std::vector<Result<ObjectInfo>> stat(std::span<const std::string> paths) override;
  Result<Listing> list(std::string_view prefix, bool recursive) override;
  std::vector<Status> write(std::span<const WriteRequest> requests) override;
  std::vector<Status> remove(std::span<const std::string> paths) override;
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override;
  Bytes allocate(size_t size) override;

 protected:
  void start(std::shared_ptr<detail::BatchState> state) override;
  bool runs_on_current_thread() const override;

 private:
  // The path to open for `key`, or InvalidArgument for a key that escapes the root.
  Result<std::string> resolve(std::string_view key) const;
  // The executor of this process, rebuilt on first use in a forked child.
  Result<io::Executor*> executor() const;

  std::string root_;
  ExecutorFactory factory_;
  std::string engine_note_;
  io::PlanValues defaults_;
  std::atomic<bool> inline_supported_{true};  // cleared when the file system refuses RWF_NOWAIT
  mutable std::mutex executor_mu_;            // held only to read or swap executor_, never across I/O
  mutable std::unique_ptr<io::Executor> executor_;
  mutable uint64_t fork_generation_;
};

}  // namespace lsio::store
