#include "store/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_map>

#include "store/local_files.h"

namespace lsio::store {
namespace {
constexpr size_t kMaxOpenForWrite = 64;  // descriptors one write batch may hold
}  // namespace

FileStore::FileStore(std::string root, std::unique_ptr<io::Executor> executor, std::string engine_note)
    : root_(std::move(root)), executor_(std::move(executor)), engine_note_(std::move(engine_note)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string FileStore::engine_description() const {
  return engine_note_.empty() ? executor_->description() : executor_->description() + "; " + engine_note_;
}

Result<std::string> FileStore::resolve(std::string_view key) const {
  if (key.empty()) return error(StatusCode::kInvalidArgument, "empty path");
  if (root_.empty()) return std::string(key);
  if (key.front() == '/') {
    return error(StatusCode::kInvalidArgument, "key " + std::string(key) + " is absolute; keys of the store at " +
                                                    root_ + " are relative to it");
  }
  for (size_t pos = 0; pos <= key.size();) {
    const size_t slash = std::min(key.find('/', pos), key.size());
    if (key.substr(pos, slash - pos) == "..") {
      return error(StatusCode::kInvalidArgument, "key " + std::string(key) + " leaves the store root " + root_);
    }
    pos = slash + 1;
  }
  return root_ + "/" + std::string(key);
}

Status FileStore::run(io::Job& job, const ReadBatch& batch) {
  std::vector<std::string> paths(batch.paths().size());
  std::vector<Status> path_errors(paths.size());
  for (size_t f = 0; f < paths.size(); ++f) {
    auto resolved = resolve(batch.paths()[f]);
    if (resolved) {
      paths[f] = std::move(*resolved);
    } else {
      path_errors[f] = resolved.error().with_context("read");
    }
  }
  job.batch = &batch;
  job.paths = &paths;
  job.path_errors = &path_errors;
  return executor_->run(job);
}

std::vector<Result<Bytes>> FileStore::read(const ReadBatch& batch, const ReadOptions& options) {
  std::vector<Result<Bytes>> results(batch.size());
  io::Job job;
  job.mode = io::Job::Mode::kRead;
  job.options = options;
  job.results = &results;
  run(job, batch);
  return results;
}

std::vector<Status> FileStore::read_into(const ReadIntoBatch& batch, const ReadOptions& options) {
  std::vector<Status> statuses(batch.size());
  io::Job job;
  job.mode = io::Job::Mode::kInto;
  job.options = options;
  job.into = &batch;
  job.statuses = &statuses;
  run(job, batch.ranges());
  return statuses;
}

Status FileStore::for_each(const ReadBatch& batch, const ChunkCallback& callback, const ReadOptions& options) {
  io::Job job;
  job.mode = io::Job::Mode::kForEach;
  job.options = options;
  job.callback = &callback;
  return run(job, batch);
}

std::vector<Result<uint64_t>> FileStore::sizes(std::span<const std::string> keys) {
  std::vector<Result<uint64_t>> out;
  out.reserve(keys.size());
  for (const std::string& key : keys) {
    auto path = resolve(key);
    if (!path) {
      out.push_back(error(path.error().with_context("size")));
      continue;
    }
    struct statx stx {};
    if (::statx(AT_FDCWD, path->c_str(), 0, STATX_SIZE | STATX_TYPE, &stx) != 0) {
      out.push_back(error(errno_status(errno, "statx", *path)));
    } else if (S_ISDIR(stx.stx_mode)) {
      out.push_back(error(errno_status(EISDIR, "size", *path)));
    } else {
      out.push_back(stx.stx_size);
    }
  }
  return out;
}

std::vector<Status> FileStore::write(std::span<const WriteRequest> requests) {
  std::vector<Status> out(requests.size());
  std::unordered_map<std::string, int> fds;  // one open per file for the whole batch
  for (size_t i = 0; i < requests.size(); ++i) {
    auto path = resolve(requests[i].path);
    if (!path) {
      out[i] = path.error().with_context("write");
      continue;
    }
    auto it = fds.find(*path);
    if (it == fds.end() && fds.size() >= kMaxOpenForWrite) {
      for (auto& [p, fd] : fds) ::close(fd);
      fds.clear();
    }
    if (it == fds.end()) {
      if (Status s = make_parent_dirs(*path); !s.ok()) {
        out[i] = s;
        continue;
      }
      const int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) {
        out[i] = errno_status(errno, "open for writing", *path);
        continue;
      }
      it = fds.emplace(*path, fd).first;
    }
    out[i] = write_all(it->second, requests[i].data, requests[i].offset, *path);
  }
  for (auto& [path, fd] : fds) ::close(fd);
  return out;
}

std::vector<Status> FileStore::remove(std::span<const std::string> keys) {
  std::vector<Status> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto path = resolve(keys[i]);
    if (!path) {
      out[i] = path.error().with_context("remove");
    } else if (::unlink(path->c_str()) != 0 && errno != ENOENT) {
      out[i] = errno_status(errno, "unlink", *path);
    }
  }
  return out;
}

Status FileStore::put(std::string_view key, std::span<const std::byte> data, const PutOptions& options) {
  auto path = resolve(key);
  if (!path) return path.error().with_context("put");
  return atomic_put(*path, data, options.fsync);
}

}  // namespace lsio::store
