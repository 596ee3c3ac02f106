#include "sim/sched/scheduler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lsm::sim {
namespace {

// Three processes, each logging its steps; the interleaving is the trace.
std::vector<int> Interleaving(uint64_t seed, int kill_at = -1) {
  PrngDecisions d(seed);
  Scheduler s(&d);
  std::vector<int> trace;
  for (int p = 0; p < 3; ++p) {
    s.Spawn([&](int self) {
      for (int step = 0; step < 20; ++step) {
        trace.push_back(self);
        if (self == 0 && step == kill_at) s.Kill(1);
        s.Yield();
      }
    });
  }
  s.Run();
  return trace;
}

TEST(SchedulerTest, TheSameSeedGivesTheSameInterleaving) {
  const std::vector<int> a = Interleaving(7), b = Interleaving(7), c = Interleaving(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 60u) << "every process runs to its end";
  int switches = 0;
  for (size_t i = 1; i < a.size(); ++i) switches += a[i] != a[i - 1];
  EXPECT_GT(switches, 20);
}

struct Unwound {
  bool* flag;
  ~Unwound() { *flag = true; }
};

TEST(SchedulerTest, AKilledProcessNeverRunsAgainAndIsUnwound) {
  const std::vector<int> t = Interleaving(3, /*kill_at=*/5);
  size_t kill = 0;
  for (size_t i = 0, zeros = 0; i < t.size(); ++i) {
    if (t[i] == 0 && zeros++ == 5) kill = i;
  }
  for (size_t i = kill + 1; i < t.size(); ++i) EXPECT_NE(t[i], 1) << "process 1 ran after it was killed, at " << i;
  EXPECT_EQ(std::count(t.begin(), t.end(), 0), 20);
  EXPECT_EQ(std::count(t.begin(), t.end(), 2), 20);

  bool unwound = false, after = false;
  {
    PrngDecisions d(1);
    Scheduler s(&d);
    const int victim = s.Spawn([&](int) {
      Unwound u{&unwound};
      for (;;) s.Yield();  // only a kill ends it
    });
    s.Spawn([&](int) {
      s.Yield();
      s.Kill(victim);
      after = true;
    });
    s.Run();
  }
  EXPECT_TRUE(after);
  EXPECT_TRUE(unwound) << "the killed process's stack was unwound";
}

TEST(SchedulerTest, AProcessThatKillsItselfStopsAtOnce) {
  PrngDecisions d(2);
  Scheduler s(&d);
  bool ran_on = false;
  s.Spawn([&](int self) {
    s.Kill(self);
    ran_on = true;
  });
  s.Run();
  EXPECT_FALSE(ran_on);
  EXPECT_FALSE(s.alive(0));
}

}  // namespace
}  // namespace lsm::sim
