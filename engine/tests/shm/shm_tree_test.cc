// The shared-memory tree against the in-process Tree as its model: the same ops give the same records
// (forward, backward and after seeks), published snapshots never change while the writer goes on, and
// chunks of an old generation are claimed again only when the caller says no reader needs them.
#include "engine/shm/shm_tree.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/env/mem_env.h"
#include "engine/lsm/tree.h"

namespace lsm::shm {
namespace {

struct Dump {
  std::vector<std::tuple<uint8_t, Bytes, Bytes>> records;
  bool operator==(const Dump&) const = default;
};

void Check(const Status& s) { EXPECT_TRUE(s.ok()) << s.ToString(); }

Dump Forward(RecordCursor& c) {
  Dump d;
  EXPECT_TRUE(c.First().ok());
  for (; c.Valid(); Check(c.Next())) d.records.emplace_back(c.record().flags, c.record().key, c.record().value);
  return d;
}

Dump Backward(RecordCursor& c) {
  Dump d;
  EXPECT_TRUE(c.Last().ok());
  for (; c.Valid(); Check(c.Prev())) d.records.emplace_back(c.record().flags, c.record().key, c.record().value);
  std::reverse(d.records.begin(), d.records.end());
  return d;
}

class ShmTreeFixture {
 public:
  ShmTreeFixture() {
    file_ = std::move(env_.Open("db", OpenMode::kReadWriteCreate)).value();
    chunks_ = std::make_unique<ShmChunks>(file_.get());
    tree_ = std::make_unique<ShmTree>(chunks_.get(), ShmTreeState{}, [this](uint32_t gen) { return !pinned_.count(gen); });
  }
  ShmTree& tree() { return *tree_; }
  ShmChunks* chunks() { return chunks_.get(); }
  std::set<uint32_t>& pinned() { return pinned_; }

 private:
  MemEnv env_;
  std::unique_ptr<File> file_;
  std::unique_ptr<ShmChunks> chunks_;
  std::unique_ptr<ShmTree> tree_;
  std::set<uint32_t> pinned_;
};

Bytes Key(int k) {
  std::string s = "k" + std::to_string(k);
  return Bytes(s.begin(), s.end());
}

TEST(ShmTreeTest, OpsGiveTheModelsRecordsAndPublishedSnapshotsNeverChange) {
  EXPECT_TRUE(rc::check([] {
    ShmTreeFixture f;
    Tree model;
    std::vector<std::pair<ShmTreeState, Dump>> published;
    const int nops = *rc::gen::inRange(1, 300);
    for (int i = 0; i < nops; ++i) {
      const int kind = *rc::gen::inRange(0, 10);
      const Bytes a = Key(*rc::gen::inRange(0, 40));
      if (kind < 5) {
        // Now and then a value longer than a chunk, stored as a chain of pieces.
        const size_t len = *rc::gen::element<size_t>(0, 1, 7, 100, 40000, 70000);
        const Bytes v(len, uint8_t('a' + i % 26));
        RC_ASSERT(f.tree().Put(kTopicUser, a, v).ok());
        model.Put(kTopicUser, a, v);
      } else if (kind < 7) {
        RC_ASSERT(f.tree().Erase(kTopicUser, a).ok());
        model.Erase(kTopicUser, a);
      } else if (kind < 8) {
        const Bytes b = Key(*rc::gen::inRange(0, 40));
        RC_ASSERT(f.tree().EraseRange(a, b).ok());
        model.EraseRange(a, b);
      } else if (kind < 9) {
        RC_ASSERT(f.tree().Put(kTopicSystem, a, Bytes{1, 2}).ok());
        model.Put(kTopicSystem, a, Bytes{1, 2});
      } else {
        f.tree().Published();
        auto mc = model.NewCursor();
        published.emplace_back(f.tree().state(), Forward(*mc));
      }
      RC_ASSERT(f.tree().state().count == model.size());
      RC_ASSERT(f.tree().state().bytes == model.bytes());
    }
    auto mc = model.NewCursor();
    const Dump want = Forward(*mc);
    RC_ASSERT(f.chunks()->MapBelow(f.tree().state().nchunks).ok());
    auto c = ShmTree::NewCursor(f.chunks(), f.tree().state());
    RC_ASSERT(Forward(*c) == want);
    RC_ASSERT(Backward(*c) == want);
    for (int k = 0; k <= 40; ++k) {
      for (bool ge : {true, false}) {
        const Bytes key = Key(k);
        RC_ASSERT((ge ? c->SeekGe(kTopicUser, key) : c->SeekLe(kTopicUser, key)).ok());
        RC_ASSERT((ge ? mc->SeekGe(kTopicUser, key) : mc->SeekLe(kTopicUser, key)).ok());
        RC_ASSERT(c->Valid() == mc->Valid());
        if (c->Valid()) {
          RC_ASSERT(c->record().key == mc->record().key);
          RC_ASSERT(c->record().flags == mc->record().flags);
          // Walking on from a seek follows the model too.
          RC_ASSERT(c->Next().ok());
          RC_ASSERT(mc->Next().ok());
          RC_ASSERT(c->Valid() == mc->Valid());
          if (c->Valid()) RC_ASSERT(c->record().key == mc->record().key);
        }
      }
    }
    for (const auto& [state, dump] : published) {
      auto old = ShmTree::NewCursor(f.chunks(), state);
      RC_ASSERT(Forward(*old) == dump);
    }
  }));
}

TEST(ShmTreeTest, ANewGenerationClaimsOldChunksOnlyOnceNoReaderNeedsThem) {
  ShmTreeFixture f;
  const Bytes big(20000, 'x');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f.tree().Put(kTopicUser, Key(i), big).ok());
  f.tree().Published();
  const ShmTreeState gen1 = f.tree().state();
  ASSERT_GE(gen1.nchunks, 6u);
  ASSERT_TRUE(f.chunks()->MapBelow(gen1.nchunks).ok());
  auto reader = ShmTree::NewCursor(f.chunks(), gen1);
  const Dump before = Forward(*reader);

  // A reader still holds generation 1: the next generation takes fresh chunks.
  f.pinned().insert(1);
  f.tree().StartGeneration();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f.tree().Put(kTopicUser, Key(i), Bytes(20000, 'y')).ok());
  f.tree().Published();
  EXPECT_GE(f.tree().state().nchunks, 2 * gen1.nchunks - 1);
  EXPECT_EQ(Forward(*reader), before);

  // Once nobody reads generation 1, generation 3 reuses its chunks instead of growing.
  f.pinned().clear();
  const uint32_t high = f.tree().state().nchunks;
  f.tree().StartGeneration();
  f.pinned().insert(2);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f.tree().Put(kTopicUser, Key(i), Bytes(20000, 'z')).ok());
  EXPECT_EQ(f.tree().state().nchunks, high);
  ASSERT_TRUE(f.chunks()->MapBelow(f.tree().state().nchunks).ok());
  auto now = ShmTree::NewCursor(f.chunks(), f.tree().state());
  Dump d = Forward(*now);
  ASSERT_EQ(d.records.size(), 10u);
  EXPECT_EQ(std::get<2>(d.records[0]), Bytes(20000, 'z'));
}

TEST(ShmTreeTest, ADamagedNodeOffsetIsCorruptionNotACrash) {
  ShmTreeFixture f;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(f.tree().Put(kTopicUser, Key(i), Bytes{uint8_t(i)}).ok());
  ShmTreeState bad = f.tree().state();
  ASSERT_TRUE(f.chunks()->MapBelow(bad.nchunks).ok());
  // The root's left link pointed outside the chunks.
  uint8_t* root = f.chunks()->Mapped(bad.root >> kChunkShift) + (bad.root & (kShmChunkSize - 1));
  const uint32_t wild = 0x7FFF0010;
  std::memcpy(root, &wild, 4);
  auto c = ShmTree::NewCursor(f.chunks(), bad);
  Status s = c->First();
  EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
  EXPECT_FALSE(c->Valid());
  EXPECT_FALSE(ShmTreeState::Decode(std::vector<uint32_t>(ShmTreeState::kWords, 0)).ok());
}

}  // namespace
}  // namespace lsm::shm
