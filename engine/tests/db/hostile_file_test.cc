// Hostile files lose nothing: a checkpoint with a valid checksum whose values no writer produces (an
// append point inside a live run or a free block, an id at the top of its range, runs of two levels
// sharing pages) is refused at open with kCorrupt naming the file, the field and the value, before
// anything is written; Db::CheckFile (`lsmsim db check`) reports the same problem without writing.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/db.h"
#include "engine/format/geometry.h"
#include "engine/env/mem_env.h"
#include "engine/format/meta_page.h"
#include "engine/tests/db/golden_files.h"

namespace lsm {
namespace {

constexpr const char* kPath = "g.db";

// A database our engine wrote: four flushes without merging, so four levels, each run ending inside a
// block (append points), then a clean close.
Bytes EngineDatabase() {
  MemEnv env;
  Options o;
  o.page_size = 1024;
  o.block_size = 64 * 1024;
  o.autowork = false;
  auto db = Db::Open(&env, kPath, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string k = "key-" + std::to_string(round) + "-" + std::to_string(i);
      EXPECT_TRUE((*db)->Put(Bytes(k.begin(), k.end()), Bytes(100, uint8_t('a' + round))).ok());
    }
    EXPECT_TRUE((*db)->Flush().ok());
  }
  EXPECT_TRUE((*db)->Close().ok());
  return *env.Contents(kPath);
}

// The checkpoint recovery would choose.
Checkpoint Decode(const Bytes& file) {
  MetaPageChoice choice = ChooseMetaPage(ByteView(file).first(kMetaPageSize),
                                         ByteView(file).subspan(kMetaPageSize, kMetaPageSize));
  EXPECT_TRUE(choice.checkpoint.has_value());
  return *choice.checkpoint;
}

// `file` with `c` (re-encoded, valid checksum) in both meta pages, so there is no fallback.
Bytes WithCheckpoint(Bytes file, const Checkpoint& c) {
  auto blob = EncodeCheckpoint(c);
  EXPECT_TRUE(blob.ok()) << blob.status().ToString();
  const Bytes page = MetaPageImage(*blob);
  std::copy(page.begin(), page.end(), file.begin());
  std::copy(page.begin(), page.end(), file.begin() + kMetaPageSize);
  return file;
}

// Opening `file` fails with kCorrupt mentioning every one of `expected`, leaves its bytes as they were and
// creates no log; CheckFile reports a line with each, also writing nothing.
void ExpectRefused(const Bytes& file, const std::vector<std::string>& expected) {
  MemEnv env;
  env.SetContents(kPath, file);
  auto db = Db::Open(&env, kPath, Options{});
  ASSERT_FALSE(db.ok()) << "the hostile file opened";
  EXPECT_EQ(db.status().code(), Code::kCorrupt) << db.status().ToString();
  EXPECT_EQ(db.status().message().rfind(std::string(kPath) + ": ", 0), 0u) << db.status().message();
  for (const std::string& e : expected) {
    EXPECT_NE(db.status().message().find(e), std::string::npos) << "no '" << e << "' in: " << db.status().message();
  }
  EXPECT_TRUE(*env.Contents(kPath) == file) << "the refused open changed the file";
  EXPECT_FALSE(*env.Exists(std::string(kPath) + "-log"));

  auto check = Db::CheckFile(&env, kPath);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  for (const std::string& e : expected) {
    EXPECT_NE(check->problems.find(e), std::string::npos) << "no '" << e << "' in:\n" << check->problems;
  }
  EXPECT_TRUE(*env.Contents(kPath) == file) << "the check changed the file";
  EXPECT_FALSE(*env.Exists(std::string(kPath) + "-log"));
}

std::string Page(uint64_t p) { return "page " + std::to_string(p); }

TEST(HostileFileTest, TheEngineWrittenBaseOpensChecksCleanAndHasWhatTheCasesNeed) {
  const Bytes file = EngineDatabase();
  const Checkpoint c = Decode(file);
  ASSERT_GE(c.levels.size(), 2u);
  ASSERT_NE(c.append[0], 0u);
  MemEnv env;
  env.SetContents(kPath, file);
  auto check = Db::CheckFile(&env, kPath);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ(check->problems, "");
  EXPECT_TRUE(*env.Contents(kPath) == file);
  auto db = Db::Open(&env, kPath, Options{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
}

// (a) The next flush starts at an append point: inside a live run it would overwrite the run's pages.
TEST(HostileFileTest, AnAppendPointInsideALiveRunIsRefused) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  const Segment& run = c.levels[1].lhs;
  c.append[0] = run.first;
  ExpectRefused(WithCheckpoint(file, c), {"append[0] = " + Page(run.first), "level 1 lhs"});
}

// (a) ...and in a block on the free list, the allocator would hand the block to another run.
TEST(HostileFileTest, AnAppendPointInAFreeBlockIsRefused) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  const Geometry g{c.pgsz, c.blksz};
  const uint32_t block = ++c.nblock;  // a block no run uses, on the free list
  c.freelist.push_back(FreeEntry{block, 0});
  const uint64_t ap = g.FirstPageOfBlock(block) + 1;
  c.append[0] = ap;
  ExpectRefused(WithCheckpoint(file, c),
                {"append[0] = " + Page(ap) + ": its block " + std::to_string(block) + " is on the free list"});
}

// (a) Two append points in one block: a run written at the lower one would run over the higher one.
TEST(HostileFileTest, TwoAppendPointsInOneBlockAreRefused) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  const Geometry g{c.pgsz, c.blksz};
  ASSERT_FALSE(g.IsLastOnBlock(c.append[0]));
  c.append[1] = c.append[0] + 1;
  ExpectRefused(WithCheckpoint(file, c), {"append[1] = " + Page(c.append[1])});
}

// (b) The next checkpoint would get id 2^63, which the decoder rejects; Close would then delete the
// log with only the older meta page left.
TEST(HostileFileTest, ACheckpointIdAtTheTopOfItsRangeIsRefused) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  c.id = (uint64_t{1} << 63) - 1;
  ExpectRefused(WithCheckpoint(file, c), {"id = 9223372036854775807"});
}

// ...while an id below the limit still opens, takes writes and reopens with a larger id...
TEST(HostileFileTest, ACheckpointIdBelowTheOpenLimitStillGrows) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  c.id = kMaxOpenCheckpointId - 1000;
  MemEnv env;
  env.SetContents(kPath, WithCheckpoint(file, c));
  {
    auto db = Db::Open(&env, kPath, Options{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put(Bytes{'z'}, Bytes{'1'}).ok());
    ASSERT_TRUE((*db)->Close().ok());
  }
  auto db = Db::Open(&env, kPath, Options{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_GT((*db)->snapshot().id, kMaxOpenCheckpointId - 1000);
  EXPECT_EQ(**(*db)->Get(Bytes{'z'}), Bytes{'1'});
}

// ...and at the limit it opens, but the checkpoint that would pass it is refused: Close fails and keeps
// the log, so the commit survives the next open.
TEST(HostileFileTest, ACheckpointIdAtTheOpenLimitIsNeverPassed) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  c.id = kMaxOpenCheckpointId;
  MemEnv env;
  env.SetContents(kPath, WithCheckpoint(file, c));
  {
    auto db = Db::Open(&env, kPath, Options{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put(Bytes{'z'}, Bytes{'1'}).ok());
    Status closed = (*db)->Close();
    EXPECT_EQ(closed.code(), Code::kFull) << closed.ToString();
  }
  EXPECT_TRUE(*env.Exists(std::string(kPath) + "-log"));
  auto db = Db::Open(&env, kPath, Options{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->snapshot().id, kMaxOpenCheckpointId);
  EXPECT_EQ(**(*db)->Get(Bytes{'z'}), Bytes{'1'});
}

// (c) Two levels holding the same pages: merging one frees blocks the other still reads.
TEST(HostileFileTest, TwoLevelsSharingARunAreRefused) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  c.levels[2].lhs = c.levels[1].lhs;
  ExpectRefused(WithCheckpoint(file, c), {"level 1 lhs", "level 2 lhs", "overlap: both hold " + Page(c.levels[1].lhs.first)});
}

// (c) ...also when they only share some pages of a block (each run otherwise well formed).
TEST(HostileFileTest, RunsOverlappingInsideOneBlockAreRefused) {
  const Bytes file = EngineDatabase();
  Checkpoint c = Decode(file);
  const Geometry g{c.pgsz, c.blksz};
  // Level 0's run, started one page early: it now also claims the last page of the run before it.
  Segment& s = c.levels[0].lhs;
  ASSERT_FALSE(g.IsFirstOnBlock(s.first));
  --s.first;
  ++s.size;
  ExpectRefused(WithCheckpoint(file, c), {"overlap: both hold " + Page(s.first)});
}

// (c) on a file the reference engine wrote.
TEST(HostileFileTest, GoldenLevelsSharingARunAreRefused) {
  int crafted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::GoldenDir() / "db")) {
    if (entry.path().extension() != ".db") continue;
    const Bytes file = testing::ReadGolden(entry.path());
    Checkpoint c = Decode(file);
    if (c.levels.size() < 2) continue;
    SCOPED_TRACE(entry.path().filename().string());
    const size_t last = c.levels.size() - 1;
    c.levels[last].lhs = c.levels[0].lhs;
    c.levels[last].rhs.clear();
    c.levels[last].merge = Merge{};
    c.redirects.clear();  // they belonged to the replaced oldest run
    ExpectRefused(WithCheckpoint(file, c), {"level 0 lhs", "overlap"});
    ++crafted;
  }
  EXPECT_GE(crafted, 1);
}

}  // namespace
}  // namespace lsm
