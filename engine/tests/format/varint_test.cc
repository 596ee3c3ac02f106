#include "engine/format/varint.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

namespace lsm {
namespace {

TEST(VarintTest, FormBoundaries) {
  struct Case {
    uint64_t value;
    size_t len;
  } cases[] = {{0, 1},         {240, 1},          {241, 2},           {2287, 2},           {2288, 3},
               {67823, 3},     {67824, 4},        {(1u << 24) - 1, 4}, {1u << 24, 5},       {0xFFFFFFFFu, 5},
               {1ull << 32, 6}, {(256ull << 32) - 1, 6}, {256ull << 32, 7}, {(32768ull << 32) - 1, 7},
               {32768ull << 32, 8}, {(1ull << 56) - 1, 8}, {1ull << 56, 9}, {~0ull, 9}};
  for (const Case& c : cases) {
    Bytes out;
    AppendVarint(out, c.value);
    EXPECT_EQ(out.size(), c.len) << c.value;
    uint64_t back = 0;
    EXPECT_EQ(GetVarint(out, &back), c.len);
    EXPECT_EQ(back, c.value);
  }
}

TEST(VarintTest, KnownEncodings) {
  Bytes out;
  AppendVarint(out, 241);
  EXPECT_EQ(ToHex(out), "f101");
  out.clear();
  AppendVarint(out, 2288);
  EXPECT_EQ(ToHex(out), "f90000");
  out.clear();
  AppendVarint(out, 67824);
  EXPECT_EQ(ToHex(out), "fa0108f0");
}

TEST(VarintTest, TruncatedInputIsReported) {
  Bytes out;
  AppendVarint(out, 1ull << 40);
  uint64_t v;
  for (size_t n = 0; n < out.size(); ++n) EXPECT_EQ(GetVarint(ByteView(out).first(n), &v), 0u);
}

TEST(VarintTest, RoundTripAndOrderPreserving) {
  EXPECT_TRUE(rc::check("varints round-trip and sort like their values", [](uint64_t a, uint64_t b) {
    Bytes ea, eb;
    AppendVarint(ea, a);
    AppendVarint(eb, b);
    uint64_t da = 0;
    RC_ASSERT(GetVarint(ea, &da) == ea.size());
    RC_ASSERT(da == a);
    RC_ASSERT((ea < eb) == (a < b));
  }));
}

}  // namespace
}  // namespace lsm
