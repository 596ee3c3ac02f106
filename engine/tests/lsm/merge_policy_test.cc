// Liveness of the merge scheduler (merge_policy.h) over level shapes: for every shape a checkpoint can
// hold, a flush that must make room gets it in a bounded number of forced work calls, each of which
// leaves the shape no worse, and never gives up (kFull) while merging could make room. The shapes are
// driven through the engine's own PlanMerge and RoomMaker; what a merge does to a shape is modelled
// here (Apply), with RapidCheck choosing the data-dependent outcomes (a merge into the oldest level
// that annihilates everything; a free-list spill after a merge). merge_liveness_test.cc runs the same
// decisions on real databases.
//
// The property can fail: ReferenceSelectLevel is the reference's level selection (sortedSelectLevel)
// on shapes, driven by the reference's room loop (lsmFlushTreeToDisk: "while full, work"), and the
// property catches it.
#include "engine/lsm/merge_policy.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace lsm {
namespace {

using Shape = std::vector<LevelShape>;

std::string Show(const Shape& levels) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < levels.size(); ++i) {
    const LevelShape& l = levels[i];
    os << (i ? " " : "") << "a" << l.age;
    if (l.flags & kLevelFreelistOnly) os << "F";
    if (l.flags & kLevelIncomplete) os << "I";
    if (l.nright) os << "r" << l.nright;
  }
  const Progress p = ProgressOf(levels);
  os << "] units " << p.units << " segments " << p.segments;
  return os.str();
}

// What running `plan` to its end does to the shape (Database::MergeStep): a resumed level loses its
// right-hand segments, started levels become one level one age older; `empty`: the output was empty
// (every record annihilated, which only a merge into the oldest level can do) and the level goes.
// `spill`: the blocks the merge freed overflow the free list into a new free-list-only top level.
Shape Apply(Shape levels, const MergePlan& plan, bool empty, bool spill) {
  if (plan.kind == MergePlan::Kind::kNone) return levels;
  size_t li = plan.first;
  if (plan.kind == MergePlan::Kind::kResume) {
    levels[li].nright = 0;
    levels[li].flags = 0;
  } else {
    uint16_t age = 0;
    for (size_t i = plan.first; i < plan.first + plan.count; ++i) age = std::max(age, levels[i].age);
    levels.erase(levels.begin() + std::ptrdiff_t(plan.first) + 1,
                 levels.begin() + std::ptrdiff_t(plan.first + plan.count));
    levels[li] = LevelShape{uint16_t(std::min(0xFFFF, age + 1)), 0, 0};
  }
  if (empty && li + 1 == levels.size()) levels.erase(levels.begin() + std::ptrdiff_t(li));
  if (spill) levels.insert(levels.begin(), LevelShape{0, kLevelFreelistOnly, 0});
  return levels;
}

// A paused merge (non-forced work with a page budget): started levels become one level mid-merge with
// one right-hand segment per input; a resumed one stays as it is.
Shape Pause(Shape levels, const MergePlan& plan) {
  if (plan.kind != MergePlan::Kind::kStart) return levels;
  uint16_t age = 0;
  for (size_t i = plan.first; i < plan.first + plan.count; ++i) age = std::max(age, levels[i].age);
  levels.erase(levels.begin() + std::ptrdiff_t(plan.first) + 1,
               levels.begin() + std::ptrdiff_t(plan.first + plan.count));
  levels[plan.first] = LevelShape{uint16_t(std::min(0xFFFF, age + 1)), 0, uint32_t(plan.count)};
  return levels;
}

// A scheduler under test: the room loop of one flush (a fresh one per flush) and the level selection.
struct Scheduler {
  std::function<std::function<RoomMaker::Step(const Shape&)>(uint32_t automerge)> room;
  std::function<MergePlan(const Shape&, int nmerge, bool force)> plan;
};

Scheduler Engine() {
  return Scheduler{[](uint32_t automerge) {
                     return [maker = RoomMaker(automerge)](const Shape& l) mutable { return maker.Next(l); };
                   },
                   [](const Shape& l, int nmerge, bool force) { return PlanMerge(l, nmerge, force); }};
}

// The reference's sortedSelectLevel, restated on shapes. The longest run of idle levels of one age wins
// if it beats nmerge - 1 and is not one age short of the level below it (unless that level is idle and
// its own run is short); a level mid-merge wins if it has more right-hand segments than the best so far.
// With nmerge 1 and nothing chosen, everything is merged if two or more levels hold user data.
MergePlan ReferenceSelectLevel(const Shape& levels, int nmerge) {
  auto run_length = [&](size_t i) {
    size_t n = 1;
    while (i + n < levels.size() && levels[i + n].age == levels[i].age) ++n;
    return n;
  };
  size_t best = 0, nbest = size_t(std::max(1, nmerge - 1));
  bool have_best = false, best_merging = false;
  size_t run = 0, nrun = 0;
  bool have_run = false;
  for (size_t i = 0; i < levels.size(); ++i) {
    const LevelShape& l = levels[i];
    if (l.nright == 0 && have_run && l.age == levels[run].age) {
      ++nrun;
      continue;
    }
    if (have_run && nrun > nbest &&
        (l.age != levels[run].age + 1 || (l.nright == 0 && run_length(i) <= size_t(nmerge)))) {
      best = run, nbest = nrun, have_best = true, best_merging = false;
    }
    if (l.nright) {
      if (l.nright > nbest) best = i, nbest = l.nright, have_best = true, best_merging = true;
      have_run = false, nrun = 0;
    } else {
      run = i, nrun = 1, have_run = true;
    }
  }
  if (have_run && nrun > nbest) best = run, nbest = nrun, have_best = true, best_merging = false;
  if (!have_best && nmerge == 1) {
    size_t user = 0;
    for (const LevelShape& l : levels) user += (l.flags & kLevelFreelistOnly) ? 0 : 1;
    if (user > 1) best = 0, nbest = levels.size(), have_best = true, best_merging = false;
  }
  if (!have_best) return MergePlan{};
  if (best_merging) return MergePlan{MergePlan::Kind::kResume, best, 1};
  return MergePlan{MergePlan::Kind::kStart, best, nbest};
}

// The reference's room loop: while the database is full, work with the configured automerge.
Scheduler Reference() {
  return Scheduler{[](uint32_t automerge) {
                     return [automerge](const Shape& l) {
                       if (!NeedsRoom(l)) return RoomMaker::Step{RoomMaker::Step::Kind::kDone, 0};
                       return RoomMaker::Step{RoomMaker::Step::Kind::kWork, int(automerge)};
                     };
                   },
                   [](const Shape& l, int nmerge, bool) { return ReferenceSelectLevel(l, nmerge); }};
}

// One flush's room-making on `levels` (updated in place). The outcomes of each merge come from
// `choose(plan, levels)`: {empty, spill}. Returns "" when the flush's level fits, else what went wrong.
using Choose = std::function<std::pair<bool, bool>(const MergePlan&, const Shape&)>;

std::string MakeRoom(const Scheduler& sched, uint32_t automerge, Shape& levels, const Choose& choose) {
  auto next = sched.room(automerge);
  const Progress start = ProgressOf(levels);
  const size_t bound = start.units + start.segments + 2;  // merge_policy.h
  for (size_t calls = 0;; ++calls) {
    const RoomMaker::Step step = next(levels);
    if (step.kind == RoomMaker::Step::Kind::kDone) {
      if (NeedsRoom(levels)) return "room loop done while the flush does not fit: " + Show(levels);
      return "";
    }
    if (step.kind == RoomMaker::Step::Kind::kFull) {
      return "kFull after " + std::to_string(calls) + " work calls although merging could make room: " +
             Show(levels);
    }
    if (calls == bound) {
      return "no room after " + std::to_string(calls) + " work calls (no progress): " + Show(levels);
    }
    const Progress before = ProgressOf(levels);
    const MergePlan plan = sched.plan(levels, step.nmerge, true);
    if (plan.kind == MergePlan::Kind::kStart && plan.count < 2) return "a merge of one level: " + Show(levels);
    auto [empty, spill] = choose(plan, levels);
    levels = Apply(levels, plan, empty, spill);
    if (ProgressOf(levels) > before) return "forced work made the shape worse: " + Show(levels);
  }
}

// Shapes a checkpoint can hold (at most kMaxRhsUnits units), mostly full or nearly so: ages ascending
// towards the oldest level or arbitrary, free-list-only and incomplete flags, and several levels
// mid-merge with 2 or more right-hand segments each.
Shape GenShape() {
  const uint32_t target = *rc::gen::weightedOneOf<uint32_t>(
      {{1, rc::gen::just(kMaxRhsUnits)}, {1, rc::gen::inRange<uint32_t>(30, kMaxRhsUnits + 1)}});
  const bool ordered = *rc::gen::arbitrary<bool>();
  Shape levels;
  uint16_t age = 0;
  for (;;) {
    LevelShape l;
    if (ordered) {
      age = uint16_t(age + *rc::gen::element(0, 0, 0, 1, 1, 2));
      l.age = age;
    } else {
      l.age = uint16_t(*rc::gen::inRange(0, 5));
    }
    l.flags = *rc::gen::element<uint16_t>(0, 0, 0, 0, kLevelFreelistOnly, kLevelIncomplete);
    l.nright = *rc::gen::weightedOneOf<uint32_t>({{12, rc::gen::just(0u)},
                                                  {4, rc::gen::inRange(2u, 5u)},
                                                  {1, rc::gen::inRange(5u, kMaxRhsUnits)}});
    Shape more = levels;
    more.push_back(l);
    if (ProgressOf(more).units > target) break;
    levels = std::move(more);
  }
  // Fill up to the target with idle levels of the oldest age so far.
  while (ProgressOf(levels).units < target) levels.push_back(LevelShape{age, 0, 0});
  return levels;
}

Choose Arbitrary() {
  return [](const MergePlan&, const Shape&) {
    return std::pair<bool, bool>{*rc::gen::element(false, false, false, true), *rc::gen::arbitrary<bool>()};
  };
}

// Flushes (room, then a new age-0 level), with paused and finished non-forced merges in between, from a
// generated shape. RC_FAILs on the first flush that does not get its room.
void FlushesGetRoom(const Scheduler& sched) {
  Shape levels = GenShape();
  const uint32_t automerge = *rc::gen::inRange(2u, 9u);
  RC_TAG(NeedsRoom(levels) ? "starts full" : "starts with room");
  const int flushes = *rc::gen::inRange(1, 12);
  for (int f = 0; f < flushes; ++f) {
    const std::string initial = Show(levels);
    std::string failure = MakeRoom(sched, automerge, levels, Arbitrary());
    if (!failure.empty()) RC_FAIL("flush " + std::to_string(f) + " from " + initial + ": " + failure);
    levels.insert(levels.begin(), LevelShape{0, 0, 0});
    RC_ASSERT(ProgressOf(levels).units <= kMaxRhsUnits);
    // Autowork: a merge that pauses or finishes (never forced).
    if (*rc::gen::arbitrary<bool>()) {
      const MergePlan plan = sched.plan(levels, int(automerge), false);
      levels = *rc::gen::arbitrary<bool>() ? Pause(levels, plan) : Apply(levels, plan, false, false);
      RC_ASSERT(ProgressOf(levels).units <= kMaxRhsUnits);
    }
  }
}

TEST(MergePolicyTest, EveryFlushGetsRoomInBoundedWork) {
  EXPECT_TRUE(rc::check("a flush that must make room gets it", [] { FlushesGetRoom(Engine()); }));
}

TEST(MergePolicyTest, ForcedPlanExistsForEveryShapeThatNeedsRoom) {
  EXPECT_TRUE(rc::check("PlanMerge(force) finds work whenever the database is full", [] {
    const Shape levels = GenShape();
    RC_PRE(NeedsRoom(levels));
    const int nmerge = *rc::gen::inRange(1, 9);
    const MergePlan plan = PlanMerge(levels, nmerge, true);
    RC_ASSERT(plan.kind != MergePlan::Kind::kNone);
    if (plan.kind == MergePlan::Kind::kResume) {
      RC_ASSERT(levels[plan.first].nright > 0);
    } else {
      RC_ASSERT(plan.count >= 2);
      RC_ASSERT(plan.first + plan.count <= levels.size());
      for (size_t i = 0; i < levels.size(); ++i) RC_ASSERT(levels[i].nright == 0u);
    }
    // Whatever the merge's outcome, the shape is no worse and (without a spill) strictly better.
    for (bool empty : {false, true}) {
      RC_ASSERT(ProgressOf(Apply(levels, plan, empty, true)) <= ProgressOf(levels));
      RC_ASSERT(ProgressOf(Apply(levels, plan, empty, false)) < ProgressOf(levels));
    }
  }));
}

// Runs a property that is expected to fail, without RapidCheck's report (which would end the test
// binary with a "reproduce" line as if something had broken): the shrunk failure, or nothing.
class SilentListener : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
};

template <typename Testable>
std::optional<std::string> ExpectedFailure(Testable&& testable) {
  SilentListener quiet;
  rc::detail::TestMetadata metadata;
  const rc::detail::TestResult result = rc::detail::checkTestable(
      std::forward<Testable>(testable), metadata, rc::detail::configuration().testParams, quiet);
  rc::detail::FailureResult failure;
  if (!result.match(failure)) return std::nullopt;
  return failure.description;
}

// The weakened scheduler: the reference's selection and room loop. The property must catch it.
TEST(MergePolicyTest, PropertyCatchesTheReferenceScheduler) {
  auto failure = ExpectedFailure([] { FlushesGetRoom(Reference()); });
  ASSERT_TRUE(failure.has_value()) << "the property passed the reference's scheduler";
  EXPECT_NE(failure->find("no progress"), std::string::npos) << *failure;
  std::cerr << "the property against the reference's scheduler (expected to fail): " << *failure << "\n";
}

// The reported shape: automerge 4, five age-1 levels above an age-2 level merging 3 rhs segments, and
// older levels filling the checkpoint to 40 units.
Shape ReferenceSpinShape() {
  Shape levels(5, LevelShape{1, 0, 0});
  levels.push_back(LevelShape{2, 0, 3});
  for (uint16_t age = 3; ProgressOf(levels).units < kMaxRhsUnits; ++age) levels.push_back(LevelShape{age, 0, 0});
  return levels;
}

TEST(MergePolicyTest, ReferenceSpinShape) {
  const Shape levels = ReferenceSpinShape();
  ASSERT_TRUE(NeedsRoom(levels));
  // The reference selects nothing here (so its flush spins) ...
  EXPECT_EQ(ReferenceSelectLevel(levels, 4).kind, MergePlan::Kind::kNone);
  Shape ref = levels;
  EXPECT_NE(MakeRoom(Reference(), 4, ref, [](const MergePlan&, const Shape&) { return std::pair{false, false}; }),
            "");
  // ... and the engine resumes the merge.
  EXPECT_EQ(PlanMerge(levels, 4, true), (MergePlan{MergePlan::Kind::kResume, 5, 1}));
  Shape ours = levels;
  EXPECT_EQ(MakeRoom(Engine(), 4, ours, [](const MergePlan&, const Shape&) { return std::pair{false, true}; }), "");
}

}  // namespace
}  // namespace lsm
