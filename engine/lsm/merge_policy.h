// Merge scheduling: which merge the engine works on next, and how a flush makes room for its level.
// Both are decided on level shapes alone (age, flags, right-hand segments), so a property test can
// drive them over every shape a checkpoint can hold (engine/tests/lsm/merge_policy_test.cc); Database
// runs exactly these decisions (DoWork, MakeRoomForLevel).
//
// Liveness. The reference's lsmFlushTreeToDisk loops "while the database is full, do work", and its
// level selection can return nothing while the database stays full (automerge 4, five age-1 levels
// above an age-2 level merging 3 right-hand segments: the five are one age short of joining a merge
// and the merge's 3 segments do not beat automerge - 1): lsm_flush spins forever without I/O. Here:
//   - PlanMerge(force) returns work for every shape of two or more levels, or of one level mid-merge:
//     a merge in progress is resumed, else a group of levels is merged.
//   - Every forced merge, run to its end, lowers the shape's Progress (rhs units, then right-hand
//     segments) or leaves it unchanged: a resumed merge turns max(R, 2) units into 1 and drops its R
//     segments; merging c >= 2 levels turns c units into 1; the free-list spill that may follow adds one
//     unit. Only "resume R = 2, then spill" and "merge 2, then spill" keep the units, and the first
//     still drops 2 segments.
//   - RoomMaker stops once the flush's level fits, escalates to merging everything after a step that
//     made no progress, and gives up (kFull) only after a step at "everything" made none, which merging
//     everything (two or more idle levels into one, plus at most one spill) cannot do while the
//     database is full. So making room takes at most (units + segments + 2) work calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/format/checkpoint.h"

namespace lsm {

struct LevelShape {
  uint16_t age = 0;
  uint16_t flags = 0;
  uint32_t nright = 0;  // right-hand segments of a merge in progress; 0 = none
  bool operator==(const LevelShape&) const = default;
};

// Newest first, like the checkpoint's levels.
std::vector<LevelShape> ShapeOf(std::span<const Level> levels);

// What room-making counts, compared lexicographically: fewer units, or as many and fewer segments.
struct Progress {
  uint32_t units = 0;     // RhsUnits summed over the levels
  uint32_t segments = 0;  // right-hand segments summed over the levels
  auto operator<=>(const Progress&) const = default;
};
Progress ProgressOf(std::span<const LevelShape> levels);

// The flush's new level would not fit in the checkpoint's budget of rhs units.
bool NeedsRoom(std::span<const LevelShape> levels);

struct MergePlan {
  enum class Kind { kNone, kResume, kStart };
  Kind kind = Kind::kNone;
  size_t first = 0;  // kResume: the level mid-merge; kStart: the newest level merged
  size_t count = 0;  // kStart: levels merged (consecutive, from `first`)
  bool operator==(const MergePlan&) const = default;
};

// The next merge: a level mid-merge first (the newest one); else, when no merge is in progress, the
// longest run of consecutive levels of one age if it has at least `nmerge` levels; nmerge <= 1 merges
// everything. `force` (the database is full): the newest four or more levels rather than nothing.
MergePlan PlanMerge(std::span<const LevelShape> levels, int nmerge, bool force);

// The room-making loop of a flush, one decision per call: Next looks at the shape (after the work the
// previous Next asked for) and says whether the flush's level fits now, which work to do, or that no
// work makes room. Each kWork asks for DoWork(nmerge, unlimited, force) (at most one merge run to its
// end).
class RoomMaker {
 public:
  explicit RoomMaker(uint32_t automerge) : automerge_(int(automerge)) {}

  struct Step {
    enum class Kind { kDone, kWork, kFull };
    Kind kind = Kind::kDone;
    int nmerge = 0;  // kWork
  };
  Step Next(std::span<const LevelShape> levels);

 private:
  int automerge_;
  bool everything_ = false;  // escalated: merge everything
  bool started_ = false;
  Progress last_;
};

}  // namespace lsm
