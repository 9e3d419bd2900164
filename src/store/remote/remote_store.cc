#include "store/remote/remote_store.h"

#include <condition_variable>

#include "core/batch_state.h"
#include "core/fork.h"
#include "store/remote/http_checks.h"
#include "store/remote/read_run.h"

namespace lsio::remote {
namespace {

io::http::TransportOptions transport_options(const RemoteOptions& o) {
  io::http::TransportOptions t;
  t.max_connections = o.max_connections;
  t.max_inflight = o.max_inflight;
  t.max_inflight_bytes = o.max_inflight_bytes;
  t.http2 = o.http2;
  t.connect_timeout_s = o.connect_timeout_s;
  t.low_speed_bytes = o.low_speed_bytes;
  t.low_speed_time_s = o.low_speed_time_s;
  t.verify_tls = o.verify_tls;
  t.ca_bundle = o.ca_bundle;
  return t;
}

}  // namespace

RemoteStore::RemoteStore(std::string url, std::unique_ptr<Endpoint> endpoint, const RemoteOptions& options)
    : url_(std::move(url)),
      endpoint_(std::move(endpoint)),
      options_(options),
      retry_(RetryPolicy::from(options)),
      fork_generation_(detail::fork_generation()),
      runs_generation_(fork_generation_) {}

RemoteStore::~RemoteStore() {
  std::vector<std::shared_ptr<ReadRun>> running;
  {
    std::lock_guard lock(runs_mu_);
    forget_parent_runs();
    for (auto& [raw, weak] : runs_) {
      if (auto run = weak.lock()) running.push_back(std::move(run));
    }
  }
  for (auto& run : running) run->stop(Status(StatusCode::kCancelled, "the store " + url_ + " was destroyed"));
  running.clear();
  {
    std::unique_lock lock(runs_mu_);
    runs_cv_.wait(lock, [&] { return runs_.empty(); });
  }
  std::lock_guard lock(engine_mu_);
  // In a forked child the engine's thread belongs to the parent; on the event
  // thread itself (a store dropped in its own callback) joining would deadlock.
  if (engine_ && (fork_generation_ != detail::fork_generation() || engine_->on_event_thread())) {
    new std::shared_ptr<io::http::Engine>(std::move(engine_));  // leaked on purpose
  }
}

// In a forked child the parent's runs will never finish here (their engine
// thread does not exist): they are forgotten, not waited for.
void RemoteStore::forget_parent_runs() {
  if (runs_generation_ == detail::fork_generation()) return;
  runs_.clear();
  runs_generation_ = detail::fork_generation();
}

Result<std::shared_ptr<io::http::Engine>> RemoteStore::engine() const {
  std::lock_guard lock(engine_mu_);
  const uint64_t now = detail::fork_generation();
  if (engine_ && now != fork_generation_) {
    new std::shared_ptr<io::http::Engine>(std::move(engine_));  // the parent's (see ~RemoteStore)
  }
  if (!engine_) {
    auto fresh = io::http::Engine::create(transport_options(options_));
    if (!fresh) return error(fresh.error().with_context("start the HTTP engine of " + url_));
    engine_ = std::move(*fresh);
    fork_generation_ = now;
  }
  return engine_;
}

std::string RemoteStore::engine_description() const {
  auto e = engine();
  return e ? (*e)->description() : e.error().to_string();
}

bool RemoteStore::runs_on_current_thread() const {
  std::lock_guard lock(engine_mu_);
  return engine_ && engine_->on_event_thread();
}

void RemoteStore::start(std::shared_ptr<detail::BatchState> state) {
  auto engine = this->engine();
  if (!engine) {
    state->cancel(engine.error());
    state->finish();
    return;
  }
  auto run = std::make_shared<ReadRun>(*this, engine->get(), std::move(state));
  run_started(run);
  run->start();
}

void RemoteStore::run_started(const std::shared_ptr<ReadRun>& run) {
  std::lock_guard lock(runs_mu_);
  forget_parent_runs();
  runs_.emplace(run.get(), run);
}

void RemoteStore::run_finished(ReadRun* run) {
  std::lock_guard lock(runs_mu_);
  runs_.erase(run);
  if (runs_.empty()) runs_cv_.notify_all();
}

// Runs calls [0, n) concurrently (at most max_inflight at a time), each retried
// as RetryPolicy says; returns each one's final response.
std::vector<RemoteStore::Call> RemoteStore::call_many(
    size_t n, const std::function<Status(size_t, io::http::Request&)>& prepare) const {
  std::vector<Call> out(n);
  auto engine = this->engine();
  if (!engine) {
    for (Call& c : out) c.error = engine.error();
    return out;
  }
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    size_t next = 0, running = 0, done = 0;
  } shared;
  std::vector<Attempts> attempts(n, Attempts(retry_));
  std::function<void(size_t, io::http::Clock::time_point)> issue;
  issue = [&](size_t i, io::http::Clock::time_point when) {
    io::http::Request req;
    if (Status s = prepare(i, req); !s.ok()) {
      out[i].error = s;
      std::lock_guard lock(shared.mu);
      ++shared.done;
      --shared.running;
      shared.cv.notify_all();
      return;
    }
    attempts[i].start();
    (*engine)->submit(
        std::move(req),
        [&, i](io::http::Response&& r) {
          const bool transient = r.cancelled || !r.local_error.empty() ? false
                                 : r.transport_code != 0               ? retryable_transport(r.transport_code)
                                                                       : retryable_status(r.status);
          if (transient) {
            if (is_throttle(r.status)) (*engine)->throttle();
            if (auto next = attempts[i].next(r.retry_after)) {
              issue(i, *next);
              return;
            }
          }
          out[i].response = std::move(r);
          out[i].attempts = attempts[i].summary();
          if (out[i].response.status / 100 != 2 || out[i].response.transport_code != 0 || out[i].response.cancelled ||
              !out[i].response.local_error.empty()) {
            out[i].failed = true;
          }
          std::lock_guard lock(shared.mu);
          ++shared.done;
          --shared.running;
          shared.cv.notify_all();
        },
        when);
  };
  const size_t limit = std::max(1u, options_.max_inflight);
  std::unique_lock lock(shared.mu);
  while (shared.done < n) {
    while (shared.next < n && shared.running < limit) {
      const size_t i = shared.next++;
      ++shared.running;
      lock.unlock();
      issue(i, {});
      lock.lock();
    }
    shared.cv.wait(lock, [&] { return shared.done == n || (shared.next < n && shared.running < limit); });
  }
  return out;
}

// The final error of a call that did not succeed, naming `what` and the attempts.
Status RemoteStore::failure(const Call& c, std::string_view what) const {
  if (!c.error.ok()) return c.error.with_context(what);
  const io::http::Response& r = c.response;
  Status s = response_status(r, what, endpoint_->error_detail(r.error_body), c.attempts);
  if (r.status == 401 || r.status == 403) {
    if (std::string note = endpoint_->auth_note(); !note.empty())
      s = Status(s.code(), std::string(s.message()) + "; " + note);
  }
  return s;
}

std::vector<Result<ObjectInfo>> RemoteStore::stat(std::span<const std::string> paths) {
  if (Status s = check_not_in_callback("stat"); !s.ok()) return std::vector<Result<ObjectInfo>>(paths.size(), error(s));
  auto responses = call_many(paths.size(), [&](size_t i, io::http::Request& r) {
    r.method = "HEAD";
    return endpoint_->prepare(r, paths[i]);
  });
  std::vector<Result<ObjectInfo>> out;
  out.reserve(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    const Call& c = responses[i];
    const io::http::Response* r = &c.response;
    if (!c.error.ok() || c.failed) {
      out.push_back(error(failure(c, "HEAD " + endpoint_->describe(paths[i]))));
    } else if (!r->content_length) {
      out.push_back(error(StatusCode::kDataLoss,
                          "HEAD " + endpoint_->describe(paths[i]) + ": the response has no Content-Length"));
    } else {
      out.push_back(ObjectInfo{*r->content_length, r->etag});
    }
  }
  return out;
}

Status RemoteStore::writable(std::string_view op) const {
  if (endpoint_->is_s3()) return {};
  return Status(StatusCode::kUnimplemented,
                std::string(op) + " " + url_ + ": HTTP stores are read only (use s3:// to write)");
}

}  // namespace lsio::remote
