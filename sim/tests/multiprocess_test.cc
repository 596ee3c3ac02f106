// The engine shared by simulated processes (sim/shm/multiprocess_run.h): in contract it passes every
// seed, with processes killed at any Env call too.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "sim/shm/multiprocess_run.h"

namespace lsm::sim {
namespace {

// Seeds per test: `seeds`, or LSMSIM_MP_SEEDS (BENCHMARKS.md runs 1000).
uint64_t Seeds(uint64_t seeds) {
  const char* env = std::getenv("LSMSIM_MP_SEEDS");
  return env ? std::strtoull(env, nullptr, 10) : seeds;
}

void ExpectSeedsPass(const MultiprocessConfig& config, uint64_t seeds, uint64_t* kills = nullptr) {
  seeds = Seeds(seeds);
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
  std::printf("%llu seeds: %llu commits, %llu snapshots, %llu kills\n", (unsigned long long)seeds,
              (unsigned long long)commits, (unsigned long long)snapshots, (unsigned long long)killed);
  if (kills) *kills = killed;
}

TEST(MultiprocessTest, TwoWritersAReaderAndAWorkerAgreeOnEverySeed) { ExpectSeedsPass({}, 200); }

TEST(MultiprocessTest, ProcessesKilledAtAnyEnvCallLoseNothingAcknowledged) {
  MultiprocessConfig c;
  c.kill = true;
  uint64_t kills = 0;
  ExpectSeedsPass(c, 200, &kills);
  EXPECT_GT(kills, Seeds(200) / 2);
}

TEST(MultiprocessTest, ThreeWritersTwoReadersAndAWorkerKilledAtRandomAgree) {
  MultiprocessConfig c;
  c.writers = 3;
  c.readers = 2;
  c.commits_per_writer = 15;
  c.kill = true;
  ExpectSeedsPass(c, 100);
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
