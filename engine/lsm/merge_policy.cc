#include "engine/lsm/merge_policy.h"

#include <algorithm>

namespace lsm {

std::vector<LevelShape> ShapeOf(std::span<const Level> levels) {
  std::vector<LevelShape> out;
  out.reserve(levels.size());
  for (const Level& l : levels) out.push_back(LevelShape{l.age, l.flags, uint32_t(l.rhs.size())});
  return out;
}

Progress ProgressOf(std::span<const LevelShape> levels) {
  Progress p;
  for (const LevelShape& l : levels) {
    p.units += l.nright == 0 ? 1 : std::max<uint32_t>(l.nright, 2);  // RhsUnits
    p.segments += l.nright;
  }
  return p;
}

bool NeedsRoom(std::span<const LevelShape> levels) { return ProgressOf(levels).units + 1 > kMaxRhsUnits; }

MergePlan PlanMerge(std::span<const LevelShape> levels, int nmerge, bool force) {
  const size_t n = levels.size();
  for (size_t i = 0; i < n; ++i) {
    if (levels[i].nright > 0) return MergePlan{MergePlan::Kind::kResume, i, 1};
  }
  if (n < 2) return MergePlan{};
  if (nmerge <= 1) return MergePlan{MergePlan::Kind::kStart, 0, n};
  size_t best = 0, best_count = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && levels[j + 1].age == levels[i].age) ++j;
    if (j - i + 1 > best_count) {
      best = i;
      best_count = j - i + 1;
    }
    i = j + 1;
  }
  if (best_count >= size_t(nmerge)) return MergePlan{MergePlan::Kind::kStart, best, best_count};
  if (!force) return MergePlan{};
  // The checkpoint is running out of room for levels. A merge may free enough blocks to spill the free
  // list into a new level, so merging two levels can gain nothing: merge the newest (smallest) four or
  // more.
  return MergePlan{MergePlan::Kind::kStart, 0, std::min(n, std::max<size_t>(best_count, 4))};
}

RoomMaker::Step RoomMaker::Next(std::span<const LevelShape> levels) {
  const Progress now = ProgressOf(levels);
  if (now.units + 1 <= kMaxRhsUnits) return Step{Step::Kind::kDone, 0};
  // Progress compares segments too: a resumed merge of 2 segments whose freed blocks spill the free
  // list keeps the units yet leaves fewer merges to resume, so giving up there would be premature.
  if (started_ && !(now < last_)) {
    if (everything_) return Step{Step::Kind::kFull, 0};
    everything_ = true;  // last resort: everything into one level
  }
  started_ = true;
  last_ = now;
  return Step{Step::Kind::kWork, everything_ ? 1 : automerge_};
}

}  // namespace lsm
