#include "plan/planner.h"

#include <gtest/gtest.h>

namespace lsio::plan {
namespace {

std::vector<Request> reqs(std::initializer_list<ByteRange> ranges) {
  std::vector<Request> out;
  uint32_t i = 0;
  for (ByteRange r : ranges) out.push_back({i++, r});
  return out;
}

TEST(Planner, MergesWithinGapAndKeepsTargetsExact) {
  PlanOptions o;
  o.coalesce_gap = 10;
  auto p = plan_file(reqs({ByteRange::bounded(100, 110), ByteRange::bounded(0, 10), ByteRange::bounded(15, 20)}), 1000,
                     o, "f");
  ASSERT_EQ(p.reads.size(), 2u);
  EXPECT_EQ(p.reads[0].offset, 0u);
  EXPECT_EQ(p.reads[0].length, 20u);
  EXPECT_EQ(p.reads[0].num_targets, 2u);
  EXPECT_EQ(p.targets[1].index, 2u);
  EXPECT_EQ(p.targets[1].offset_in_read, 15u);
  EXPECT_EQ(p.reads[1].offset, 100u);
}

TEST(Planner, ZeroGapMergesOnlyTouchingAndOverlapping) {
  PlanOptions o;
  auto p = plan_file(reqs({ByteRange::bounded(0, 10), ByteRange::bounded(10, 20), ByteRange::bounded(21, 30)}), 100, o,
                     "f");
  ASSERT_EQ(p.reads.size(), 2u);
  EXPECT_EQ(p.reads[0].length, 20u);
}

TEST(Planner, DeduplicatesOverlapsIntoOneRead) {
  PlanOptions o;
  o.max_merged = 5;  // overlaps merge even past max_merged
  auto p = plan_file(reqs({ByteRange::bounded(0, 100), ByteRange::bounded(10, 20), ByteRange::bounded(0, 100)}), 100,
                     o, "f");
  ASSERT_EQ(p.reads.size(), 1u);
  EXPECT_EQ(p.reads[0].length, 100u);
  EXPECT_EQ(p.targets.size(), 3u);
}

TEST(Planner, MaxMergedStopsGrowth) {
  PlanOptions o;
  o.coalesce_gap = 1000;
  o.max_merged = 25;
  auto p = plan_file(reqs({ByteRange::bounded(0, 10), ByteRange::bounded(12, 20), ByteRange::bounded(22, 30)}), 100, o,
                     "f");
  ASSERT_EQ(p.reads.size(), 2u);
  EXPECT_EQ(p.reads[0].length, 20u);
}

TEST(Planner, ResolvesSuffixFromAndWhole) {
  PlanOptions o;
  o.merge = false;
  auto p = plan_file(reqs({ByteRange::suffix(10), ByteRange::from(90), ByteRange::whole(), ByteRange::suffix(1000)}),
                     100, o, "f");
  ASSERT_EQ(p.reads.size(), 4u);
  // Sorted by offset: whole [0,100), suffix(1000) clamps to [0,100), then [90,100) twice.
  EXPECT_EQ(p.reads[0].offset, 0u);
  EXPECT_EQ(p.reads[0].length, 100u);
  EXPECT_EQ(p.reads[2].offset, 90u);
  EXPECT_EQ(p.reads[3].length, 10u);
}

TEST(Planner, PastEofAndEmptyAreImmediate) {
  PlanOptions o;
  auto p = plan_file(reqs({ByteRange::bounded(90, 101), ByteRange::bounded(5, 5), ByteRange::from(101),
                           ByteRange::from(100), ByteRange::raw(10, 5)}),
                     100, o, "/data/f");
  EXPECT_TRUE(p.reads.empty());
  ASSERT_EQ(p.immediates.size(), 5u);
  EXPECT_EQ(p.immediates[0].status.code(), StatusCode::kOutOfRange);
  EXPECT_NE(p.immediates[0].status.message().find("/data/f [90, 101)"), std::string::npos);
  EXPECT_NE(p.immediates[0].status.message().find("file size 100"), std::string::npos);
  EXPECT_TRUE(p.immediates[1].status.ok());
  EXPECT_EQ(p.immediates[2].status.code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(p.immediates[3].status.ok());
  EXPECT_EQ(p.immediates[4].status.code(), StatusCode::kInvalidArgument);
}

TEST(Planner, AlignsForDirectIo) {
  PlanOptions o;
  o.align = 4096;
  auto p = plan_file(reqs({ByteRange::bounded(5000, 5100)}), 10000, o, "f");
  ASSERT_EQ(p.reads.size(), 1u);
  EXPECT_EQ(p.reads[0].offset, 4096u);
  EXPECT_EQ(p.reads[0].length, 4096u);
  EXPECT_EQ(p.targets[0].offset_in_read, 904u);
  // The aligned read may run past EOF (the kernel returns the short tail).
  auto q = plan_file(reqs({ByteRange::bounded(9000, 10000)}), 10000, o, "f");
  EXPECT_EQ(q.reads[0].offset, 8192u);
  EXPECT_EQ(q.reads[0].length, 4096u);
}

TEST(Planner, PartsNeverExceedOneGiB) {
  EXPECT_EQ(part_length(64ull << 30, 1), 1ull << 30);
  EXPECT_EQ(part_count((5ull << 30) + 1, 64ull << 30, 1), 6u);
  EXPECT_EQ(part_length(10000, 4096), 8192u);
  EXPECT_EQ(part_count(0, 100, 1), 0u);
}

TEST(ByteRangeTest, ChecksAndPrints) {
  EXPECT_TRUE(ByteRange::bounded(1, 2).check().ok());
  EXPECT_FALSE(ByteRange::raw(-1, 5).check().ok());
  EXPECT_FALSE(ByteRange::raw(3, -2).check().ok());
  EXPECT_EQ(ByteRange::suffix(7).to_string(), "last 7 bytes");
  EXPECT_EQ(ByteRange::from(3).to_string(), "[3, EOF)");
  EXPECT_EQ(ByteRange::suffix(7).resolve(5).begin, 0u);
}

}  // namespace
}  // namespace lsio::plan
