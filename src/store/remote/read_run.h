// ReadRun: one batch on a remote store. Each object's ranges are planned
// (plan_remote), then fetched with ranged GETs, at most `window` transfers of
// the batch in flight, so ten million ranges never mean ten million buffers or
// queued requests. Every response is checked (206 with exactly the
// Content-Range asked for; a 200 to a ranged request is an error); failures
// are retried with backoff, a body cut short resumes from its last byte with
// If-Match; all reads of one object in a batch must see one ETag.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "core/batch_state.h"
#include "plan/remote_plan.h"
#include "store/remote/remote_store.h"

namespace lsio::remote {

class ReadRun : public std::enable_shared_from_this<ReadRun> {
 public:
  // `engine` outlives the run: the store drains every run before dropping it.
  ReadRun(RemoteStore& store, io::http::Engine* engine, std::shared_ptr<detail::BatchState> state);
  ~ReadRun();
  // Plans every object and issues the first window (called once, by the store).
  void start();
  // The batch's on_cancel hook: stops issuing and cancels what is in flight.
  void cancel();
  // Cancels the batch with `why` (which calls cancel()).
  void stop(Status why) { state_->cancel(std::move(why)); }

 private:
  struct FileCtx;
  struct Job;
  struct Unit;
  enum class Outcome : uint8_t { kDone, kRetry, kFailed };

  void plan();
  void plan_file(uint32_t file, std::span<const plan::Request> requests, const plan::RemotePlanOptions& po);
  bool add_units(uint32_t job);
  void add_parts(uint32_t job, uint64_t begin, uint64_t end);
  void pump();
  void send(const std::shared_ptr<Unit>& unit);
  void on_response(const std::shared_ptr<Unit>& unit, unsigned attempt, io::http::Response&& r);
  Outcome check_bounded(Unit& u, io::http::Response& r, Status& why);
  Outcome check_probe(Unit& u, io::http::Response& r, Status& why);
  Outcome continue_probe(Unit& u, io::http::Response& r, uint64_t begin, uint64_t skip, uint64_t total, Status& why);
  static uint64_t probe_begin(const ByteRange& r);
  static bool empty_object(const io::http::Response& r);
  Outcome retry_or_fail(Unit& u, const io::http::Response& r, Status& why);
  Status check_etag(uint32_t file, const std::string& etag);
  Status changed_status(const Unit& u) const;  // under mu_
  void unit_done(Unit& u, Status why);
  void job_done(Job& job);
  void deliver_job(Job& job);
  void deliver(uint32_t index, Result<Bytes>&& r, uint64_t bytes);
  void maybe_finish();
  std::string describe(uint32_t file) const;
  std::string what(const Unit& u) const;
  std::string range_header(const Unit& u) const;

  RemoteStore& store_;
  io::http::Engine* engine_;
  std::shared_ptr<detail::BatchState> state_;
  const ReadBatch& batch_;
  const bool into_;
  const uint64_t part_;        // the longest GET: longer fetches go out as parts of this size
  const uint64_t max_merged_;  // merged fetches are at most this long
  const size_t window_;        // units of this batch in flight at most

  // Set up by plan() before any request is sent.
  std::vector<FileCtx> files_;
  std::vector<Job> jobs_;
  std::vector<plan::Target> targets_;

  std::mutex mu_;  // guards what follows; never held across engine calls or deliveries
  size_t next_job_ = 0;
  std::deque<std::shared_ptr<Unit>> ready_;  // units waiting for room in the window
  size_t inflight_ = 0;                      // units sent and not yet final
  size_t jobs_left_ = 0;
  std::unordered_set<uint64_t> transfer_ids_;
  bool cancelled_ = false;
  bool finished_ = false;
};

}  // namespace lsio::remote
