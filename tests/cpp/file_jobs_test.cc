// FileJobs (src/io/executor.h): which jobs count as small, the ones a worker
// may take many of at once (one ring submission for all their opens and reads).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "io/executor.h"

namespace lsio::io {
namespace {

TEST(FileJobs, SmallOnlyWhenBoundedAndAtMost64KiB) {
  ReadBatch b;
  for (int k = 0; k < 3; ++k) b.add("small", ByteRange::bounded(k * 8192, k * 8192 + 4096));
  b.add("whole", ByteRange::whole());  // size unknown until opened
  b.add("big", ByteRange::bounded(0, 40 << 10));
  b.add("big", ByteRange::bounded(50 << 10, 90 << 10));  // 80 KiB in all
  b.add("edge", ByteRange::bounded(0, kSmallJobBytes));
  RunState run;
  build_file_jobs(b, 2, run);
  ASSERT_EQ(run.file_jobs.size(), 4u);
  std::map<std::string, bool> small;
  for (const FileJob& job : run.file_jobs) small[b.paths()[job.file]] = job.small;
  EXPECT_TRUE(small["small"]);
  EXPECT_FALSE(small["whole"]);
  EXPECT_FALSE(small["big"]);
  EXPECT_TRUE(small["edge"]);
}

}  // namespace
}  // namespace lsio::io
