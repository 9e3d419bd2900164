// grib_info: the messages of a GRIB2 file (one line each) and min/max/mean of each field, through the public LSIO
// API (lsio::grib::scan, then lsio::grib::read_fields: one batch of whole messages decoded on the store's workers).
//
//   lsio_example_grib_info FILE
//
// FILE is a local path; its directory is opened as a store and FILE is read as a key of it. Prints per field:
//   offset length shortName typeOfLevel level step packingType points min max mean
// (missing values, decoded as NaN, are left out of min/max/mean).
//
// Exit status: 0 on success, 1 when LSIO reports an error (printed with the file and offset), 2 on bad usage.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "lsio/grib.h"
#include "lsio/store.h"

namespace {

int fail(const lsio::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.to_string().c_str());
  return 1;
}

struct Stats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;
  uint64_t count = 0;
};

Stats stats_of(const double* values, size_t n) {
  Stats s;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(values[i])) continue;
    s.min = std::min(s.min, values[i]);
    s.max = std::max(s.max, values[i]);
    s.sum += values[i];
    ++s.count;
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: lsio_example_grib_info FILE\n");
    return 2;
  }
  const std::string file = argv[1];
  const size_t slash = file.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : file.substr(0, slash + 1);
  const std::string key = slash == std::string::npos ? file : file.substr(slash + 1);
  auto store = lsio::open_store(dir);
  if (!store) return fail(store.error());
  const std::vector<std::string> paths{key};
  auto index = lsio::grib::scan(**store, paths);
  if (!index) return fail(index.error());
  const std::vector<lsio::grib::Message>& messages = index->messages;
  for (const std::string& w : index->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  size_t stride = 0;
  for (const auto& m : messages) stride = std::max(stride, static_cast<size_t>(m.number_of_points));
  std::vector<double> values(messages.size() * stride);
  if (lsio::Status s =
          lsio::grib::read_fields(**store, messages, values.data(), lsio::grib::ValueType::kFloat64, stride);
      !s.ok())
    return fail(s);
  std::printf("messages: %zu\n", messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const Stats s = stats_of(values.data() + i * stride, static_cast<size_t>(m.number_of_points));
    std::printf("%" PRIu64 " %" PRIu64 " %s %s %" PRId64 " %" PRId64 " %s %" PRId64 " %.6g %.6g %.6g\n", m.offset,
                m.length, m.short_name.c_str(), m.type_of_level.c_str(), m.level, m.step, m.packing_type.c_str(),
                m.number_of_points, s.min, s.max, s.count ? s.sum / static_cast<double>(s.count) : NAN);
  }
  return 0;
}
