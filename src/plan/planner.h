// Per-file read planning: resolve ranges against the file size, merge nearby
// and overlapping ranges, align for O_DIRECT, and record where each request's
// bytes lie inside the merged reads.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "lsio/byte_range.h"
#include "lsio/status.h"

namespace lsio::plan {

struct PlanOptions {
  uint64_t coalesce_gap = 0;          // merge when the gap is <= this
  uint64_t max_merged = 16ull << 20;  // do not grow a merged read past this (overlaps excepted)
  bool merge = true;                  // false: one read per request (caller-owned destinations)
  uint64_t align = 1;                 // O_DIRECT offset/length alignment (power of two)
};

// One request as the planner sees it.
struct Request {
  uint32_t index;  // position in the caller's batch
  ByteRange range;
};

// Where one request's bytes lie in a planned read.
struct Target {
  uint32_t index;           // request index
  uint64_t offset_in_read;  // bytes from the start of the read
  uint64_t length;
};

// One contiguous read of the file. Its targets are plan.targets[first_target,
// first_target + num_targets).
struct Read {
  uint64_t offset;
  uint64_t length;  // may extend past EOF only by O_DIRECT alignment padding
  uint32_t first_target;
  uint32_t num_targets;
};

// A request the planner answered without reading: an empty range (value) or a
// range outside the file (error).
struct Immediate {
  uint32_t index;
  Status status;  // ok(): an empty result
};

struct FilePlan {
  std::vector<Read> reads;
  std::vector<Target> targets;
  std::vector<Immediate> immediates;
};

// A request resolved against the file size (planner internals).
struct Resolved {
  uint32_t index;
  uint64_t begin;
  uint64_t end;
};

// Working memory of plan_file. A caller that plans file after file (a worker)
// keeps one, and one FilePlan per slot, so that planning stops allocating once
// the vectors have grown (it was the largest per-file cost of small batches).
struct PlanScratch {
  std::vector<Resolved> sorted;
};

// Plans the requests of one file of `file_size` bytes into `plan` (cleared
// first; its capacity is reused). `path` is only used in error messages.
// Never fails as a whole: bad requests become Immediates. Throws
// std::bad_alloc only.
void plan_file(std::span<const Request> requests, uint64_t file_size, const PlanOptions& options, std::string_view path,
               FilePlan& plan, PlanScratch& scratch);
// The same, into a new plan.
FilePlan plan_file(std::span<const Request> requests, uint64_t file_size, const PlanOptions& options,
                   std::string_view path);

// The error for a range that lies (partly) past the end of a file.
Status past_eof_status(std::string_view path, ByteRange range, uint64_t file_size);

// Cuts [0, length) into parts of at most `part_size` bytes (and never more than
// 1 GiB, below the kernel's 2 GiB per-syscall limit), each a multiple of
// `align` except possibly the last. Returns the part boundaries' count.
uint64_t part_count(uint64_t length, uint64_t part_size, uint64_t align);
uint64_t part_length(uint64_t part_size, uint64_t align);

}  // namespace lsio::plan
