// lsio::grib: scan (index) and read_fields on messages made from ecCodes' GRIB2 sample, checked against
// ecCodes' own decode; bad input (truncated, wrong length, garbage, not GRIB, missing file).
#include <eccodes.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "lsio/grib.h"
#include "lsio/store.h"
#include "test_util.h"

namespace lsio::grib {
namespace {

std::vector<std::byte> make_message(const char* packing, long level, long ni, long nj, int seed, bool bitmap = false) {
  codes_handle* h = codes_grib_handle_new_from_samples(nullptr, "GRIB2");
  EXPECT_NE(h, nullptr);
  EXPECT_EQ(codes_set_long(h, "Ni", ni), 0);
  EXPECT_EQ(codes_set_long(h, "Nj", nj), 0);
  size_t tl = 0;
  EXPECT_EQ(codes_set_string(h, "typeOfLevel", "isobaricInhPa", &tl), 0);
  EXPECT_EQ(codes_set_long(h, "level", level), 0);
  EXPECT_EQ(codes_set_long(h, "bitsPerValue", 16), 0);
  size_t len = 0;
  EXPECT_EQ(codes_set_string(h, "packingType", packing, &len), 0);
  std::vector<double> v(static_cast<size_t>(ni * nj));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 250.0 + 30.0 * std::sin(0.001 * double(i) + seed) + (i % 7) * 0.1;
  if (bitmap) {
    EXPECT_EQ(codes_set_long(h, "bitmapPresent", 1), 0);
    EXPECT_EQ(codes_set_double(h, "missingValue", 9999.0), 0);
    for (size_t i = 0; i < v.size(); i += 5) v[i] = 9999.0;
  }
  EXPECT_EQ(codes_set_double_array(h, "values", v.data(), v.size()), 0);
  const void* msg = nullptr;
  size_t size = 0;
  EXPECT_EQ(codes_get_message(h, &msg, &size), 0);
  std::vector<std::byte> out(static_cast<const std::byte*>(msg), static_cast<const std::byte*>(msg) + size);
  codes_handle_delete(h);
  return out;
}

std::vector<double> ecc_decode(std::span<const std::byte> m) {
  codes_handle* h = codes_handle_new_from_message(nullptr, m.data(), m.size());
  size_t n = 0;
  EXPECT_EQ(codes_get_size(h, "values", &n), 0);
  std::vector<double> v(n);
  EXPECT_EQ(codes_get_double_array(h, "values", v.data(), &n), 0);
  long bm = 0;
  codes_get_long(h, "bitmapPresent", &bm);
  double mv = 0;
  codes_get_double(h, "missingValue", &mv);
  if (bm)
    for (double& x : v)
      if (x == mv) x = NAN;
  codes_handle_delete(h);
  return v;
}

class GribTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = open_store(dir_.path());
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    store_ = *s;
  }
  void put(const std::string& name, const std::vector<std::byte>& data) { ASSERT_TRUE(store_->put(name, data).ok()); }
  testing::TempDir dir_;
  std::shared_ptr<Store> store_;
};

std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST_F(GribTest, ScansAndDecodesEveryPacking) {
  std::vector<std::vector<std::byte>> msgs;
  const char* packings[] = {"grid_simple", "grid_complex", "grid_complex_spatial_differencing", "grid_ccsds",
                            "grid_ieee"};
  int seed = 0;
  for (const char* p : packings) msgs.push_back(make_message(p, 500 + seed, 360, 181, seed)), ++seed;
  msgs.push_back(make_message("grid_simple", 1000, 360, 181, 9, /*bitmap=*/true));
  std::vector<std::byte> file;
  for (auto& m : msgs) file.insert(file.end(), m.begin(), m.end());
  put("a.grib2", file);
  put("b.grib2", msgs[0]);
  std::vector<std::string> paths = {"a.grib2", "b.grib2"};
  // A small probe: large messages are indexed from their headers only.
  ScanOptions small;
  small.probe_bytes = 4096;
  for (const ScanOptions& opts : {ScanOptions{}, small}) {
    auto r = scan(*store_, paths, opts);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->messages.size(), msgs.size() + 1);
    EXPECT_TRUE(r->warnings.empty());
    uint64_t off = 0;
    for (size_t i = 0; i < msgs.size(); ++i) {
      const Message& m = r->messages[i];
      EXPECT_EQ(m.path, "a.grib2");
      EXPECT_EQ(m.offset, off);
      EXPECT_EQ(m.length, msgs[i].size());
      EXPECT_EQ(m.packing_type, i < 5 ? packings[i] : "grid_simple") << i;
      EXPECT_EQ(m.ni, 360);
      EXPECT_EQ(m.nj, 181);
      EXPECT_EQ(m.number_of_points, 360 * 181);
      EXPECT_EQ(m.short_name, "t");
      EXPECT_EQ(m.type_of_level, "isobaricInhPa");
      EXPECT_EQ(m.bitmap, i == 5);
      off += msgs[i].size();
    }
    EXPECT_EQ(r->messages.back().path, "b.grib2");

    const size_t stride = 360 * 181;
    std::vector<double> out(r->messages.size() * stride);
    Status st = read_fields(*store_, r->messages, out.data(), ValueType::kFloat64, stride);
    ASSERT_TRUE(st.ok()) << st.to_string();
    std::vector<float> out32(r->messages.size() * stride);
    st = read_fields(*store_, r->messages, out32.data(), ValueType::kFloat32, stride);
    ASSERT_TRUE(st.ok()) << st.to_string();
    for (size_t i = 0; i < msgs.size(); ++i) {
      std::vector<double> ref = ecc_decode(msgs[i]);
      ASSERT_EQ(ref.size(), stride);
      size_t nans = 0;
      for (size_t j = 0; j < stride; ++j) {
        double got = out[i * stride + j];
        if (std::isnan(ref[j])) {
          ++nans;
          ASSERT_TRUE(std::isnan(got) && std::isnan(out32[i * stride + j])) << i << " " << j;
        } else {
          ASSERT_EQ(got, ref[j]) << i << " " << j;
          ASSERT_EQ(out32[i * stride + j], static_cast<float>(ref[j]));
        }
      }
      EXPECT_EQ(nans, i == 5 ? (stride + 4) / 5 : 0);
    }
  }
}

// scan_spans: message boundaries from an inventory. The same messages as a walk; garbage between the messages is
// never read; a span that is not one message of that length is an error of that span only, naming file and offset.
TEST_F(GribTest, ScanSpans) {
  auto m = make_message("grid_simple", 850, 36, 19, 1);
  auto big = make_message("grid_ccsds", 500, 360, 181, 2);  // larger than the probe below: headers only
  std::vector<std::byte> garbage(100, std::byte{0});
  put("a.grib2", cat({m, garbage, big, m}));
  put("b.grib2", cat({big}));
  const uint64_t g = garbage.size();
  std::vector<MessageSpan> spans = {{"a.grib2", 0, m.size()},
                                    {"a.grib2", m.size() + g, big.size()},
                                    {"a.grib2", m.size() + g + big.size(), m.size()},
                                    {"b.grib2", 0, big.size()}};
  ScanOptions opts;
  opts.probe_bytes = 4096;
  auto r = scan_spans(*store_, spans, opts);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->errors.size(), spans.size());
  for (const Status& e : r->errors) EXPECT_TRUE(e.ok()) << e.to_string();
  EXPECT_TRUE(r->scan.warnings.empty());
  std::vector<std::string> paths = {"a.grib2", "b.grib2"};
  auto walked = scan(*store_, paths, opts);
  ASSERT_TRUE(walked.has_value());
  ASSERT_EQ(r->scan.messages.size(), walked->messages.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    const Message &a = r->scan.messages[i], &b = walked->messages[i];
    EXPECT_EQ(std::tie(a.path, a.offset, a.length, a.fields, a.packing_type, a.level, a.number_of_points),
              std::tie(b.path, b.offset, b.length, b.fields, b.packing_type, b.level, b.number_of_points))
        << i;
  }

  // Wrong spans: into a message, a length other than section 0's, too short; the good span is still indexed.
  std::vector<MessageSpan> bad = {
      {"a.grib2", 8, m.size()},    {"a.grib2", m.size() + g, big.size() - 1},
      {"a.grib2", 0, m.size()},    {"a.grib2", 0, 10},
      {"nope.grib2", 0, m.size()}, {"b.grib2", big.size(), m.size()},  // past the end of the file
      {"a.grib2", 1, ~uint64_t{0}}};
  r = scan_spans(*store_, bad, opts);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->errors.size(), bad.size());
  EXPECT_NE(r->errors[0].to_string().find("a.grib2: offset 8: no GRIB message at the offset the inventory gives"),
            std::string::npos)
      << r->errors[0].to_string();
  EXPECT_NE(r->errors[1].to_string().find("offset " + std::to_string(m.size() + g) + ": section 0 gives a length of " +
                                          std::to_string(big.size()) + " bytes, the inventory " +
                                          std::to_string(big.size() - 1)),
            std::string::npos)
      << r->errors[1].to_string();
  EXPECT_TRUE(r->errors[2].ok());
  EXPECT_NE(r->errors[3].to_string().find("too short"), std::string::npos) << r->errors[3].to_string();
  EXPECT_EQ(r->errors[4].code(), StatusCode::kNotFound) << r->errors[4].to_string();
  EXPECT_FALSE(r->errors[5].ok());
  EXPECT_NE(r->errors[5].to_string().find("b.grib2"), std::string::npos) << r->errors[5].to_string();
  EXPECT_NE(r->errors[6].to_string().find("a.grib2: offset 1: the inventory gives a length of"), std::string::npos)
      << r->errors[6].to_string();
  ASSERT_EQ(r->scan.messages.size(), 1u);
  EXPECT_EQ(r->scan.messages[0].offset, 0u);
}

TEST_F(GribTest, BadInput) {
  auto m = make_message("grid_simple", 850, 36, 19, 1);
  std::vector<std::byte> garbage(100, std::byte{'x'});
  put("good.grib2", cat({m, m}));
  auto trunc = cat({m, m});
  trunc.resize(m.size() + m.size() / 2);
  put("trunc.grib2", trunc);
  auto wrong = cat({m, m});
  wrong[m.size() + 15] = std::byte(static_cast<uint8_t>(wrong[m.size() + 15]) - 8);  // length 8 bytes short
  put("wrong.grib2", wrong);
  put("garbage.grib2", cat({m, garbage, m, garbage}));
  put("text.txt", garbage);

  auto one = [&](const std::string& p, bool skip = true) {
    ScanOptions o;
    o.skip_garbage = skip;
    std::vector<std::string> paths = {p};
    return scan(*store_, paths, o);
  };
  ASSERT_TRUE(one("good.grib2").has_value());
  EXPECT_EQ(one("good.grib2")->messages.size(), 2u);

  auto r = one("trunc.grib2");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.error().to_string().find("trunc.grib2: offset " + std::to_string(m.size()) + ": truncated"),
            std::string::npos)
      << r.error().to_string();

  r = one("wrong.grib2");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().to_string().find("wrong.grib2: offset " + std::to_string(m.size()) + ": wrong length"),
            std::string::npos)
      << r.error().to_string();

  r = one("garbage.grib2");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1].offset, m.size() + 100);
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_NE(r->warnings[0].find("offset " + std::to_string(m.size()) + ": skipped 100 bytes"), std::string::npos)
      << r->warnings[0];
  r = one("garbage.grib2", false);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().to_string().find("offset " + std::to_string(m.size())), std::string::npos);

  r = one("text.txt");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().to_string().find("not a GRIB file"), std::string::npos) << r.error().to_string();

  r = one("missing.grib2");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  EXPECT_NE(r.error().to_string().find("missing.grib2"), std::string::npos);

  // scan_bytes agrees with scan.
  auto b = scan_bytes("x", cat({m, garbage, m}));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->messages.size(), 2u);
}

}  // namespace
}  // namespace lsio::grib
