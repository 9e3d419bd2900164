#include "store/remote/read_run.h"

#include <algorithm>
#include <cstring>

#include "store/remote/http_checks.h"

namespace lsio::remote {

struct ReadRun::FileCtx {
  std::string expected;  // the batch's expected version ("" none)
  std::string pinned;    // the first ETag seen: every later response must carry it
};

struct ReadRun::Job {
  uint32_t file = 0;
  uint64_t offset = 0;  // the bytes [offset, offset + length) land at dest
  uint64_t length = 0;
  uint32_t first_target = 0;  // bounded jobs: targets_[first_target, + num_targets)
  uint32_t num_targets = 0;
  int64_t request = -1;  // open-ended jobs: the one request (suffix, to-EOF, whole, empty)
  Bytes buffer;
  std::byte* dest = nullptr;
  uint32_t units_left = 0;
  uint64_t valid_end = UINT64_MAX;  // bytes from here on do not exist (the object ends here)
  std::optional<uint64_t> total;    // the object's size, once a response told it
  Status error;
};

struct ReadRun::Unit {
  Unit(uint32_t j, uint64_t o, uint64_t l, std::byte* d, const RetryPolicy& p)
      : job(j), offset(o), length(l), dest(d), attempts(p) {}
  uint32_t job;
  uint64_t offset;  // bounded units: object bytes [offset, offset + length) into dest
  uint64_t length;
  std::byte* dest;
  uint64_t got = 0;    // bytes received so far: a retry resumes here
  bool probe = false;  // an open-ended job's first GET (its body is buffered)
  Attempts attempts;
  io::http::Clock::time_point not_before{};  // a retry waits for its backoff
  // Under mu_: the engine id of the attempt in flight, and which attempt it is.
  uint64_t transfer = 0;
  unsigned transfer_attempt = 0;
  unsigned answered = 0;  // the last attempt whose response arrived
};

namespace {

Status wrong_response(std::string what, const io::http::Response& r, std::string_view why) {
  return Status(StatusCode::kDataLoss, what + ": HTTP " + std::to_string(r.status) + " with Content-Range '" +
                                           r.content_range + "': " + std::string(why));
}

}  // namespace

ReadRun::ReadRun(RemoteStore& store, io::http::Engine* engine, std::shared_ptr<detail::BatchState> state)
    : store_(store),
      engine_(engine),
      state_(std::move(state)),
      batch_(*state_->batch),
      into_(state_->kind == detail::SinkKind::kInto),
      part_(std::max<uint64_t>(1, state_->options.part_size.value_or(store.options().part_size))),
      max_merged_(std::max<uint64_t>(1, state_->options.max_merged.value_or(store.options().max_merged))),
      window_(2 * std::max(1u, store.options().max_inflight)) {}

ReadRun::~ReadRun() = default;

std::string ReadRun::describe(uint32_t file) const { return store_.endpoint().describe(batch_.paths()[file]); }

void ReadRun::start() {
  {
    std::lock_guard lock(state_->mu);
    std::weak_ptr<ReadRun> weak = weak_from_this();
    state_->on_cancel = [weak] {
      if (auto run = weak.lock()) run->cancel();
    };
  }
  plan();
  if (state_->is_cancelled()) cancel();
  pump();
  maybe_finish();
}

void ReadRun::plan() {
  files_.resize(batch_.paths().size());
  for (uint32_t f = 0; f < files_.size(); ++f) files_[f].expected = std::string(batch_.expected_version(f));
  // Counting sort of request indices by object.
  std::vector<uint32_t> start(files_.size() + 1, 0);
  for (size_t i = 0; i < batch_.size(); ++i) ++start[batch_.file_of(i) + 1];
  for (size_t f = 0; f < files_.size(); ++f) start[f + 1] += start[f];
  std::vector<plan::Request> sorted(batch_.size());
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (size_t i = 0; i < batch_.size(); ++i) {
    sorted[fill[batch_.file_of(i)]++] = {static_cast<uint32_t>(i), batch_.range(i)};
  }
  plan::RemotePlanOptions po;
  po.coalesce_gap = state_->options.coalesce_gap.value_or(store_.options().coalesce_gap);
  po.max_merged = std::min<uint64_t>(max_merged_, state_->max_request_bytes);
  po.merge = !into_;
  for (uint32_t f = 0; f < files_.size(); ++f) {
    plan_file(f, std::span(sorted).subspan(start[f], start[f + 1] - start[f]), po);
  }
  jobs_left_ = jobs_.size();
}

void ReadRun::plan_file(uint32_t file, std::span<const plan::Request> requests, const plan::RemotePlanOptions& po) {
  if (requests.empty()) return;
  const std::string& key = batch_.paths()[file];
  if (key.empty() || key.front() == '/') {
    const Status bad(StatusCode::kInvalidArgument,
                     "read " + describe(file) + ": object keys are relative to the store (no leading '/', not empty)");
    for (const plan::Request& r : requests) deliver(r.index, error(bad), 0);
    return;
  }
  plan::RemotePlan p = plan::plan_remote(requests, po, describe(file));
  for (const plan::Immediate& im : p.immediates) deliver(im.index, error(im.status), 0);
  const uint32_t base = static_cast<uint32_t>(targets_.size());
  targets_.insert(targets_.end(), p.targets.begin(), p.targets.end());
  for (const plan::Fetch& f : p.fetches) {
    Job job;
    job.file = file;
    job.offset = f.offset;
    job.length = f.length;
    job.first_target = base + f.first_target;
    job.num_targets = f.num_targets;
    jobs_.push_back(std::move(job));
  }
  for (uint32_t index : p.open_ended) {
    Job job;
    job.file = file;
    job.request = index;
    jobs_.push_back(std::move(job));
  }
}

// Prepares the units of job `j` (under mu_); false when the job failed at once.
bool ReadRun::add_units(uint32_t j) {
  Job& job = jobs_[j];
  const RetryPolicy& policy = store_.retry_policy();
  if (job.request >= 0) {
    auto u = std::make_shared<Unit>(j, 0, 0, nullptr, policy);
    u->probe = true;
    job.units_left = 1;
    ready_.push_back(std::move(u));
    return true;
  }
  if (job.length > state_->max_request_bytes) {
    job.error = Status(StatusCode::kResourceExhausted,
                       "read " + describe(job.file) + " " + range_text(job.offset, job.offset + job.length) +
                           ": larger than max_request_bytes (" + std::to_string(state_->max_request_bytes) + ")");
    return false;
  }
  if (into_) {
    job.dest = state_->into->dest(targets_[job.first_target].index).data();
  } else {
    try {
      job.buffer = Bytes::allocate(job.length);
    } catch (const std::bad_alloc&) {
      job.error = Status(StatusCode::kResourceExhausted, "read " + describe(job.file) + " " +
                                                             range_text(job.offset, job.offset + job.length) +
                                                             ": out of memory for the buffer");
      return false;
    }
    job.dest = job.buffer.mutable_data();
  }
  add_parts(j, job.offset, job.offset + job.length);
  return true;
}

// Units for [begin, end) of job j: GETs of at most part_ bytes. A merged fetch
// is split too: several big responses in flight at once over one host slow
// every connection down (measured on loopback nginx: 1 GiB as 4 MiB GETs, 16
// in flight, took 1.7x as long as the same bytes as 1 MiB GETs; with one in
// flight the two were even), so part_size, not the merge, sets a GET's size.
void ReadRun::add_parts(uint32_t j, uint64_t begin, uint64_t end) {
  Job& job = jobs_[j];
  const uint64_t step = std::min(part_, end - begin);
  for (uint64_t o = begin; o < end; o += step) {
    const uint64_t len = std::min(step, end - o);
    ready_.push_back(std::make_shared<Unit>(j, o, len, job.dest + (o - job.offset), store_.retry_policy()));
    ++job.units_left;
  }
}

void ReadRun::pump() {
  std::vector<std::shared_ptr<Unit>> to_send;
  std::vector<uint32_t> failed_jobs;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    while (inflight_ < window_) {
      if (ready_.empty()) {
        if (next_job_ == jobs_.size()) break;
        const uint32_t j = static_cast<uint32_t>(next_job_++);
        if (!add_units(j)) {
          failed_jobs.push_back(j);
          ++inflight_;  // until delivered (see unit_done)
        }
        continue;
      }
      to_send.push_back(std::move(ready_.front()));
      ready_.pop_front();
      ++inflight_;
    }
  }
  for (uint32_t j : failed_jobs) {
    job_done(jobs_[j]);
    std::lock_guard lock(mu_);
    --inflight_;
  }
  for (auto& u : to_send) send(u);
}

// A probe for [b, ...) starts one byte early (b - 1), so that a range starting
// exactly at the end of the object is answered 206 and not 416: S3 sends no
// size with a 416, and without it [size, size) could not be told from past-EOF.
uint64_t ReadRun::probe_begin(const ByteRange& r) {
  if (r.is_suffix()) return 0;
  const auto b = static_cast<uint64_t>(r.begin());
  return b > 0 ? b - 1 : 0;
}

std::string ReadRun::range_header(const Unit& u) const {
  if (!u.probe) {
    return "Range: bytes=" + std::to_string(u.offset + u.got) + "-" + std::to_string(u.offset + u.length - 1);
  }
  const ByteRange r = batch_.range(static_cast<size_t>(jobs_[u.job].request));
  if (r.is_suffix()) return "Range: bytes=-" + std::to_string(-r.begin());
  const uint64_t first = probe_begin(r);
  const uint64_t last = r.is_bounded() ? static_cast<uint64_t>(r.begin()) : first + part_ - 1;
  return "Range: bytes=" + std::to_string(first) + "-" + std::to_string(std::max(first, last));
}

void ReadRun::send(const std::shared_ptr<Unit>& u) {
  const Job& job = jobs_[u->job];
  io::http::Request req;
  Status prepared = store_.endpoint().prepare(req, batch_.paths()[job.file]);
  if (!prepared.ok()) {
    unit_done(*u, prepared.with_context("read " + describe(job.file)));
    return;
  }
  req.headers.push_back(range_header(*u));
  {
    std::lock_guard lock(mu_);
    const FileCtx& f = files_[job.file];
    const std::string& version = !f.expected.empty() ? f.expected : f.pinned;
    if (!version.empty() && !version.starts_with("W/")) req.headers.push_back("If-Match: " + version);
  }
  if (u->probe) {
    req.max_buffered = state_->max_request_bytes;
  } else {
    req.write_into = true;
    req.into = std::span<std::byte>(u->dest + u->got, u->length - u->got);
  }
  u->attempts.start();
  const unsigned attempt = u->attempts.made();
  std::shared_ptr<ReadRun> self = shared_from_this();
  const uint64_t id = engine_->submit(
      std::move(req), [self, u, attempt](io::http::Response&& r) { self->on_response(u, attempt, std::move(r)); },
      u->not_before);
  bool cancel_now = false;
  {
    std::lock_guard lock(mu_);
    if (u->answered < attempt) {
      u->transfer = id;
      u->transfer_attempt = attempt;
      transfer_ids_.insert(id);
      cancel_now = cancelled_;
    }
  }
  if (cancel_now) engine_->cancel(id);
}

Status ReadRun::check_etag(uint32_t file, const std::string& etag) {
  if (etag.empty()) return {};
  std::lock_guard lock(mu_);
  FileCtx& f = files_[file];
  if (!f.expected.empty() && etag != f.expected) {
    return Status(StatusCode::kAborted, "read " + describe(file) + ": the object changed since version " + f.expected +
                                            " was seen (now ETag " + etag + ")");
  }
  if (f.pinned.empty()) {
    f.pinned = etag;
  } else if (f.pinned != etag) {
    return Status(StatusCode::kAborted, "read " + describe(file) + ": the object changed while it was read (ETag " +
                                            f.pinned + ", then " + etag + ")");
  }
  return {};
}

void ReadRun::on_response(const std::shared_ptr<Unit>& u, unsigned attempt, io::http::Response&& r) {
  {
    std::lock_guard lock(mu_);
    u->answered = attempt;
    if (u->transfer_attempt == attempt) transfer_ids_.erase(u->transfer);
  }
  Status why;
  Outcome outcome;
  if (r.cancelled || state_->is_cancelled()) {
    outcome = Outcome::kFailed;
    why = state_->reason();
    if (why.ok()) why = Status(StatusCode::kCancelled, "read " + describe(jobs_[u->job].file) + ": cancelled");
  } else {
    outcome = u->probe ? check_probe(*u, r, why) : check_bounded(*u, r, why);
  }
  if (outcome == Outcome::kRetry) {
    bool cancelled;
    {
      std::lock_guard lock(mu_);
      cancelled = cancelled_;
    }
    if (!cancelled) {
      send(u);
      return;
    }
    why = state_->reason();
    outcome = Outcome::kFailed;
  }
  unit_done(*u, outcome == Outcome::kDone ? Status() : why);
}

std::string ReadRun::what(const Unit& u) const {
  const Job& job = jobs_[u.job];
  if (u.probe) return "GET " + describe(job.file) + " " + batch_.range(static_cast<size_t>(job.request)).to_string();
  return "GET " + describe(job.file) + " " + range_text(u.offset, u.offset + u.length);
}

// A failed attempt: schedule another (kRetry) when the failure is transient
// and attempts and time are left, else the final error in `why`.
ReadRun::Outcome ReadRun::retry_or_fail(Unit& u, const io::http::Response& r, Status& why) {
  const bool transient = !r.local_error.empty()  ? false
                         : r.transport_code != 0 ? retryable_transport(r.transport_code)
                                                 : retryable_status(r.status) || r.status / 100 == 2;
  if (transient) {
    if (is_throttle(r.status)) engine_->throttle();
    if (auto when = u.attempts.next(r.retry_after)) {
      u.not_before = *when;
      return Outcome::kRetry;
    }
  }
  if (why.ok() || !transient) {
    why = response_status(r, what(u), store_.endpoint().error_detail(r.error_body), u.attempts.summary());
    if (r.status == 403 || r.status == 401) {
      if (std::string note = store_.endpoint().auth_note(); !note.empty()) {
        why = Status(why.code(), std::string(why.message()) + "; " + note);
      }
    }
  } else {
    why = Status(why.code(), std::string(why.message()) + " (" + u.attempts.summary() + ")");
  }
  return Outcome::kFailed;
}

// Servers answer a range of an empty object with 200 and no body (nginx, moto):
// that tells the size (0), and no wrong byte can come of it.
bool ReadRun::empty_object(const io::http::Response& r) {
  return r.status == 200 && r.transport_code == 0 && r.content_length == 0 && r.received == 0;
}

// 412: an If-Match we sent no longer matches.
Status ReadRun::changed_status(const Unit& u) const {
  const FileCtx& f = files_[jobs_[u.job].file];
  const std::string& seen = f.expected.empty() ? f.pinned : f.expected;
  return Status(StatusCode::kAborted,
                what(u) + ": the object changed since version " + seen + " was seen (HTTP 412 Precondition Failed)");
}

ReadRun::Outcome ReadRun::check_bounded(Unit& u, io::http::Response& r, Status& why) {
  Job& job = jobs_[u.job];
  if (r.status == 412) {
    std::lock_guard lock(mu_);
    why = changed_status(u);
    return Outcome::kFailed;
  }
  const uint64_t first = u.offset + u.got, last = u.offset + u.length - 1;
  if (r.status == 416) {  // nothing of it exists: the object ends at or before `first`
    std::lock_guard lock(mu_);
    job.valid_end = std::min(job.valid_end, first);
    if (auto cr = parse_content_range(r.content_range); cr && cr->total) job.total = cr->total;
    return Outcome::kDone;
  }
  if (empty_object(r)) {
    std::lock_guard lock(mu_);
    job.valid_end = 0;
    job.total = 0;
    return Outcome::kDone;
  }
  if (r.status == 200) {
    why = Status(StatusCode::kUnimplemented,
                 what(u) + ": the server ignored the Range header (HTTP 200 instead of 206); refusing the whole " +
                     (r.content_length ? std::to_string(*r.content_length) + "-byte " : std::string()) +
                     "body rather than reading it in place of the range");
    return Outcome::kFailed;
  }
  if (r.status != 206) return retry_or_fail(u, r, why);
  auto cr = parse_content_range(r.content_range);
  if (!cr || cr->unsatisfied || cr->first != first || cr->last > last ||
      (cr->last < last && !(cr->total && cr->last + 1 == *cr->total))) {
    why = wrong_response(what(u), r,
                         "not the bytes asked for (bytes " + std::to_string(first) + "-" + std::to_string(last) + ")");
    return retry_or_fail(u, r, why);
  }
  if (Status s = check_etag(job.file, r.etag); !s.ok()) {
    why = s;
    return Outcome::kFailed;
  }
  u.got += r.received;  // bytes received before a cut are kept: the retry resumes after them
  if (u.offset + u.got < cr->last + 1) {
    if (r.transport_code == 0) {
      why = Status(StatusCode::kDataLoss, what(u) + ": the body ended after " + std::to_string(r.received) + " of " +
                                              std::to_string(cr->last + 1 - first) + " bytes");
    }
    return retry_or_fail(u, r, why);
  }
  if (cr->last < last) {
    std::lock_guard lock(mu_);
    job.valid_end = std::min(job.valid_end, cr->last + 1);
    job.total = cr->total;
  }
  return Outcome::kDone;
}

// The first GET of a suffix, to-EOF, whole or empty range: its Content-Range
// tells the object's size; a big object continues in parallel parts.
ReadRun::Outcome ReadRun::check_probe(Unit& u, io::http::Response& r, Status& why) {
  Job& job = jobs_[u.job];
  const ByteRange range = batch_.range(static_cast<size_t>(job.request));
  const uint64_t first = probe_begin(range);
  const uint64_t begin = range.is_suffix() ? 0 : static_cast<uint64_t>(range.begin());  // what the caller wants
  const bool from_start = !range.is_suffix() && begin == 0;
  if (r.status == 412) {
    std::lock_guard lock(mu_);
    why = changed_status(u);
    return Outcome::kFailed;
  }
  if (r.status == 416) {  // the object has at most `first` bytes
    if (range.is_suffix() || from_start) {
      job.buffer = Bytes();  // an empty object
      return Outcome::kDone;
    }
    auto cr = parse_content_range(r.content_range);
    why = cr && cr->total ? plan::past_eof_status(describe(job.file), range, *cr->total)
                          : Status(StatusCode::kOutOfRange, "read " + describe(job.file) + " " + range.to_string() +
                                                                ": range starts past the end of the object (HTTP 416)");
    return Outcome::kFailed;
  }
  if (empty_object(r)) {
    if (begin > 0) {
      why = plan::past_eof_status(describe(job.file), range, 0);
      return Outcome::kFailed;
    }
    job.buffer = Bytes();
    return Outcome::kDone;
  }
  if (r.status == 200 && from_start && !range.is_bounded()) {  // the whole object was asked for and came whole
    if (Status s = check_etag(job.file, r.etag); !s.ok()) {
      why = s;
      return Outcome::kFailed;
    }
    job.buffer = std::move(r.body);
    return Outcome::kDone;
  }
  if (r.status == 200) {
    why = Status(StatusCode::kUnimplemented,
                 what(u) + ": the server ignored the Range header (HTTP 200 instead of 206); refusing the whole body");
    return Outcome::kFailed;
  }
  if (r.status != 206) return retry_or_fail(u, r, why);
  auto cr = parse_content_range(r.content_range);
  bool ok = cr && !cr->unsatisfied && cr->total && r.received == cr->last - cr->first + 1;
  if (ok && range.is_suffix()) {
    ok = cr->last + 1 == *cr->total && cr->first == *cr->total - std::min<uint64_t>(*cr->total, -range.begin());
  } else if (ok) {
    ok = cr->first == first;
  }
  if (!ok) {
    why = r.transport_code == 0 ? wrong_response(what(u), r, "not the bytes asked for, or a body of another length")
                                : Status();
    return retry_or_fail(u, r, why);
  }
  if (Status s = check_etag(job.file, r.etag); !s.ok()) {
    why = s;
    return Outcome::kFailed;
  }
  const uint64_t total = *cr->total;
  if (begin > total) {  // only when the probe started at 0 for begin 1 of an empty object
    why = plan::past_eof_status(describe(job.file), range, total);
    return Outcome::kFailed;
  }
  if (range.is_bounded()) {  // an empty range inside the object, or at its end
    job.buffer = Bytes();
    return Outcome::kDone;
  }
  const uint64_t skip = range.is_suffix() ? 0 : begin - first;  // the byte before `begin`, when probed
  if (range.is_suffix() || cr->last + 1 == total) {
    job.buffer =
        r.body.slice(std::min<uint64_t>(skip, r.body.size()), r.body.size() - std::min<uint64_t>(skip, r.body.size()));
    return Outcome::kDone;
  }
  return continue_probe(u, r, begin, skip, total, why);
}

// The object is bigger than the probe: one buffer for all of [begin, total),
// the probe's bytes copied in, the rest fetched as parts.
ReadRun::Outcome ReadRun::continue_probe(Unit& u, io::http::Response& r, uint64_t begin, uint64_t skip, uint64_t total,
                                         Status& why) {
  Job& job = jobs_[u.job];
  if (total - begin > state_->max_request_bytes) {
    why = Status(StatusCode::kResourceExhausted, what(u) + ": the object has " + std::to_string(total) +
                                                     " bytes, more than max_request_bytes (" +
                                                     std::to_string(state_->max_request_bytes) + ")");
    return Outcome::kFailed;
  }
  try {
    job.buffer = Bytes::allocate(total - begin);
  } catch (const std::bad_alloc&) {
    why = Status(StatusCode::kResourceExhausted,
                 what(u) + ": out of memory for " + std::to_string(total - begin) + " bytes");
    return Outcome::kFailed;
  }
  const uint64_t have = r.body.size() - skip;
  std::memcpy(job.buffer.mutable_data(), r.body.data() + skip, have);
  {
    std::lock_guard lock(mu_);
    if (cancelled_) {
      why = state_->reason();
      return Outcome::kFailed;
    }
    job.offset = begin;
    job.length = total - begin;
    job.dest = job.buffer.mutable_data();
    const size_t before = ready_.size();
    add_parts(u.job, begin + have, total);
    // Continuations go first: their buffer is already allocated.
    std::rotate(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(before), ready_.end());
  }
  return Outcome::kDone;
}

// A unit is final. It stays counted in inflight_ until its job is delivered,
// so that the batch cannot finish while a delivery is still being made.
void ReadRun::unit_done(Unit& u, Status why) {
  bool job_finished = false;
  Job& job = jobs_[u.job];
  {
    std::lock_guard lock(mu_);
    if (!why.ok() && job.error.ok()) job.error = std::move(why);
    job_finished = --job.units_left == 0;
  }
  if (job_finished) job_done(job);
  {
    std::lock_guard lock(mu_);
    --inflight_;
  }
  pump();
  maybe_finish();
}

void ReadRun::job_done(Job& job) {
  deliver_job(job);
  job.buffer = Bytes();
  std::lock_guard lock(mu_);
  --jobs_left_;
}

void ReadRun::deliver_job(Job& job) {
  if (job.request >= 0) {
    const auto index = static_cast<uint32_t>(job.request);
    if (!job.error.ok()) {
      deliver(index, error(job.error), 0);
    } else if (into_) {  // a suffix read into a caller span: it must fill it exactly
      const std::span<std::byte> dest = state_->into->dest(index);
      if (job.buffer.size() != dest.size()) {
        deliver(
            index,
            error(StatusCode::kOutOfRange, "read " + describe(job.file) + " " + batch_.range(index).to_string() +
                                               ": object has only " + std::to_string(job.buffer.size()) + " of the " +
                                               std::to_string(dest.size()) + " bytes the destination needs"),
            0);
      } else {
        if (!dest.empty()) std::memcpy(dest.data(), job.buffer.data(), dest.size());
        deliver(index, Bytes(), dest.size());
      }
    } else {
      const uint64_t n = job.buffer.size();
      deliver(index, std::move(job.buffer), n);
    }
    return;
  }
  for (uint32_t k = 0; k < job.num_targets; ++k) {
    const plan::Target& t = targets_[job.first_target + k];
    const uint64_t end = job.offset + t.offset_in_read + t.length;
    if (!job.error.ok()) {
      deliver(t.index, error(job.error), 0);
    } else if (end > job.valid_end) {
      deliver(
          t.index,
          error(plan::past_eof_status(describe(job.file), batch_.range(t.index), job.total.value_or(job.valid_end))),
          0);
    } else if (into_) {
      deliver(t.index, Bytes(), t.length);
    } else {
      deliver(t.index, job.buffer.slice(t.offset_in_read, t.length), t.length);
    }
  }
}

void ReadRun::deliver(uint32_t index, Result<Bytes>&& r, uint64_t bytes) {
  state_->deliver(index, std::move(r));
  state_->add_progress(1, bytes);
}

void ReadRun::cancel() {
  std::vector<uint64_t> ids;
  std::deque<std::shared_ptr<Unit>> dropped;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    ids.assign(transfer_ids_.begin(), transfer_ids_.end());
    dropped.swap(ready_);
  }
  for (uint64_t id : ids) engine_->cancel(id);
  // Units never sent: their jobs end now (counted as in flight so unit_done balances).
  for (auto& u : dropped) {
    {
      std::lock_guard lock(mu_);
      ++inflight_;
    }
    unit_done(*u, state_->reason());
  }
  maybe_finish();
}

void ReadRun::maybe_finish() {
  {
    std::lock_guard lock(mu_);
    if (finished_ || inflight_ != 0 || !ready_.empty()) return;
    if (!cancelled_ && (next_job_ != jobs_.size() || jobs_left_ != 0)) return;
    finished_ = true;
  }
  store_.run_finished(this);
  state_->finish();
}

}  // namespace lsio::remote
