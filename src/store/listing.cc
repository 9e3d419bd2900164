#include "store/listing.h"

#include <algorithm>

namespace lsio::store {

bool is_temporary_name(std::string_view name) { return name.find(".lsio-tmp.") != std::string_view::npos; }

Listing make_listing(std::vector<ListEntry> all, std::string_view prefix, bool recursive) {
  std::sort(all.begin(), all.end(), [](const ListEntry& a, const ListEntry& b) { return a.path < b.path; });
  Listing out;
  if (recursive) {
    out.objects = std::move(all);
    return out;
  }
  for (ListEntry& e : all) {
    const size_t slash = e.path.find('/', prefix.size());
    if (slash == std::string::npos) {
      out.objects.push_back(std::move(e));
    } else if (std::string p = e.path.substr(0, slash + 1); out.prefixes.empty() || out.prefixes.back() != p) {
      out.prefixes.push_back(std::move(p));  // sorted input: equal prefixes are adjacent
    }
  }
  return out;
}

}  // namespace lsio::store
