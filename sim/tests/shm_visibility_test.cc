#include "sim/shm/visibility.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "sim/shm/publication_run.h"
#include "sim/sim_env.h"

namespace lsm::sim {
namespace {

uint32_t* Words(ShmVisibility& v, int p) { return reinterpret_cast<uint32_t*>(v.Map(p, 0)); }

TEST(ShmVisibilityTest, StoresReachTheOthersOnlyWhenTheyArrive) {
  ShmVisibility v(2);
  Words(v, 1);  // mapped before the store: it must be updated in place
  Words(v, 0)[5] = 7;
  EXPECT_EQ(Words(v, 0)[5], 7u);  // its own store, at once
  EXPECT_EQ(Words(v, 1)[5], 0u);
  EXPECT_EQ(v.Pending(0), 1u);
  v.ArriveAll(0);
  EXPECT_EQ(Words(v, 1)[5], 7u);
  EXPECT_EQ(v.Visible(0, 20), 7u);
  EXPECT_EQ(v.Pending(0), 0u);
}

TEST(ShmVisibilityTest, AProcessKeepsSeeingItsOwnPendingStore) {
  ShmVisibility v(2);
  Words(v, 1)[3] = 9;     // pending in process 1
  Words(v, 0)[3] = 4;
  v.ArriveAll(0);         // process 0's store reaches the memory...
  EXPECT_EQ(v.Visible(0, 12), 4u);
  EXPECT_EQ(Words(v, 1)[3], 9u);  // ...but process 1 still reads its own
  v.ArriveAll(1);
  EXPECT_EQ(Words(v, 0)[3], 9u);
}

TEST(ShmVisibilityTest, ACrashLosesThePendingStoresAndAPowerLossTheMemory) {
  ShmVisibility v(2);
  uint32_t* w0 = Words(v, 0);
  w0[1] = 1;
  v.ArriveAll(0);
  w0[2] = 2;
  v.Crash(0);
  EXPECT_EQ(w0[1], 1u);  // the view is what arrived, through the same pointer
  EXPECT_EQ(w0[2], 0u);
  EXPECT_EQ(v.Pending(0), 0u);
  v.Clear();
  EXPECT_EQ(w0[1], 0u);
  EXPECT_EQ(Words(v, 1)[1], 0u);
}

// In contract a store after a barrier is never visible before one before it; stores between two
// barriers arrive in any order. The faults break exactly that, so some seed must show it.
TEST(ShmVisibilityTest, BarriersOrderStoresUnlessAFaultBreaksThem) {
  for (int mode = 0; mode < 3; ++mode) {
    ShmFaults faults;
    faults.reordered_barrier = mode == 1;
    faults.missing_barrier = mode == 2;
    int inverted = 0, torn = 0;
    for (uint64_t seed = 1; seed <= 500; ++seed) {
      ShmVisibility v(2);
      PrngDecisions d(seed);
      uint32_t* w = Words(v, 0);
      w[0] = 1;
      w[1] = 1;
      v.Barrier(0, faults);
      w[2] = 1;
      v.Arrive(0, d, faults);
      const uint32_t* r = Words(v, 1);
      if (r[2] == 1 && (r[0] == 0 || r[1] == 0)) ++inverted;
      if (r[0] != r[1]) ++torn;
    }
    if (mode == 0) {
      EXPECT_EQ(inverted, 0) << "in contract";
    } else {
      EXPECT_GT(inverted, 0) << "fault " << mode << " must let a later store overtake";
    }
    EXPECT_GT(torn, 0) << "two stores between barriers can be seen one without the other";
  }
}

// Through the Env seam: each simulated process's handles share its view; stores reach the others at
// a barrier; a process crash loses the stores that had not arrived.
TEST(ShmVisibilityTest, SimEnvGivesEachProcessItsOwnView) {
  SimEnv env(nullptr, SimEnv::Options{});
  auto open = [&](int p) {
    env.set_process(p);
    auto f = env.Open("db", OpenMode::kReadWriteCreate);
    EXPECT_TRUE(f.ok());
    return std::move(f).value();
  };
  auto a = open(0), a2 = open(0), b = open(1);
  auto* wa = reinterpret_cast<uint32_t*>(*a->ShmMap(0));
  auto* wa2 = reinterpret_cast<uint32_t*>(*a2->ShmMap(0));
  auto* wb = reinterpret_cast<uint32_t*>(*b->ShmMap(0));
  EXPECT_EQ(wa, wa2) << "one process, one view";
  EXPECT_NE(wa, wb);
  wa[4] = 11;
  EXPECT_EQ(wb[4], 0u);
  a->ShmBarrier();
  EXPECT_EQ(wb[4], 11u);
  wa[5] = 12;  // never arrives: process 0 dies first
  env.set_process(0);
  env.ProcessCrash();
  EXPECT_EQ(wb[5], 0u);
  EXPECT_EQ(wa[5], 0u) << "the dead process's view is what had arrived";
  EXPECT_EQ(wa[4], 11u);
}

// The publication protocol on the real engine code: in contract no reader ever takes a torn record or
// one whose data is not visible yet, for every seed.
TEST(ShmPublicationTest, ReadersNeverActOnATornOrPrematureRecord) {
  uint64_t reads = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const PublicationResult r = RunPublication(seed, {});
    ASSERT_TRUE(r.pass) << "seed " << seed << ": " << r.message;
    reads += r.reads;
  }
  EXPECT_GT(reads, 10000u);
}

// The writer killed at any of its barriers, mid-publication included (its stores not yet arrived are
// lost): readers still never act on a torn or premature record, and the successor repairs and finishes.
TEST(ShmPublicationTest, AWriterKilledMidPublicationIsRepairedByItsSuccessor) {
  int killed = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const PublicationResult r = RunPublication(seed, {}, /*kill_writer=*/true);
    ASSERT_TRUE(r.pass) << "seed " << seed << ": " << r.message;
    killed += r.writer_killed;
  }
  EXPECT_GT(killed, 900);
}

// A reordered or missing barrier is a machine that breaks the contract: the protocol cannot survive it
// (the record checksums itself, not the data it points at), and the run says so.
TEST(ShmPublicationTest, BrokenBarriersAreCaught) {
  for (int mode = 1; mode <= 2; ++mode) {
    ShmFaults faults;
    faults.reordered_barrier = mode == 1;
    faults.missing_barrier = mode == 2;
    uint64_t first = 0;
    for (uint64_t seed = 1; seed <= 1000 && first == 0; ++seed) first = RunPublication(seed, faults).pass ? 0 : seed;
    std::printf("%s barrier: first failing seed %llu\n", mode == 1 ? "reordered" : "missing", (unsigned long long)first);
    EXPECT_NE(first, 0u) << "mode " << mode;
  }
}

}  // namespace
}  // namespace lsm::sim
