// A benchmark facility, not part of the public API: a file store whose
// engine performs every open, read and close as a no-op (io_uring:
// IORING_OP_NOP through the ring; posix: no syscall) while everything else
// runs as usual: submit, scheduler, FileJob claim, planning, completion and
// delivery. Reads "succeed" with unwritten buffers; no file is touched. Used
// by lsio_bench --nop to measure the engine's own cost per operation.
#pragma once

#include <memory>

#include "lsio/store.h"

namespace lsio::store {

Result<std::shared_ptr<Store>> open_nop_file_store(const StoreOptions& options);

}  // namespace lsio::store
