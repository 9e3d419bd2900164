#include "store/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <unordered_map>

#include "core/fork.h"
#include "io/backend.h"
#include "io/inline_read.h"
#include "store/listing.h"
#include "store/local_files.h"

namespace lsio::store {
namespace {
constexpr size_t kMaxOpenForWrite = 64;  // descriptors one write batch may hold
}  // namespace

FileStore::FileStore(std::string root, std::unique_ptr<io::Executor> executor, ExecutorFactory factory,
                     std::string engine_note, io::PlanValues defaults)
    : root_(std::move(root)),
      factory_(std::move(factory)),
      engine_note_(std::move(engine_note)),
      defaults_(defaults),
      executor_(std::move(executor)),
      fork_generation_(detail::fork_generation()) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

FileStore::~FileStore() {
  // In a forked child the executor's threads and ring belong to the parent:
  // joining or unmapping them here would hang or corrupt. Leak it instead.
  if (fork_generation_ != detail::fork_generation()) static_cast<void>(executor_.release());
}

Result<io::Executor*> FileStore::executor() const {
  std::lock_guard lock(executor_mu_);
  const uint64_t now = detail::fork_generation();
  if (now != fork_generation_ || executor_ == nullptr) {
    static_cast<void>(executor_.release());  // the parent's (see ~FileStore)
    auto fresh = factory_();
    if (!fresh) return error(fresh.error().with_context("restart the store's workers in a forked child"));
    executor_ = std::move(*fresh);
    fork_generation_ = now;
  }
  return executor_.get();
}

bool FileStore::runs_on_current_thread() const {
  const io::Executor* current = io::Executor::current();
  if (current == nullptr) return false;
  std::lock_guard lock(executor_mu_);
  return current == executor_.get();
}

Bytes FileStore::allocate(size_t size) {
  auto ex = executor();
  return ex ? (*ex)->allocate(size) : Bytes::allocate(size, 4096);
}

std::string FileStore::engine_description() const {
  auto ex = executor();
  if (!ex) return ex.error().to_string();
  return engine_note_.empty() ? (*ex)->description() : (*ex)->description() + "; " + engine_note_;
}

Result<std::string> FileStore::resolve(std::string_view key) const {
  if (key.empty()) return error(StatusCode::kInvalidArgument, "empty path");
  if (root_.empty()) return std::string(key);
  if (key.front() == '/') {
    return error(StatusCode::kInvalidArgument,
                 "key " + std::string(key) + " is absolute; keys of the store at " + root_ + " are relative to it");
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

void FileStore::start(std::shared_ptr<detail::BatchState> state) {
  auto ex = executor();
  if (!ex) {
    state->cancel(ex.error());
    state->finish();
    return;
  }
  auto run = std::make_shared<io::RunState>();
  const ReadBatch& batch = *state->batch;
  const std::vector<std::string>& keys = batch.paths();
  run->path_errors.resize(keys.size());
  if (root_.empty()) {
    run->paths = &keys;  // opened as given: no copy of every path on every call
    for (size_t f = 0; f < keys.size(); ++f)
      if (keys[f].empty()) run->path_errors[f] = resolve(keys[f]).error().with_context("read");
  } else {
    run->resolved.resize(keys.size());
    run->paths = &run->resolved;
    for (size_t f = 0; f < keys.size(); ++f) {
      auto resolved = resolve(keys[f]);
      if (resolved) {
        run->resolved[f] = std::move(*resolved);
      } else {
        run->path_errors[f] = resolved.error().with_context("read");
      }
    }
  }
  const ReadOptions& o = state->options;
  run->plan.coalesce_gap = o.coalesce_gap.value_or(defaults_.coalesce_gap);
  run->plan.max_merged = o.max_merged.value_or(defaults_.max_merged);
  run->plan.part_size = o.part_size.value_or(defaults_.part_size);
  run->plan.direct_threshold = defaults_.direct_threshold;
  run->batch = std::move(state);
  if (defaults_.inline_reads && io::read_inline(*run, **ex, inline_supported_)) return;
  (*ex)->submit(std::move(run));
}

std::vector<Result<ObjectInfo>> FileStore::stat(std::span<const std::string> keys) {
  std::vector<Result<ObjectInfo>> out;
  if (Status s = check_not_in_callback("stat"); !s.ok()) return std::vector<Result<ObjectInfo>>(keys.size(), error(s));
  out.reserve(keys.size());
  for (const std::string& key : keys) {
    auto path = resolve(key);
    if (!path) {
      out.push_back(error(path.error().with_context("stat")));
      continue;
    }
    struct statx stx{};
    if (::statx(AT_FDCWD, path->c_str(), 0, STATX_SIZE | STATX_TYPE | STATX_INO | STATX_MTIME, &stx) != 0) {
      out.push_back(error(errno_status(errno, "statx", *path)));
    } else if (S_ISDIR(stx.stx_mode)) {
      out.push_back(error(errno_status(EISDIR, "stat", *path)));
    } else {
      out.push_back(ObjectInfo{stx.stx_size, io::file_version(stx)});
    }
  }
  return out;
}

Result<Listing> FileStore::list(std::string_view prefix, bool recursive) {
  LSIO_RETURN_IF_ERROR(check_not_in_callback("list"));
  namespace fs = std::filesystem;
  const size_t cut = prefix.rfind('/');
  const std::string dir_key(prefix.substr(0, cut == std::string_view::npos ? 0 : cut + 1));
  const std::string base = root_.empty() ? "" : root_ + "/";
  const fs::path dir = base + dir_key;
  std::vector<ListEntry> found;
  std::error_code ec;
  auto add = [&](const fs::directory_entry& e) -> Status {
    std::string key = dir_key + e.path().lexically_relative(dir).generic_string();
    if (!key.starts_with(prefix) || is_temporary_name(key)) return {};
    std::error_code type_ec;
    if (e.is_directory(type_ec)) {
      if (!recursive) found.push_back(ListEntry{key + "/x", 0, {}});  // folded into a prefix below
      return {};
    }
    struct statx stx{};
    if (::statx(AT_FDCWD, e.path().c_str(), 0, STATX_SIZE | STATX_TYPE | STATX_INO | STATX_MTIME, &stx) != 0) {
      if (errno == ENOENT) return {};  // removed while listing
      return errno_status(errno, "list: statx", e.path().string());
    }
    if (S_ISREG(stx.stx_mode)) found.push_back(ListEntry{std::move(key), stx.stx_size, io::file_version(stx)});
    return {};
  };
  if (!fs::is_directory(dir.empty() ? fs::path(".") : dir, ec)) return Listing{};  // nothing there, as in S3
  const fs::path start = dir.empty() ? fs::path(".") : dir;
  if (recursive) {
    for (fs::recursive_directory_iterator it(start, ec), end; !ec && it != end; it.increment(ec)) {
      LSIO_RETURN_IF_ERROR(add(*it));
    }
  } else {
    for (fs::directory_iterator it(start, ec), end; !ec && it != end; it.increment(ec)) LSIO_RETURN_IF_ERROR(add(*it));
  }
  if (ec) return error(errno_status(ec.value(), "list", start.string()));
  return make_listing(std::move(found), prefix, recursive);
}

std::vector<Status> FileStore::write(std::span<const WriteRequest> requests) {
  if (Status s = check_not_in_callback("write"); !s.ok()) return std::vector<Status>(requests.size(), s);
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
      auto fd = create_file(*path, O_WRONLY, "open for writing");
      if (!fd) {
        out[i] = fd.error();
        continue;
      }
      it = fds.emplace(*path, *fd).first;
    }
    out[i] = write_all(it->second, requests[i].data, requests[i].offset, *path);
  }
  for (auto& [path, fd] : fds) ::close(fd);
  return out;
}

std::vector<Status> FileStore::remove(std::span<const std::string> keys) {
  if (Status s = check_not_in_callback("remove"); !s.ok()) return std::vector<Status>(keys.size(), s);
  std::vector<Status> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto path = resolve(keys[i]);
    if (!path) {
      out[i] = path.error().with_context("remove");
    } else {
      out[i] = remove_and_prune(*path, root_);
    }
  }
  return out;
}

Status FileStore::put(std::string_view key, std::span<const std::byte> data, const PutOptions& options) {
  LSIO_RETURN_IF_ERROR(check_not_in_callback("put"));
  auto path = resolve(key);
  if (!path) return path.error().with_context("put");
  // Named by the key (the temporary file it was written to is in the cause): "put K: write K.lsio-tmp...: ENOSPC".
  return atomic_put(*path, data, options.fsync, defaults_.direct_threshold).with_context("put " + std::string(key));
}

}  // namespace lsio::store
