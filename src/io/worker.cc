#include "io/worker.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace lsio::io {
namespace {

enum Op : uint64_t { kOpen = 1, kStat = 2, kPart = 3, kClose = 4 };
uint64_t tag(Op op, uint32_t index) { return (op << 32) | index; }
Op tag_op(uint64_t t) { return static_cast<Op>(t >> 32); }
uint32_t tag_index(uint64_t t) { return static_cast<uint32_t>(t); }

constexpr uint64_t kDefaultDioAlign = 4096;
constexpr unsigned kStatMask = STATX_SIZE | STATX_TYPE;

}  // namespace

Worker::Worker(Backend& backend, const BackendOptions& options, BufferPool& pool)
    : backend_(backend),
      options_(options),
      files_(options.file_slots),
      reads_(options.queue_depth),
      parts_(options.queue_depth),
      pool_(pool) {
  for (uint32_t i = options.file_slots; i-- > 0;) free_files_.push_back(i);
  for (uint32_t i = options.queue_depth; i-- > 0;) {
    free_reads_.push_back(i);
    free_parts_.push_back(i);
  }
}

void Worker::run(RunState& state) {
  state_ = &state;
  job_ = state.job;
  jobs_exhausted_ = false;
  queued_requests_ = 0;
  files_in_setup_ = 0;
  std::vector<Completion> completions(256);
  for (;;) {
    admit_files();
    issue_reads();
    if (ops_in_flight_ == 0 && ready_files_.empty() && partial_reads_.empty() &&
        (jobs_exhausted_ || state.cancelled.load(std::memory_order_relaxed))) {
      break;
    }
    const size_t n = backend_.poll(completions, /*wait=*/true);
    for (size_t i = 0; i < n; ++i) {
      --ops_in_flight_;
      on_completion(completions[i]);
    }
  }
  slab_.reset();
  state_ = nullptr;
  job_ = nullptr;
}

// ---- files --------------------------------------------------------------

void Worker::admit_files() {
  // Take another file only when this worker is about to run out of work: no
  // opened file waiting for its reads to start, few files still opening, and
  // fewer queued requests than its queue depth. Files a worker does not take
  // stay for the other workers.
  while (!free_files_.empty() && !jobs_exhausted_ && ready_files_.empty() && files_in_setup_ < kMaxFilesInSetup &&
         queued_requests_ < reads_.size() && !state_->cancelled.load(std::memory_order_relaxed)) {
    const size_t j = state_->next_job.fetch_add(1, std::memory_order_relaxed);
    if (j >= state_->file_jobs.size()) {
      jobs_exhausted_ = true;
      break;
    }
    const uint32_t slot = free_files_.back();
    free_files_.pop_back();
    start_file(slot, state_->file_jobs[j]);
  }
}

void Worker::start_file(uint32_t slot, const FileJob& fj) {
  FileState& f = files_[slot];
  f = FileState{};
  f.used = true;
  f.job = fj;
  f.path = &(*job_->paths)[fj.file];
  f.queued = true;
  queued_requests_ += fj.count;
  if (const Status& bad = (*job_->path_errors)[fj.file]; !bad.ok()) {
    fail_file(f, bad);
    return finish_file_if_done(slot);
  }
  f.pending_setup = 2;
  ++files_in_setup_;
  const int flags = O_RDONLY | (job_->options.direct ? O_DIRECT : 0);
  // open and statx go out together; the reads wait for both.
  backend_.open(slot, f.path->c_str(), flags, tag(kOpen, slot));
  backend_.stat(f.path->c_str(), kStatMask | (job_->options.direct ? STATX_DIOALIGN : 0), &f.stx, tag(kStat, slot));
  ops_in_flight_ += 2;
}

uint64_t Worker::alignment(const FileState& f) const {
  if (!job_->options.direct) return 1;
  if ((f.stx.stx_mask & STATX_DIOALIGN) && f.stx.stx_dio_offset_align > 0) {
    return std::max<uint64_t>(f.stx.stx_dio_offset_align, f.stx.stx_dio_mem_align);
  }
  return kDefaultDioAlign;
}

void Worker::file_setup_done(uint32_t slot) {
  FileState& f = files_[slot];
  if (f.error.ok() && S_ISDIR(f.stx.stx_mode)) f.error = errno_status(EISDIR, "read", *f.path);
  if (!f.error.ok()) return fail_file(f, f.error), finish_file_if_done(slot);

  std::vector<plan::Request> requests;
  requests.reserve(f.job.count);
  const uint32_t* order = state_->order.data() + f.job.first;
  for (uint32_t k = 0; k < f.job.count; ++k) requests.push_back({order[k], job_->batch->range(order[k])});
  plan::PlanOptions po;
  po.coalesce_gap = job_->options.coalesce_gap;
  po.max_merged = job_->options.max_merged;
  po.merge = job_->mode != Job::Mode::kInto;
  po.align = alignment(f);
  f.plan = plan::plan_file(requests, f.stx.stx_size, po, *f.path);
  for (const plan::Immediate& im : f.plan.immediates) {
    if (!im.status.ok()) {
      deliver(im.index, error(im.status));
    } else if (Status s = check_into_length(f, im.index, 0); !s.ok()) {
      deliver(im.index, error(s));
    } else {
      deliver(im.index, Bytes());
    }
  }
  if (!f.plan.reads.empty()) {
    ready_files_.push_back(slot);
  } else {
    finish_file_if_done(slot);
  }
}

void Worker::fail_file(FileState& f, const Status& status) {
  const uint32_t* order = state_->order.data() + f.job.first;
  for (uint32_t k = 0; k < f.job.count; ++k) deliver(order[k], error(status));
}

void Worker::unqueue(FileState& f) {
  if (!f.queued) return;
  f.queued = false;
  queued_requests_ -= f.job.count;
}

void Worker::finish_file_if_done(uint32_t slot) {
  FileState& f = files_[slot];
  const bool reads_left = f.next_read < f.plan.reads.size() && f.error.ok();
  if (f.pending_setup == 0 && !reads_left) unqueue(f);
  if (f.closing || f.pending_setup > 0 || f.reads_in_flight > 0 || reads_left) return;
  if (f.open_ok) {
    f.open_ok = false;
    f.closing = true;
    backend_.close(slot, tag(kClose, slot));
    ++ops_in_flight_;
    return;
  }
  f = FileState{};
  free_files_.push_back(slot);
}

// ---- reads --------------------------------------------------------------

void Worker::issue_reads() {
  const uint64_t cap = options_.max_inflight_bytes * (job_->options.direct ? 32 : 1);
  while (!free_parts_.empty() && (bytes_in_flight_ == 0 || bytes_in_flight_ < cap)) {
    if (!partial_reads_.empty()) {
      issue_part(partial_reads_.front());
    } else if (!start_next_read()) {
      break;
    }
  }
}

bool Worker::start_next_read() {
  while (!ready_files_.empty()) {
    const uint32_t slot = ready_files_.front();
    FileState& f = files_[slot];
    if (state_->cancelled.load(std::memory_order_relaxed) || f.next_read >= f.plan.reads.size()) {
      ready_files_.pop_front();
      if (state_->cancelled.load(std::memory_order_relaxed)) f.next_read = f.plan.reads.size();
      finish_file_if_done(slot);
      continue;
    }
    if (free_reads_.empty()) return false;
    const uint32_t r = free_reads_.back();
    free_reads_.pop_back();
    const plan::Read& read = f.plan.reads[f.next_read];
    ReadState& rs = reads_[r];
    rs = ReadState{};
    rs.file = slot;
    rs.read = static_cast<uint32_t>(f.next_read++);
    // Leave the queue with the last read, so no stale entry outlives the file.
    if (f.next_read == f.plan.reads.size()) {
      ready_files_.pop_front();
      unqueue(f);
    }
    const uint64_t align = alignment(f);
    const uint64_t size = f.stx.stx_size;
    rs.expected = std::min(read.offset + read.length, std::max(size, read.offset)) - read.offset;
    rs.part_len = plan::part_length(job_->options.part_size, align);
    std::byte* dest = nullptr;
    if (job_->mode == Job::Mode::kInto) {
      const uint32_t index = f.plan.targets[read.first_target].index;
      std::span<std::byte> d = job_->into->dest(index);
      const bool aligned = align == 1 || (reinterpret_cast<uintptr_t>(d.data()) % align == 0 && d.size() % align == 0 &&
                                          read.length == d.size());
      if (aligned) dest = d.data();
    }
    if (dest != nullptr) {
      rs.base = dest;
    } else {
      rs.buffer = allocate(read.length, std::max<uint64_t>(align, 64));
      rs.base = rs.buffer.mutable_data();
    }
    ++f.reads_in_flight;
    partial_reads_.push_back(r);
    return true;
  }
  return false;
}

Bytes Worker::allocate(uint64_t size, uint64_t align) {
  if (size <= Slab::kMaxCarve && align <= 4096) return slab_.carve(size, align);
  if (align <= BufferPool::kAlignment) return pool_.allocate(size);
  return Bytes::allocate(size, align);
}

void Worker::issue_part(uint32_t r) {
  ReadState& rs = reads_[r];
  const plan::Read& read = files_[rs.file].plan.reads[rs.read];
  const uint32_t p = free_parts_.back();
  free_parts_.pop_back();
  PartState& part = parts_[p];
  part.read_state = r;
  part.offset = rs.next_part;
  part.len = static_cast<uint32_t>(std::min(rs.part_len, read.length - rs.next_part));
  part.done = 0;
  rs.next_part += part.len;
  bytes_in_flight_ += part.len;
  ++rs.parts_in_flight;
  if (rs.next_part >= read.length) partial_reads_.pop_front();
  submit_part(p);
}

void Worker::submit_part(uint32_t p) {
  PartState& part = parts_[p];
  ReadState& rs = reads_[part.read_state];
  const plan::Read& read = files_[rs.file].plan.reads[rs.read];
  backend_.read(rs.file, rs.base + part.offset + part.done, part.len - part.done, read.offset + part.offset + part.done,
                tag(kPart, p));
  ++ops_in_flight_;
}

void Worker::on_completion(const Completion& c) {
  const uint32_t index = tag_index(c.tag);
  switch (tag_op(c.tag)) {
    case kOpen: {
      FileState& f = files_[index];
      if (c.res < 0) {
        const bool direct = job_->options.direct && c.res == -EINVAL;
        Status s = errno_status(static_cast<int>(-c.res), direct ? "open (O_DIRECT)" : "open", *f.path);
        if (f.error.ok()) f.error = s;
      } else {
        f.open_ok = true;
      }
      if (--f.pending_setup == 0) --files_in_setup_, file_setup_done(index);
      return;
    }
    case kStat: {
      FileState& f = files_[index];
      if (c.res < 0 && f.error.ok()) f.error = errno_status(static_cast<int>(-c.res), "statx", *f.path);
      if (--f.pending_setup == 0) --files_in_setup_, file_setup_done(index);
      return;
    }
    case kPart:
      return on_part_done(index, c.res);
    case kClose: {
      files_[index] = FileState{};
      free_files_.push_back(index);
      return;
    }
  }
}

void Worker::on_part_done(uint32_t p, int64_t res) {
  PartState& part = parts_[p];
  ReadState& rs = reads_[part.read_state];
  const FileState& f = files_[rs.file];
  const uint64_t part_expected = std::min<uint64_t>(part.len, rs.expected - std::min(rs.expected, part.offset));
  if (res == -EAGAIN || res == -EINTR) return submit_part(p);  // the kernel asks us to try again
  if (res < 0) {
    if (rs.error.ok()) {
      const plan::Read& read = f.plan.reads[rs.read];
      rs.error = errno_status(static_cast<int>(-res), "read", *f.path, read.offset + part.offset, part.len);
    }
  } else {
    part.done += static_cast<uint32_t>(res);
    if (part.done < part_expected) {
      if (res > 0) return submit_part(p);  // short read: resubmit the rest
      if (rs.error.ok()) {
        const plan::Read& read = f.plan.reads[rs.read];
        rs.error =
            Status(StatusCode::kDataLoss,
                   "read " + *f.path + " [offset " + std::to_string(read.offset + part.offset) + ", length " +
                       std::to_string(part.len) + "]: unexpected end of file after " + std::to_string(part.done) +
                       " bytes (file shrank while being read? size was " + std::to_string(f.stx.stx_size) + ")");
      }
    }
  }
  bytes_in_flight_ -= part.len;
  free_parts_.push_back(p);
  if (--rs.parts_in_flight == 0 && rs.next_part >= f.plan.reads[rs.read].length) on_read_done(part.read_state);
}

void Worker::on_read_done(uint32_t r) {
  ReadState& rs = reads_[r];
  const uint32_t slot = rs.file;
  FileState& f = files_[slot];
  deliver_targets(f, f.plan.reads[rs.read], rs);
  rs = ReadState{};
  free_reads_.push_back(r);
  --f.reads_in_flight;
  finish_file_if_done(slot);
}

void Worker::deliver_targets(const FileState& f, const plan::Read& read, const ReadState& rs) {
  const plan::Target* t = f.plan.targets.data() + read.first_target;
  for (uint32_t k = 0; k < read.num_targets; ++k) {
    if (!rs.error.ok()) {
      deliver(t[k].index, error(rs.error));
    } else if (job_->mode == Job::Mode::kInto) {
      std::span<std::byte> d = job_->into->dest(t[k].index);
      if (Status s = check_into_length(f, t[k].index, t[k].length); !s.ok()) {
        deliver(t[k].index, error(s));
        continue;
      }
      if (rs.base + t[k].offset_in_read != d.data()) std::memcpy(d.data(), rs.base + t[k].offset_in_read, t[k].length);
      deliver(t[k].index, Bytes());
    } else {
      deliver(t[k].index, rs.buffer.slice(t[k].offset_in_read, t[k].length));
    }
  }
}

// A suffix range clamps at the start of a short file; a caller's destination
// of fixed size must then be refused rather than left partly unwritten.
Status Worker::check_into_length(const FileState& f, uint32_t index, uint64_t length) const {
  if (job_->mode != Job::Mode::kInto) return {};
  const size_t want = job_->into->dest(index).size();
  if (length == want) return {};
  return Status(StatusCode::kOutOfRange, "read " + *f.path + " " + job_->batch->range(index).to_string() +
                                             ": file has only " + std::to_string(length) + " of the " +
                                             std::to_string(want) + " bytes the destination needs (file size " +
                                             std::to_string(f.stx.stx_size) + ")");
}

void Worker::deliver(uint32_t index, Result<Bytes> result) {
  switch (job_->mode) {
    case Job::Mode::kRead:
      (*job_->results)[index] = std::move(result);
      return;
    case Job::Mode::kInto:
      (*job_->statuses)[index] = result ? Status() : result.error();
      return;
    case Job::Mode::kForEach:
      if (state_->cancelled.load(std::memory_order_relaxed)) return;
      try {
        (*job_->callback)(index, std::move(result));
      } catch (const std::exception& e) {
        std::lock_guard lock(state_->error_mu);
        if (!state_->cancelled.exchange(true)) {
          state_->cancel_status = Status(StatusCode::kCancelled, std::string("for_each callback threw: ") + e.what());
        }
      } catch (...) {
        std::lock_guard lock(state_->error_mu);
        if (!state_->cancelled.exchange(true)) {
          state_->cancel_status = Status(StatusCode::kCancelled, "for_each callback threw a non-standard exception");
        }
      }
      return;
  }
}

}  // namespace lsio::io
