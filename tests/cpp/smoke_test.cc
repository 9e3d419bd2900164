#include <gtest/gtest.h>

#include <cstring>

#include "test_util.h"

namespace lsio {
TEST(Smoke, ReadsTwoFiles) {
  testing::TempDir dir;
  auto a = testing::random_bytes(100000, 1);
  testing::write_file(dir.file("a"), a);
  for (EngineKind k : {EngineKind::kUring, EngineKind::kPosix}) {
    StoreOptions so;
    so.engine = k;
    auto store = open_store(dir.path(), so);
    ASSERT_TRUE(store) << store.error().to_string();
    ReadBatch b;
    b.add("a", ByteRange::bounded(10, 20));
    b.add("a", ByteRange::suffix(5));
    b.add("a", ByteRange::whole());
    b.add("missing", ByteRange::whole());
    b.add("a", ByteRange::bounded(99990, 100001));
    auto r = (*store)->read(b);
    ASSERT_TRUE(r[0]) << r[0].error().to_string();
    EXPECT_EQ(0, std::memcmp(r[0]->data(), a.data() + 10, 10));
    ASSERT_TRUE(r[1]);
    EXPECT_EQ(0, std::memcmp(r[1]->data(), a.data() + 99995, 5));
    ASSERT_TRUE(r[2]);
    EXPECT_EQ(r[2]->size(), a.size());
    ASSERT_FALSE(r[3]);
    EXPECT_EQ(r[3].error().code(), StatusCode::kNotFound) << r[3].error().to_string();
    ASSERT_FALSE(r[4]);
    std::cout << (*store)->engine_description() << "\n" << r[3].error().to_string() << "\n" << r[4].error().to_string() << "\n";
  }
}
}  // namespace lsio
