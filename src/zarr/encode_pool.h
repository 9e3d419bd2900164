// The process-wide pool of threads the array writer encodes chunks on: started once (one thread per CPU, less
// the caller's) instead of once per write call, so a copy writing thousands of slabs does not create and join
// threads thousands of times.
#pragma once

#include <cstddef>
#include <functional>

namespace lsio::zarr {

// Runs work() on the calling thread and on up to `helpers` pool threads at once, and returns when every run that
// started has returned. work must be noexcept and share its own loop (it is called several times concurrently and
// returns when nothing is left). A pool thread that gets the job after the caller finished does not run it, so a
// busy pool (other writers) never delays the caller beyond its own share of the work.
void run_on_pool(size_t helpers, const std::function<void()>& work);

// Threads in the pool: one per CPU less one (at least one), the same for every call.
size_t pool_threads();

}  // namespace lsio::zarr
