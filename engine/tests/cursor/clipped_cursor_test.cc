// A level whose merge is paused reads as: the output below the split key, the inputs from the split key
// up. Property: for any inputs (with overlapping range deletes), any older level and any pause point,
// that view equals the inputs themselves, for every walk and seek.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <string>
#include <vector>

#include "engine/cursor/clipped_cursor.h"
#include "engine/cursor/merged_cursor.h"
#include "engine/lsm/tree.h"
#include "engine/cursor/vector_cursor.h"

namespace lsm {
namespace {

Bytes K(int i) { return Bytes{uint8_t('a' + i)}; }

std::vector<Record> RandomSource() {
  Tree t;
  const int n = *rc::gen::inRange(0, 12);
  for (int i = 0; i < n; ++i) {
    const int op = *rc::gen::inRange(0, 3);
    const int a = *rc::gen::inRange(0, 10), b = *rc::gen::inRange(0, 10);
    if (op == 0) t.Put(kTopicUser, K(a), Bytes{uint8_t(i)});
    if (op == 1) t.Erase(kTopicUser, K(a));
    if (op == 2) t.EraseRange(K(a), K(b));
  }
  std::vector<Record> out;
  auto c = t.NewCursor();
  for (Status s = c->First(); c->Valid(); s = c->Next()) out.push_back(c->record());
  return out;
}

std::vector<std::pair<Bytes, Bytes>> Walk(MergedCursor& c, bool forward) {
  std::vector<std::pair<Bytes, Bytes>> out;
  RC_ASSERT((forward ? c.First() : c.Last()).ok());
  while (c.Valid()) {
    out.emplace_back(Bytes(c.key().begin(), c.key().end()), Bytes(c.value().begin(), c.value().end()));
    RC_ASSERT((forward ? c.Next() : c.Prev()).ok());
  }
  return out;
}

std::string At(const MergedCursor& c) { return c.Valid() ? std::string(AsChars(c.key())) : "-"; }

TEST(ClippedCursorTest, PausedMergeReadsLikeItsInputs) {
  EXPECT_TRUE(rc::check("lhs below split + rhs from split == rhs", [] {
    const auto in0 = RandomSource(), in1 = RandomSource(), older = RandomSource();
    // Run the merge of the two inputs and pause it after `stop` output records.
    std::vector<std::unique_ptr<RecordCursor>> inputs;
    inputs.push_back(std::make_unique<VectorCursor>(in0));
    inputs.push_back(std::make_unique<VectorCursor>(in1));
    for (auto& s : inputs) RC_ASSERT(s->First().ok());
    RecordMerger merger(&inputs, false);
    const int stop = *rc::gen::inRange(1, 12);
    std::vector<Record> lhs;
    Record out;
    while (!merger.Done() && int(lhs.size()) < stop) {
      bool emitted = false;
      RC_ASSERT(merger.Step(&out, &emitted).ok());
      if (emitted) lhs.push_back(out);
    }
    RC_PRE(!merger.Done() && !lhs.empty());
    const Record split = *merger.Peek();

    auto expected_sources = [&] {
      std::vector<std::unique_ptr<RecordCursor>> v;
      v.push_back(std::make_unique<VectorCursor>(in0));
      v.push_back(std::make_unique<VectorCursor>(in1));
      v.push_back(std::make_unique<VectorCursor>(older));
      return v;
    };
    auto paused_sources = [&] {
      std::vector<std::unique_ptr<RecordCursor>> v;
      v.push_back(std::make_unique<ClippedCursor>(std::make_unique<VectorCursor>(lhs), split, ClippedCursor::Side::kBelow));
      v.push_back(std::make_unique<ClippedCursor>(std::make_unique<VectorCursor>(in0), split, ClippedCursor::Side::kAtOrAbove));
      v.push_back(std::make_unique<ClippedCursor>(std::make_unique<VectorCursor>(in1), split, ClippedCursor::Side::kAtOrAbove));
      v.push_back(std::make_unique<VectorCursor>(older));
      return v;
    };
    MergedCursor expected(expected_sources()), paused(paused_sources());
    RC_ASSERT(Walk(paused, true) == Walk(expected, true));
    RC_ASSERT(Walk(paused, false) == Walk(expected, false));
    for (int k = 0; k <= 10; ++k) {
      RC_ASSERT(expected.SeekGe(K(k)).ok());
      RC_ASSERT(paused.SeekGe(K(k)).ok());
      RC_ASSERT(At(paused) == At(expected));
      if (expected.Valid()) {
        RC_ASSERT(expected.Prev().ok());
        RC_ASSERT(paused.Prev().ok());
        RC_ASSERT(At(paused) == At(expected));
      }
      RC_ASSERT(expected.SeekLe(K(k)).ok());
      RC_ASSERT(paused.SeekLe(K(k)).ok());
      RC_ASSERT(At(paused) == At(expected));
      if (expected.Valid()) {
        RC_ASSERT(expected.Next().ok());
        RC_ASSERT(paused.Next().ok());
        RC_ASSERT(At(paused) == At(expected));
      }
    }
    // A merge that continues from the paused state writes what the whole merge would have.
    std::vector<Record> rest = lhs;
    while (!merger.Done()) {
      bool emitted = false;
      RC_ASSERT(merger.Step(&out, &emitted).ok());
      if (emitted) rest.push_back(out);
    }
    std::vector<Record> whole;
    auto all = expected_sources();
    all.pop_back();
    for (auto& s : all) RC_ASSERT(s->First().ok());
    RC_ASSERT(MergeRecords(all, false, [&](const Record& r) {
                whole.push_back(r);
                return Status::Ok();
              }).ok());
    RC_ASSERT(rest.size() == whole.size());
    for (size_t i = 0; i < rest.size(); ++i) {
      RC_ASSERT(rest[i].key == whole[i].key);
      RC_ASSERT(rest[i].flags == whole[i].flags);
      RC_ASSERT(rest[i].value == whole[i].value);
    }
  }));
}

}  // namespace
}  // namespace lsm
