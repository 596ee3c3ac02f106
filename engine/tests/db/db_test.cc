// The Db on MemEnv: the golden databases written by SQLite4 LSM (dump exactly, accept writes), load and
// reopen, paused merges across reopen, locking, foreign files, and random corruption of the golden files
// (every result opens, reads and closes with a clean error or success; the asan build runs this too).
#include <algorithm>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>


#include "engine/db.h"
#include "engine/format/geometry.h"
#include "engine/env/mem_env.h"
#include "engine/format/meta_page.h"
#include "engine/lsm/segment.h"
#include "absl/strings/str_format.h"
#include "engine/tests/db/golden_files.h"

namespace lsm {
namespace {

using Map = std::map<Bytes, Bytes>;
namespace fs = std::filesystem;

struct Golden {
  std::string name;
  fs::path db;
  fs::path log;  // empty if none
  Map expected;
};

std::vector<Golden> GoldenDatabases() {
  std::vector<Golden> out;
  for (const auto& entry : fs::directory_iterator(testing::GoldenDir() / "db")) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".db") continue;
    Golden g;
    g.name = file.substr(0, file.find('.'));
    g.db = entry.path();
    if (fs::exists(entry.path().string() + "-log")) g.log = entry.path().string() + "-log";
    std::ifstream tsv(testing::GoldenDir() / "db" / (g.name + ".expected.tsv"));
    std::string line;
    while (std::getline(tsv, line)) {
      Bytes k, v;
      size_t tab = line.find('\t');
      EXPECT_TRUE(FromHex(line.substr(0, tab), &k) && FromHex(line.substr(tab + 1), &v)) << line;
      g.expected[k] = v;
    }
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const Golden& a, const Golden& b) { return a.name < b.name; });
  EXPECT_GE(out.size(), 4u);
  return out;
}

void Install(MemEnv& env, const Golden& g) {
  env.SetContents("g.db", testing::ReadGolden(g.db));
  if (!g.log.empty()) env.SetContents("g.db-log", testing::ReadGolden(g.log));
}

Result<Map> Dump(Db& db) {
  Map out;
  auto c = db.NewCursor();
  if (!c.ok()) return c.status();
  for (Status s = (*c)->First(); (*c)->Valid(); s = (*c)->Next()) {
    LSM_RETURN_IF_ERROR(s);
    out[Bytes((*c)->key().begin(), (*c)->key().end())] = Bytes((*c)->value().begin(), (*c)->value().end());
  }
  return out;
}

std::unique_ptr<Db> OpenOk(MemEnv& env, const Options& options = Options{}) {
  auto db = Db::Open(&env, "g.db", options);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

void ExpectHealthy(Db& db) {
  auto problems = db.Check();
  ASSERT_TRUE(problems.ok()) << problems.status().ToString();
  EXPECT_EQ(*problems, "");
}

// SplitMix64, for deterministic test inputs.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
};

TEST(DbGoldenTest, EveryGoldenDatabaseDumpsExactlyAndChecksClean) {
  for (const Golden& g : GoldenDatabases()) {
    SCOPED_TRACE(g.name);
    MemEnv env;
    Install(env, g);
    auto db = OpenOk(env);
    ASSERT_NE(db, nullptr);
    if (!g.log.empty()) {
      EXPECT_GT(db->stats().log_replayed_commits, 0u);
    }
    auto dumped = Dump(*db);
    ASSERT_TRUE(dumped.ok()) << dumped.status().ToString();
    EXPECT_EQ(dumped->size(), g.expected.size());
    EXPECT_TRUE(*dumped == g.expected);
    for (const auto& [k, v] : g.expected) {
      auto got = db->Get(k);
      ASSERT_TRUE(got.ok() && got->has_value() && **got == v) << ToHex(k);
    }
    ExpectHealthy(*db);
    ASSERT_TRUE(db->Close().ok());
  }
}

// Our writer continues the reference's files: its levels, free-list records and append points.
TEST(DbGoldenTest, GoldenDatabasesAcceptWritesMergesAndReopen) {
  for (const Golden& g : GoldenDatabases()) {
    SCOPED_TRACE(g.name);
    MemEnv env;
    Install(env, g);
    Map model = g.expected;
    Options options;
    options.autoflush_kb = 16;
    auto db = OpenOk(env, options);
    ASSERT_NE(db, nullptr);
    Rng rng{7};
    std::vector<Bytes> keys;
    for (const auto& [k, v] : model) keys.push_back(k);
    for (int i = 0; i < 3000; ++i) {
      Bytes k = keys.empty() || rng.Below(2) ? Bytes{uint8_t('k'), uint8_t(rng.Below(256)), uint8_t(rng.Below(256))}
                                              : keys[rng.Below(keys.size())];
      if (rng.Below(10) == 0) {
        ASSERT_TRUE(db->Erase(k).ok());
        model.erase(k);
      } else {
        Bytes v(rng.Below(300), uint8_t(i));
        ASSERT_TRUE(db->Put(k, v).ok());
        model[k] = v;
      }
    }
    ASSERT_TRUE(db->Work(1, -1).ok());  // merge everything into one level...
    // ...which may free enough blocks to spill the free list into a level of its own.
    const auto& levels = db->snapshot().levels;
    EXPECT_EQ(std::count_if(levels.begin(), levels.end(), [](const Level& l) { return !(l.flags & kLevelFreelistOnly); }),
              1);
    ExpectHealthy(*db);
    ASSERT_TRUE(db->Close().ok());
    db = OpenOk(env, options);
    ASSERT_NE(db, nullptr);
    auto dumped = Dump(*db);
    ASSERT_TRUE(dumped.ok()) << dumped.status().ToString();
    EXPECT_TRUE(*dumped == model);
    ExpectHealthy(*db);
  }
}

// `lsmsim db put` as a new user runs it on a real file: open, one 30 KB value, close (flush, forced
// merges when the levels run out, checkpoint), 32 times. pub_inprogress_1k lost 201 of its pairs this
// way while its paused merges were restarted from their (already partly freed) inputs.
TEST(DbGoldenTest, EveryGoldenDatabaseKeepsEveryPairThroughThirtyTwoClosedPuts) {
  for (const Golden& g : GoldenDatabases()) {
    SCOPED_TRACE(g.name);
    MemEnv env;
    Install(env, g);
    Map model = g.expected;
    for (int i = 0; i < 32; ++i) {
      char key[16];
      std::snprintf(key, sizeof key, "storm-%03d", i);
      const Bytes k(key, key + std::strlen(key));
      const Bytes v(30000, uint8_t('a' + i % 26));
      {
        auto db = OpenOk(env);
        ASSERT_NE(db, nullptr);
        ASSERT_TRUE(db->Put(k, v).ok());
        ASSERT_TRUE(db->Close().ok());
      }
      model[k] = v;
      auto db = OpenOk(env);
      ASSERT_NE(db, nullptr);
      auto dumped = Dump(*db);
      ASSERT_TRUE(dumped.ok()) << dumped.status().ToString();
      ASSERT_EQ(dumped->size(), model.size()) << "after put " << i;
      ASSERT_TRUE(*dumped == model) << "after put " << i;
      ExpectHealthy(*db);
      ASSERT_TRUE(db->Close().ok());
    }
  }
}

// The compression-id word: the reference stores 1 (NONE) in every checkpoint it writes; 0 (EMPTY) is
// only the synthetic checkpoint of a file that has none. Ours match, and a stored 0 still reads.
TEST(DbTest, CheckpointsSayUncompressedAndAnEmptyCompressionIdStillReads) {
  MemEnv env;
  {
    auto db = OpenOk(env);
    ASSERT_TRUE(db->Put(Bytes{1}, Bytes{2}).ok());
    ASSERT_TRUE(db->Checkpoint().ok());
    ASSERT_TRUE(db->Put(Bytes{3}, Bytes{4}).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  Bytes file = *env.Contents("g.db");
  for (MetaPage page : {MetaPage::kPage1, MetaPage::kPage2}) {
    auto c = DecodeCheckpoint(ByteView(file).subspan(MetaPageOffset(page), kMetaPageSize));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->cmpid, kCompressionNone);
  }
  for (MetaPage page : {MetaPage::kPage1, MetaPage::kPage2}) {
    auto c = DecodeCheckpoint(ByteView(file).subspan(MetaPageOffset(page), kMetaPageSize));
    c->cmpid = kCompressionEmpty;
    const Bytes image = MetaPageImage(*EncodeCheckpoint(*c));
    std::copy(image.begin(), image.end(), file.begin() + std::ptrdiff_t(MetaPageOffset(page)));
  }
  env.SetContents("g.db", file);
  auto db = OpenOk(env);
  ASSERT_NE(db, nullptr);
  auto dumped = Dump(*db);
  ASSERT_TRUE(dumped.ok());
  EXPECT_EQ(*dumped, (Map{{Bytes{1}, Bytes{2}}, {Bytes{3}, Bytes{4}}}));
}

TEST(DbTest, LoadedDatabaseReopensWithTheSameContentAndAValidCheckpoint) {
  const Golden g = GoldenDatabases()[1];
  MemEnv env;
  {
    auto db = OpenOk(env);
    ASSERT_TRUE(db->Begin().ok());
    for (const auto& [k, v] : g.expected) ASSERT_TRUE(db->Put(k, v).ok());
    ASSERT_TRUE(db->Commit().ok());
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_FALSE(*env.Exists("g.db-log"));  // a clean close deletes the log, as the seed does
  auto bytes = env.Contents("g.db");
  ASSERT_TRUE(bytes.ok());
  MetaPageChoice choice = ChooseMetaPage(ByteView(*bytes).first(kMetaPageSize), ByteView(*bytes).subspan(kMetaPageSize, kMetaPageSize));
  ASSERT_NE(choice.page, MetaPage::kNone);
  EXPECT_LE(bytes->size(), uint64_t{choice.checkpoint->nblock} * choice.checkpoint->blksz);  // truncated to its blocks
  auto db = OpenOk(env);
  auto dumped = Dump(*db);
  ASSERT_TRUE(dumped.ok());
  EXPECT_TRUE(*dumped == g.expected);
  ExpectHealthy(*db);
}

// The pages of a run, in run order, from the file's bytes (block links followed).
std::vector<uint64_t> RunPages(const Bytes& file, Geometry g, const Segment& seg) {
  std::vector<uint64_t> out;
  for (uint64_t p = seg.first; out.size() < seg.size;) {
    out.push_back(p);
    if (p == seg.last) break;
    p = g.IsLastOnBlock(p) ? g.FirstPageOfBlock(LoadBe32(file.data() + g.PageOffset(p) + g.pgsz - 4)) : p + 1;
  }
  return out;
}

// Pointers into the next-older run (segment.h): a record's pointer p != 0 must name a page of the next
// level's run such that no record of that run with a key >= the record's key lies on an earlier page
// (a search for the key may start at p). Checks every idle level above an idle level; returns the
// number of nonzero pointers checked.
struct PointerCheck {
  uint64_t checked = 0;
  std::vector<std::string> problems;
};
PointerCheck CheckOlderRunPointers(File* file, const Bytes& bytes, const Checkpoint& c) {
  PointerCheck out;
  const Geometry g{c.pgsz, c.blksz};
  for (size_t li = 0; li + 1 < c.levels.size(); ++li) {
    const Level& upper = c.levels[li];
    const Level& next = c.levels[li + 1];
    if (!upper.rhs.empty() || !next.rhs.empty() || (li + 2 == c.levels.size() && !c.redirects.empty())) continue;
    // The next run's records: the greatest key on the pages before each page (in run order).
    const std::vector<uint64_t> pages = RunPages(bytes, g, next.lhs);
    std::map<uint64_t, size_t> index;
    for (size_t i = 0; i < pages.size(); ++i) index[pages[i]] = i;
    std::vector<std::optional<Record>> last_before(pages.size() + 1);
    {
      SegmentCursor n(file, g, next.lhs);
      std::optional<Record> last;
      size_t filled = 0;
      for (Status s = n.First(); s.ok() && n.Valid(); s = n.Next()) {
        const size_t at = index.count(n.page()) ? index[n.page()] : pages.size();
        while (filled <= at && filled <= pages.size()) last_before[filled++] = last;
        last = n.record();
      }
      while (filled <= pages.size()) last_before[filled++] = last;
    }
    SegmentCursor u(file, g, upper.lhs);
    for (Status s = u.First(); s.ok() && u.Valid(); s = u.Next()) {
      const Record& r = u.record();
      if (r.pointer == 0) continue;
      ++out.checked;
      auto it = index.find(r.pointer);
      if (it == index.end()) {
        out.problems.push_back(absl::StrFormat("level %u key %s: pointer %u is not a page of level %u", li,
                                               ToHex(r.key), r.pointer, li + 1));
        continue;
      }
      const auto& before = last_before[it->second];
      if (before && CompareKeys(before->topic(), before->key, r.topic(), r.key) >= 0) {
        out.problems.push_back(absl::StrFormat("level %u key %s: pointer %u skips key %s of level %u", li,
                                               ToHex(r.key), r.pointer, ToHex(before->key), li + 1));
      }
    }
  }
  return out;
}

// CheckOlderRunPointers over the file "g.db" of `env` with checkpoint `c`, each problem a test failure;
// returns the pointers checked.
uint64_t ExpectOlderRunPointersValid(MemEnv& env, const Checkpoint& c) {
  const Bytes bytes = *env.Contents("g.db");
  auto f = env.Open("g.db", OpenMode::kReadOnly);
  EXPECT_TRUE(f.ok());
  if (!f.ok()) return 0;
  PointerCheck pc = CheckOlderRunPointers(f->get(), bytes, c);
  for (const auto& p : pc.problems) ADD_FAILURE() << p;
  return pc.checked;
}

TEST(DbGoldenTest, GoldenPointersIntoTheNextOlderRunAreSearchStarts) {
  uint64_t checked = 0;
  for (const Golden& g : GoldenDatabases()) {
    SCOPED_TRACE(g.name);
    MemEnv env;
    Install(env, g);
    const Bytes bytes = *env.Contents("g.db");
    MetaPageChoice choice = ChooseMetaPage(ByteView(bytes).first(kMetaPageSize), ByteView(bytes).subspan(kMetaPageSize, kMetaPageSize));
    ASSERT_TRUE(choice.checkpoint);
    const uint64_t n = ExpectOlderRunPointersValid(env, *choice.checkpoint);
    std::printf("%s: %llu pointers checked\n", g.name.c_str(), (unsigned long long)n);
    checked += n;
  }
  EXPECT_GT(checked, 0u);
}

// Our flushes and merges write pointers into the next-older run the way the reference's files have them.
TEST(DbTest, RunsWeWritePointIntoTheNextOlderRun) {
  MemEnv env;
  Options options;
  options.page_size = 1024;
  options.block_size = 64 * 1024;
  options.autoflush_kb = 32;
  options.autowork = false;
  auto db = OpenOk(env, options);
  uint64_t checked = 0;
  for (int round = 0; round < 3; ++round) {
    if (round == 1) {
      ASSERT_TRUE(db->Work(2, -1).ok());  // round 0's levels become one older level
    }
    for (int i = 0; i < 3000; ++i) {
      const uint32_t k = uint32_t(i * 7919 + round) % 20000;
      ASSERT_TRUE(db->Put(Bytes{uint8_t(k >> 8), uint8_t(k), uint8_t(round)}, Bytes(40, uint8_t(i))).ok());
    }
    if (round == 2) {
      ASSERT_TRUE(db->Work(5, -1).ok());  // a merge's output above an older level
    }
    ASSERT_TRUE(db->Checkpoint().ok());
    ASSERT_GE(db->snapshot().levels.size(), 2u);
    checked += ExpectOlderRunPointersValid(env, db->snapshot());
  }
  EXPECT_GT(checked, 1000u);
}

TEST(DbTest, APausedMergeIsReadableCheckpointedAndResumedAfterReopen) {
  MemEnv env;
  Options options;
  options.page_size = 512;
  options.block_size = 64 * 1024;
  options.autoflush_kb = 4;
  options.autowork = false;
  options.autocheckpoint_kb = 0;
  Map model;
  auto db = OpenOk(env, options);
  for (int i = 0; i < 4000; ++i) {
    Bytes k{uint8_t('a' + i % 26), uint8_t(i / 26 % 256), uint8_t(i * 7 % 256)};
    Bytes v(i % 50, uint8_t(i));
    ASSERT_TRUE(db->Put(k, v).ok());
    model[k] = v;
    if (i % 500 == 0) {
      Bytes a{uint8_t('c')}, b{uint8_t('f')};
      ASSERT_TRUE(db->EraseRange(a, b).ok());
      model.erase(model.upper_bound(a), model.lower_bound(b));
    }
  }
  ASSERT_GE(db->snapshot().levels.size(), 4u);
  ASSERT_TRUE(db->Work(4, 2).ok());  // a couple of pages: the merge pauses
  auto merging = [&] {
    for (const Level& l : db->snapshot().levels) {
      if (!l.rhs.empty()) return true;
    }
    return false;
  };
  ASSERT_TRUE(merging());
  auto dumped = Dump(*db);
  ASSERT_TRUE(dumped.ok());
  EXPECT_TRUE(*dumped == model);
  ExpectHealthy(*db);
  ASSERT_TRUE(db->Checkpoint().ok());
  EXPECT_EQ(db->stats().checkpoints_mid_merge, 1u);
  db.reset();  // abandon: the checkpoint holds the paused merge
  db = OpenOk(env, options);
  ASSERT_TRUE(merging());
  size_t li = 0;
  while (db->snapshot().levels[li].rhs.empty()) ++li;
  const Segment paused = db->snapshot().levels[li].lhs;
  const Geometry g{db->snapshot().pgsz, db->snapshot().blksz};
  const Bytes before = *env.Contents("g.db");
  const std::vector<uint64_t> paused_pages = RunPages(before, g, paused);
  ASSERT_EQ(paused_pages.size(), paused.size);
  dumped = Dump(*db);
  ASSERT_TRUE(dumped.ok());
  EXPECT_TRUE(*dumped == model);
  ASSERT_TRUE(db->Work(4, -1).ok());
  EXPECT_EQ(db->stats().merges_resumed, 1u);
  EXPECT_GE(db->stats().merges, 1u);
  EXPECT_FALSE(merging());
  ExpectHealthy(*db);
  // The resumed merge continued the run the first opening wrote: same first pages, same bytes.
  const Segment merged = db->snapshot().levels[li].lhs;
  EXPECT_EQ(merged.first, paused.first);
  EXPECT_GT(merged.size, paused.size);
  const Bytes after = *env.Contents("g.db");
  const std::vector<uint64_t> merged_pages = RunPages(after, g, merged);
  ASSERT_GE(merged_pages.size(), paused_pages.size());
  for (size_t i = 0; i < paused_pages.size(); ++i) {
    ASSERT_EQ(merged_pages[i], paused_pages[i]);
    const uint64_t off = g.PageOffset(paused_pages[i]);
    EXPECT_TRUE(std::equal(before.begin() + std::ptrdiff_t(off), before.begin() + std::ptrdiff_t(off + g.pgsz),
                           after.begin() + std::ptrdiff_t(off)))
        << "page " << paused_pages[i] << " of the paused output was rewritten";
  }
  dumped = Dump(*db);
  ASSERT_TRUE(dumped.ok());
  EXPECT_TRUE(*dumped == model);
}

// Found by the simulator (scenario deep-tiny-freelist, seed 50): with a 2-entry free list every merge
// spills the list into a new level, so "merge everything" made two levels again and never ended.
TEST(DbTest, MergingEverythingEndsEvenWhenEveryMergeSpillsTheFreeList) {
  MemEnv env;
  Options options;
  options.page_size = 512;
  options.block_size = 64 * 1024;
  options.autoflush_kb = 8;
  options.autowork = false;
  options.max_freelist = 2;
  auto db = OpenOk(env, options);
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 600; ++i) {
      Bytes k{uint8_t('a' + i % 26), uint8_t(i / 26), uint8_t(round)};
      ASSERT_TRUE(db->Put(k, Bytes(200, uint8_t(i))).ok());
    }
    ASSERT_TRUE(db->Flush().ok());
    ASSERT_TRUE(db->Checkpoint().ok());
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(db->Work(1, -1).ok());  // each call ends
  EXPECT_GT(db->stats().freelist_overflows, 0u);
  EXPECT_LE(db->snapshot().levels.size(), 2u);  // everything, plus at most the free list it spilled
  ExpectHealthy(*db);
  EXPECT_EQ(db->stats().freelist_overflow_loaded, 0u);  // a new database read no free list back

  // The spilled entries are read back on the next open (the explorer's "free-list overflow loaded").
  ASSERT_TRUE(db->Close().ok());
  db = OpenOk(env, options);
  EXPECT_GT(db->stats().freelist_overflow_loaded, 0u);
  ExpectHealthy(*db);
}

// The seed loses the user version at every restart (B12); here it survives like a committed Put:
// through the log after an abandon, through the checkpoint once the log is gone.
TEST(DbTest, TheUserVersionIsDurable) {
  MemEnv env;
  auto db = OpenOk(env);
  EXPECT_EQ(db->UserVersion().value(), 0u);
  ASSERT_TRUE(db->SetUserVersion(42).ok());
  db.reset();  // abandoned: the log brings it back
  db = OpenOk(env);
  EXPECT_EQ(db->UserVersion().value(), 42u);
  EXPECT_EQ(db->stats().log_replayed_commits, 1u);
  ASSERT_TRUE(db->Close().ok());  // flush and checkpoint, log deleted
  EXPECT_FALSE(*env.Exists("g.db-log"));
  db = OpenOk(env);
  EXPECT_EQ(db->UserVersion().value(), 42u);
  EXPECT_EQ(db->snapshot().user_version, 42u);

  // Inside transactions: visible to the transaction at once, gone with its rollback.
  ASSERT_TRUE(db->Begin().ok());
  ASSERT_TRUE(db->SetUserVersion(43).ok());
  ASSERT_TRUE(db->Begin().ok());
  ASSERT_TRUE(db->SetUserVersion(44).ok());
  EXPECT_EQ(db->UserVersion().value(), 44u);
  ASSERT_TRUE(db->Rollback().ok());
  EXPECT_EQ(db->UserVersion().value(), 43u);
  ASSERT_TRUE(db->Commit().ok());
  EXPECT_EQ(db->UserVersion().value(), 43u);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->Checkpoint().ok());
  db.reset();
  db = OpenOk(env);
  EXPECT_EQ(db->UserVersion().value(), 43u);
  EXPECT_EQ(db->stats().log_replayed_commits, 0u);  // from the checkpoint this time
  ASSERT_TRUE(db->SetUserVersion(0).ok());
  ASSERT_TRUE(db->Close().ok());
  db = OpenOk(env);
  EXPECT_EQ(db->UserVersion().value(), 0u);
}

// The reference recovers a database whose first checkpoint a crash tore from its log (with no valid
// checkpoint it starts from the empty one); so do we. Torn meta pages without commits in a log are
// still refused: nothing says the file is a database.
TEST(DbTest, AFirstCheckpointTornByACrashIsRecoveredFromTheLog) {
  MemEnv env;
  Options o;
  o.safety = Safety::kFull;
  Map want;
  {
    auto db = OpenOk(env, o);
    ASSERT_TRUE(db);
    for (int i = 0; i < 50; ++i) {
      const std::string k = "key-" + std::to_string(i), v = "value-" + std::to_string(i * i);
      ASSERT_TRUE(db->Put(AsBytes(k), AsBytes(v)).ok());
      want[Bytes(k.begin(), k.end())] = Bytes(v.begin(), v.end());
    }
    // Abandoned: no checkpoint was written, the commits are only in the log.
  }
  Bytes torn(2 * 4096, 0);
  for (size_t i = 0; i < 1536; ++i) torn[i] = uint8_t(i * 131 + 7);  // three sectors of page 1 written
  env.SetContents("g.db", torn);
  {
    auto db = OpenOk(env, o);
    ASSERT_TRUE(db);
    auto got = Dump(*db);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, want);
    EXPECT_EQ(db->stats().log_replayed_commits, 50u);
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = OpenOk(env, o);
  ASSERT_TRUE(db);
  ExpectHealthy(*db);
  EXPECT_EQ(*Dump(*db), want);
  db.reset();

  // Both meta pages torn (a later tear of page 2 while page 1 still held the first tear): the log's
  // commits still say it is a database, and it recovers; without a commit in the log it is refused.
  Bytes both = torn;
  for (size_t i = 4096; i < 4096 + 512; ++i) both[i] = uint8_t(i * 7 + 1);
  env.SetContents("g.db", both);
  env.SetContents("g.db-log", *env.Contents("g.db-log"));
  env.SetContents("g.db-log", Bytes(4096, 0));  // a log without a commit
  auto refused = Db::Open(&env, "g.db", o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kNotADatabase) << refused.status().ToString();
  EXPECT_EQ(*env.Contents("g.db"), both);
}

TEST(DbTest, ForeignAndBadInputsGetClearErrors) {
  MemEnv env;
  Bytes sqlite(16384, 0);
  std::string magic = "SQLite format 3";
  std::copy(magic.begin(), magic.end(), sqlite.begin());
  env.SetContents("g.db", sqlite);
  auto db = Db::Open(&env, "g.db", Options{});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kNotADatabase);
  EXPECT_NE(db.status().message().find("neither meta page"), std::string::npos) << db.status().message();

  Options bad;
  bad.page_size = 1000;
  auto opened = Db::Open(&env, "h.db", bad);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("page size 1000"), std::string::npos);
}

TEST(DbTest, TransactionsNestAndRollBack) {
  MemEnv env;
  auto db = OpenOk(env);
  Bytes a{'a'}, b{'b'}, one{'1'}, two{'2'};
  ASSERT_TRUE(db->Begin().ok());
  ASSERT_TRUE(db->Put(a, one).ok());
  ASSERT_TRUE(db->Begin().ok());
  ASSERT_TRUE(db->Put(b, two).ok());
  ASSERT_TRUE(db->Erase(a).ok());
  ASSERT_TRUE(db->Rollback().ok());
  ASSERT_TRUE(db->Commit().ok());
  EXPECT_EQ(**db->Get(a), one);
  EXPECT_FALSE(db->Get(b)->has_value());
  EXPECT_EQ(db->Commit().code(), Code::kMisuse);
  ASSERT_TRUE(db->Begin().ok());
  EXPECT_EQ(db->Flush().code(), Code::kMisuse);
  ASSERT_TRUE(db->Put(b, two).ok());
  db.reset();  // abandoned with the transaction open: it never committed
  db = OpenOk(env);
  EXPECT_EQ(**db->Get(a), one);
  EXPECT_FALSE(db->Get(b)->has_value());
}

// --- Corruption ------------------------------------------------------------------------------------

enum class Mutation { kBitFlips, kTruncate, kZeroPage, kGarbagePage, kHostileCheckpoint, kLogBytes };

std::string Mutate(Rng& rng, Bytes& db, Bytes& log) {
  const Mutation m = Mutation(rng.Below(6));
  switch (m) {
    case Mutation::kBitFlips: {
      const int n = 1 + int(rng.Below(8));
      // Half the flips land in the meta pages and first data pages, where the structure lives.
      for (int i = 0; i < n; ++i) {
        size_t at = rng.Below(2) ? rng.Below(std::min<size_t>(db.size(), 3 * 4096)) : rng.Below(db.size());
        db[at] ^= uint8_t(1 << rng.Below(8));
      }
      return "bit flips";
    }
    case Mutation::kTruncate:
      db.resize(rng.Below(db.size()));
      return "truncate";
    case Mutation::kZeroPage:
    case Mutation::kGarbagePage: {
      const size_t page = 1024;
      size_t at = rng.Below(db.size() / page) * page;
      for (size_t i = at; i < std::min(db.size(), at + page); ++i) db[i] = m == Mutation::kZeroPage ? 0 : uint8_t(rng.Next());
      return m == Mutation::kZeroPage ? "zero page" : "garbage page";
    }
    case Mutation::kHostileCheckpoint: {
      // A checkpoint with a valid checksum and hostile values: only bounds checks stand in the way.
      auto c = DecodeCheckpoint(db);
      if (!c.ok()) return "hostile checkpoint (skipped)";
      Checkpoint k = *c;
      auto wild = [&](uint64_t around) { return rng.Below(4) == 0 ? rng.Next() >> rng.Below(64) : rng.Below(around * 2 + 2); };
      const uint64_t pages = db.size() / k.pgsz + 1;
      switch (rng.Below(6)) {
        case 0:
          k.nblock = uint32_t(wild(k.nblock));
          break;
        case 1:
          if (!k.levels.empty()) {
            Segment& s = k.levels[rng.Below(k.levels.size())].lhs;
            (rng.Below(2) ? s.first : rng.Below(2) ? s.last : rng.Below(2) ? s.root : s.size) = wild(pages);
          }
          break;
        case 2:
          k.append[rng.Below(kAppendPoints)] = wild(pages);
          break;
        case 3:
          k.freelist.push_back(FreeEntry{uint32_t(wild(k.nblock)), int64_t(rng.Below(k.id))});
          break;
        case 4:
          k.log.offset = wild(1 << 20);
          break;
        default:
          if (!k.levels.empty()) {
            Level& l = k.levels[rng.Below(k.levels.size())];
            l.rhs.push_back(k.levels.back().lhs);
            l.merge.inputs.assign(l.rhs.size(), MergeCursor{wild(pages), uint32_t(rng.Below(8))});
            l.merge.splitkey = MergeCursor{wild(pages), uint32_t(rng.Below(8))};
          }
          break;
      }
      auto blob = EncodeCheckpoint(k);
      if (!blob.ok()) return "hostile checkpoint (unencodable)";
      std::copy(blob->begin(), blob->end(), db.begin());
      std::fill(db.begin() + std::ptrdiff_t(blob->size()), db.begin() + kMetaPageSize, 0);
      std::fill(db.begin() + kMetaPageSize, db.begin() + 2 * kMetaPageSize, 0);  // no fallback
      return "hostile checkpoint";
    }
    case Mutation::kLogBytes:
      if (log.empty()) return "log (none)";
      for (int i = 0; i < 4; ++i) log[rng.Below(log.size())] = uint8_t(rng.Next());
      return "log bytes";
  }
  return "";
}

TEST(DbCorruptionTest, MutatedGoldenFilesOpenReadAndCloseWithoutCrashing) {
  Rng rng{20261125};
  std::map<std::string, int> outcomes;
  for (const Golden& g : GoldenDatabases()) {
    const Bytes db0 = testing::ReadGolden(g.db);
    const Bytes log0 = g.log.empty() ? Bytes() : testing::ReadGolden(g.log);
    for (int round = 0; round < 120; ++round) {
      Bytes dbb = db0, logb = log0;
      const std::string what = Mutate(rng, dbb, logb);
      SCOPED_TRACE(g.name + " round " + std::to_string(round) + ": " + what);
      MemEnv env;
      env.SetContents("g.db", dbb);
      if (!logb.empty()) env.SetContents("g.db-log", logb);
      auto db = Db::Open(&env, "g.db", Options{});
      if (!db.ok()) {
        EXPECT_FALSE(db.status().message().empty());
        ++outcomes["open: " + std::string(CodeName(db.status().code()))];
        continue;
      }
      Status s;
      {
        auto c = (*db)->NewCursor();
        if (c.ok()) {
          for (s = (*c)->First(); s.ok() && (*c)->Valid(); s = (*c)->Next()) {
          }
          if (s.ok()) {
            for (s = (*c)->Last(); s.ok() && (*c)->Valid(); s = (*c)->Prev()) {
            }
          }
        } else {
          s = c.status();
        }
      }
      for (const auto& [k, v] : g.expected) {
        if (!s.ok()) break;
        s = (*db)->Get(k).status();
      }
      auto problems = (*db)->Check();
      Bytes key{'z', 'z'};
      Status w = (*db)->Put(key, key);
      Status closed = (*db)->Close();
      ++outcomes[s.ok() ? (problems.ok() && problems->empty() ? "clean" : "check found problems")
                        : "read: " + std::string(CodeName(s.code()))];
      if (!s.ok()) {
        EXPECT_FALSE(s.message().empty());
      }
      (void)w;
      (void)closed;
    }
  }
  for (const auto& [what, n] : outcomes) std::cout << "  " << what << ": " << n << "\n";
  EXPECT_GT(outcomes.size(), 2u);  // the mutations reach several different defences
}

// Found by the fault catalogue's torn-meta family: a crash tore the first checkpoint's meta page
// (garbage in some sectors, env.h allows it) before any second checkpoint was written. The file is
// still ours (its log is beside it) and its commits are in the log: it opens as the log says.
TEST(DbTest, TornFirstCheckpointOpensFromTheLog) {
  MemEnv env;
  Options o;
  o.safety = Safety::kFull;
  Bytes file, log;
  {
    auto db = Db::Open(&env, "t.db", o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put(Bytes{1}, Bytes{2}).ok());  // synced to the log (safety full)
    // The crash state, taken while the database is open: what the files hold now.
    file = env.Contents("t.db").value();
    log = env.Contents("t.db-log").value();
  }
  ASSERT_FALSE(log.empty());
  file.resize(std::max<size_t>(file.size(), 2 * kMetaPageSize), 0);
  for (size_t i = 0; i < 512; ++i) file[i] = uint8_t(0x5A ^ i);  // the first meta page torn
  std::fill(file.begin() + kMetaPageSize, file.begin() + 2 * kMetaPageSize, 0);  // the second never written
  env.SetContents("t.db", file);
  env.SetContents("t.db-log", log);
  auto db = Db::Open(&env, "t.db", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(**(*db)->Get(Bytes{1}), Bytes{2});
  // Without a log beside it the same file is not ours.
  env.SetContents("u.db", file);
  EXPECT_EQ(Db::Open(&env, "u.db", o).status().code(), Code::kNotADatabase);
}

}  // namespace
}  // namespace lsm
