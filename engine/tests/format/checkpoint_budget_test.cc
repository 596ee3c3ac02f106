// The format budget: the largest checkpoint the engine can ever produce must fit a 4096-byte meta page.
// Sizes come from encode(), not from a formula, so a field that grows (as page numbers once grew from
// 32 to 64 bits) shows up here instead of as a silent overflow.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/format/checkpoint.h"

namespace lsm {
namespace {

Checkpoint Base() {
  Checkpoint c = Checkpoint::Empty(1024, 65536);
  c.cmpid = kCompressionNone;
  c.nblock = 100000;
  return c;
}

// Words one level of this shape adds to an encoded blob.
size_t LevelWords(size_t nright, size_t ninput) {
  Checkpoint c = Base();
  Level level{0, 0, {100, 100, 0, 1}, {}, {}};
  for (size_t i = 0; i < nright; ++i) level.rhs.push_back({100, 100, 0, 1});
  for (size_t i = 0; i < ninput; ++i) level.merge.inputs.push_back({100, 0});
  size_t without = EncodeCheckpoint(c)->size() / 4;
  c.levels.push_back(level);
  return EncodeCheckpoint(c)->size() / 4 - without;
}

TEST(CheckpointBudgetTest, LargestPossibleBlobFitsAMetaPage) {
  // Knapsack over level shapes: each shape costs RhsUnits() of the 40-unit budget and adds its
  // encoded words; find the most words any combination of levels can take.
  struct Shape {
    uint32_t units;
    size_t words;
  };
  std::vector<Shape> shapes = {{RhsUnits(Level{}), LevelWords(0, 0)}};
  for (size_t r = 1; r <= kMaxRhsUnits; ++r) {
    Level l;
    l.rhs.resize(r);
    for (size_t in : {r, r + 1}) shapes.push_back({RhsUnits(l), LevelWords(r, in)});
  }
  std::vector<size_t> best(kMaxRhsUnits + 1, 0);
  for (uint32_t u = 1; u <= kMaxRhsUnits; ++u) {
    for (const Shape& s : shapes) {
      if (s.units <= u) best[u] = std::max(best[u], best[u - s.units] + s.words);
    }
  }
  // Plus the fixed part, full redirect and free lists, and the checksum, measured the same way.
  Checkpoint fixed = Base();
  fixed.id = uint64_t(1) << 40;
  for (uint32_t i = 0; i < kMaxBlockRedirects; ++i) fixed.redirects.push_back({i + 2, i + 3});
  for (uint32_t i = 0; i < kMaxFreelistEntries; ++i) fixed.freelist.push_back({i + 1, 7});
  size_t largest = EncodeCheckpoint(fixed)->size() / 4 + best[kMaxRhsUnits];
  EXPECT_EQ(largest, 969u) << "the worst case moved; re-derive the budget comment in checkpoint.h";
  EXPECT_LE(largest * 4, kMetaPageSize);
}

TEST(CheckpointBudgetTest, WorstCaseCheckpointEncodesAndDecodes) {
  // 20 merging levels of 2 rhs segments and 3 inputs each: the shape with the most words per unit.
  Checkpoint c = Base();
  c.id = 1000;
  for (int i = 0; i < 20; ++i) {
    Level l{uint16_t(i), 0, {100, 100, 0, 1}, {{101, 101, 0, 1}, {102, 102, 0, 1}}, {}};
    l.merge.inputs = {{101, 0}, {102, 0}, {100, 0}};
    c.levels.push_back(l);
  }
  for (uint32_t i = 0; i < kMaxBlockRedirects; ++i) c.redirects.push_back({i + 2, i + 3});
  for (uint32_t i = 0; i < kMaxFreelistEntries; ++i) c.freelist.push_back({i + 1, 7});
  uint32_t units = 0;
  for (const Level& l : c.levels) units += RhsUnits(l);
  EXPECT_EQ(units, kMaxRhsUnits);
  auto blob = EncodeCheckpoint(c);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(blob->size(), 969u * 4);
  auto back = DecodeCheckpoint(*blob);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, c);
}

}  // namespace
}  // namespace lsm
