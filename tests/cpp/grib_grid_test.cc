// grib::grid_coordinates / message_coordinates: ecCodes' latitudes and longitudes per grid, read in one batch.
#include <eccodes.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lsio/grib.h"
#include "lsio/store.h"
#include "test_util.h"

namespace lsio::grib {
namespace {

// An ecCodes sample (e.g. "regular_gg_pl_grib2") as message bytes, with values set for every point.
std::vector<std::byte> sample(const char* name) {
  codes_handle* h = codes_grib_handle_new_from_samples(nullptr, name);
  EXPECT_NE(h, nullptr) << name;
  if (h == nullptr) return {};
  long points = 0;
  EXPECT_EQ(codes_get_long(h, "numberOfValues", &points), 0);
  std::vector<double> v(static_cast<size_t>(points), 1.0);
  EXPECT_EQ(codes_set_double_array(h, "values", v.data(), v.size()), 0);
  const void* msg = nullptr;
  size_t size = 0;
  EXPECT_EQ(codes_get_message(h, &msg, &size), 0);
  std::vector<std::byte> out(static_cast<const std::byte*>(msg), static_cast<const std::byte*>(msg) + size);
  codes_handle_delete(h);
  return out;
}

// ecCodes' own answer for an array key.
std::vector<double> keys(std::span<const std::byte> m, const char* key) {
  codes_handle* h = codes_handle_new_from_message(nullptr, m.data(), m.size());
  size_t n = 0;
  EXPECT_EQ(codes_get_size(h, key, &n), 0);
  std::vector<double> v(n);
  EXPECT_EQ(codes_get_double_array(h, key, v.data(), &n), 0);
  codes_handle_delete(h);
  return v;
}

TEST(GribGrid, CoordinatesPerGridType) {
  auto gg = sample("regular_gg_pl_grib2");
  auto r = message_coordinates("gg.grib2", 0, gg);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->grid_type, "regular_gg");
  EXPECT_TRUE(r->distinct);
  EXPECT_EQ(r->latitudes, keys(gg, "distinctLatitudes"));
  EXPECT_EQ(r->longitudes.size(), 128u);

  auto red = sample("reduced_gg_pl_32_grib2");
  r = message_coordinates("red.grib2", 0, red);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_FALSE(r->distinct);
  EXPECT_EQ(r->latitudes.size(), 6114u);
  EXPECT_EQ(r->longitudes, keys(red, "longitudes"));

  auto sh = sample("sh_sfc_grib2");
  r = message_coordinates("sh.grib2", 7, sh);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.error().to_string().find("sh.grib2: offset 7: ecCodes provides no latitudes/longitudes for gridType=sh"),
            std::string::npos)
      << r.error().to_string();

  std::vector<std::byte> junk(64, std::byte{'x'});
  r = message_coordinates("junk.grib2", 3, junk);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().to_string().find("junk.grib2: offset 3"), std::string::npos) << r.error().to_string();
}

TEST(GribGrid, OneBatchThroughAStore) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  auto rot = sample("rotated_ll_sfc_grib2");
  auto sh = sample("sh_sfc_grib2");
  std::vector<std::byte> file = rot;
  file.insert(file.end(), sh.begin(), sh.end());
  ASSERT_TRUE((*store)->put("two.grib2", file).ok());
  std::vector<Message> ms(3);
  ms[0].path = ms[1].path = ms[2].path = "two.grib2";
  ms[0].length = rot.size();
  ms[1].offset = rot.size();
  ms[1].length = sh.size();
  ms[2].offset = 1;  // not where a message starts
  ms[2].length = 100;
  std::vector<Result<GridCoordinates>> out;
  ASSERT_TRUE(grid_coordinates(**store, ms, out).ok());
  ASSERT_EQ(out.size(), 3u);
  ASSERT_TRUE(out[0].has_value()) << out[0].error().to_string();
  EXPECT_EQ(out[0]->grid_type, "rotated_ll");
  EXPECT_EQ(out[0]->latitudes, keys(rot, "latitudes"));
  ASSERT_FALSE(out[1].has_value());
  EXPECT_EQ(out[1].error().code(), StatusCode::kUnimplemented);
  ASSERT_FALSE(out[2].has_value());
  EXPECT_NE(out[2].error().to_string().find("two.grib2: offset 1: no GRIB message here"), std::string::npos)
      << out[2].error().to_string();
}

}  // namespace
}  // namespace lsio::grib
