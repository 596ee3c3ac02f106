// Several connections to one database in one process: they share committed data, one writes at a time,
// readers see snapshots whose blocks are not reused under them, the last to close cleans up, and
// threads may each use their own connection.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "engine/db.h"
#include "engine/env/mem_env.h"
#include "engine/env/posix_env.h"

namespace lsm {
namespace {

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

std::unique_ptr<Db> Connect(Env& env, const Options& options = Options{}) {
  auto db = Db::Open(&env, "c.db", options);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

std::optional<Bytes> GetOk(Db& db, const std::string& key) {
  auto v = db.Get(B(key));
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : std::nullopt;
}

std::map<Bytes, Bytes> Scan(Cursor& c) {
  std::map<Bytes, Bytes> out;
  for (Status s = c.First(); c.Valid(); s = c.Next()) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    out[Bytes(c.key().begin(), c.key().end())] = Bytes(c.value().begin(), c.value().end());
  }
  return out;
}

TEST(ConnectionsTest, ShareCommittedDataAndStatistics) {
  MemEnv env;
  auto a = Connect(env);
  auto b = Connect(env);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Put(B("k1"), B("v1")).ok());
  EXPECT_EQ(GetOk(*b, "k1"), B("v1"));
  ASSERT_TRUE(b->Put(B("k2"), B("v2")).ok());
  EXPECT_EQ(GetOk(*a, "k2"), B("v2"));
  ASSERT_TRUE(b->Flush().ok());
  EXPECT_EQ(&a->stats(), &b->stats());
  EXPECT_EQ(a->stats().flushes, 1u);
  EXPECT_EQ(GetOk(*a, "k1"), B("v1"));
}

TEST(ConnectionsTest, OneWriterAtATimeAndAStaleTransactionCannotWrite) {
  MemEnv env;
  auto a = Connect(env);
  auto b = Connect(env);
  ASSERT_TRUE(a->Begin().ok());
  ASSERT_TRUE(a->Put(B("x"), B("1")).ok());
  EXPECT_EQ(b->Put(B("y"), B("1")).code(), Code::kBusy);  // a holds the write lock
  ASSERT_TRUE(b->Begin().ok());
  EXPECT_EQ(GetOk(*b, "x"), std::nullopt);  // uncommitted: invisible
  EXPECT_EQ(b->Erase(B("y")).code(), Code::kBusy);
  ASSERT_TRUE(a->Commit().ok());
  // b's snapshot predates a's commit: it still reads the old state, and may not write on top of it.
  EXPECT_EQ(GetOk(*b, "x"), std::nullopt);
  EXPECT_EQ(b->Put(B("y"), B("2")).code(), Code::kBusy);
  ASSERT_TRUE(b->Rollback().ok());
  EXPECT_EQ(GetOk(*b, "x"), B("1"));
  ASSERT_TRUE(b->Begin().ok());
  ASSERT_TRUE(b->Put(B("y"), B("2")).ok());
  ASSERT_TRUE(b->Commit().ok());
  EXPECT_EQ(GetOk(*a, "y"), B("2"));
}

TEST(ConnectionsTest, AbandoningAConnectionDropsOnlyItsTransaction) {
  MemEnv env;
  auto a = Connect(env);
  auto b = Connect(env);
  ASSERT_TRUE(a->Put(B("kept"), B("1")).ok());
  ASSERT_TRUE(a->Begin().ok());
  ASSERT_TRUE(a->Put(B("dropped"), B("1")).ok());
  a.reset();  // without Close: its transaction goes, and with it the write lock
  ASSERT_TRUE(b->Put(B("later"), B("1")).ok());
  EXPECT_EQ(GetOk(*b, "dropped"), std::nullopt);
  EXPECT_EQ(GetOk(*b, "kept"), B("1"));
}

TEST(ConnectionsTest, TheLastToCloseFlushesCheckpointsAndDeletesTheLog) {
  MemEnv env;
  auto a = Connect(env);
  auto b = Connect(env);
  ASSERT_TRUE(a->Put(B("a"), B("1")).ok());
  ASSERT_TRUE(a->Close().ok());
  EXPECT_EQ(a->Put(B("a"), B("2")).code(), Code::kMisuse);
  EXPECT_TRUE(*env.Exists("c.db-log"));  // b is still open
  EXPECT_EQ(b->stats().flushes, 0u);
  ASSERT_TRUE(b->Put(B("b"), B("1")).ok());
  ASSERT_TRUE(b->Close().ok());
  EXPECT_FALSE(*env.Exists("c.db-log"));
  auto c = Connect(env);
  EXPECT_EQ(c->stats().log_replayed_commits, 0u);
  EXPECT_EQ(GetOk(*c, "a"), B("1"));
  EXPECT_EQ(GetOk(*c, "b"), B("1"));
}

TEST(ConnectionsTest, APromiseTheSharedLogCannotKeepIsRefused) {
  MemEnv env;
  auto a = Connect(env);
  Options full;
  full.safety = Safety::kFull;
  auto b = Db::Open(&env, "c.db", full);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
  EXPECT_NE(b.status().message().find("safety full"), std::string::npos) << b.status().ToString();
}

TEST(ConnectionsTest, ACursorIsASnapshotWhoseBlocksAreNotReusedUnderIt) {
  MemEnv env;
  Options o;
  o.page_size = 512;
  o.block_size = 64 * 1024;
  o.autoflush_kb = 16;
  o.autocheckpoint_kb = 32;
  o.cache_kb = 0;  // every read goes to the file: reused blocks would show
  auto writer = Connect(env, o);
  auto reader = Connect(env, o);
  std::map<Bytes, Bytes> before;
  auto fill = [&](int round, std::map<Bytes, Bytes>* model) {
    for (int i = 0; i < 600; ++i) {
      Bytes k = B("key" + std::to_string(i * 7919 % 600));
      Bytes v(40 + i % 50, uint8_t(round * 31 + i));
      ASSERT_TRUE(writer->Put(k, v).ok());
      if (model) (*model)[k] = v;
    }
  };
  fill(0, &before);
  auto c = reader->NewCursor();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(reader->Begin().ok());  // a read transaction: a second snapshot, read through Get
  const uint64_t reused_before = writer->stats().blocks_reused;
  for (int round = 1; round < 8; ++round) {
    fill(round, nullptr);
    ASSERT_TRUE(writer->Work(1, -1).ok());  // merge everything: every older block is freed
    ASSERT_TRUE(writer->Checkpoint().ok());
  }
  EXPECT_EQ(Scan(**c), before);
  for (const auto& [k, v] : before) ASSERT_EQ(reader->Get(k).value(), v);
  EXPECT_GT(writer->stats().blocks_freed, 0u);
  const uint64_t reused_pinned = writer->stats().blocks_reused - reused_before;
  c->reset();
  ASSERT_TRUE(reader->Commit().ok());
  for (int round = 8; round < 12; ++round) {
    fill(round, nullptr);
    ASSERT_TRUE(writer->Work(1, -1).ok());
    ASSERT_TRUE(writer->Checkpoint().ok());
  }
  // Once the snapshots are gone the freed blocks are taken again.
  EXPECT_GT(writer->stats().blocks_reused - reused_before, reused_pinned);
  auto problems = writer->Check();
  ASSERT_TRUE(problems.ok());
  EXPECT_EQ(*problems, "");
}

TEST(ConnectionsTest, ACursorKeepsItsTransactionsWritesAsTheyWere) {
  MemEnv env;
  auto a = Connect(env);
  ASSERT_TRUE(a->Put(B("a"), B("0")).ok());
  ASSERT_TRUE(a->Begin().ok());
  ASSERT_TRUE(a->Put(B("b"), B("1")).ok());
  auto c = a->NewCursor();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(a->Put(B("c"), B("1")).ok());
  ASSERT_TRUE(a->Rollback().ok());
  std::map<Bytes, Bytes> expected{{B("a"), B("0")}, {B("b"), B("1")}};
  EXPECT_EQ(Scan(**c), expected);
  ASSERT_TRUE(a->Close().ok());
  EXPECT_EQ((*c)->First().code(), Code::kMisuse);  // its database is closed
}

// Read-modify-write increments from two threads, each on its own connection, retrying on kBusy: a
// lost update (two transactions writing on the same snapshot) would leave the counter short.
TEST(ConnectionsTest, ThreadsIncrementingACounterLoseNoUpdate) {
  MemEnv env;
  Options o;
  o.autoflush_kb = 4;
  auto setup = Connect(env, o);
  ASSERT_TRUE(setup->Put(B("n"), B("0")).ok());
  constexpr int kPerThread = 300;
  auto worker = [&] {
    auto db = Connect(env, o);
    for (int done = 0; done < kPerThread;) {
      if (!db->Begin().ok()) return;
      auto v = db->Get(B("n"));
      if (!v.ok() || !*v) return;
      const int n = std::stoi(std::string((*v)->begin(), (*v)->end()));
      std::this_thread::yield();  // let the other thread read the same value
      Status s = db->Put(B("n"), B(std::to_string(n + 1)));
      if (s.ok()) s = db->Put(B("t" + std::to_string(n)), Bytes(100, 1));  // keep flushes coming
      if (s.ok()) s = db->Commit();
      if (s.ok()) {
        ++done;
      } else {
        if (s.code() != Code::kBusy || !db->Rollback().ok()) return;
        std::this_thread::yield();
      }
    }
    EXPECT_TRUE(db->Close().ok());
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
  EXPECT_EQ(GetOk(*setup, "n"), B(std::to_string(2 * kPerThread)));
  EXPECT_GT(setup->stats().flushes, 0u);
}

// Connections through the same Env and path share the database; the DMS2 lock keeps out everything
// else: another process, and another Env object in this one (PosixEnv's locks belong to the handle).
TEST(ConnectionsTest, ConnectionsInOneProcessShareRealFilesAndAnotherProcessIsBusy) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("lsmsim-conn-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "x.db").string();
  auto first = Db::Open(PosixEnv::Default(), path, Options{});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Db::Open(PosixEnv::Default(), path, Options{});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE((*first)->Put(B("k"), B("v")).ok());
  EXPECT_EQ((*second)->Get(B("k")).value(), B("v"));
  PosixEnv separate;
  auto stranger = Db::Open(&separate, path, Options{});
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.status().code(), Code::kBusy);
  const pid_t child = ::fork();
  if (child == 0) {
    PosixEnv other;  // not the parent's Env (the child inherited its table of open databases)
    auto db = Db::Open(&other, path, Options{});
    ::_exit(!db.ok() && db.status().code() == Code::kBusy ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "another process could open the database";
  ASSERT_TRUE((*first)->Close().ok());
  ASSERT_TRUE((*second)->Close().ok());
  auto third = Db::Open(PosixEnv::Default(), path, Options{});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)->Get(B("k")).value(), B("v"));
  third->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lsm
