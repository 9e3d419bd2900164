// Inline reads: a small batch whose bytes the page cache holds is read on the
// calling thread with preadv2(RWF_NOWAIT), skipping the two thread hand-offs
// (caller -> worker -> caller) that otherwise cost more than the reads. Any
// read the page cache cannot answer at once (EAGAIN, a short read), and
// anything unusual (a missing file, a range past EOF, a changed version, an
// error of any kind), sends the whole batch to the workers untouched: nothing
// is delivered inline unless everything is, so every error is still the
// engine's, with its message.
//
// Never blocks on the device: RWF_NOWAIT reads only cached pages. The open and
// statx of a hot path are metadata lookups the workers would make too.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "io/executor.h"

namespace lsio::io {

// A batch small enough to try inline: at most kInlineMaxRequests requests of
// one file and kInlineMaxBytes in all; with a callback (e.g. a decode) only
// one request, so that a batch of several still spreads its work over the
// workers.
constexpr size_t kInlineMaxRequests = 8;
constexpr uint64_t kInlineMaxBytes = 1u << 20;

// Reads `run` on this thread and finishes its batch; false (nothing delivered,
// the batch untouched) when it is not eligible or any read could not be
// answered from the page cache. `supported` is cleared for good when the
// kernel or file system refuses RWF_NOWAIT.
bool read_inline(RunState& run, Executor& executor, std::atomic<bool>& supported);

}  // namespace lsio::io
