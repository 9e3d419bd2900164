// lsio_bench: reads the byte ranges of a ranges file through an LSIO file store
// and prints one JSON object with the best of --repeat timed runs.
//
//   lsio_bench --paths-file P --ranges-file R [--engine uring|posix|auto]
//              [--mode read|for_each|read_into|pread_into] [--direct] [--repeat 3] [--warmup 0]
//              [--batch N] [--coalesce-gap B] [--max-merged B]
//              [--workers W] [--queue-depth Q] [--part-size B]
//              [--max-inflight-bytes B] [--verify]
//
//   lsio_bench --nop [--ops N] [--files F] [--request-bytes B] [--engine ...]
//              [--mode read|for_each|read_into] [--batch N] [--workers W] ...
//
// --nop: scheduler-overhead benchmark (the yardstick of i2o2's no-op ops/s).
// The store's engine performs every open, read and close as a no-op
// (io_uring: IORING_OP_NOP through the ring; posix: no syscall), while
// submit, scheduler, FileJob claim, planning, completion and delivery run as
// usual. Without a paths/ranges file it makes --ops requests of
// --request-bytes (default 4096) spread over --files (default 1500) names,
// 2 x request-bytes apart so that none merge; no file is touched and read
// buffers are left unwritten. "ops_per_s" is requests per second.
//
// --mode pread_into: no LSIO; --workers threads (default one per CPU) pread every range into read_into's
// destinations: the bound that writing the bytes to a large output sets (see run_pread_into).
//
// --warmup N: N untimed runs first (a long-lived caller's state: buffers the
// store's pool kept, a warm allocator), as in-process benchmarks measure.
//
// --verify: before timing, reads the first ranges (up to 2048 / 32 MiB) through the
// store and compares them with pread; a mismatch is reported as "verify_error".
//
// Inputs (written by bench/run.py):
//   paths file   one absolute path per line; a range's file index is a line number.
//   ranges file  little-endian int64 triples (file_index, start, end); end == -1
//                means "to the end of the file" (start 0: the whole file).
// Each run reads every range once, in calls of --batch ranges (0: one call).
// Batches are built before the clock starts; only the calls are timed.
//
// Output: {"engine", "mode", "seconds", "chunks", "bytes", "cpu_user",
// "cpu_sys", "errors", "first_error", "peak_rss_kib", "runs": [...]}, where
// seconds/cpu_* are those of the fastest run. Exit status 0 even when some
// ranges failed (they are counted in "errors"); 2 on bad arguments or inputs.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lsio/lsio.h"
#include "store/nop_store.h"  // internal: the --nop engine (a benchmark facility, not public API)

namespace {

struct Args {
  std::string engine = "uring";
  std::string mode = "read";
  std::string paths_file;
  std::string ranges_file;
  bool direct = false;
  bool verify = false;
  int repeat = 3;
  int warmup = 0;
  size_t batch = 0;
  uint64_t coalesce_gap = 0;
  uint64_t max_merged = 16ull << 20;
  unsigned workers = 0;
  unsigned queue_depth = 128;
  uint64_t part_size = 0;           // 0: the store's default
  uint64_t max_inflight_bytes = 0;  // 0: the store's default
  bool nop = false;
  uint64_t ops = 1'000'000;
  uint64_t files = 1500;
  uint64_t request_bytes = 4096;
};

constexpr size_t kVerifyRanges = 2048;          // --verify checks at most this many ranges
constexpr uint64_t kVerifyBytes = 32ull << 20;  // ... and stops once it has this many bytes

struct Range {
  int64_t file;
  int64_t start;
  int64_t end;
};

struct RunStats {
  double seconds = 0;
  double cpu_user = 0;
  double cpu_sys = 0;
  uint64_t chunks = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  std::string first_error;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "lsio_bench: %s\n", message.c_str());
  std::exit(2);
}

void usage() {
  std::fprintf(stderr,
               "usage: lsio_bench --paths-file P --ranges-file R [--engine uring|posix|auto]\n"
               "                  [--mode read|for_each|read_into|pread_into] [--direct] [--repeat N] [--warmup N]\n"
               "                  [--batch N] [--coalesce-gap B] [--max-merged B]\n"
               "                  [--workers W] [--queue-depth Q] [--part-size B]\n"
               "                  [--max-inflight-bytes B] [--verify]\n"
               "       lsio_bench --nop [--ops N] [--files F] [--request-bytes B] [same options]\n");
  std::exit(2);
}

uint64_t parse_u64(std::string_view flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') die("bad number for " + std::string(flag) + ": " + text);
  return v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) die("missing value for " + std::string(flag));
      return argv[++i];
    };
    if (flag == "--engine")
      a.engine = value();
    else if (flag == "--mode")
      a.mode = value();
    else if (flag == "--paths-file")
      a.paths_file = value();
    else if (flag == "--ranges-file")
      a.ranges_file = value();
    else if (flag == "--direct")
      a.direct = true;
    else if (flag == "--verify")
      a.verify = true;
    else if (flag == "--nop")
      a.nop = true;
    else if (flag == "--ops")
      a.ops = parse_u64(flag, value());
    else if (flag == "--files")
      a.files = parse_u64(flag, value());
    else if (flag == "--request-bytes")
      a.request_bytes = parse_u64(flag, value());
    else if (flag == "--repeat")
      a.repeat = static_cast<int>(parse_u64(flag, value()));
    else if (flag == "--warmup")
      a.warmup = static_cast<int>(parse_u64(flag, value()));
    else if (flag == "--batch")
      a.batch = parse_u64(flag, value());
    else if (flag == "--coalesce-gap")
      a.coalesce_gap = parse_u64(flag, value());
    else if (flag == "--max-merged")
      a.max_merged = parse_u64(flag, value());
    else if (flag == "--workers")
      a.workers = static_cast<unsigned>(parse_u64(flag, value()));
    else if (flag == "--queue-depth")
      a.queue_depth = static_cast<unsigned>(parse_u64(flag, value()));
    else if (flag == "--part-size")
      a.part_size = parse_u64(flag, value());
    else if (flag == "--max-inflight-bytes")
      a.max_inflight_bytes = parse_u64(flag, value());
    else if (flag == "-h" || flag == "--help")
      usage();
    else
      die("unknown argument: " + std::string(flag));
  }
  if (!a.nop && (a.paths_file.empty() || a.ranges_file.empty())) usage();
  if (a.nop && (a.verify || a.files == 0 || a.request_bytes == 0))
    die("--nop needs --files, --request-bytes > 0 and no --verify");
  if (a.mode != "read" && a.mode != "for_each" && a.mode != "read_into" && a.mode != "pread_into")
    die("bad --mode: " + a.mode);
  if (a.repeat < 1) die("--repeat must be >= 1");
  return a;
}

std::vector<std::string> read_paths(const std::string& file) {
  std::ifstream in(file);
  if (!in) die("cannot open paths file " + file);
  std::vector<std::string> paths;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) paths.push_back(line);
  }
  return paths;
}

std::vector<Range> read_ranges(const std::string& file, size_t num_paths) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) die("cannot open ranges file " + file);
  auto size = static_cast<size_t>(in.tellg());
  if (size % sizeof(Range) != 0) die("ranges file size is not a multiple of 24: " + file);
  std::vector<Range> ranges(size / sizeof(Range));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(ranges.data()), static_cast<std::streamsize>(size));
  for (const Range& r : ranges) {
    if (r.file < 0 || static_cast<size_t>(r.file) >= num_paths) die("range names a file index out of bounds");
  }
  return ranges;
}

uint64_t file_size(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) die("stat " + path + ": " + std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

// --nop without input files: names that are never opened, and requests that never merge.
void make_nop_inputs(const Args& a, std::vector<std::string>& paths, std::vector<Range>& ranges) {
  paths.clear();
  for (uint64_t f = 0; f < a.files; ++f) paths.push_back("/nop/file-" + std::to_string(f));
  ranges.resize(a.ops);
  for (uint64_t i = 0; i < a.ops; ++i) {
    const auto start = static_cast<int64_t>((i / a.files) * 2 * a.request_bytes);
    ranges[i] = {static_cast<int64_t>(i % a.files), start, start + static_cast<int64_t>(a.request_bytes)};
  }
}

lsio::ByteRange to_byte_range(const Range& r) { return lsio::ByteRange::raw(r.start, r.end); }

// [begin, end) offsets into `ranges` of each call.
std::vector<std::pair<size_t, size_t>> split_batches(size_t n, size_t batch) {
  if (batch == 0) batch = std::max<size_t>(n, 1);
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t b = 0; b < n; b += batch) out.emplace_back(b, std::min(n, b + batch));
  return out;
}

std::vector<lsio::ReadBatch> build_read_batches(const std::vector<std::string>& paths, const std::vector<Range>& ranges,
                                                const std::vector<std::pair<size_t, size_t>>& spans) {
  std::vector<lsio::ReadBatch> batches(spans.size());
  std::vector<int64_t> ids(paths.size(), -1);
  for (size_t b = 0; b < spans.size(); ++b) {
    std::fill(ids.begin(), ids.end(), -1);
    auto [begin, end] = spans[b];
    batches[b].reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const Range& r = ranges[i];
      if (ids[r.file] < 0) ids[r.file] = batches[b].file_id(paths[r.file]);
      batches[b].add(static_cast<uint32_t>(ids[r.file]), to_byte_range(r));
    }
  }
  return batches;
}

// Destination of each range inside one reusable arena (largest batch).
struct IntoPlan {
  std::vector<lsio::ReadIntoBatch> batches;
  std::unique_ptr<std::byte, decltype(&std::free)> arena{nullptr, &std::free};
};

IntoPlan build_into_batches(const std::vector<std::string>& paths, const std::vector<Range>& ranges,
                            const std::vector<std::pair<size_t, size_t>>& spans) {
  std::vector<std::optional<uint64_t>> sizes(paths.size());
  auto length_of = [&](const Range& r) -> uint64_t {
    if (r.end >= 0) return static_cast<uint64_t>(r.end - r.start);
    if (!sizes[r.file]) sizes[r.file] = file_size(paths[r.file]);
    if (r.start < 0) return std::min<uint64_t>(static_cast<uint64_t>(-r.start), *sizes[r.file]);
    return *sizes[r.file] - static_cast<uint64_t>(r.start);
  };
  uint64_t arena_size = 0;
  for (auto [begin, end] : spans) {
    uint64_t total = 0;
    for (size_t i = begin; i < end; ++i) total += (length_of(ranges[i]) + 4095) & ~uint64_t{4095};
    arena_size = std::max(arena_size, total);
  }
  IntoPlan plan;
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, std::max<uint64_t>(arena_size, 4096)) != 0) die("cannot allocate arena");
  plan.arena.reset(static_cast<std::byte*>(mem));
  std::memset(mem, 0, arena_size);  // fault the pages in before timing
  plan.batches.resize(spans.size());
  for (size_t b = 0; b < spans.size(); ++b) {
    auto [begin, end] = spans[b];
    uint64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const Range& r = ranges[i];
      uint64_t len = length_of(r);
      int64_t start = r.start >= 0 ? r.start : -static_cast<int64_t>(len);
      plan.batches[b].add(paths[r.file], start, std::span<std::byte>(plan.arena.get() + offset, len));
      offset += (len + 4095) & ~uint64_t{4095};
    }
  }
  return plan;
}

void note_error(RunStats& s, const lsio::Status& status) {
  if (s.errors++ == 0) s.first_error = status.to_string();
}

void run_read(lsio::Store& store, const std::vector<lsio::ReadBatch>& batches, const lsio::ReadOptions& opts,
              RunStats& s) {
  for (const auto& batch : batches) {
    auto results = store.read(batch, opts);
    for (const auto& r : results) {
      ++s.chunks;
      if (r)
        s.bytes += r->size();
      else
        note_error(s, r.error());
    }
  }
}

void run_for_each(lsio::Store& store, const std::vector<lsio::ReadBatch>& batches, const lsio::ReadOptions& opts,
                  RunStats& s) {
  std::atomic<uint64_t> chunks{0}, bytes{0}, errors{0};
  std::mutex first_mu;
  std::string first_error;
  auto callback = [&](size_t, lsio::Result<lsio::Bytes> chunk) {
    chunks.fetch_add(1, std::memory_order_relaxed);
    if (chunk) {
      bytes.fetch_add(chunk->size(), std::memory_order_relaxed);
    } else if (errors.fetch_add(1, std::memory_order_relaxed) == 0) {
      std::lock_guard lock(first_mu);
      first_error = chunk.error().to_string();
    }
  };
  for (const auto& batch : batches) {
    lsio::Status st = store.for_each(batch, callback, opts);
    if (!st.ok()) {
      errors.fetch_add(1);
      std::lock_guard lock(first_mu);
      if (first_error.empty()) first_error = st.to_string();
    }
  }
  s.chunks = chunks.load();
  s.bytes = bytes.load();
  s.errors = errors.load();
  s.first_error = first_error;
}

void run_read_into(lsio::Store& store, const IntoPlan& plan, const lsio::ReadOptions& opts, RunStats& s) {
  for (const auto& batch : plan.batches) {
    auto statuses = store.read_into(batch, opts);
    for (size_t i = 0; i < statuses.size(); ++i) {
      ++s.chunks;
      if (statuses[i].ok())
        s.bytes += batch.dest(i).size();
      else
        note_error(s, statuses[i]);
    }
  }
}

// The destination's bound, without LSIO: `threads` threads pread each call's ranges straight into the same
// destinations as read_into (one claimed range at a time), files opened before timing. Two threads of pread
// into a hot page cache is what fio does too, but fio reads into one small buffer that stays in the CPU cache;
// this writes every byte to the caller's large output, as read_into must.
struct PreadInto {
  std::vector<int> fds;         // one per path, opened once
  std::vector<uint64_t> sizes;  // for suffix ranges
  explicit PreadInto(const std::vector<std::string>& paths) {
    for (const std::string& p : paths) {
      fds.push_back(open(p.c_str(), O_RDONLY | O_CLOEXEC));
      if (fds.back() < 0) die("open " + p + ": " + std::strerror(errno));
      sizes.push_back(file_size(p));
    }
  }
  PreadInto(const PreadInto&) = delete;
  PreadInto& operator=(const PreadInto&) = delete;
  ~PreadInto() {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }
};

void run_pread_into(const PreadInto& files, const IntoPlan& plan, const std::vector<Range>& ranges,
                    const std::vector<std::pair<size_t, size_t>>& spans, unsigned threads, RunStats& s) {
  std::atomic<uint64_t> bytes{0}, errors{0};
  for (size_t b = 0; b < spans.size(); ++b) {
    const lsio::ReadIntoBatch& batch = plan.batches[b];
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next.fetch_add(1)) < batch.size();) {
        std::span<std::byte> dest = batch.dest(i);
        const Range& r = ranges[spans[b].first + i];
        const uint64_t start = r.start >= 0 ? static_cast<uint64_t>(r.start) : files.sizes[r.file] - dest.size();
        size_t done = 0;
        while (done < dest.size()) {
          ssize_t n = pread(files.fds[r.file], dest.data() + done, dest.size() - done, start + done);
          if (n <= 0) break;
          done += static_cast<size_t>(n);
        }
        (done == dest.size() ? bytes : errors).fetch_add(done == dest.size() ? done : 1);
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    s.chunks += batch.size();
  }
  s.bytes = bytes.load();
  s.errors = errors.load();
  if (s.errors) s.first_error = "pread failed or was short";
}

// Peak RSS of this program image (VmHWM). ru_maxrss would also count the RSS
// of the process that forked us, which Linux carries across exec.
long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  return self.ru_maxrss;
}

double seconds_of(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; }

// Reads `batch` once through the store and compares it with plain pread (untimed).
std::string verify_first_batch(lsio::Store& store, const lsio::ReadBatch& batch, const lsio::ReadOptions& opts) {
  auto results = store.read(batch, opts);
  if (results.size() != batch.size()) return "read returned " + std::to_string(results.size()) + " results";
  std::vector<std::byte> expected;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!results[i]) return "range " + std::to_string(i) + ": " + results[i].error().to_string();
    const std::string& path = batch.path_of(i);
    lsio::ByteRange r = batch.range(i);
    auto abs = r.resolve(file_size(path));
    expected.resize(abs.end - abs.begin);
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return "open " + path + " failed";
    ssize_t n = ::pread(fd, expected.data(), expected.size(), static_cast<off_t>(abs.begin));
    ::close(fd);
    if (n != static_cast<ssize_t>(expected.size())) return "pread short for " + path;
    if (results[i]->size() != expected.size() ||
        std::memcmp(results[i]->data(), expected.data(), expected.size()) != 0) {
      return "range " + std::to_string(i) + " of " + path + " " + r.to_string() + ": bytes differ from pread";
    }
  }
  return {};
}

std::string json_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

lsio::EngineKind engine_kind(const std::string& name) {
  if (name == "uring") return lsio::EngineKind::kUring;
  if (name == "posix") return lsio::EngineKind::kPosix;
  if (name == "auto") return lsio::EngineKind::kAuto;
  die("bad --engine: " + name);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  std::vector<std::string> paths;
  std::vector<Range> ranges;
  if (args.nop && args.paths_file.empty()) {
    make_nop_inputs(args, paths, ranges);
  } else {
    paths = read_paths(args.paths_file);
    ranges = read_ranges(args.ranges_file, paths.size());
  }
  auto spans = split_batches(ranges.size(), args.batch);

  lsio::StoreOptions store_options;
  store_options.engine = engine_kind(args.engine);
  store_options.workers = args.workers;
  store_options.queue_depth = args.queue_depth;
  if (args.part_size) store_options.part_size = args.part_size;
  if (args.max_inflight_bytes) store_options.max_inflight_bytes = args.max_inflight_bytes;
  auto store_or = args.nop ? lsio::store::open_nop_file_store(store_options) : lsio::open_store("", store_options);
  if (!store_or) die("open_store: " + store_or.error().to_string());
  std::shared_ptr<lsio::Store> store = *store_or;

  lsio::ReadOptions opts;
  opts.coalesce_gap = args.coalesce_gap;
  opts.max_merged = args.max_merged;
  opts.direct = args.direct;

  // Verify a small first slice only, so that it does not raise the peak RSS.
  std::string verify_error;
  if (args.verify && !ranges.empty()) {
    size_t n = 0;
    for (uint64_t bytes = 0; n < spans.front().second && n < kVerifyRanges && bytes < kVerifyBytes; ++n) {
      const Range& r = ranges[n];
      bytes += r.end >= 0 ? static_cast<uint64_t>(r.end - r.start) : file_size(paths[r.file]);
    }
    auto check = build_read_batches(paths, ranges, {{0, n}});
    verify_error = verify_first_batch(*store, check.front(), opts);
  }

  std::vector<lsio::ReadBatch> batches;
  IntoPlan into;
  std::optional<PreadInto> pread_files;
  if (args.mode == "read_into" || args.mode == "pread_into")
    into = build_into_batches(paths, ranges, spans);
  else
    batches = build_read_batches(paths, ranges, spans);
  if (args.mode == "pread_into") pread_files.emplace(paths);
  const unsigned threads = args.workers ? args.workers : std::max(1u, std::thread::hardware_concurrency());

  auto run_once = [&](RunStats& s) {
    if (args.mode == "pread_into")
      run_pread_into(*pread_files, into, ranges, spans, threads, s);
    else if (args.mode == "read")
      run_read(*store, batches, opts, s);
    else if (args.mode == "for_each")
      run_for_each(*store, batches, opts, s);
    else
      run_read_into(*store, into, opts, s);
  };
  for (int w = 0; w < args.warmup; ++w) {
    RunStats ignored;
    run_once(ignored);
  }
  std::vector<RunStats> runs;
  for (int rep = 0; rep < args.repeat; ++rep) {
    RunStats s;
    rusage ru0{}, ru1{};
    getrusage(RUSAGE_SELF, &ru0);
    auto t0 = std::chrono::steady_clock::now();
    run_once(s);
    auto t1 = std::chrono::steady_clock::now();
    getrusage(RUSAGE_SELF, &ru1);
    s.seconds = std::chrono::duration<double>(t1 - t0).count();
    s.cpu_user = seconds_of(ru1.ru_utime) - seconds_of(ru0.ru_utime);
    s.cpu_sys = seconds_of(ru1.ru_stime) - seconds_of(ru0.ru_stime);
    runs.push_back(std::move(s));
  }
  const RunStats& best = *std::min_element(runs.begin(), runs.end(),
                                           [](const RunStats& a, const RunStats& b) { return a.seconds < b.seconds; });
  std::ostringstream out;
  out << "{\"engine\": \"" << json_escape(store->engine_description()) << "\", \"mode\": \"" << args.mode
      << "\", \"direct\": " << (args.direct ? "true" : "false") << ", \"nop\": " << (args.nop ? "true" : "false")
      << ", \"ops_per_s\": " << (best.seconds > 0 ? static_cast<double>(best.chunks) / best.seconds : 0.0)
      << ", \"seconds\": " << best.seconds << ", \"chunks\": " << best.chunks << ", \"bytes\": " << best.bytes
      << ", \"cpu_user\": " << best.cpu_user << ", \"cpu_sys\": " << best.cpu_sys << ", \"errors\": " << best.errors
      << ", \"first_error\": \"" << json_escape(best.first_error) << "\", \"verify_error\": \""
      << json_escape(verify_error) << "\", \"peak_rss_kib\": " << peak_rss_kib() << ", \"runs\": [";
  for (size_t i = 0; i < runs.size(); ++i) {
    out << (i ? ", " : "") << "{\"seconds\": " << runs[i].seconds << ", \"cpu_user\": " << runs[i].cpu_user
        << ", \"cpu_sys\": " << runs[i].cpu_sys << ", \"errors\": " << runs[i].errors << "}";
  }
  out << "]}\n";
  std::fputs(out.str().c_str(), stdout);
  return 0;
}
