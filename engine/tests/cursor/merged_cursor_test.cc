// The tree's record model and the merged view, against a std::map model: several trees stand in for
// levels (newest first); the merged view must equal the model in both directions, and merging any
// newest prefix of levels into one run must not change the view.
#include "engine/cursor/merged_cursor.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <map>

#include "engine/lsm/tree.h"

namespace lsm {
namespace {

using Model = std::map<Bytes, Bytes>;

// A source backed by a vector of records, as a written run would be.
class VectorCursor : public RecordCursor {
 public:
  explicit VectorCursor(std::vector<Record> records) : records_(std::move(records)) {}
  Status First() override { return At(0); }
  Status Last() override { return At(records_.size() - 1); }
  Status Next() override { return At(i_ + 1); }
  Status Prev() override { return At(i_ - 1); }
  Status SeekGe(uint8_t topic, ByteView key) override {
    size_t i = 0;
    while (i < records_.size() && CompareKeys(records_[i].topic(), records_[i].key, topic, key) < 0) ++i;
    return At(i);
  }
  Status SeekLe(uint8_t topic, ByteView key) override {
    size_t i = records_.size();
    while (i > 0 && CompareKeys(records_[i - 1].topic(), records_[i - 1].key, topic, key) > 0) --i;
    return At(i - 1);
  }
  bool Valid() const override { return i_ < records_.size(); }
  const Record& record() const override { return records_[i_]; }

 private:
  Status At(size_t i) {
    i_ = i;  // size_t wraps below zero, which reads as invalid
    return Status::Ok();
  }
  std::vector<Record> records_;
  size_t i_ = 0;
};

Bytes Key(int k) { return Bytes{uint8_t('a' + k / 10), uint8_t('0' + k % 10)}; }

struct Op {
  int kind;  // 0 put, 1 erase, 2 erase range
  int a, b;
};

std::vector<std::unique_ptr<RecordCursor>> Cursors(const std::vector<Tree>& levels) {
  std::vector<std::unique_ptr<RecordCursor>> out;
  for (const Tree& t : levels) out.push_back(t.NewCursor());
  return out;
}

Model Forward(MergedCursor& c) {
  Model m;
  RC_ASSERT(c.First().ok());
  for (; c.Valid(); RC_ASSERT(c.Next().ok())) m.emplace(Bytes(c.key().begin(), c.key().end()), Bytes(c.value().begin(), c.value().end()));
  return m;
}

Model Backward(MergedCursor& c) {
  Model m;
  RC_ASSERT(c.Last().ok());
  for (; c.Valid(); RC_ASSERT(c.Prev().ok())) m.emplace(Bytes(c.key().begin(), c.key().end()), Bytes(c.value().begin(), c.value().end()));
  return m;
}

TEST(MergedCursorTest, MergedViewEqualsModel) {
  EXPECT_TRUE(rc::check("merged view == model", [] {
    size_t nlevels = *rc::gen::inRange<size_t>(1, 5);
    std::vector<Tree> levels(nlevels);  // levels[0] newest
    Model model;
    for (size_t l = nlevels; l-- > 0;) {  // apply oldest level's ops first
      int nops = *rc::gen::inRange(0, 30);
      for (int i = 0; i < nops; ++i) {
        int kind = *rc::gen::inRange(0, 3);
        int a = *rc::gen::inRange(0, 40), b = *rc::gen::inRange(0, 40);
        Bytes ka = Key(a), kb = Key(b);
        if (kind == 0) {
          Bytes v = {uint8_t(l), uint8_t(i)};
          levels[l].Put(kTopicUser, ka, v);
          model[ka] = v;
        } else if (kind == 1) {
          levels[l].Erase(kTopicUser, ka);
          model.erase(ka);
        } else {
          levels[l].EraseRange(ka, kb);
          if (ka < kb) model.erase(model.upper_bound(ka), model.lower_bound(kb));
        }
      }
    }
    for (size_t l = 0; l < nlevels; ++l) {
      auto c = levels[l].NewCursor();
      for (RC_ASSERT(c->First().ok()); c->Valid(); RC_ASSERT(c->Next().ok())) {
        RC_LOG() << "level " << l << " " << ToHex(c->record().key) << " flags " << int(c->record().flags) << "\n";
      }
    }
    MergedCursor view(Cursors(levels));
    RC_ASSERT(Forward(view) == model);
    RC_ASSERT(Backward(view) == model);
    for (int k = 0; k < 40; ++k) {  // point lookups and seeks, and a turn of direction
      RC_ASSERT(view.SeekGe(Key(k)).ok());
      auto it = model.lower_bound(Key(k));
      RC_ASSERT(view.Valid() == (it != model.end()));
      if (it == model.end()) continue;
      RC_ASSERT(Bytes(view.key().begin(), view.key().end()) == it->first);
      RC_ASSERT(view.Prev().ok());
      RC_ASSERT(view.Valid() == (it != model.begin()));
      if (it != model.begin()) RC_ASSERT(Bytes(view.key().begin(), view.key().end()) == std::prev(it)->first);
    }

    // Merge the newest `n` levels into one run; the bottom flag applies when nothing older is left.
    size_t n = *rc::gen::inRange<size_t>(1, nlevels + 1);
    std::vector<std::unique_ptr<RecordCursor>> inputs;
    for (size_t l = 0; l < n; ++l) {
      inputs.push_back(levels[l].NewCursor());
      RC_ASSERT(inputs.back()->First().ok());
    }
    std::vector<Record> run;
    RC_ASSERT(MergeRecords(inputs, n == nlevels, [&](const Record& r) {
                run.push_back(r);
                return Status::Ok();
              }).ok());
    if (n == nlevels) {
      for (const Record& r : run) RC_ASSERT(r.flags == kInsert);
    }
    std::vector<std::unique_ptr<RecordCursor>> merged;
    merged.push_back(std::make_unique<VectorCursor>(run));
    for (size_t l = n; l < nlevels; ++l) merged.push_back(levels[l].NewCursor());
    MergedCursor after(std::move(merged));
    RC_ASSERT(Forward(after) == model);
    RC_ASSERT(Backward(after) == model);
  }));
}

// Arbitrary sources (not built by a Tree: any record may carry any point part, gaps covered at
// random, keys of both topics) against the resolution rule applied key by key, under random walks
// that mix seeks, both directions and turns.
struct SourceSpec {
  std::vector<Record> records;
};

// Keys in ascending order: a small alphabet and lengths 0..2, so prefixes and the empty key occur.
Bytes SmallKey(int k) {
  static const std::vector<Bytes> keys = [] {
    std::vector<Bytes> out{{}};
    for (uint8_t a = 'a'; a <= 'c'; ++a) {
      out.push_back({a});
      for (uint8_t b = 'a'; b <= 'c'; ++b) out.push_back({a, b});
    }
    return out;
  }();
  return keys[size_t(k)];
}
constexpr int kSmallKeys = 13;

struct Visible {
  uint8_t topic;
  Bytes key;
  Bytes value;
  bool operator==(const Visible&) const = default;
};

// The rule of merged_cursor.h, one key at a time: newest source first, a record at the key with a
// point part decides; a source with no record at the key whose gap around it is covered hides it.
std::vector<Visible> Resolve(const std::vector<SourceSpec>& sources, uint8_t topic) {
  std::map<std::pair<uint8_t, Bytes>, int> keys;
  for (const auto& s : sources) {
    for (const Record& r : s.records) keys[{r.topic(), r.key}] = 0;
  }
  std::vector<Visible> out;
  for (const auto& [tk, unused] : keys) {
    if (tk.first != topic) continue;
    for (const auto& s : sources) {
      auto it = std::lower_bound(s.records.begin(), s.records.end(), tk, [](const Record& r, const auto& k) {
        return CompareKeys(r.topic(), r.key, k.first, k.second) < 0;
      });
      if (it != s.records.end() && CompareKeys(it->topic(), it->key, tk.first, tk.second) == 0) {
        if (it->flags & kInsert) out.push_back({tk.first, tk.second, it->value});
        if (it->flags & kPointMask) break;
        continue;
      }
      if (it != s.records.end() && (it->flags & kEndDelete)) break;  // inside a covered gap
    }
  }
  return out;
}

TEST(MergedCursorTest, ArbitrarySourcesMatchTheRuleUnderRandomWalks) {
  EXPECT_TRUE(rc::check("merged cursor == per-key resolution", [] {
    const size_t nsources = *rc::gen::inRange<size_t>(0, 7);
    std::vector<SourceSpec> specs(nsources);
    for (size_t si = 0; si < nsources; ++si) {
      bool covered = false;  // the gap before the next record
      for (uint8_t topic : {kTopicUser, kTopicSystem}) {
        for (int k = 0; k < kSmallKeys; ++k) {
          if (*rc::gen::inRange(0, 3) != 0) continue;
          Record r;
          r.key = SmallKey(k);
          const int point = *rc::gen::inRange(0, 3);
          r.flags = uint8_t(topic | (point == 0 ? kInsert : point == 1 ? kPointDelete : 0));
          if (covered) r.flags |= kEndDelete;
          covered = *rc::gen::inRange(0, 4) == 0;
          if (covered) r.flags |= kStartDelete;
          if (r.flags & kInsert) r.value = Bytes{uint8_t(si), uint8_t(k), topic};
          specs[si].records.push_back(r);
        }
      }
      // A run never ends inside a covered gap.
      if (covered) specs[si].records.back().flags &= uint8_t(~kStartDelete);
    }
    for (size_t si = 0; si < nsources; ++si) {
      for (const Record& r : specs[si].records) {
        RC_LOG() << "source " << si << " " << ToHex(r.key) << " flags " << int(r.flags) << "\n";
      }
    }
    for (uint8_t topic : {kTopicUser, kTopicSystem}) {
      const std::vector<Visible> model = Resolve(specs, topic);
      RC_LOG() << "topic " << int(topic) << ": " << model.size() << " visible\n";
      std::vector<std::unique_ptr<RecordCursor>> cursors;
      for (const auto& s : specs) cursors.push_back(std::make_unique<VectorCursor>(s.records));
      MergedCursor c(std::move(cursors), topic);
      int pos = -1;  // index into model, -1: invalid
      const int nops = *rc::gen::inRange(1, 40);
      for (int op = 0; op < nops; ++op) {
        const int kind = *rc::gen::inRange(0, 6);
        const Bytes target = SmallKey(*rc::gen::inRange(0, kSmallKeys));
        auto lower = [&](const Bytes& k) {
          int i = 0;
          while (i < int(model.size()) && CompareKeys(topic, model[size_t(i)].key, topic, k) < 0) ++i;
          return i;
        };
        switch (kind) {
          case 0:
            RC_ASSERT(c.First().ok());
            pos = model.empty() ? -1 : 0;
            break;
          case 1:
            RC_ASSERT(c.Last().ok());
            pos = int(model.size()) - 1;
            break;
          case 2:
            RC_ASSERT(c.Next().ok());
            if (pos >= 0) pos = pos + 1 < int(model.size()) ? pos + 1 : -1;
            break;
          case 3:
            RC_ASSERT(c.Prev().ok());
            if (pos >= 0) pos = pos - 1;
            break;
          case 4: {
            RC_ASSERT(c.SeekGe(target).ok());
            const int i = lower(target);
            pos = i < int(model.size()) ? i : -1;
            break;
          }
          default: {
            RC_ASSERT(c.SeekLe(target).ok());
            int i = lower(target);
            if (i < int(model.size()) && model[size_t(i)].key == target) {
              pos = i;
            } else {
              pos = i - 1;
            }
            break;
          }
        }
        RC_LOG() << "op " << kind << " target " << ToHex(target) << " pos " << pos << "\n";
        RC_ASSERT(c.Valid() == (pos >= 0));
        if (pos >= 0) {
          RC_ASSERT(Bytes(c.key().begin(), c.key().end()) == model[size_t(pos)].key);
          RC_ASSERT(Bytes(c.value().begin(), c.value().end()) == model[size_t(pos)].value);
        }
      }
    }
  }));
}

TEST(TreeTest, RollbackRestoresEveryChange) {
  Tree t;
  t.Put(kTopicUser, Key(1), Key(1));
  t.set_recording(true);
  size_t mark = t.Mark();
  t.Put(kTopicUser, Key(1), Key(2));
  t.EraseRange(Key(0), Key(5));
  t.Put(kTopicUser, Key(3), Key(3));
  size_t inner = t.Mark();
  t.Erase(kTopicUser, Key(3));
  t.RollbackTo(inner);
  auto c = t.NewCursor();
  ASSERT_TRUE(c->SeekGe(kTopicUser, Key(3)).ok());
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->record().key, Key(3));
  EXPECT_EQ(c->record().flags & kPointMask, kInsert);
  t.RollbackTo(mark);
  ASSERT_EQ(t.size(), 1u);
  c = t.NewCursor();
  ASSERT_TRUE(c->First().ok());
  EXPECT_EQ(c->record().value, Key(1));
  EXPECT_EQ(c->record().flags, kInsert);
}

// Changes never write over arena bytes (undo entries view them), so the tree must reclaim what
// overwrites and deleted ranges leave behind, or a hot key that never fills the tree would grow it
// without bound.
// A commit copies the tree a reader's snapshot holds: the copy has its own arena (the original may be
// dropped) and its own undo log (a transaction copied mid-way still rolls back).
TEST(TreeTest, ACopyIsDeepAndKeepsItsUndoLog) {
  auto original = std::make_unique<Tree>();
  original->Put(kTopicUser, Key(1), Key(10));
  original->set_recording(true);
  const size_t mark = original->Mark();
  original->Put(kTopicUser, Key(2), Key(20));
  original->Erase(kTopicUser, Key(1));
  Tree copy(*original);
  original->Put(kTopicUser, Key(3), Key(30));
  original.reset();  // its arena goes
  EXPECT_EQ(copy.size(), 2u);
  copy.RollbackTo(mark);
  auto c = copy.NewCursor();
  ASSERT_TRUE(c->First().ok());
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->record().key, Key(1));
  EXPECT_EQ(c->record().value, Key(10));
  ASSERT_TRUE(c->Next().ok());
  EXPECT_FALSE(c->Valid());
}

TEST(TreeTest, OverwritesDoNotGrowTheArenaWithoutBound) {
  Tree t;
  const Bytes value(1000, 'v');
  for (int i = 0; i < 20000; ++i) {
    t.Put(kTopicUser, Key(i % 3), value);
    if (i % 7 == 0) t.EraseRange(Key(0), Key(3));
  }
  t.Put(kTopicUser, Key(1), value);
  EXPECT_LE(t.size(), 4u);
  EXPECT_LT(t.arena_bytes(), size_t{4} << 20);  // 20 MB were written
  auto c = t.NewCursor();
  ASSERT_TRUE(c->SeekGe(kTopicUser, Key(1)).ok());
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->record().value, value);
}

}  // namespace
}  // namespace lsm
