#include "io/inline_read.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <optional>
#include <vector>

#include "io/backend.h"
#include "io/page_cache.h"
#include "plan/planner.h"

namespace lsio::io {
namespace {

struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

bool eligible(const RunState& run) {
  const detail::BatchState& b = *run.batch;
  const size_t n = b.batch->size();
  const size_t max_requests = b.kind == detail::SinkKind::kCallback ? 1 : kInlineMaxRequests;
  return n > 0 && n <= max_requests && !b.options.direct && !b.is_cancelled();
}

// The one file of the batch, or nullopt when it has several or a bad path.
std::optional<uint32_t> single_file(const RunState& run) {
  const ReadBatch& batch = run.requests();
  const uint32_t file = batch.file_of(0);
  for (size_t i = 1; i < batch.size(); ++i)
    if (batch.file_of(i) != file) return std::nullopt;
  if (!run.path_errors[file].ok()) return std::nullopt;
  return file;
}

// The batch planned as a worker plans it (merging, the same limits), or
// nullopt when the plan has anything but reads and empty results, a request
// a worker would refuse, or too many bytes to read inline.
std::optional<plan::FilePlan> plan_small(const RunState& run, uint64_t file_size, const std::string& path) {
  const detail::BatchState& state = *run.batch;
  const bool into = state.kind == detail::SinkKind::kInto;
  std::vector<plan::Request> requests;
  requests.reserve(state.batch->size());
  for (size_t i = 0; i < state.batch->size(); ++i) {
    const ByteRange range = state.batch->range(i);
    if (!range.check().ok()) return std::nullopt;
    const ByteRange::Absolute a = range.resolve(file_size);
    if (!into && a.end > a.begin && a.end - a.begin > state.max_request_bytes) return std::nullopt;
    requests.push_back({static_cast<uint32_t>(i), range});
  }
  plan::PlanOptions po;
  po.coalesce_gap = run.plan.coalesce_gap;
  po.max_merged = std::min(run.plan.max_merged, state.max_request_bytes);
  po.merge = !into;
  plan::FilePlan plan = plan::plan_file(requests, file_size, po, path);
  uint64_t total = 0;
  for (const plan::Read& r : plan.reads) total += r.length;
  const uint64_t threshold = run.plan.direct_threshold;
  if (total > kInlineMaxBytes || (threshold > 0 && total >= threshold)) return std::nullopt;
  for (const plan::Immediate& im : plan.immediates)
    if (!im.status.ok() || (into && !state.into->dest(im.index).empty())) return std::nullopt;
  if (into) {
    for (const plan::Target& t : plan.targets)
      if (state.into->dest(t.index).size() != t.length) return std::nullopt;
  }
  return plan;
}

// Reads [offset, offset + length) into `dst` if the page cache holds all of
// it: cachestat first (an RWF_NOWAIT read of a missing page still starts
// readahead, which would fill the cache behind an O_DIRECT or cold read),
// RWF_NOWAIT as the guard against a page evicted in between.
bool read_cached(int fd, std::byte* dst, uint64_t offset, uint64_t length, std::atomic<bool>& supported) {
  const std::optional<double> cached = page_cache_fraction(fd, offset, length);
  if (!cached) {
    supported.store(false, std::memory_order_relaxed);  // no cachestat: never inline
    return false;
  }
  if (*cached < 1.0) return false;
  uint64_t done = 0;
  while (done < length) {
    iovec iov{dst + done, static_cast<size_t>(length - done)};
    const ssize_t n = ::preadv2(fd, &iov, 1, static_cast<off_t>(offset + done), RWF_NOWAIT);
    if (n > 0) {
      done += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) supported.store(false, std::memory_order_relaxed);
    return false;  // EAGAIN (evicted meanwhile), EOF (the file shrank), or an error the workers will report
  }
  return true;
}

}  // namespace

bool read_inline(RunState& run, Executor& executor, std::atomic<bool>& supported) {
  if (!supported.load(std::memory_order_relaxed) || !eligible(run)) return false;
  const std::optional<uint32_t> file = single_file(run);
  if (!file) return false;
  detail::BatchState& state = *run.batch;
  const std::string& path = (*run.paths)[*file];
  Descriptor d{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  struct statx stx{};
  if (d.fd < 0 || stat_fd(d.fd, kFileStatMask, &stx) != 0 || !S_ISREG(stx.stx_mode)) return false;
  const std::string_view expected = state.batch->expected_version(*file);
  if (!expected.empty() && file_version(stx) != expected) return false;

  const bool into = state.kind == detail::SinkKind::kInto;
  std::optional<plan::FilePlan> plan;
  std::vector<Bytes> buffers;
  uint64_t total = 0;
  try {
    plan = plan_small(run, stx.stx_size, path);
    if (!plan) return false;
    buffers.reserve(plan->reads.size());
    for (const plan::Read& r : plan->reads) {
      std::byte* dst = nullptr;
      if (into) {
        dst = state.into->dest(plan->targets[r.first_target].index).data();  // one target per read
      } else {
        buffers.push_back(executor.allocate(r.length));
        dst = buffers.back().mutable_data();
      }
      if (!read_cached(d.fd, dst, r.offset, r.length, supported)) return false;
      total += r.length;
    }
  } catch (const std::bad_alloc&) {
    return false;  // nothing delivered yet: the workers run the batch and report it
  }
  // Every read succeeded: deliver as a worker would (nothing here allocates),
  // then finish the batch. Callbacks run on this thread: the scope makes a
  // call back into the store fail as it does on a worker.
  detail::CallbackScope scope(state.store);
  for (const plan::Immediate& im : plan->immediates) state.deliver(im.index, Bytes());
  for (size_t k = 0; k < plan->reads.size(); ++k) {
    const plan::Read& r = plan->reads[k];
    for (uint32_t t = r.first_target; t < r.first_target + r.num_targets; ++t) {
      const plan::Target& target = plan->targets[t];
      state.deliver(target.index, into ? Bytes() : buffers[k].slice(target.offset_in_read, target.length));
    }
  }
  state.add_progress(state.batch->size(), total);
  state.finish();
  return true;
}

}  // namespace lsio::io
