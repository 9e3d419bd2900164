// RemoteStore: a Store over HTTP(S) objects (S3 or a plain web server), on
// one HttpEngine. Reads run as ReadRuns (read_run.h); stat is HEAD; S3 also
// lists (ListObjectsV2), puts (single PUT or multipart) and deletes.
#pragma once

#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "io/http/http_engine.h"
#include "lsio/store.h"
#include "store/remote/endpoint.h"
#include "store/remote/retry.h"

namespace lsio::remote {

class ReadRun;
class S3Endpoint;

class RemoteStore final : public Store {
 public:
  RemoteStore(std::string url, std::unique_ptr<Endpoint> endpoint, const RemoteOptions& options);
  // Cancels the running batches and waits until none of their requests is left.
  ~RemoteStore() override;

  std::string engine_description() const override;
  std::vector<Result<ObjectInfo>> stat(std::span<const std::string> paths) override;
  Result<Listing> list(std::string_view prefix, bool recursive) override;
  std::vector<Status> write(std::span<const WriteRequest> requests) override;
  std::vector<Status> remove(std::span<const std::string> paths) override;
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override;

  // ---- for ReadRun and the S3 operations ----
  const Endpoint& endpoint() const { return *endpoint_; }
  const RemoteOptions& options() const { return options_; }
  const RetryPolicy& retry_policy() const { return retry_; }
  // The engine of this process (made on first use, and again in a forked child).
  Result<std::shared_ptr<io::http::Engine>> engine() const;
  void run_started(const std::shared_ptr<ReadRun>& run);
  void run_finished(ReadRun* run);
  // The outcome of one call_many request.
  struct Call {
    Status error;  // prepare failed (nothing was sent)
    io::http::Response response;
    bool failed = false;   // not a 2xx (or a transport failure, a cancel)
    std::string attempts;  // "after 3 attempts over 1.2 s"
  };
  // Requests [0, n), up to max_inflight at a time, each retried as the policy
  // says (`prepare` fills request i for every attempt); waits on the calling thread.
  std::vector<Call> call_many(size_t n, const std::function<Status(size_t, io::http::Request&)>& prepare) const;
  // The Status of a failed call: "<what>: HTTP 404: NoSuchKey: ... (after 1 attempt over 0.0 s)".
  Status failure(const Call& call, std::string_view what) const;

 protected:
  void start(std::shared_ptr<detail::BatchState> state) override;
  bool runs_on_current_thread() const override;

 private:
  Status writable(std::string_view op) const;
  Status put_multipart(std::string_view path, std::span<const std::byte> data);
  void forget_parent_runs();  // under runs_mu_

  std::string url_;
  std::unique_ptr<Endpoint> endpoint_;
  RemoteOptions options_;
  RetryPolicy retry_;
  mutable std::mutex engine_mu_;  // held only to make or swap engine_
  mutable std::shared_ptr<io::http::Engine> engine_;
  mutable uint64_t fork_generation_;
  std::mutex runs_mu_;
  std::condition_variable runs_cv_;
  std::unordered_map<ReadRun*, std::weak_ptr<ReadRun>> runs_;
  uint64_t runs_generation_;  // the fork generation runs_ belongs to
};

}  // namespace lsio::remote
