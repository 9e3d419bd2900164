#include "io/http/http_engine.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace lsio::io::http {
namespace {

constexpr size_t kMaxErrorBody = 64 << 10;
constexpr long kReceiveBuffer = 256 << 10;

Status global_init() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (code != CURLE_OK) {
    return Status(StatusCode::kUnavailable, std::string("curl_global_init: ") + curl_easy_strerror(code));
  }
  return {};
}

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  }
  return true;
}

std::string trimmed_value(std::string_view line, size_t name_len) {
  std::string_view v = line.substr(name_len + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

struct Transfer {
  uint64_t id = 0;
  Request req;
  Done done;
  Clock::time_point not_before;
  uint64_t budget_bytes = 0;  // counted against max_inflight_bytes while active
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Response resp;
  size_t upload_pos = 0;
  std::vector<std::byte> grown;  // a buffered body of unknown length
  bool body_allocated = false;
  char errbuf[CURL_ERROR_SIZE] = {};
};

struct Engine::Impl {
  TransportOptions options;
  CURLM* multi = nullptr;
  CURLSH* share = nullptr;
  std::thread thread;
  std::thread::id thread_id;
  std::atomic<unsigned> limit{1};
  std::atomic<unsigned> successes{0};     // successes since the limit last grew
  std::atomic<int64_t> last_throttle{0};  // Clock ticks of the last halving

  // Shared with submitters, under mu (never held while curl runs or a callback runs).
  std::mutex mu;
  std::vector<std::unique_ptr<Transfer>> inbox;
  std::vector<uint64_t> cancels;
  bool stopping = false;
  std::atomic<uint64_t> next_id{1};

  // Event thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Transfer>> transfers;  // queued or active
  std::multimap<Clock::time_point, uint64_t> queued;                  // by not_before (FIFO within a time)
  size_t active = 0;
  uint64_t active_bytes = 0;  // budget_bytes of the active transfers
  std::vector<CURL*> idle_handles;

  ~Impl();
  void run();
  void take_inbox();
  void admit();
  Status start(Transfer& t);
  void complete(CURL* easy, CURLcode code);
  void finish(std::unique_ptr<Transfer> t);
  void cancel_now(uint64_t id);
  void release(Transfer& t);
  int poll_timeout_ms() const;
  bool room_for(const Transfer& t) const;
  void deactivate(Transfer& t);
};

namespace {

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  Response& r = t->resp;
  if (line.starts_with("HTTP/")) {  // a new response (after 100 Continue or a redirect): forget the last one's headers
    r.content_range.clear();
    r.etag.clear();
    r.retry_after.clear();
    r.content_type.clear();
    r.content_length.reset();
  } else if (iequals_prefix(line, "content-range")) {
    r.content_range = trimmed_value(line, 13);
  } else if (iequals_prefix(line, "etag")) {
    r.etag = trimmed_value(line, 4);
  } else if (iequals_prefix(line, "retry-after")) {
    r.retry_after = trimmed_value(line, 11);
  } else if (iequals_prefix(line, "content-type")) {
    r.content_type = trimmed_value(line, 12);
  } else if (iequals_prefix(line, "content-length")) {
    const std::string v = trimmed_value(line, 14);
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (end != v.c_str() && *end == '\0') r.content_length = n;
  }
  return size * n;
}

// Buffers a 2xx body: one allocation of Content-Length when the server sent it.
size_t buffer_body(Transfer& t, const char* data, size_t len) {
  Response& r = t.resp;
  if (!t.body_allocated && r.content_length) {
    if (*r.content_length > t.req.max_buffered) {
      r.local_error = "the response body of " + std::to_string(*r.content_length) + " bytes is larger than the " +
                      std::to_string(t.req.max_buffered) + " bytes allowed for it";
      return 0;
    }
    try {
      r.body = Bytes::allocate(*r.content_length);
    } catch (const std::bad_alloc&) {
      r.local_error = "out of memory for a body of " + std::to_string(*r.content_length) + " bytes";
      return 0;
    }
    t.body_allocated = true;
  }
  if (t.body_allocated) {
    if (r.received + len > r.body.size()) {
      r.overflow = true;
      return 0;
    }
    std::memcpy(r.body.mutable_data() + r.received, data, len);
  } else {
    if (t.grown.size() + len > t.req.max_buffered) {
      r.local_error =
          "the response body is larger than the " + std::to_string(t.req.max_buffered) + " bytes allowed for it";
      return 0;
    }
    const auto* p = reinterpret_cast<const std::byte*>(data);
    t.grown.insert(t.grown.end(), p, p + len);
  }
  r.received += len;
  return len;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  Response& r = t->resp;
  if (code < 200 || code >= 300) {
    r.error_body.append(data, std::min(len, kMaxErrorBody - std::min(kMaxErrorBody, r.error_body.size())));
    return len;
  }
  if (!t->req.write_into) return buffer_body(*t, data, len);
  if (r.received + len > t->req.into.size()) {
    r.overflow = true;
    return 0;  // aborts the transfer: never write past the caller's span
  }
  std::memcpy(t->req.into.data() + r.received, data, len);
  r.received += len;
  return len;
}

size_t on_read(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = std::min(size * n, t->req.upload.size() - t->upload_pos);
  std::memcpy(buffer, t->req.upload.data() + t->upload_pos, len);
  t->upload_pos += len;
  return len;
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->req.upload.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->upload_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

}  // namespace

Engine::Impl::~Impl() {
  for (CURL* e : idle_handles) curl_easy_cleanup(e);
  if (multi) curl_multi_cleanup(multi);
  if (share) curl_share_cleanup(share);
}

Status Engine::Impl::start(Transfer& t) {
  CURL* e = nullptr;
  if (!idle_handles.empty()) {
    e = idle_handles.back();
    idle_handles.pop_back();
    curl_easy_reset(e);
  } else {
    e = curl_easy_init();
    if (!e) return Status(StatusCode::kResourceExhausted, "curl_easy_init failed");
  }
  t.easy = e;
  const Request& q = t.req;
  curl_easy_setopt(e, CURLOPT_URL, q.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SHARE, share);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, options.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_s * 1000));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options.low_speed_bytes));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(std::max(1.0, options.low_speed_time_s)));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  // Large bodies arrive in fewer, bigger recv() calls and write callbacks (curl's default is 16 KiB).
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_bundle.c_str());
  for (const std::string& h : q.headers) t.headers = curl_slist_append(t.headers, h.c_str());
  if (q.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (q.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, &t);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(q.upload.size()));
    t.headers = curl_slist_append(t.headers, "Expect:");  // no 100-continue round trip
  } else if (q.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, q.upload.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(q.upload.size()));
    t.headers = curl_slist_append(t.headers, "Expect:");
    t.headers = curl_slist_append(t.headers, "Content-Type:");  // no form-urlencoded default
  } else if (q.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q.method.c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  const CURLMcode mc = curl_multi_add_handle(multi, e);
  if (mc != CURLM_OK) {
    release(t);
    return Status(StatusCode::kInternal, std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc));
  }
  ++active;
  active_bytes += t.budget_bytes;
  return {};
}

void Engine::Impl::deactivate(Transfer& t) {
  --active;
  active_bytes -= t.budget_bytes;
}

// Whether `t` may start now: under the count limit and, with a byte budget, within it (or nothing is active:
// a transfer larger than the budget still runs, alone).
bool Engine::Impl::room_for(const Transfer& t) const {
  if (active >= limit.load()) return false;
  return options.max_inflight_bytes == 0 || active == 0 || active_bytes + t.budget_bytes <= options.max_inflight_bytes;
}

// Returns the easy handle to the pool; the connection stays in the multi's cache.
void Engine::Impl::release(Transfer& t) {
  if (t.easy) idle_handles.push_back(t.easy);
  t.easy = nullptr;
  if (t.headers) curl_slist_free_all(t.headers);
  t.headers = nullptr;
}

void Engine::Impl::finish(std::unique_ptr<Transfer> t) {
  Done done = std::move(t->done);
  Response resp = std::move(t->resp);
  t.reset();
  try {
    done(std::move(resp));
  } catch (...) {
    // `done` must not throw; nothing may leave the event thread.
  }
}

void Engine::Impl::complete(CURL* easy, CURLcode code) {
  Transfer* raw = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
  curl_multi_remove_handle(multi, easy);
  deactivate(*raw);
  auto it = transfers.find(raw->id);
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers.erase(it);
  Response& r = t->resp;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  if (code != CURLE_OK && r.local_error.empty() && !r.overflow) {
    r.transport_code = code;
    r.transport_error = t->errbuf[0] ? std::string(t->errbuf) : std::string(curl_easy_strerror(code));
  }
  if (!t->body_allocated && !t->grown.empty()) r.body = Bytes::copy_of(t->grown);
  if (code == CURLE_OK && r.status >= 200 && r.status < 300) {
    if (successes.fetch_add(1) + 1 >= limit.load() && limit.load() < options.max_inflight) {
      limit.fetch_add(1);
      successes = 0;
    }
  }
  release(*t);
  finish(std::move(t));
}

void Engine::Impl::cancel_now(uint64_t id) {
  auto it = transfers.find(id);
  if (it == transfers.end()) return;  // already done
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers.erase(it);
  if (t->easy) {
    curl_multi_remove_handle(multi, t->easy);
    deactivate(*t);
    release(*t);
  } else {
    for (auto q = queued.begin(); q != queued.end(); ++q) {
      if (q->second == id) {
        queued.erase(q);
        break;
      }
    }
  }
  t->resp = Response{};
  t->resp.cancelled = true;
  finish(std::move(t));
}

void Engine::Impl::take_inbox() {
  std::vector<std::unique_ptr<Transfer>> arrived;
  std::vector<uint64_t> cancelled;
  {
    std::lock_guard lock(mu);
    arrived.swap(inbox);
    cancelled.swap(cancels);
  }
  for (auto& t : arrived) {
    queued.emplace(t->not_before, t->id);
    transfers.emplace(t->id, std::move(t));
  }
  for (uint64_t id : cancelled) cancel_now(id);
}

void Engine::Impl::admit() {
  const Clock::time_point now = Clock::now();
  while (active < limit.load() && !queued.empty() && queued.begin()->first <= now) {
    const uint64_t id = queued.begin()->second;
    auto it = transfers.find(id);
    if (it == transfers.end()) {
      queued.erase(queued.begin());
      continue;
    }
    if (!room_for(*it->second)) break;  // in order: a big transfer is not overtaken for ever by small ones
    queued.erase(queued.begin());
    if (Status s = start(*it->second); !s.ok()) {
      std::unique_ptr<Transfer> t = std::move(it->second);
      transfers.erase(it);
      t->resp.local_error = s.to_string();
      finish(std::move(t));
    }
  }
}

int Engine::Impl::poll_timeout_ms() const {
  if (queued.empty() || active >= limit.load()) return 1000;  // a completion wakes the poll
  if (auto it = transfers.find(queued.begin()->second); it != transfers.end() && !room_for(*it->second)) return 1000;
  const auto wait = queued.begin()->first - Clock::now();
  return static_cast<int>(
      std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1, 0, 1000));
}

void Engine::Impl::run() {
  for (;;) {
    take_inbox();
    {
      std::lock_guard lock(mu);
      if (stopping) break;
    }
    admit();
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg == CURLMSG_DONE) complete(msg->easy_handle, msg->data.result);
    }
    admit();
    curl_multi_poll(multi, nullptr, 0, poll_timeout_ms(), nullptr);
  }
  // Stopping: everything still here ends as cancelled.
  take_inbox();
  std::vector<uint64_t> ids;
  for (const auto& [id, t] : transfers) ids.push_back(id);
  for (uint64_t id : ids) cancel_now(id);
}

Result<std::shared_ptr<Engine>> Engine::create(const TransportOptions& options) {
  LSIO_RETURN_IF_ERROR(global_init());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.max_inflight = std::max(1u, options.max_inflight);
  impl->limit = impl->options.max_inflight;
  impl->multi = curl_multi_init();
  impl->share = curl_share_init();
  if (!impl->multi || !impl->share) return error(StatusCode::kResourceExhausted, "curl_multi_init failed");
  curl_share_setopt(impl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(impl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  const long conns = std::max(1u, options.max_connections);
  curl_multi_setopt(impl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
  curl_multi_setopt(impl->multi, CURLMOPT_MAXCONNECTS, conns);
  if (options.http2) curl_multi_setopt(impl->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  std::shared_ptr<Engine> engine(new Engine(std::move(impl)));
  Impl* raw = engine->impl_.get();
  try {
    raw->thread = std::thread([raw] { raw->run(); });
  } catch (const std::system_error& e) {
    return error(StatusCode::kResourceExhausted, std::string("cannot start the HTTP event thread: ") + e.what());
  }
  raw->thread_id = raw->thread.get_id();
  return engine;
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint64_t Engine::submit(Request request, Done done, Clock::time_point not_before) {
  auto t = std::make_unique<Transfer>();
  t->id = impl_->next_id.fetch_add(1);
  t->req = std::move(request);
  t->done = std::move(done);
  t->not_before = not_before;
  t->budget_bytes = std::max<uint64_t>(t->req.write_into ? t->req.into.size() : 0, t->req.upload.size());
  const uint64_t id = t->id;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) {
      t->resp.cancelled = true;
    } else {
      impl_->inbox.push_back(std::move(t));
    }
  }
  if (t) {  // the engine is stopping: cancelled at once
    impl_->finish(std::move(t));
    return id;
  }
  curl_multi_wakeup(impl_->multi);
  return id;
}

void Engine::cancel(uint64_t id) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->cancels.push_back(id);
  }
  curl_multi_wakeup(impl_->multi);
}

void Engine::throttle() {
  // One halving per burst: the 30 requests in flight that all got 503 are one signal, not 30.
  const int64_t now = Clock::now().time_since_epoch().count();
  int64_t last = impl_->last_throttle.load();
  if (now - last < std::chrono::nanoseconds(std::chrono::milliseconds(200)).count() ||
      !impl_->last_throttle.compare_exchange_strong(last, now)) {
    return;
  }
  unsigned cur = impl_->limit.load();
  while (cur > 1 && !impl_->limit.compare_exchange_weak(cur, cur / 2)) {
  }
  impl_->successes = 0;
}

unsigned Engine::inflight_limit() const { return impl_->limit.load(); }

bool Engine::on_event_thread() const { return std::this_thread::get_id() == impl_->thread_id; }

std::string Engine::description() const {
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  return std::string("curl ") + (v ? v->version : "?") + (impl_->options.http2 ? ", HTTP/2" : ", HTTP/1.1") +
         ", up to " + std::to_string(impl_->options.max_inflight) + " requests" +
         (impl_->options.max_inflight_bytes ? " and " + std::to_string(impl_->options.max_inflight_bytes) + " bytes"
                                            : std::string()) +
         " in flight, " + std::to_string(impl_->options.max_connections) + " connections per host";
}

}  // namespace lsio::io::http
