// Liveness of flush and work on real databases: files crafted with a given level shape (real runs
// written by SegmentWriter, levels mid-merge with their saved input cells, split key and paused output,
// as a reference file may hold several at once), opened with Db::Open, then flushed and worked. A flush
// that must make room gets it, in at most (units + segments + 2) forced merges (merge_policy.h), and
// every key stays readable. merge_policy_test.cc drives the same scheduling over many more shapes.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/format/checkpoint.h"
#include "engine/db.h"
#include "engine/env/mem_env.h"
#include "engine/lsm/merge_policy.h"
#include "engine/format/meta_page.h"
#include "engine/lsm/segment.h"

namespace lsm {
namespace {

constexpr uint32_t kPgsz = 256;
constexpr uint32_t kBlksz = 64 * 1024;
const char* const kPath = "live.db";

// One level to craft: its shape, and for each run how many records (a mid-merge level: per rhs segment).
struct LevelSpec {
  LevelShape shape;
  size_t records = 3;      // per run
  size_t value_size = 8;   // large values make runs that span blocks (more blocks freed by a merge)
};

// Hands out blocks 1, 2, 3, ... (block 1 holds the meta pages and then data pages).
class CountingAllocator : public BlockAllocator {
 public:
  Result<uint32_t> AllocateBlock() override { return ++last_; }
  uint32_t last() const { return last_; }

 private:
  uint32_t last_ = 0;
};

Bytes Key(size_t level, size_t index, size_t seg) {
  std::string s = absl::StrFormat("L%03u K%05u S%02u", level, index, seg);
  return Bytes(s.begin(), s.end());
}

Bytes Value(const Bytes& key, size_t size) {
  Bytes v = key;
  v.resize(std::max(size, key.size()), uint8_t('v'));
  return v;
}

struct Crafted {
  Checkpoint ckpt;
  std::map<Bytes, Bytes> contents;  // every key the database holds
};

// Writes the runs of `levels` into `path` and a checkpoint naming them into meta page 1. A mid-merge
// level with R segments: segment j holds keys (level, i, j) for i < records; the merge stopped at
// i == split, so the paused output holds every key with i < split (written and paused, as MergeStep
// pauses), each input is saved at its first key with i >= split, and the split key is input 0's.
// `free_extra`: unused blocks put on the checkpoint's free list.
Crafted Craft(MemEnv* env, const std::vector<LevelSpec>& levels, uint32_t free_extra = 0) {
  Crafted out;
  Checkpoint& c = out.ckpt;
  c = Checkpoint::Empty(kPgsz, kBlksz);
  c.id = 1000;
  c.cmpid = kCompressionNone;
  Geometry g{kPgsz, kBlksz};
  auto file = env->Open(kPath, OpenMode::kReadWriteCreate);
  EXPECT_TRUE(file.ok());
  CountingAllocator alloc;
  std::vector<uint32_t> spare;
  auto write_run = [&](const std::vector<std::pair<Bytes, Bytes>>& recs, bool pause, uint32_t* nskip) {
    SegmentWriter w(file->get(), g, &alloc, 0);
    for (const auto& [k, v] : recs) EXPECT_TRUE(w.Add(kInsert, k, v).ok());
    auto seg = pause ? w.Pause() : w.Finish();
    EXPECT_TRUE(seg.ok()) << seg.status().ToString();
    if (nskip) *nskip = w.nskip();
    if (!pause && w.spare_block() != 0) spare.push_back(w.spare_block());
    return *seg;
  };
  for (size_t li = 0; li < levels.size(); ++li) {
    const LevelSpec& spec = levels[li];
    Level level;
    level.age = spec.shape.age;
    level.flags = spec.shape.flags;
    const size_t nright = spec.shape.nright;
    if (nright == 0) {
      std::vector<std::pair<Bytes, Bytes>> recs;
      for (size_t i = 0; i < spec.records; ++i) {
        Bytes k = Key(li, i, 0);
        recs.push_back({k, Value(k, spec.value_size)});
        out.contents[k] = recs.back().second;
      }
      level.lhs = write_run(recs, false, nullptr);
      c.levels.push_back(level);
      continue;
    }
    const size_t records = std::max<size_t>(spec.records, 2);
    const size_t split = std::max<size_t>(1, records / 2);
    std::vector<std::pair<Bytes, Bytes>> below;
    for (size_t j = 0; j < nright; ++j) {
      std::vector<std::pair<Bytes, Bytes>> recs;
      for (size_t i = 0; i < records; ++i) {
        Bytes k = Key(li, i, j);
        recs.push_back({k, Value(k, spec.value_size)});
        out.contents[k] = recs.back().second;
        if (i < split) below.push_back(recs.back());
      }
      level.rhs.push_back(write_run(recs, false, nullptr));
    }
    std::sort(below.begin(), below.end());
    level.lhs = write_run(below, true, &level.merge.nskip);
    for (size_t j = 0; j < nright; ++j) {
      SegmentCursor cur(file->get(), g, level.rhs[j]);
      EXPECT_TRUE(cur.SeekGe(kTopicUser, Key(li, split, j)).ok());
      EXPECT_TRUE(cur.Valid());
      level.merge.inputs.push_back(MergeCursor{cur.page(), uint32_t(cur.cell())});
    }
    level.merge.splitkey = level.merge.inputs[0];
    c.levels.push_back(level);
  }
  for (uint32_t i = 0; i < free_extra; ++i) spare.push_back(alloc.AllocateBlock().value());
  for (uint32_t b : spare) c.freelist.push_back(FreeEntry{b, 0});
  c.nblock = alloc.last();
  auto blob = EncodeCheckpoint(c);
  EXPECT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_TRUE((*file)->Write(0, MetaPageImage(*blob)).ok());
  return out;
}

Options SmallOptions(uint32_t automerge, uint32_t max_freelist) {
  Options o;
  o.page_size = kPgsz;
  o.block_size = kBlksz;
  o.automerge = automerge;
  o.max_freelist = max_freelist;
  o.autoflush_kb = 1 << 20;  // flushes only when asked
  o.autowork = false;
  o.autocheckpoint_kb = 0;
  o.cache_kb = 0;
  return o;
}

std::map<Bytes, Bytes> Dump(Db& db) {
  std::map<Bytes, Bytes> out;
  auto c = db.NewCursor();
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return out;
  EXPECT_TRUE((*c)->First().ok());
  while ((*c)->Valid()) {
    out[Bytes((*c)->key().begin(), (*c)->key().end())] = Bytes((*c)->value().begin(), (*c)->value().end());
    EXPECT_TRUE((*c)->Next().ok());
  }
  return out;
}

std::string Show(const std::vector<Level>& levels) {
  std::string s;
  for (const LevelShape& l : ShapeOf(levels)) {
    s += absl::StrFormat(" a%u%s%s", l.age, (l.flags & kLevelFreelistOnly) ? "F" : "",
                         l.nright ? absl::StrFormat("r%u", l.nright) : "");
  }
  return s;
}

// A flush on `db` (one new key first): ok, its level fits, and the room took a bounded number of forced
// merges (and at least one when the database was full).
testing::AssertionResult FlushMakesRoom(Db& db, std::map<Bytes, Bytes>& contents, int n) {
  const std::vector<LevelShape> before = ShapeOf(db.snapshot().levels);
  const Progress p = ProgressOf(before);
  const uint64_t calls = db.stats().room_work_calls;
  Bytes k = Key(999, size_t(n), 0);
  if (Status s = db.Put(k, k); !s.ok()) return testing::AssertionFailure() << "put: " << s.ToString();
  contents[k] = k;
  Status s = db.Flush();
  const uint64_t used = db.stats().room_work_calls - calls;
  const std::string shape = Show(db.snapshot().levels);
  if (!s.ok()) return testing::AssertionFailure() << "flush " << n << ": " << s.ToString() << "; levels" << shape;
  if (ProgressOf(ShapeOf(db.snapshot().levels)).units > kMaxRhsUnits) {
    return testing::AssertionFailure() << "flush " << n << " left too many units:" << shape;
  }
  if (used > p.units + p.segments + 2) {
    return testing::AssertionFailure() << "flush " << n << " took " << used << " forced merges:" << shape;
  }
  if (NeedsRoom(before) && used == 0) return testing::AssertionFailure() << "no merge made room:" << shape;
  return testing::AssertionSuccess();
}

// The shape the reference spins on: automerge 4, five age-1 levels above an age-2 level merging 3
// segments, older levels filling the checkpoint to 40 rhs units.
TEST(MergeLivenessTest, ReferenceSpinShapeFlushes) {
  std::vector<LevelSpec> levels(5, LevelSpec{LevelShape{1, 0, 0}});
  levels.push_back(LevelSpec{LevelShape{2, 0, 3}, 6});
  for (uint16_t age = 3; levels.size() < 5 + 1 + 32; ++age) levels.push_back(LevelSpec{LevelShape{age, 0, 0}});
  MemEnv env;
  Crafted crafted = Craft(&env, levels);
  std::vector<Level> ckpt_levels = crafted.ckpt.levels;
  ASSERT_TRUE(NeedsRoom(ShapeOf(ckpt_levels)));
  auto db = Db::Open(&env, kPath, SmallOptions(4, kMaxFreelistEntries));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->Check().value(), "");
  EXPECT_TRUE(FlushMakesRoom(**db, crafted.contents, 0));
  EXPECT_EQ((*db)->stats().merges_resumed, 1u);  // the age-2 merge, where the reference found nothing
  EXPECT_EQ((*db)->Check().value(), "");
  EXPECT_EQ(Dump(**db), crafted.contents);
  EXPECT_TRUE((*db)->Close().ok());
}

// Two levels mid-merge with 2 segments each, whose inputs span blocks, and a free list of 2: each
// resumed merge frees enough blocks to spill the free list into a new level, so it keeps the units
// (2 -> 1, plus the spill) and only drops 2 segments. Room-making must count that as progress rather
// than give up with kFull (which would also leave the database unusable).
TEST(MergeLivenessTest, ResumedMergesThatSpillTheFreeListStillMakeRoom) {
  std::vector<LevelSpec> levels;
  for (int i = 0; i < 18; ++i) levels.push_back(LevelSpec{LevelShape{1, 0, 0}});
  levels.push_back(LevelSpec{LevelShape{2, 0, 2}, 400, 200});
  for (int i = 0; i < 18; ++i) levels.push_back(LevelSpec{LevelShape{3, 0, 0}});
  levels.push_back(LevelSpec{LevelShape{4, 0, 2}, 400, 200});
  MemEnv env;
  Crafted crafted = Craft(&env, levels);
  ASSERT_EQ(ProgressOf(ShapeOf(crafted.ckpt.levels)).units, kMaxRhsUnits);
  auto db = Db::Open(&env, kPath, SmallOptions(4, 2));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->Check().value(), "");
  EXPECT_TRUE(FlushMakesRoom(**db, crafted.contents, 0));
  EXPECT_GE((*db)->stats().freelist_overflows, 2u);
  EXPECT_EQ((*db)->Check().value(), "");
  EXPECT_EQ(Dump(**db), crafted.contents);
  EXPECT_TRUE((*db)->Close().ok());
}

// Generated shapes on real files: flushes (and work between them) never fail, never overfill the
// checkpoint, and never take more forced merges than the bound; the data survives.
TEST(MergeLivenessTest, GeneratedShapesFlushAndWork) {
  EXPECT_TRUE(rc::check("flushes on crafted databases make room", [] {
    const uint32_t target = *rc::gen::weightedOneOf<uint32_t>(
        {{3, rc::gen::just(kMaxRhsUnits)}, {1, rc::gen::inRange<uint32_t>(34, kMaxRhsUnits + 1)}});
    const bool ordered = *rc::gen::arbitrary<bool>();
    std::vector<LevelSpec> levels;
    uint16_t age = 0;
    uint32_t units = 0;
    for (;;) {
      LevelSpec spec;
      age = ordered ? uint16_t(age + *rc::gen::element(0, 0, 1, 1, 2)) : uint16_t(*rc::gen::inRange(0, 5));
      spec.shape.age = age;
      spec.shape.flags = *rc::gen::element<uint16_t>(0, 0, 0, kLevelIncomplete);
      spec.shape.nright = *rc::gen::weightedOneOf<uint32_t>({{10, rc::gen::just(0u)}, {3, rc::gen::inRange(2u, 5u)},
                                                             {1, rc::gen::inRange(5u, 12u)}});
      spec.records = *rc::gen::inRange<size_t>(1, 12);
      spec.value_size = *rc::gen::weightedOneOf<size_t>({{6, rc::gen::just<size_t>(8)}, {1, rc::gen::just<size_t>(2000)}});
      const uint32_t cost = spec.shape.nright == 0 ? 1 : std::max(spec.shape.nright, 2u);
      if (units + cost > target) break;
      units += cost;
      levels.push_back(spec);
    }
    while (units < target) {
      levels.push_back(LevelSpec{LevelShape{age, 0, 0}});
      ++units;
    }
    const uint32_t automerge = *rc::gen::inRange(2u, 9u);
    const uint32_t max_freelist = *rc::gen::element(2u, 3u, 4u, 24u);
    const uint32_t free_extra = *rc::gen::element(0u, 0u, 1u, 2u);
    MemEnv env;
    Crafted crafted = Craft(&env, levels, free_extra);
    RC_TAG(NeedsRoom(ShapeOf(crafted.ckpt.levels)) ? "starts full" : "starts with room");
    auto db = Db::Open(&env, kPath, SmallOptions(automerge, max_freelist));
    RC_ASSERT(db.ok());
    RC_ASSERT((*db)->Check().value() == "");
    const int flushes = *rc::gen::inRange(1, 6);
    for (int f = 0; f < flushes; ++f) {
      auto room = FlushMakesRoom(**db, crafted.contents, f);
      if (!room) RC_FAIL(room.message());
      if (*rc::gen::arbitrary<bool>()) {
        auto w = (*db)->Work(0, *rc::gen::element<int64_t>(1, 4, -1));
        RC_ASSERT(w.ok());
        RC_ASSERT(ProgressOf(ShapeOf((*db)->snapshot().levels)).units <= kMaxRhsUnits);
      }
    }
    RC_ASSERT((*db)->Check().value() == "");
    RC_ASSERT(Dump(**db) == crafted.contents);
    RC_ASSERT((*db)->Close().ok());
  }));
}

}  // namespace
}  // namespace lsm
