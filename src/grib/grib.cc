// GRIB2 scanner and decoder on ecCodes (see include/lsio/grib.h).
//
// Threads: every ecCodes handle is made, used and deleted inside one call on
// one thread (a store worker running our callback), from bytes in memory
// (codes_handle_new_from_message / _partial_message do not copy and never
// touch files). The default context is shared; there is no lock of ours.
// Nothing here throws out of a callback: allocation failures become
// ResourceExhausted statuses.
#include "lsio/grib.h"

#include <eccodes.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>

namespace lsio::grib {

namespace {

constexpr uint64_t kSection0 = 16;

// std::format is not in this toolchain's libstdc++ (GCC 12): "{}" placeholders filled in order.
inline void append(std::string& s, std::string_view v) { s += v; }
inline void append(std::string& s, const std::string& v) { s += v; }
inline void append(std::string& s, const char* v) { s += v; }
template <typename T>
  requires std::is_arithmetic_v<T>
void append(std::string& s, T v) {
  s += std::to_string(v);
}
template <typename... A>
std::string fmt(std::string_view f, const A&... args) {
  std::string out;
  size_t pos = 0;
  auto one = [&](const auto& v) {
    size_t q = f.find("{}", pos);
    if (q == std::string_view::npos) return;
    out.append(f.substr(pos, q - pos));
    append(out, v);
    pos = q + 2;
  };
  (one(args), ...);
  out.append(f.substr(pos));
  return out;
}

uint64_t be(const std::byte* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

bool is_magic(const std::byte* p) { return std::memcmp(p, "GRIB", 4) == 0; }

Status data_loss(std::string_view path, uint64_t offset, std::string_view what) {
  return Status(StatusCode::kDataLoss, fmt("GRIB {}: offset {}: {}", path, offset, what));
}

// ecCodes prints its errors on stderr; we keep the last one of each thread for our message instead.
thread_local std::string t_last_log;
void log_to_thread(const codes_context*, int level, const char* message) {
  if (level == CODES_LOG_ERROR || level == CODES_LOG_FATAL) t_last_log = message ? message : "";
}
void quiet_eccodes() {
  static std::once_flag once;
  std::call_once(once, [] { codes_context_set_logging_proc(codes_context_get_default(), &log_to_thread); });
}
// The ecCodes message of the last failure on this thread, as ": why", or "".
std::string last_log() {
  std::string s = t_last_log.empty() ? std::string() : ": " + t_last_log;
  t_last_log.clear();
  return s;
}

struct HandleDeleter {
  void operator()(codes_handle* h) const { codes_handle_delete(h); }
};
using Handle = std::unique_ptr<codes_handle, HandleDeleter>;

Status codes_status(std::string_view path, uint64_t offset, std::string_view what, int err) {
  StatusCode code = err == CODES_NOT_IMPLEMENTED ? StatusCode::kUnimplemented : StatusCode::kDataLoss;
  return Status(code, fmt("GRIB {}: offset {}: {}: ecCodes error {} ({})", path, offset, what, err,
                          codes_get_error_message(err)));
}

// Key readers: a key the message does not have keeps the default; any other error is reported.
struct KeyReader {
  codes_handle* h;
  std::string_view path;
  uint64_t offset;
  Status status;

  void str(const char* key, std::string& out) {
    if (!status.ok()) return;
    char buf[256];
    size_t len = sizeof buf;
    int err = codes_get_string(h, key, buf, &len);
    if (err == CODES_NOT_FOUND) return;
    if (err != CODES_SUCCESS) {
      status = codes_status(path, offset, fmt("key {}", key), err);
      return;
    }
    out.assign(buf, strnlen(buf, std::min(len, sizeof buf)));
  }
  void lng(const char* key, int64_t& out) {
    if (!status.ok()) return;
    long v = 0;
    int err = codes_get_long(h, key, &v);
    if (err == CODES_NOT_FOUND) return;
    if (err != CODES_SUCCESS) {
      status = codes_status(path, offset, fmt("key {}", key), err);
      return;
    }
    out = v;
  }
  void dbl(const char* key, double& out) {
    if (!status.ok()) return;
    double v = 0;
    int err = codes_get_double(h, key, &v);
    if (err == CODES_NOT_FOUND) return;
    if (err != CODES_SUCCESS) {
      status = codes_status(path, offset, fmt("key {}", key), err);
      return;
    }
    out = v;
  }
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's civil-date algorithms).
int64_t days_from_civil(int64_t y, int64_t mo, int64_t d) {
  y -= mo <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
int64_t civil_from_days(int64_t z) {  // YYYYMMDD
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t mo = mp + (mp < 10 ? 3 : -9);
  return (yoe + era * 400 + (mo <= 2)) * 10000 + mo * 100 + d;
}

// validityDate/Time = dataDate/Time + step, computed here: ecCodes 2.28 takes minutes on a corrupt huge step.
void set_validity(Message& m) {
  int64_t unit = 0;
  if (m.step_units == "s") unit = 1;
  if (m.step_units == "m") unit = 60;
  if (m.step_units == "h") unit = 3600;
  if (m.step_units == "3h") unit = 10800;
  if (m.step_units == "6h") unit = 21600;
  if (m.step_units == "12h") unit = 43200;
  if (m.step_units == "D") unit = 86400;
  constexpr int64_t kLimit = int64_t{1} << 40;
  if (unit == 0 || m.step < -kLimit || m.step > kLimit || m.data_date < 0 || m.data_date > 99991231) {
    m.validity_date = m.data_date;
    m.validity_time = m.data_time;
    return;
  }
  const int64_t days = days_from_civil(m.data_date / 10000, m.data_date / 100 % 100, m.data_date % 100);
  const int64_t secs = days * 86400 + (m.data_time / 100) * 3600 + (m.data_time % 100) * 60 + m.step * unit;
  const int64_t vday = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const int64_t rem = secs - vday * 86400;
  m.validity_date = civil_from_days(vday);
  m.validity_time = rem / 3600 * 100 + rem % 3600 / 60;
}

// The concept keys (shortName, name, units, paramId) cost ecCodes ~0.8 ms each (it matches the concept tables
// every time); every other key is ~0.01 ms. They depend only on the discipline and sections 1, 2 and 4, so
// each worker caches them by those bytes, with the reference time (section 1) and the forecast time (section
// 4, templates 4.0/4.1/4.8/4.11 only, where octets 19-22 are the forecast time) left out: the fields of
// one parameter and level share one entry across times and steps. A different byte anywhere else is a
// different entry, never a wrong one.
struct Concept {
  std::string short_name, name, units;
  int64_t param_id = 0;
};

std::string concept_key(std::span<const std::byte> msg) {
  std::string key;
  if (msg.size() < kSection0) return key;
  key.push_back(static_cast<char>(msg[6]));  // discipline
  uint64_t s = kSection0;
  while (s + 5 <= msg.size()) {
    const uint64_t len = be(msg.data() + s, 4);
    const int num = static_cast<uint8_t>(msg[s + 4]);
    if (len < 5 || s + len > msg.size()) return {};
    const char* p = reinterpret_cast<const char*>(msg.data() + s);
    if (num == 1) {
      if (len < 21) return {};
      key.push_back('\1');
      key.append(p + 5, 7);          // centre, sub-centre, tables versions, significance of the reference time
      key.append(p + 19, len - 19);  // production status, type of data, the rest
    } else if (num == 2) {
      key.push_back('\2');
      key.append(p, len);
    } else if (num == 4) {
      key.push_back('\4');
      std::string sec(p, len);
      const int templ = len >= 9 ? static_cast<int>(be(msg.data() + s + 7, 2)) : -1;
      if (len >= 22 && (templ == 0 || templ == 1 || templ == 8 || templ == 11)) std::memset(sec.data() + 18, 0, 4);
      if (templ == 8 || templ == 11) return {};  // end-of-interval times differ by step: not worth caching
      key += sec;
      return key;
    }
    s += len;
  }
  return {};
}

Status read_keys(codes_handle* h, Message& m, std::span<const std::byte> msg) {
  thread_local std::unordered_map<std::string, Concept> cache;
  std::string key = concept_key(msg);
  KeyReader r{h, m.path, m.offset, {}};
  if (auto it = key.empty() ? cache.end() : cache.find(key); it != cache.end()) {
    m.short_name = it->second.short_name;
    m.name = it->second.name;
    m.units = it->second.units;
    m.param_id = it->second.param_id;
  } else {
    r.str("shortName", m.short_name);
    r.str("units", m.units);
    r.str("name", m.name);
    r.lng("paramId", m.param_id);
    if (r.status.ok() && !key.empty()) {
      if (cache.size() >= 4096) cache.clear();
      cache.emplace(std::move(key), Concept{m.short_name, m.name, m.units, m.param_id});
    }
  }
  r.str("typeOfLevel", m.type_of_level);
  r.str("packingType", m.packing_type);
  r.str("gridType", m.grid_type);
  r.str("stepUnits", m.step_units);
  r.lng("level", m.level);
  r.lng("dataDate", m.data_date);
  r.lng("dataTime", m.data_time);
  r.lng("step", m.step);
  r.lng("number", m.number);
  r.lng("discipline", m.discipline);
  r.lng("parameterCategory", m.parameter_category);
  r.lng("parameterNumber", m.parameter_number);
  r.lng("Ni", m.ni);
  r.lng("Nj", m.nj);
  r.lng("numberOfDataPoints", m.number_of_points);
  r.lng("numberOfValues", m.number_of_values);
  int64_t bitmap = 0;
  r.lng("bitmapPresent", bitmap);
  m.bitmap = bitmap != 0;
  r.dbl("latitudeOfFirstGridPointInDegrees", m.lat_first);
  r.dbl("longitudeOfFirstGridPointInDegrees", m.lon_first);
  r.dbl("latitudeOfLastGridPointInDegrees", m.lat_last);
  r.dbl("longitudeOfLastGridPointInDegrees", m.lon_last);
  r.dbl("iDirectionIncrementInDegrees", m.di);
  r.dbl("jDirectionIncrementInDegrees", m.dj);
  r.lng("iScansNegatively", m.i_scans_negatively);
  r.lng("jScansPositively", m.j_scans_positively);
  if (r.status.ok()) set_validity(m);
  if (r.status.ok() && m.ni == 2147483647) m.ni = -1;  // "missing" in reduced grids
  if (r.status.ok() && m.nj == 2147483647) m.nj = -1;
  return r.status;
}

}  // namespace

// Field k of a multi-field message (sections 2-7, 3-7 or 4-7 repeated) as a single-field message in `out`:
// section 0 (length patched), 1, the latest 2 and 3 before the field, its 4-7 and "7777". A bitmap section
// that says "the previous bitmap" (indicator 254) is replaced by that bitmap. No ecCodes multi-field mode
// (which keeps state in the shared context), so any thread can do this for any field.
Status assemble_field(std::string_view path, uint64_t offset, std::span<const std::byte> msg, uint32_t k,
                      std::vector<std::byte>& out) {
  using Span = std::span<const std::byte>;
  Span sec[8];
  Span last_bitmap;
  uint32_t field = 0;
  uint64_t s = kSection0;
  while (s + 4 <= msg.size() && std::memcmp(msg.data() + s, "7777", 4) != 0) {
    if (s + 5 > msg.size()) break;
    const uint64_t len = be(msg.data() + s, 4);
    const int num = static_cast<uint8_t>(msg[s + 4]);
    if (len < 5 || num < 1 || num > 7 || s + len > msg.size()) break;
    sec[num] = msg.subspan(s, len);
    if (num == 6 && len >= 6) {
      const int indicator = static_cast<uint8_t>(msg[s + 5]);
      if (indicator == 0) last_bitmap = sec[6];
      if (indicator == 254) {
        if (last_bitmap.empty()) return data_loss(path, offset, "field refers to a previous bitmap that is not there");
        sec[6] = last_bitmap;
      }
    }
    if (num == 7) {
      if (field == k) {
        try {
          out.clear();
          uint64_t total = kSection0 + 4;
          for (int i = 1; i <= 7; ++i) total += sec[i].size();
          out.insert(out.end(), msg.begin(), msg.begin() + kSection0);
          for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<std::byte>((total >> (8 * (7 - i))) & 0xff);
          for (int i = 1; i <= 7; ++i) out.insert(out.end(), sec[i].begin(), sec[i].end());
          const char* end = "7777";
          for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(end[i]));
        } catch (const std::bad_alloc&) {
          return Status(StatusCode::kResourceExhausted, fmt("GRIB {}: offset {}: out of memory", path, offset));
        }
        return {};
      }
      ++field;
    }
    s += len;
  }
  return data_loss(path, offset, fmt("no field {} in this message ({} fields)", k, field));
}

namespace {

// The walk of one file: fed chunks at `pos`, says where to read next.
class FileWalk {
 public:
  FileWalk(std::string path, uint64_t size, const ScanOptions& options)
      : path_(std::move(path)), size_(size), options_(options), probe_(std::max<uint64_t>(options.probe_bytes, 64)) {}
  // One message known from an inventory: [offset, offset + length) must be exactly one GRIB message.
  static FileWalk span(const MessageSpan& s, const ScanOptions& options) {
    const bool overflow = s.length > std::numeric_limits<uint64_t>::max() - s.offset;
    FileWalk w(s.path, overflow ? s.offset : s.offset + s.length, options);
    w.pos_ = s.offset;
    w.expected_ = s.length;
    w.options_.skip_garbage = false;
    if (overflow)
      w.fail(data_loss(s.path, s.offset, fmt("the inventory gives a length of {} bytes, past any file", s.length)));
    return w;
  }

  const std::string& path() const { return path_; }

  bool done() const { return done_; }
  uint64_t pos() const { return pos_; }
  // The range to read next: [pos, pos + want).
  uint64_t want() const { return std::min(probe_, size_ - pos_); }
  const Status& status() const { return status_; }
  std::vector<Message>& messages() { return messages_; }
  std::vector<std::string>& warnings() { return warnings_; }

  // Bytes [pos, pos + data.size()) of the file.
  void feed(std::span<const std::byte> data) {
    try {
      feed_impl(data);
    } catch (const std::bad_alloc&) {
      fail(Status(StatusCode::kResourceExhausted, fmt("GRIB {}: out of memory while indexing", path_)));
    }
  }
  void fail(Status s) {
    status_ = std::move(s);
    done_ = true;
  }
  void start() {
    if (done_) return;
    if (expected_ && *expected_ < kSection0 + 4 + 5)
      fail(
          data_loss(path_, pos_, fmt("the inventory gives a length of {} bytes, too short for a message", *expected_)));
    else if (size_ == 0)
      fail(data_loss(path_, 0, "not a GRIB file (empty)"));
  }

 private:
  void warn(uint64_t offset, std::string_view what) {
    warnings_.push_back(fmt("GRIB {}: offset {}: {}", path_, offset, what));
  }

  // Garbage from garbage_start_ (if any) up to `end` is over.
  void end_garbage(uint64_t end) {
    if (!garbage_start_) return;
    warn(*garbage_start_, fmt("skipped {} bytes that are not a GRIB message", end - *garbage_start_));
    garbage_start_.reset();
  }

  void finish() {
    if (garbage_start_ && messages_.empty()) {
      fail(data_loss(path_, 0, "not a GRIB file (no \"GRIB\" message found)"));
      return;
    }
    end_garbage(size_);
    done_ = true;
  }

  // Not a message at absolute offset `at`: refuse, or skip to the next "GRIB".
  // Returns false when the walk stops (error).
  bool garbage(uint64_t at) {
    if (expected_) {
      fail(data_loss(path_, at, "no GRIB message at the offset the inventory gives (\"GRIB\" expected)"));
      return false;
    }
    if (at == 0 && !options_.skip_garbage) {
      fail(data_loss(path_, 0, "not a GRIB file (does not start with \"GRIB\")"));
      return false;
    }
    if (!options_.skip_garbage) {
      fail(data_loss(path_, at, "bytes that are not a GRIB message (expected \"GRIB\")"));
      return false;
    }
    if (!garbage_start_) garbage_start_ = at;
    return true;
  }

  void feed_impl(std::span<const std::byte> data) {
    const uint64_t base = pos_;
    const uint64_t n = data.size();
    uint64_t p = 0;
    while (!done_) {
      const uint64_t at = base + p;
      if (at >= size_) {
        finish();
        return;
      }
      if (p + 4 > n) {  // need more bytes (or the file ends)
        if (base + n >= size_) {
          if (!garbage(at)) return;
          finish();
          return;
        }
        pos_ = at;
        return;
      }
      if (!is_magic(data.data() + p)) {
        if (!garbage(at)) return;
        // Search this chunk for the next "GRIB".
        const std::byte* q = nullptr;
        for (uint64_t i = p + 1; i + 4 <= n; ++i) {
          if (data[i] == std::byte{'G'} && is_magic(data.data() + i)) {
            q = data.data() + i;
            break;
          }
        }
        if (q == nullptr) {
          uint64_t next = n >= 3 ? n - 3 : n;  // a "GRIB" may straddle the chunk end
          if (base + n >= size_) {
            finish();
            return;
          }
          pos_ = base + std::max(next, p + 1);
          return;
        }
        p = static_cast<uint64_t>(q - data.data());
        continue;
      }
      if (p + kSection0 > n) {
        if (base + n >= size_ && garbage_start_) {  // "GRIB" in skipped bytes at the very end
          finish();
          return;
        }
        if (base + n >= size_) {
          fail(data_loss(path_, at, fmt("truncated message: the file ends {} bytes into section 0", size_ - at)));
          return;
        }
        pos_ = at;
        return;
      }
      const int edition = static_cast<uint8_t>(data[p + 7]);
      const uint64_t length = be(data.data() + p + 8, 8);
      if (expected_ && length != *expected_) {
        fail(data_loss(path_, at, fmt("section 0 gives a length of {} bytes, the inventory {}", length, *expected_)));
        return;
      }
      if (garbage_start_ && (edition != 2 || length < kSection0 + 4 + 5 || length > size_ - at)) {
        ++p;  // "GRIB" inside skipped bytes, not a message: keep skipping
        continue;
      }
      if (edition != 2) {
        fail(Status(StatusCode::kUnimplemented,
                    fmt("GRIB {}: offset {}: GRIB edition {} is not supported (only edition 2)", path_, at, edition)));
        return;
      }
      if (length < kSection0 + 4 + 5) {
        fail(data_loss(path_, at, fmt("wrong length in section 0: {} bytes", length)));
        return;
      }
      if (length > size_ - at) {
        fail(data_loss(path_, at,
                       fmt("truncated message: section 0 says {} bytes, the file has {} left", length, size_ - at)));
        return;
      }
      end_garbage(at);
      const bool whole = p + length <= n;
      const uint64_t avail = whole ? length : n - p;
      // Walk the sections: 4-byte length, 1-byte number; up to section 7's header.
      uint64_t s = kSection0;
      uint64_t sec7 = 0;
      uint32_t sevens = 0;
      bool need_more = false;
      for (;;) {
        if (s + 4 <= avail && is_end(data.data() + p + s)) break;  // "7777"
        if (s + 5 > avail) {
          need_more = true;
          break;
        }
        const uint64_t slen = be(data.data() + p + s, 4);
        const int num = static_cast<uint8_t>(data[p + s + 4]);
        if (slen < 5 || num < 1 || num > 7 || s + slen + 4 > length) {
          fail(data_loss(path_, at,
                         fmt("wrong length in section 0 ({} bytes) or corrupt section {} at message byte {} "
                             "(length {})",
                             length, num, s, slen)));
          return;
        }
        if (num == 7) {
          if (sevens == 0) sec7 = s;
          ++sevens;
          if (!whole) break;  // only the headers are read for a large message
        }
        s += slen;
      }
      if (!need_more && !whole && s + be(data.data() + p + s, 4) + 4 != length) {
        // More sections after the first field: a multi-field message, read whole to index every field.
        probe_ = length;
        pos_ = at;
        return;
      }
      if (need_more) {
        if (whole) {
          fail(data_loss(path_, at, fmt("wrong length in section 0: {} bytes, no \"7777\" at the end", length)));
          return;
        }
        // Read again from this message with a larger probe (sections 2-6 are large).
        probe_ = std::min<uint64_t>(std::max(probe_ * 4, s + 4096), length);
        pos_ = at;
        return;
      }
      if (whole) {
        if (s + 4 != length) {
          fail(data_loss(
              path_, at,
              fmt("wrong length in section 0: {} bytes, but the message ends (\"7777\") at {}", length, s + 4)));
          return;
        }
        if (sevens == 0) {
          fail(data_loss(path_, at, "message without a data section (section 7)"));
          return;
        }
      }
      Message m;
      m.path = path_;
      m.offset = at;
      m.length = length;
      m.fields = whole ? sevens : 0;
      for (uint32_t k = 0; k < std::max<uint32_t>(m.fields, 1); ++k) {
        std::span<const std::byte> bytes = whole ? data.subspan(p, length) : data.subspan(p, sec7 + 5);
        if (m.fields > 1) {
          Status as = assemble_field(path_, at, bytes, k, field_buf_);
          if (!as.ok()) {
            fail(std::move(as));
            return;
          }
          bytes = field_buf_;
        }
        Handle h(whole ? codes_handle_new_from_message(nullptr, bytes.data(), bytes.size())
                       : codes_handle_new_from_partial_message(nullptr, bytes.data(), bytes.size()));
        if (!h) {
          fail(data_loss(path_, at,
                         fmt("ecCodes cannot parse field {} of this message (unsupported template or corrupt "
                             "sections)",
                             k) +
                             last_log()));
          return;
        }
        Message f = m;
        f.field = k;
        Status ks = read_keys(h.get(), f, bytes);
        if (!ks.ok()) {
          fail(std::move(ks));
          return;
        }
        messages_.push_back(std::move(f));
      }
      probe_ = std::max<uint64_t>(options_.probe_bytes, 64);
      if (whole) {
        p += length;
        continue;
      }
      pos_ = at + length;
      if (pos_ >= size_) finish();
      return;
    }
  }

  static bool is_end(const std::byte* p) { return std::memcmp(p, "7777", 4) == 0; }

  std::string path_;
  uint64_t size_;
  ScanOptions options_;
  uint64_t probe_;
  uint64_t pos_ = 0;
  std::optional<uint64_t> expected_;  // the message length an inventory gives (span walks only)
  bool done_ = false;
  Status status_;
  std::optional<uint64_t> garbage_start_;
  std::vector<Message> messages_;
  std::vector<std::string> warnings_;
  std::vector<std::byte> field_buf_;  // one field of a multi-field message, as a single-field message
};

Result<ScanResult> collect(std::vector<FileWalk>& walks) {
  ScanResult out;
  size_t total = 0;
  for (auto& w : walks) {
    if (!w.status().ok()) return error(w.status());
    total += w.messages().size();
  }
  out.messages.reserve(total);
  for (auto& w : walks) {
    for (auto& m : w.messages()) out.messages.push_back(std::move(m));
    for (auto& s : w.warnings()) out.warnings.push_back(std::move(s));
  }
  return out;
}

// Thread-local scratch for float32 output (doubles first, then converted).
std::vector<double>& scratch() {
  thread_local std::vector<double> v;
  return v;
}

}  // namespace

Result<ScanResult> scan_bytes(std::string_view path, std::span<const std::byte> data, const ScanOptions& options) {
  quiet_eccodes();
  std::vector<FileWalk> walks;
  walks.emplace_back(std::string(path), data.size(), options);
  FileWalk& w = walks.front();
  w.start();
  while (!w.done()) {
    const uint64_t pos = w.pos();
    w.feed(data.subspan(pos, w.want()));
    if (!w.done() && w.pos() == pos && w.want() == 0) break;  // cannot happen; never spin
  }
  return collect(walks);
}

namespace {

// Runs the walks to their end in rounds: one read per unfinished walk per round, all in one batch.
Status run_walks(Store& store, std::vector<FileWalk>& walks, const ScanOptions& options) {
  for (;;) {
    auto batch = std::make_shared<ReadBatch>();
    std::vector<size_t> which;
    for (size_t i = 0; i < walks.size(); ++i) {
      if (walks[i].done()) continue;
      batch->add(walks[i].path(), ByteRange::bounded(walks[i].pos(), walks[i].pos() + walks[i].want()));
      which.push_back(i);
    }
    if (which.empty()) return {};
    std::vector<uint64_t> before(which.size());
    for (size_t k = 0; k < which.size(); ++k) before[k] = walks[which[k]].pos();
    // One request per file per round, so each callback touches its own walk only.
    Status st = store.for_each(
        *batch,
        [&](size_t k, Result<Bytes> chunk) {
          FileWalk& w = walks[which[k]];
          if (!chunk.has_value()) {
            w.fail(chunk.error().with_context(fmt("GRIB {}: offset {}", batch->path_of(k), w.pos())));
            return;
          }
          w.feed(chunk->span());
        },
        options.read);
    if (!st.ok()) return st;
    for (size_t k = 0; k < which.size(); ++k) {
      FileWalk& w = walks[which[k]];
      if (!w.done() && w.pos() == before[k] && w.want() == 0)
        w.fail(Status(StatusCode::kInternal, "GRIB scan stalled"));
    }
  }
}

}  // namespace

Result<ScanResult> scan(Store& store, std::span<const std::string> paths, const ScanOptions& options) {
  quiet_eccodes();
  std::vector<Result<uint64_t>> sizes = store.sizes(paths);
  std::vector<FileWalk> walks;
  walks.reserve(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!sizes[i].has_value()) return error(sizes[i].error().with_context(fmt("GRIB {}", paths[i])));
    walks.emplace_back(paths[i], *sizes[i], options);
    walks.back().start();
  }
  if (Status st = run_walks(store, walks, options); !st.ok()) return error(st);
  return collect(walks);
}

Result<SpanScanResult> scan_spans(Store& store, std::span<const MessageSpan> spans, const ScanOptions& options) {
  quiet_eccodes();
  std::vector<FileWalk> walks;
  try {
    walks.reserve(spans.size());
    for (const MessageSpan& s : spans) {
      walks.push_back(FileWalk::span(s, options));
      walks.back().start();
    }
  } catch (const std::bad_alloc&) {
    return error(Status(StatusCode::kResourceExhausted, "GRIB index: out of memory for the inventory's messages"));
  }
  if (Status st = run_walks(store, walks, options); !st.ok()) return error(st);
  SpanScanResult out;
  out.errors.resize(walks.size());
  for (size_t i = 0; i < walks.size(); ++i) {
    if (!walks[i].status().ok()) {
      out.errors[i] = walks[i].status();
      continue;
    }
    for (auto& m : walks[i].messages()) out.scan.messages.push_back(std::move(m));
    for (auto& w : walks[i].warnings()) out.scan.warnings.push_back(std::move(w));
  }
  return out;
}

Status decode_message(std::string_view path, uint64_t offset, std::span<const std::byte> message, void* out,
                      ValueType type, size_t capacity) {
  quiet_eccodes();
  Handle h(codes_handle_new_from_message(nullptr, message.data(), message.size()));
  if (!h) return data_loss(path, offset, "ecCodes cannot parse this message" + last_log());
  size_t n = 0;
  int err = codes_get_size(h.get(), "values", &n);
  if (err != CODES_SUCCESS) return codes_status(path, offset, "size of values", err);
  if (n > capacity) {
    return data_loss(path, offset, fmt("message has {} values, the output slot {}", n, capacity));
  }
  long bitmap = 0;
  err = codes_get_long(h.get(), "bitmapPresent", &bitmap);
  if (err != CODES_SUCCESS && err != CODES_NOT_FOUND) return codes_status(path, offset, "key bitmapPresent", err);
  double missing = 0;
  if (bitmap) {
    err = codes_get_double(h.get(), "missingValue", &missing);
    if (err != CODES_SUCCESS) return codes_status(path, offset, "key missingValue", err);
  }
  double* dst = nullptr;
  if (type == ValueType::kFloat64) {
    dst = static_cast<double*>(out);
  } else {
    try {
      auto& s = scratch();
      if (s.size() < n) s.resize(n);
      dst = s.data();
    } catch (const std::bad_alloc&) {
      return Status(StatusCode::kResourceExhausted, fmt("GRIB {}: offset {}: out of memory", path, offset));
    }
  }
  size_t got = n;
  err = codes_get_double_array(h.get(), "values", dst, &got);
  if (err != CODES_SUCCESS) return codes_status(path, offset, "decode values", err);
  if (got != n) return data_loss(path, offset, fmt("decoded {} values, expected {}", got, n));
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (type == ValueType::kFloat64) {
    if (bitmap) {
      for (size_t i = 0; i < n; ++i)
        if (dst[i] == missing) dst[i] = kNaN;
    }
  } else {
    float* f = static_cast<float*>(out);
    for (size_t i = 0; i < n; ++i)
      f[i] = (bitmap && dst[i] == missing) ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(dst[i]);
  }
  return {};
}

Status read_fields(Store& store, std::span<const Message> messages, void* out, ValueType type, size_t stride,
                   const ReadOptions& options) {
  const size_t elem = type == ValueType::kFloat32 ? 4 : 8;
  ReadBatch batch;
  batch.reserve(messages.size());
  for (const Message& m : messages) {
    if (static_cast<uint64_t>(m.number_of_points) > stride) {
      return Status(StatusCode::kInvalidArgument, fmt("GRIB {}: offset {}: {} points do not fit a slot of {}", m.path,
                                                      m.offset, m.number_of_points, stride));
    }
    batch.add(m.path, ByteRange::bounded(m.offset, m.offset + m.length));
  }
  std::vector<Status> statuses(messages.size());
  auto* base = static_cast<std::byte*>(out);
  Status st = store.for_each(
      batch,
      [&](size_t i, Result<Bytes> chunk) {
        const Message& m = messages[i];
        if (!chunk.has_value()) {
          statuses[i] = chunk.error().with_context(fmt("GRIB {}: offset {}", m.path, m.offset));
          return;
        }
        if (chunk->size() < 4 || !is_magic(chunk->data())) {
          statuses[i] = data_loss(m.path, m.offset, "no GRIB message here (the file changed since it was indexed?)");
          return;
        }
        std::span<const std::byte> bytes = chunk->span();
        if (m.field > 0 || m.fields > 1) {
          thread_local std::vector<std::byte> field_buf;
          statuses[i] = assemble_field(m.path, m.offset, bytes, m.field, field_buf);
          if (!statuses[i].ok()) return;
          bytes = field_buf;
        }
        statuses[i] = decode_message(m.path, m.offset, bytes, base + i * stride * elem, type, stride);
      },
      options);
  for (const Status& s : statuses)
    if (!s.ok()) return s;
  return st;
}

namespace {

// A double array key of a handle; CODES_NOT_FOUND and the other errors are told apart by the caller.
int get_doubles(codes_handle* h, const char* key, std::vector<double>& out) {
  size_t n = 0;
  int err = codes_get_size(h, key, &n);
  if (err != CODES_SUCCESS) return err;
  out.resize(n);
  size_t got = n;
  err = codes_get_double_array(h, key, out.data(), &got);
  if (err == CODES_SUCCESS) out.resize(got);
  return err;
}

}  // namespace

Result<GridCoordinates> message_coordinates(std::string_view path, uint64_t offset,
                                            std::span<const std::byte> message) {
  quiet_eccodes();
  Handle h(codes_handle_new_from_message(nullptr, message.data(), message.size()));
  if (!h) return error(data_loss(path, offset, "ecCodes cannot parse this message" + last_log()));
  GridCoordinates g;
  KeyReader r{h.get(), path, offset, {}};
  r.str("gridType", g.grid_type);
  if (!r.status.ok()) return error(r.status);
  // cfgrib's choice: 1-D dimension coordinates for these two, one value per point for the rest.
  g.distinct = g.grid_type == "regular_ll" || g.grid_type == "regular_gg";
  try {
    const char* lat_key = g.distinct ? "distinctLatitudes" : "latitudes";
    const char* lon_key = g.distinct ? "distinctLongitudes" : "longitudes";
    int err = get_doubles(h.get(), lat_key, g.latitudes);
    if (err == CODES_SUCCESS) err = get_doubles(h.get(), lon_key, g.longitudes);
    if (err != CODES_SUCCESS) {
      // ecCodes has no geometry for spectral and some projected grids (NOT_FOUND, NOT_IMPLEMENTED, or a geoiterator
      // error): the caller falls back to a "values" dimension without coordinates, as cfgrib does.
      return error(Status(StatusCode::kUnimplemented,
                          fmt("GRIB {}: offset {}: ecCodes provides no latitudes/longitudes for gridType={}: ecCodes "
                              "error {} ({}){}",
                              path, offset, g.grid_type, err, codes_get_error_message(err), last_log())));
    }
  } catch (const std::bad_alloc&) {
    return error(Status(StatusCode::kResourceExhausted, fmt("GRIB {}: offset {}: out of memory", path, offset)));
  }
  return g;
}

Status grid_coordinates(Store& store, std::span<const Message> messages, std::vector<Result<GridCoordinates>>& out,
                        const ReadOptions& options) {
  ReadBatch batch;
  batch.reserve(messages.size());
  for (const Message& m : messages) batch.add(m.path, ByteRange::bounded(m.offset, m.offset + m.length));
  out.assign(messages.size(), error(Status(StatusCode::kInternal, "GRIB grid coordinates: not read")));
  return store.for_each(
      batch,
      [&](size_t i, Result<Bytes> chunk) {
        const Message& m = messages[i];
        if (!chunk.has_value()) {
          out[i] = error(chunk.error().with_context(fmt("GRIB {}: offset {}", m.path, m.offset)));
          return;
        }
        if (chunk->size() < 4 || !is_magic(chunk->data())) {
          out[i] = error(data_loss(m.path, m.offset, "no GRIB message here (the file changed since it was indexed?)"));
          return;
        }
        try {
          std::span<const std::byte> bytes = chunk->span();
          if (m.field > 0 || m.fields > 1) {
            thread_local std::vector<std::byte> field_buf;
            Status as = assemble_field(m.path, m.offset, bytes, m.field, field_buf);
            if (!as.ok()) {
              out[i] = error(std::move(as));
              return;
            }
            bytes = field_buf;
          }
          out[i] = message_coordinates(m.path, m.offset, bytes);
        } catch (const std::bad_alloc&) {  // nothing leaves a worker thread
          out[i] = error(Status(StatusCode::kResourceExhausted, "GRIB grid coordinates: out of memory"));
        }
      },
      options);
}

}  // namespace lsio::grib
