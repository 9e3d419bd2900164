// Fork detection: a counter that every forked child increments (pthread_atfork),
// so that objects owning threads can tell they run in a child and must not
// touch what the parent's threads left behind.
#pragma once

#include <cstdint>

namespace lsio::detail {

// 0 in the process that loaded LSIO; +1 in each generation of forked child.
uint64_t fork_generation();

}  // namespace lsio::detail
