#include "core/fork.h"

#include <pthread.h>

#include <atomic>

namespace lsio::detail {
namespace {

std::atomic<uint64_t> generation{0};

void in_child() { generation.fetch_add(1, std::memory_order_relaxed); }

// Registered when the library is loaded, before any store exists.
const int registered = pthread_atfork(nullptr, nullptr, &in_child);

}  // namespace

uint64_t fork_generation() {
  static_cast<void>(registered);
  return generation.load(std::memory_order_relaxed);
}

}  // namespace lsio::detail
