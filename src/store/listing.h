// Shared pieces of Store::list for stores that enumerate keys themselves.
#pragma once

#include <string_view>

#include "lsio/store.h"

namespace lsio::store {

// True for put()'s unfinished temporary files ("<name>.lsio-tmp.<pid>.<n>"), never listed.
bool is_temporary_name(std::string_view name);

// Sorts `all` (every object whose path starts with `prefix`) by path and, when
// not recursive, folds the ones with a "/" after the prefix into `prefixes`.
Listing make_listing(std::vector<ListEntry> all, std::string_view prefix, bool recursive);

}  // namespace lsio::store
