// Several processes sharing one database through shared memory (Options::shared_memory). In one test
// process, a "process" is a Database of its own: each is opened through its own Env wrapper over one
// MemEnv (the registry keys databases by Env), so they share the files, the locks and the shm and
// nothing else. Across real OS processes: shared_memory_process_test.cc.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/db.h"
#include "engine/env/mem_env.h"

namespace lsm {
namespace {

using Map = std::map<std::string, std::string>;

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string S(ByteView b) { return std::string(b.begin(), b.end()); }

Options Shared() {
  Options o;
  o.shared_memory = true;
  o.page_size = 1024;
  o.block_size = 64 * 1024;
  o.autoflush_kb = 16;  // flushes (and new tree generations) come often
  o.autocheckpoint_kb = 64;
  return o;
}

// One simulated process: its own Env object over the shared MemEnv.
struct Process {
  explicit Process(MemEnv* mem) : env(mem) {}
  EnvWrapper env;
  std::unique_ptr<Db> db;
};

void Check(const Status& s) { EXPECT_TRUE(s.ok()) << s.ToString(); }

Map Dump(Db& db) {
  Map out;
  auto c = db.NewCursor();
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return out;
  EXPECT_TRUE((*c)->First().ok());
  for (; (*c)->Valid(); Check((*c)->Next())) out[S((*c)->key())] = S((*c)->value());
  return out;
}

std::optional<std::string> GetOf(Db& db, const std::string& k) {
  auto v = db.Get(B(k));
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (!v.ok() || !*v) return std::nullopt;
  return S(**v);
}

TEST(SharedMemoryTest, TwoProcessesSeeEachOthersCommitsThroughFlushesMergesAndCheckpoints) {
  MemEnv mem;
  Process a(&mem), b(&mem);
  a.db = std::move(Db::Open(&a.env, "db", Shared())).value();
  ASSERT_TRUE(a.db->Put(B("from-a"), B("1")).ok());
  auto opened = Db::Open(&b.env, "db", Shared());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  b.db = std::move(opened).value();
  EXPECT_EQ(GetOf(*b.db, "from-a"), "1");  // read from a's tree in shared memory

  Map model{{"from-a", "1"}};
  for (int i = 0; i < 2000; ++i) {
    Db& w = i % 3 == 0 ? *a.db : *b.db;
    const std::string k = "key" + std::to_string(i * 7919 % 1500);
    const std::string v = std::string(40 + i % 50, char('a' + i % 26));
    if (i % 11 == 0) {
      ASSERT_TRUE(w.Erase(B(k)).ok());
      model.erase(k);
    } else {
      Status s = w.Put(B(k), B(v));
      ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
      model[k] = v;
    }
    if (i % 250 == 0) {
      Db& other = i % 2 ? *a.db : *b.db;
      EXPECT_EQ(GetOf(other, k), model.count(k) ? std::optional(model[k]) : std::nullopt) << i;
    }
    if (i == 1000) {
      ASSERT_TRUE(b.db->Work(2, -1).ok());
    }
  }
  EXPECT_GT(a.db->stats().flushes + b.db->stats().flushes, 3u);
  EXPECT_EQ(Dump(*a.db), model);
  EXPECT_EQ(Dump(*b.db), model);
  auto check = a.db->Check();
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ(*check, "");

  ASSERT_TRUE(a.db->Close().ok());
  ASSERT_TRUE(b.db->Put(B("last"), B("word")).ok());
  model["last"] = "word";
  ASSERT_TRUE(b.db->Close().ok());  // the last process: flush, checkpoint, log deleted
  EXPECT_FALSE(*mem.Exists("db-log"));

  // What the files say afterwards, opened without shared memory.
  auto plain = Db::Open(&mem, "db", Options{});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(Dump(**plain), model);
}

TEST(SharedMemoryTest, AReaderKeepsItsSnapshotWhileAnotherProcessWritesAndFlushes) {
  MemEnv mem;
  Process a(&mem), b(&mem);
  a.db = std::move(Db::Open(&a.env, "db", Shared())).value();
  b.db = std::move(Db::Open(&b.env, "db", Shared())).value();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(a.db->Put(B("k" + std::to_string(i)), B("old")).ok());
  const Map before = Dump(*b.db);
  auto cursor = b.db->NewCursor();
  ASSERT_TRUE(cursor.ok());
  ASSERT_TRUE((*cursor)->First().ok());
  // Enough writes for several flushes (new tree generations) and merges.
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(a.db->Put(B("k" + std::to_string(i)), B(std::string(200, 'n'))).ok());
    ASSERT_TRUE(a.db->Flush().ok());
  }
  ASSERT_TRUE(a.db->Work(2, -1).ok());
  ASSERT_TRUE(a.db->Checkpoint().ok());
  Map seen;
  for (; (*cursor)->Valid(); Check((*cursor)->Next())) seen[S((*cursor)->key())] = S((*cursor)->value());
  EXPECT_EQ(seen, before);
  EXPECT_EQ(GetOf(*b.db, "k5"), std::string(200, 'n'));
}

TEST(SharedMemoryTest, AWriterThatDiesMidTransactionLeavesNothingAndFreesTheWriterLock) {
  MemEnv mem;
  Process a(&mem), b(&mem);
  a.db = std::move(Db::Open(&a.env, "db", Shared())).value();
  b.db = std::move(Db::Open(&b.env, "db", Shared())).value();
  ASSERT_TRUE(a.db->Put(B("kept"), B("1")).ok());
  ASSERT_TRUE(a.db->Begin().ok());
  ASSERT_TRUE(a.db->Put(B("lost"), B("2")).ok());
  EXPECT_EQ(b.db->Put(B("x"), B("y")).code(), Code::kBusy);  // a holds WRITER
  a.db.reset();  // the process dies: its handle, and so its locks, go
  ASSERT_TRUE(b.db->Put(B("x"), B("y")).ok());
  EXPECT_EQ(Dump(*b.db), (Map{{"kept", "1"}, {"x", "y"}}));
}

TEST(SharedMemoryTest, AProcessThatDoesNotShareIsRefusedAndTheOtherWayRound) {
  MemEnv mem;
  Process a(&mem), b(&mem);
  a.db = std::move(Db::Open(&a.env, "db", Shared())).value();
  EXPECT_EQ(Db::Open(&b.env, "db", Options{}).status().code(), Code::kBusy);
  a.db.reset();
  b.db = std::move(Db::Open(&b.env, "db", Options{})).value();
  Process c(&mem);
  EXPECT_EQ(Db::Open(&c.env, "db", Shared()).status().code(), Code::kBusy);
}

TEST(SharedMemoryTest, TheFirstProcessAfterEveryoneDiedRebuildsSharedMemoryFromTheFiles) {
  MemEnv mem;
  Map model;
  {
    Process a(&mem), b(&mem);
    a.db = std::move(Db::Open(&a.env, "db", Shared())).value();
    b.db = std::move(Db::Open(&b.env, "db", Shared())).value();
    for (int i = 0; i < 500; ++i) {
      const std::string k = "k" + std::to_string(i % 120), v = std::to_string(i);
      ASSERT_TRUE((i % 2 ? a : b).db->Put(B(k), B(v)).ok());
      model[k] = v;
    }
    // Both die without closing: the shm stays, stale, with no one connected.
  }
  Process c(&mem);
  auto opened = Db::Open(&c.env, "db", Shared());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Dump(**opened), model);
}

// Random ops by three processes against one model: every read, by any process, sees the model.
TEST(SharedMemoryTest, ThreeProcessesAgreeWithOneModel) {
  EXPECT_TRUE(rc::check([] {
    MemEnv mem;
    std::vector<std::unique_ptr<Process>> procs;
    for (int i = 0; i < 3; ++i) {
      procs.push_back(std::make_unique<Process>(&mem));
      auto db = Db::Open(&procs.back()->env, "db", Shared());
      RC_ASSERT(db.ok());
      procs.back()->db = std::move(db).value();
    }
    Map model;
    const int n = *rc::gen::inRange(1, 400);
    for (int i = 0; i < n; ++i) {
      Process& p = *procs[size_t(*rc::gen::inRange(0, 3))];
      const std::string k = "k" + std::to_string(*rc::gen::inRange(0, 60));
      switch (*rc::gen::inRange(0, 9)) {
        case 0: {
          const std::string e = "k" + std::to_string(*rc::gen::inRange(0, 60));
          RC_ASSERT(p.db->EraseRange(B(k), B(e)).ok());
          for (auto it = model.upper_bound(k); it != model.end() && it->first < e;) it = model.erase(it);
          break;
        }
        case 1:
          RC_ASSERT(p.db->Erase(B(k)).ok());
          model.erase(k);
          break;
        case 2:
          RC_ASSERT(p.db->Flush().ok());
          break;
        case 3:
          RC_ASSERT(p.db->Work(2, 8).ok());
          break;
        case 4:
          RC_ASSERT(GetOf(*p.db, k) == (model.count(k) ? std::optional(model[k]) : std::nullopt));
          break;
        case 5:
          // A process closes (the last one does the full close) and opens again.
          RC_ASSERT(p.db->Close().ok());
          {
            auto db = Db::Open(&p.env, "db", Shared());
            RC_ASSERT(db.ok());
            p.db = std::move(db).value();
          }
          break;
        default: {
          const std::string v(size_t(*rc::gen::inRange(0, 3000)), char('a' + i % 26));
          RC_ASSERT(p.db->Put(B(k), B(v)).ok());
          model[k] = v;
        }
      }
    }
    for (auto& p : procs) RC_ASSERT(Dump(*p->db) == model);
  }));
}

}  // namespace
}  // namespace lsm
