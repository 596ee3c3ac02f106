// RunFilter never says "skip" for a key its run decides (a record with a point part, or a covered gap),
// and skips most keys it does not decide.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "engine/lsm/run_filter.h"
#include "engine/lsm/tree.h"

namespace lsm {
namespace {

Bytes K(int i) { return Bytes{uint8_t(i >> 8), uint8_t(i)}; }

TEST(RunFilterTest, NeverSkipsAKeyTheRunDecides) {
  EXPECT_TRUE(rc::check("decided keys pass the filter", [] {
    Tree t;
    const int n = *rc::gen::inRange(0, 200);
    for (int i = 0; i < n; ++i) {
      const int a = *rc::gen::inRange(0, 600), b = *rc::gen::inRange(0, 600);
      switch (*rc::gen::inRange(0, 4)) {
        case 0:
        case 1:
          t.Put(kTopicUser, K(a), K(b));
          break;
        case 2:
          t.Erase(kTopicUser, K(a));
          break;
        default:
          t.EraseRange(K(a), K(b));
          break;
      }
    }
    RunFilter::Builder b;
    auto c = t.NewCursor();
    for (Status s = c->First(); c->Valid(); s = c->Next()) b.Add(c->record());
    RunFilter f = b.Finish();
    for (int k = 0; k < 600; ++k) {
      // Does the tree decide k? A record with a point part at k, or the next record closes a gap.
      RC_ASSERT(c->SeekGe(kTopicUser, K(k)).ok());
      bool decides = false;
      if (c->Valid()) {
        const Record& r = c->record();
        decides = r.key == K(k) ? (r.flags & kPointMask) != 0 : (r.flags & kEndDelete) != 0;
      }
      if (decides) RC_ASSERT(f.MayDecide(K(k)));
    }
  }));
}

TEST(RunFilterTest, SkipsMostKeysItDoesNotHold) {
  Tree t;
  for (int i = 0; i < 1000; ++i) t.Put(kTopicUser, K(2 * i), K(i));
  RunFilter::Builder b;
  auto c = t.NewCursor();
  for (Status s = c->First(); c->Valid(); s = c->Next()) b.Add(c->record());
  RunFilter f = b.Finish();
  int passed = 0;
  for (int i = 0; i < 1000; ++i) passed += f.MayDecide(K(2 * i + 1));
  EXPECT_LT(passed, 50);  // ~1% false positives expected
}

}  // namespace
}  // namespace lsm
