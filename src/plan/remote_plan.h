// Request planning for object stores (S3, HTTP), where every request costs a
// round trip: ranges of one object closer than `coalesce_gap` become one GET
// of at most `max_merged` bytes; a gap of 0 merges nothing (not even touching
// or overlapping ranges: each range is its own request, as asked). Ranges that
// need the object's size (suffix, to-EOF, whole, empty) are fetched on their
// own: the response's Content-Range tells the size.
#pragma once

#include <span>
#include <vector>

#include "plan/planner.h"

namespace lsio::plan {

struct RemotePlanOptions {
  uint64_t coalesce_gap = 1 << 20;
  uint64_t max_merged = 16ull << 20;
  bool merge = true;  // false: one fetch per request (caller-owned destinations)
};

// One ranged GET of [offset, offset + length); its targets are
// plan.targets[first_target, first_target + num_targets).
struct Fetch {
  uint64_t offset;
  uint64_t length;
  uint32_t first_target;
  uint32_t num_targets;
};

struct RemotePlan {
  std::vector<Fetch> fetches;  // bounded, non-empty ranges
  std::vector<Target> targets;
  std::vector<uint32_t> open_ended;   // request indices that need the size
  std::vector<Immediate> immediates;  // invalid ranges
};

RemotePlan plan_remote(std::span<const Request> requests, const RemotePlanOptions& options, std::string_view path);

}  // namespace lsio::plan
