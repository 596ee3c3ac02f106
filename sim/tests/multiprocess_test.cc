// The engine shared by simulated processes (sim/shm/multiprocess_run.h): in contract it passes every
// seed, with processes killed at any Env call too.
#include <gtest/gtest.h>

#include <cstdio>

#include "sim/shm/multiprocess_run.h"

namespace lsm::sim {
namespace {

void ExpectSeedsPass(const MultiprocessConfig& config, uint64_t seeds, uint64_t* kills = nullptr) {
  uint64_t commits = 0, snapshots = 0, killed = 0;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    MultiprocessResult r = RunMultiprocess(seed, config);
    ASSERT_TRUE(r.pass) << "seed " << seed << ": " << r.message;
    commits += r.commits;
    snapshots += r.snapshots;
    killed += r.kills;
  }
  EXPECT_GT(commits, seeds);
  EXPECT_GT(snapshots, seeds);
  if (kills) *kills = killed;
}

TEST(MultiprocessTest, TwoWritersAReaderAndAWorkerAgreeOnEverySeed) { ExpectSeedsPass({}, 200); }

TEST(MultiprocessTest, ProcessesKilledAtAnyEnvCallLoseNothingAcknowledged) {
  MultiprocessConfig c;
  c.kill = true;
  uint64_t kills = 0;
  ExpectSeedsPass(c, 200, &kills);
  EXPECT_GT(kills, 100u);
}

TEST(MultiprocessTest, TheSameSeedRunsTheSameWay) {
  MultiprocessConfig c;
  c.kill = true;
  const MultiprocessResult a = RunMultiprocess(7, c), b = RunMultiprocess(7, c);
  EXPECT_EQ(a.switches, b.switches);
  EXPECT_EQ(a.commits, b.commits);
  EXPECT_EQ(a.busy, b.busy);
  EXPECT_EQ(a.kills, b.kills);
}

// Out of contract: with a barrier reordered or missing, a header can arrive before the nodes it points
// at, which no checksum of the header can tell. The run must notice.
TEST(MultiprocessTest, BrokenBarriersAreCaught) {
  for (auto [name, faults] : {std::pair{"reordered barrier", ShmFaults{true, false}},
                              std::pair{"missing barrier", ShmFaults{false, true}}}) {
    MultiprocessConfig c;
    c.faults = faults;
    uint64_t first = 0;
    for (uint64_t seed = 1; seed <= 1000 && first == 0; ++seed) first = RunMultiprocess(seed, c).pass ? 0 : seed;
    std::printf("engine, %s: first failing seed %llu\n", name, (unsigned long long)first);
    EXPECT_NE(first, 0u) << name;
  }
}

}  // namespace
}  // namespace lsm::sim
