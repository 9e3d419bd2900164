#include "plan/planner.h"

#include <algorithm>
#include <string>

namespace lsio::plan {
namespace {

constexpr uint64_t kMaxSyscallBytes = 1ull << 30;

// check()'s rule without building a Status (a per-request cost of the hot path).
bool well_formed(ByteRange r) { return (r.begin() >= 0 && r.end() >= r.begin()) || r.end() == ByteRange::kToEnd; }

bool before(const Resolved& x, const Resolved& y) { return x.begin != y.begin ? x.begin < y.begin : x.end > y.end; }

uint64_t align_down(uint64_t x, uint64_t a) { return x & ~(a - 1); }
uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

// Validates and resolves; sorts the readable requests by (begin, end desc).
void resolve_all(std::span<const Request> requests, uint64_t size, std::string_view path,
                 std::vector<Immediate>& immediates, std::vector<Resolved>& out) {
  out.clear();
  out.reserve(requests.size());
  for (const Request& r : requests) {
    if (!well_formed(r.range)) {
      immediates.push_back({r.index, r.range.check().with_context("read " + std::string(path))});
      continue;
    }
    const ByteRange::Absolute a = r.range.resolve(size);
    if (a.end > size || a.begin > size) {
      immediates.push_back({r.index, past_eof_status(path, r.range, size)});
    } else if (a.end == a.begin) {
      immediates.push_back({r.index, Status()});
    } else {
      out.push_back({r.index, a.begin, a.end});
    }
  }
  // Requests often come in file order already (Zarr chunks, sequential
  // scans): one pass instead of a sort then.
  if (!std::is_sorted(out.begin(), out.end(), before)) std::sort(out.begin(), out.end(), before);
}

}  // namespace

Status past_eof_status(std::string_view path, ByteRange range, uint64_t file_size) {
  return Status(StatusCode::kOutOfRange, "read " + std::string(path) + " " + range.to_string() +
                                             ": range past end of file (file size " + std::to_string(file_size) + ")");
}

uint64_t part_length(uint64_t part_size, uint64_t align) {
  const uint64_t p = std::clamp<uint64_t>(part_size, align, kMaxSyscallBytes);
  return std::max(align, align_down(p, align));
}

uint64_t part_count(uint64_t length, uint64_t part_size, uint64_t align) {
  const uint64_t p = part_length(part_size, align);
  return length == 0 ? 0 : (length + p - 1) / p;
}

FilePlan plan_file(std::span<const Request> requests, uint64_t file_size, const PlanOptions& options,
                   std::string_view path) {
  FilePlan plan;
  PlanScratch scratch;
  plan_file(requests, file_size, options, path, plan, scratch);
  return plan;
}

void plan_file(std::span<const Request> requests, uint64_t file_size, const PlanOptions& options, std::string_view path,
               FilePlan& plan, PlanScratch& scratch) {
  plan.reads.clear();
  plan.targets.clear();
  plan.immediates.clear();
  std::vector<Resolved>& sorted = scratch.sorted;
  resolve_all(requests, file_size, path, plan.immediates, sorted);
  const uint64_t align = std::max<uint64_t>(options.align, 1);
  plan.targets.reserve(sorted.size());
  plan.reads.reserve(sorted.size());

  size_t i = 0;
  while (i < sorted.size()) {
    // Grow one read [rb, re) over as many sorted requests as the rules allow.
    const uint64_t rb = align_down(sorted[i].begin, align);
    uint64_t re = sorted[i].end;
    size_t j = i + 1;
    if (options.merge) {
      for (; j < sorted.size(); ++j) {
        const Resolved& next = sorted[j];
        const bool overlaps = next.begin < re;
        const bool near = next.begin - std::min(next.begin, re) <= options.coalesce_gap;
        const bool fits = std::max(re, next.end) - rb <= options.max_merged;
        if (!overlaps && !(near && fits)) break;
        re = std::max(re, next.end);
      }
    }
    const uint64_t read_end = align_up(re, align);
    plan.reads.push_back({rb, read_end - rb, static_cast<uint32_t>(plan.targets.size()), static_cast<uint32_t>(j - i)});
    for (size_t k = i; k < j; ++k) {
      plan.targets.push_back({sorted[k].index, sorted[k].begin - rb, sorted[k].end - sorted[k].begin});
    }
    i = j;
  }
}

}  // namespace lsio::plan
