// open_store: URL -> Store, and the engine choice (option, LSIO_ENGINE, probe).
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "io/executor.h"
#include "lsio/store.h"
#include "store/caching_store.h"
#include "store/file_store.h"
#include "store/memory_store.h"
#include "store/nop_store.h"
#include "store/remote/remote_store.h"
#include "store/remote/s3_endpoint.h"

namespace lsio {
namespace {

Result<EngineKind> engine_from_env(EngineKind requested) {
  if (requested != EngineKind::kAuto) return requested;
  const char* env = std::getenv("LSIO_ENGINE");
  const std::string_view v = env ? env : "auto";
  if (v == "auto" || v.empty()) return EngineKind::kAuto;
  if (v == "uring") return EngineKind::kUring;
  if (v == "posix") return EngineKind::kPosix;
  return error(StatusCode::kInvalidArgument, "LSIO_ENGINE=" + std::string(v) + " is not one of auto, uring, posix");
}

// Files one worker may hold open: a share of RLIMIT_NOFILE (registered io_uring
// files count against it too), leaving room for the rest of the process.
unsigned file_slots_per_worker(const StoreOptions& options, unsigned workers) {
  unsigned total = options.max_open_files;
  if (total == 0) {
    rlimit rl{};
    const rlim_t cur = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    total = static_cast<unsigned>(std::min<rlim_t>(cur > 96 ? cur - 64 : cur / 2, 1u << 16));
  }
  return std::clamp(total / workers, 1u, 256u);
}

Result<std::shared_ptr<Store>> open_file_store(std::string root, const StoreOptions& options, bool nop) {
  LSIO_ASSIGN_OR_RETURN(EngineKind kind, engine_from_env(options.engine));
  const unsigned workers = options.workers ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  io::BackendOptions bo;
  bo.queue_depth = std::max(1u, options.queue_depth);
  bo.file_slots = file_slots_per_worker(options, workers);
  bo.max_inflight_bytes = options.max_inflight_bytes;
  bo.nop = nop;
  bo.cache_descriptors = !nop;
  std::string note;
  io::Executor::Kind chosen = io::Executor::Kind::kPosix;
  std::unique_ptr<io::Executor> executor;
  if (kind != EngineKind::kPosix) {
    auto ex = io::Executor::create(io::Executor::Kind::kUring, workers, bo);
    if (ex) {
      executor = std::move(*ex);
      chosen = io::Executor::Kind::kUring;
    } else if (kind == EngineKind::kUring) {
      return error(ex.error());
    } else {
      note = "chosen automatically: " + std::string(ex.error().message());
    }
  }
  if (!executor) {
    LSIO_ASSIGN_OR_RETURN(executor, io::Executor::create(io::Executor::Kind::kPosix, workers, bo));
  }
  // The same engine again in a forked child (falling back to posix if the ring cannot be had there).
  auto factory = [chosen, workers, bo]() -> Result<std::unique_ptr<io::Executor>> {
    auto ex = io::Executor::create(chosen, workers, bo);
    if (ex || chosen == io::Executor::Kind::kPosix) return ex;
    return io::Executor::create(io::Executor::Kind::kPosix, workers, bo);
  };
  const io::PlanValues defaults{options.coalesce_gap, options.max_merged, options.part_size, options.direct_threshold,
                                options.inline_reads && !nop};
  return std::make_shared<store::FileStore>(std::move(root), std::move(executor), factory, note, defaults);
}

Result<std::shared_ptr<Store>> open_uncached(std::string_view url, const StoreOptions& options) {
  if (url == "memory://" || url.starts_with("memory://")) return std::make_shared<store::MemoryStore>();
  if (url.starts_with("s3://")) {
    LSIO_ASSIGN_OR_RETURN(auto endpoint, remote::S3Endpoint::create(url, options.remote));
    return std::make_shared<remote::RemoteStore>(std::string(url), std::move(endpoint), options.remote);
  }
  if (url.starts_with("http://") || url.starts_with("https://")) {
    LSIO_ASSIGN_OR_RETURN(auto endpoint, remote::make_http_endpoint(url));
    return std::make_shared<remote::RemoteStore>(std::string(url), std::move(endpoint), options.remote);
  }
  if (url.starts_with("file://")) {
    url.remove_prefix(7);
    if (!url.empty() && url.front() != '/') {
      return error(StatusCode::kInvalidArgument,
                   "file URL must be file:///absolute/path, got file://" + std::string(url));
    }
  } else if (url.find("://") != std::string_view::npos) {
    return error(StatusCode::kUnimplemented,
                 "no store for URL " + std::string(url) + " (supported: file://, memory://, s3://, http://, https://)");
  }
  return open_file_store(std::string(url), options, /*nop=*/false);
}

}  // namespace

namespace store {
Result<std::shared_ptr<Store>> open_nop_file_store(const StoreOptions& options) {
  return open_file_store("", options, /*nop=*/true);
}
}  // namespace store

Result<std::shared_ptr<Store>> open_store(std::string_view url, const StoreOptions& options) {
  LSIO_ASSIGN_OR_RETURN(std::shared_ptr<Store> store, open_uncached(url, options));
  if (options.cache_bytes == 0) return store;
  return std::make_shared<store::CachingStore>(std::move(store), options.cache_bytes, options.cache_revalidate_after);
}

}  // namespace lsio
