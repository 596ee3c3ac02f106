// Real OS processes sharing one database through PosixEnv (its -shm file and fcntl locks), with
// Options::shared_memory. Each round forks a writer, two readers and a worker; the writer is killed
// with SIGKILL mid-write. Readers check snapshot isolation as they go (the writer commits keys of a
// round in order, one per commit, so every snapshot holds a prefix of each round); a survivor that
// joins after the kill, and a final reopen after everyone is gone, must hold every commit the writer
// acknowledged and at most the one it was making.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/db.h"
#include "engine/env/posix_env.h"
#include "engine/tests/child_process.h"
#include "engine/tests/temp_dir.h"

namespace lsm {
namespace {

constexpr int kRounds = 3;

Options Shared() {
  Options o;
  o.shared_memory = true;
  o.page_size = 1024;
  o.block_size = 64 * 1024;
  o.autoflush_kb = 32;
  o.autocheckpoint_kb = 128;
  return o;
}

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string Key(int round, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "r%d-%08d", round, i);
  return buf;
}
std::string Value(int round, int i) { return std::string(20 + (i * 37 + round) % 200, char('a' + (i + round) % 26)); }

uint64_t MonotonicMillis() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

Result<std::unique_ptr<Db>> OpenRetrying(const std::string& path) {
  for (;;) {
    auto db = Db::Open(PosixEnv::Default(), path, Shared());
    if (db.ok() || db.status().code() != Code::kBusy) return db;
    ::usleep(1000);
  }
}

// Per round, how many keys a snapshot holds; -1 if they are not a prefix with the right values.
Result<std::vector<int>> Counts(Db& db) {
  auto c = db.NewCursor();
  if (!c.ok()) return c.status();
  std::vector<int> counts(kRounds, 0);
  LSM_RETURN_IF_ERROR((*c)->First());
  for (; (*c)->Valid();) {
    const std::string k((*c)->key().begin(), (*c)->key().end());
    int round = -1, i = -1;
    if (std::sscanf(k.c_str(), "r%d-%d", &round, &i) != 2 || round < 0 || round >= kRounds) return std::vector<int>{-1};
    const std::string v((*c)->value().begin(), (*c)->value().end());
    if (i != counts[round] || v != Value(round, i)) return std::vector<int>{-1};
    ++counts[round];
    LSM_RETURN_IF_ERROR((*c)->Next());
  }
  return counts;
}

// The writer: commits keys of `round` in order, counting the acknowledged ones in `*acked` (memory
// shared with the test, so the count survives the kill and never blocks the writer).
[[noreturn]] void Writer(const std::string& path, int round, int* acked) {
  auto db = OpenRetrying(path);
  if (!db.ok()) ::_exit(2);
  for (int i = 0;; ++i) {
    Status s;
    do {
      s = (*db)->Put(B(Key(round, i)), B(Value(round, i)));
    } while (s.code() == Code::kBusy);
    if (!s.ok()) {
      std::fprintf(stderr, "writer: %s\n", s.ToString().c_str());
      ::_exit(3);
    }
    __atomic_store_n(acked, i + 1, __ATOMIC_RELEASE);
  }
}

// A reader: snapshots for `millis`, each a prefix per round that never shrinks.
[[noreturn]] void Reader(const std::string& path, uint64_t millis) {
  auto db = OpenRetrying(path);
  if (!db.ok()) ::_exit(2);
  std::vector<int> last(kRounds, 0);
  const uint64_t end = MonotonicMillis() + millis;
  while (MonotonicMillis() < end) {
    auto counts = Counts(**db);
    if (!counts.ok()) {
      if (counts.status().code() == Code::kBusy) continue;
      std::fprintf(stderr, "reader: %s\n", counts.status().ToString().c_str());
      ::_exit(3);
    }
    if (counts->size() != size_t(kRounds)) ::_exit(4);  // not a prefix: isolation broken
    for (int r = 0; r < kRounds; ++r) {
      if ((*counts)[size_t(r)] < last[size_t(r)]) ::_exit(5);  // went back in time
    }
    last = *counts;
  }
  ::_exit((*db)->Close().ok() ? 0 : 6);
}

// A worker: merges and checkpoints while the others run.
[[noreturn]] void Worker(const std::string& path, uint64_t millis) {
  auto db = OpenRetrying(path);
  if (!db.ok()) ::_exit(2);
  const uint64_t end = MonotonicMillis() + millis;
  while (MonotonicMillis() < end) {
    auto w = (*db)->Work(2, 64);
    if (!w.ok() && w.status().code() != Code::kBusy) {
      std::fprintf(stderr, "worker: %s\n", w.status().ToString().c_str());
      ::_exit(3);
    }
    Status s = (*db)->Checkpoint();
    if (!s.ok() && s.code() != Code::kBusy) ::_exit(4);
    ::usleep(2000);
  }
  ::_exit((*db)->Close().ok() ? 0 : 6);
}

TEST(SharedMemoryProcessTest, SurvivorsAndAReopenKeepEveryCommitOfAWriterKilledMidWrite) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/db";
  std::vector<int> acked(kRounds, 0);
  for (int round = 0; round < kRounds; ++round) {
    void* mem = ::mmap(nullptr, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    int* count = static_cast<int*>(mem);
    *count = 0;
    const pid_t writer = testing::SpawnChild([&] { Writer(path, round, count); });
    std::vector<pid_t> others;
    for (int r = 0; r < 2; ++r) others.push_back(testing::SpawnChild([&] { Reader(path, 600); }));
    others.push_back(testing::SpawnChild([&] { Worker(path, 600); }));
    // Let it write a while, then kill it wherever it is.
    ::usleep(250000 + 50000 * useconds_t(round));
    ::kill(writer, SIGKILL);
    EXPECT_EQ(testing::ChildExitCode(writer), 100 + SIGKILL);
    acked[size_t(round)] = __atomic_load_n(count, __ATOMIC_ACQUIRE);
    ::munmap(mem, sizeof(int));
    EXPECT_GT(acked[size_t(round)], 100) << "round " << round;

    // A survivor: joins while the readers and the worker still run, after the writer's death.
    const pid_t survivor = testing::SpawnChild([&] {
      auto db = OpenRetrying(path);
      if (!db.ok()) ::_exit(2);
      for (;;) {
        auto counts = Counts(**db);
        if (counts.ok()) {
          const int n = counts->size() == size_t(kRounds) ? (*counts)[size_t(round)] : -1;
          const int a = acked[size_t(round)];
          ::_exit(n == a ? 0 : n == a + 1 ? 1 : 3);
        }
        if (counts.status().code() != Code::kBusy) ::_exit(4);
      }
    });
    const int survivor_code = testing::ChildExitCode(survivor);
    EXPECT_TRUE(survivor_code == 0 || survivor_code == 1) << "round " << round << ": survivor exit " << survivor_code;
    if (survivor_code == 1) acked[size_t(round)] += 1;  // the commit in flight made it: it is there for good
    for (pid_t p : others) EXPECT_EQ(testing::ChildExitCode(p), 0) << "round " << round;
  }

  // Everyone is gone: the next process rebuilds shared memory from the files.
  auto db = Db::Open(PosixEnv::Default(), path, Shared());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto counts = Counts(**db);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(*counts, acked);
  ASSERT_TRUE((*db)->Close().ok());
}

}  // namespace
}  // namespace lsm
