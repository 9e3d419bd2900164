#include "plan/remote_plan.h"

#include <algorithm>

namespace lsio::plan {

RemotePlan plan_remote(std::span<const Request> requests, const RemotePlanOptions& options, std::string_view path) {
  RemotePlan plan;
  std::vector<Request> bounded;
  bounded.reserve(requests.size());
  for (const Request& r : requests) {
    if (Status s = r.range.check(); !s.ok()) {
      plan.immediates.push_back({r.index, s.with_context("read " + std::string(path))});
    } else if (!r.range.is_bounded() || r.range.length() == 0) {
      plan.open_ended.push_back(r.index);
    } else {
      bounded.push_back(r);
    }
  }
  const bool merge = options.merge && options.coalesce_gap > 0;
  if (merge) {
    std::stable_sort(bounded.begin(), bounded.end(),
                     [](const Request& a, const Request& b) { return a.range.begin() < b.range.begin(); });
  }
  plan.targets.reserve(bounded.size());
  for (const Request& r : bounded) {
    const uint64_t b = static_cast<uint64_t>(r.range.begin()), e = static_cast<uint64_t>(r.range.end());
    if (merge && !plan.fetches.empty()) {
      Fetch& f = plan.fetches.back();
      const uint64_t f_end = f.offset + f.length;
      const uint64_t new_end = std::max(f_end, e);
      if (b <= f_end + options.coalesce_gap && new_end - f.offset <= options.max_merged) {
        f.length = new_end - f.offset;
        plan.targets.push_back({r.index, b - f.offset, e - b});
        ++f.num_targets;
        continue;
      }
    }
    plan.fetches.push_back({b, e - b, static_cast<uint32_t>(plan.targets.size()), 1});
    plan.targets.push_back({r.index, 0, e - b});
  }
  return plan;
}

}  // namespace lsio::plan
