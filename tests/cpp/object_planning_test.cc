// The pure parts of the remote stores: request planning, Content-Range parsing, retry timing.
#include <gtest/gtest.h>

#include "plan/remote_plan.h"
#include "store/remote/http_checks.h"
#include "store/remote/retry.h"

namespace lsio {
namespace {

std::vector<plan::Request> requests(std::initializer_list<ByteRange> ranges) {
  std::vector<plan::Request> out;
  uint32_t i = 0;
  for (ByteRange r : ranges) out.push_back({i++, r});
  return out;
}

TEST(RemotePlan, MergesWithinTheGapUpToTheCap) {
  plan::RemotePlanOptions o;
  o.coalesce_gap = 100;
  o.max_merged = 1000;
  auto p =
      plan::plan_remote(requests({ByteRange::bounded(500, 600), ByteRange::bounded(0, 10), ByteRange::bounded(110, 120),
                                  ByteRange::bounded(221, 230), ByteRange::bounded(990, 1100)}),
                        o, "k");
  // [0,10)+[110,120) (gap 100) | [221,230) (gap 101) | [500,600) | [990,1100) (gap 390)
  ASSERT_EQ(p.fetches.size(), 4u);
  EXPECT_EQ(p.fetches[0].offset, 0u);
  EXPECT_EQ(p.fetches[0].length, 120u);
  EXPECT_EQ(p.fetches[0].num_targets, 2u);
  EXPECT_EQ(p.fetches[1].offset, 221u);
  EXPECT_EQ(p.fetches[2].offset, 500u);
  EXPECT_EQ(p.fetches[3].offset, 990u);
  EXPECT_EQ(p.targets[p.fetches[0].first_target + 1].offset_in_read, 110u);
  EXPECT_TRUE(p.open_ended.empty());
}

TEST(RemotePlan, RespectsMaxMerged) {
  plan::RemotePlanOptions o;
  o.coalesce_gap = 1 << 20;
  o.max_merged = 250;
  auto p = plan::plan_remote(
      requests({ByteRange::bounded(0, 100), ByteRange::bounded(100, 200), ByteRange::bounded(200, 300)}), o, "k");
  ASSERT_EQ(p.fetches.size(), 2u);
  EXPECT_EQ(p.fetches[0].length, 200u);
  EXPECT_EQ(p.fetches[1].offset, 200u);
}

TEST(RemotePlan, GapZeroMergesNothingNotEvenTouchingOrOverlapping) {
  plan::RemotePlanOptions o;
  o.coalesce_gap = 0;
  auto p = plan::plan_remote(
      requests({ByteRange::bounded(0, 100), ByteRange::bounded(100, 200), ByteRange::bounded(50, 150)}), o, "k");
  EXPECT_EQ(p.fetches.size(), 3u);
}

TEST(RemotePlan, OpenEndedAndInvalidRangesAreSetAside) {
  auto p = plan::plan_remote(requests({ByteRange::suffix(10), ByteRange::from(5), ByteRange::whole(),
                                       ByteRange::bounded(7, 7), ByteRange::raw(9, 3), ByteRange::bounded(0, 4)}),
                             {}, "k");
  EXPECT_EQ(p.open_ended, (std::vector<uint32_t>{0, 1, 2, 3}));
  ASSERT_EQ(p.immediates.size(), 1u);
  EXPECT_EQ(p.immediates[0].index, 4u);
  EXPECT_EQ(p.immediates[0].status.code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(p.fetches.size(), 1u);
}

TEST(ContentRange, ParsesTheForms) {
  auto a = remote::parse_content_range("bytes 0-99/1000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first, 0u);
  EXPECT_EQ(a->last, 99u);
  EXPECT_EQ(a->total, 1000u);
  auto b = remote::parse_content_range("bytes */1000");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->unsatisfied);
  EXPECT_EQ(b->total, 1000u);
  auto c = remote::parse_content_range("bytes 5-9/*");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->total);
  for (const char* bad : {"", "bytes", "bytes 9-5/10", "bytes 0-10/10", "items 0-1/2", "bytes x-1/2", "bytes 0-1"}) {
    EXPECT_FALSE(remote::parse_content_range(bad)) << bad;
  }
}

TEST(Retry, FullJitterWithinTheCeilingAndRetryAfterHonouredUpToTheCap) {
  RemoteOptions ro;
  ro.max_attempts = 4;
  ro.backoff_initial_s = 0.1;
  ro.backoff_max_s = 0.25;
  ro.retry_after_cap_s = 2;
  const remote::RetryPolicy policy = remote::RetryPolicy::from(ro);
  remote::Attempts a(policy);
  for (unsigned n = 1; n <= 3; ++n) {
    a.start();
    const auto before = io::http::Clock::now();
    auto next = a.next("");
    ASSERT_TRUE(next) << n;
    EXPECT_LE(*next - before, std::chrono::milliseconds(std::min(100 << (n - 1), 250) + 5)) << n;
  }
  a.start();
  EXPECT_FALSE(a.next("")) << "4 attempts made: no fifth";
  remote::Attempts b(policy);
  b.start();
  const auto before = io::http::Clock::now();
  auto ra = b.next("30");
  ASSERT_TRUE(ra);
  EXPECT_GE(*ra - before, std::chrono::milliseconds(1990));
  EXPECT_LE(*ra - before, std::chrono::milliseconds(2100));
  EXPECT_EQ(remote::parse_retry_after("1.5"), std::chrono::milliseconds(1500));
  EXPECT_FALSE(remote::parse_retry_after("soon"));
  EXPECT_TRUE(remote::retryable_status(503) && remote::retryable_status(429) && remote::retryable_status(408));
  EXPECT_FALSE(remote::retryable_status(403) || remote::retryable_status(404) || remote::retryable_status(416));
}

}  // namespace
}  // namespace lsio
