// Helpers shared by the array's read and write paths and the public API (api.cc).
#pragma once

#include <algorithm>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lsio/status.h"
#include "lsio/store.h"
#include "zarr/indexing.h"

namespace lsio::zarr {

// "prefix/name", or "name" when the prefix is empty.
std::string join_key(std::string_view prefix, std::string_view name);

// Reads one whole object with `options`; nullopt when it does not exist. Other errors are the store's (naming the
// key).
Result<std::optional<Bytes>> read_optional(Store& store, const std::string& key, const ReadOptions& options);

// Collects the first error raised by concurrent chunk callbacks.
class FirstError {
 public:
  void set(Status s) {
    std::lock_guard lock(mu_);
    if (first_.ok()) first_ = std::move(s);
  }
  Status get() {
    std::lock_guard lock(mu_);
    return first_;
  }

 private:
  std::mutex mu_;
  Status first_;
};

// Splits one dimension's shard-level part into its inner chunks.
inline std::vector<DimPart> split_part(const DimPart& part, uint64_t inner_len) {
  std::vector<DimPart> out;
  for (size_t k = 0; k < part.in_chunk.size(); ++k) {
    const uint64_t c = part.in_chunk[k] / inner_len;
    auto it = std::find_if(out.begin(), out.end(), [&](const DimPart& p) { return p.chunk == c; });
    DimPart* p = it != out.end() ? &*it : nullptr;
    if (!p) {
      // Room for one inner chunk's positions (more only with repeated list indices): one allocation per inner
      // chunk instead of a growth series, the bulk of planning a batch of crops.
      p = &out.emplace_back(DimPart{c, {}, {}});
      const size_t room = std::min<size_t>(part.in_chunk.size() - k, inner_len);
      p->in_chunk.reserve(room);
      p->in_out.reserve(room);
    }
    p->in_chunk.push_back(static_cast<uint32_t>(part.in_chunk[k] - c * inner_len));
    p->in_out.push_back(part.in_out[k]);
  }
  return out;
}

// Calls fn(combo) for every combination of one element from each list.
template <typename T, typename Fn>
void for_each_combination(const std::vector<std::vector<T>>& lists, Fn&& fn) {
  for (const auto& l : lists)
    if (l.empty()) return;
  std::vector<size_t> idx(lists.size(), 0);
  std::vector<const T*> combo(lists.size());
  for (;;) {
    for (size_t d = 0; d < lists.size(); ++d) combo[d] = &lists[d][idx[d]];
    fn(std::span<const T* const>(combo));
    size_t d = lists.size();
    while (d-- > 0) {
      if (++idx[d] < lists[d].size()) break;
      idx[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

inline uint64_t linear_index(std::span<const uint64_t> coords, std::span<const uint64_t> grid) {
  uint64_t i = 0;
  for (size_t d = 0; d < grid.size(); ++d) i = i * grid[d] + coords[d];
  return i;
}

// The chunk coordinates of one combination of per-dimension parts.
inline std::vector<uint64_t> coords_of(std::span<const DimPart* const> combo) {
  std::vector<uint64_t> c;
  c.reserve(combo.size());
  for (const DimPart* p : combo) c.push_back(p->chunk);
  return c;
}

}  // namespace lsio::zarr
