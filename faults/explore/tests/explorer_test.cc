#include "faults/explore/explorer.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "faults/explore/report.h"
#include "faults/scenarios.h"

namespace lsm::faults {
namespace {

// The default scenario, cut short so each test explores a whole (small) run. Pages are at least a
// sector (the explorer tears in sectors no larger than a page).
sim::Scenario Small(uint32_t ops, uint32_t sector) {
  sim::Scenario s = sim::BuiltinScenarios().front();
  s.ops = ops;
  s.sector_size = sector;
  std::erase_if(s.page_size, [&](uint32_t page) { return page < sector; });
  if (s.page_size.empty()) s.page_size = {sector};
  return s;
}

ExploreOptions Only(bool every_step, bool torn_meta, int depth) {
  ExploreOptions o;
  o.crash_every_step = every_step;
  o.torn_meta = torn_meta;
  o.recovery_depth = depth;
  return o;
}

TEST(ExplorerTest, TornMetaExploresEveryCombinationOfEveryMetaPageWrite) {
  for (uint32_t sector : {512u, 4096u, 256u}) {
    sim::Scenario s = Small(60, sector);
    if (sector == 256) s.page_size = {256};  // sectors of 256 bytes, torn in 512-byte units
    const ExploreReport r = Explore(s, 1, Only(false, true, 0));
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_GT(r.torn_meta_writes, 0u);
    const uint64_t per_write = sector == 4096 ? 4 : 65536;  // 4 outcomes per unit, 4096 / max(sector, 512) units
    EXPECT_EQ(r.torn_meta_states, r.torn_meta_writes * 2 * per_write) << "two phases per write";
    EXPECT_EQ(r.states, r.torn_meta_states);
    EXPECT_TRUE(r.failures.empty()) << r.failures.front().message;
  }
}

// The reduction (states whose meta pages decode alike share one recovery) against judging every
// combination on its own bytes: the same verdict for every state.
TEST(ExplorerTest, ReducedTornMetaGivesTheVerdictsOfTheFullEnumeration) {
  for (uint32_t sector : {4096u, 512u}) {
    ExploreOptions reduced = Only(false, true, 0), full = reduced;
    reduced.keep_states = full.keep_states = true;
    full.reduce_torn_meta = false;
    if (sector == 512) reduced.max_states = full.max_states = 2048;  // the first write's first 2048 tears
    const ExploreReport a = Explore(Small(40, sector), 1, reduced), b = Explore(Small(40, sector), 1, full);
    std::printf("sector %u: %llu states; reduced: %llu judged, full: %llu judged\n", sector, (unsigned long long)a.states,
                (unsigned long long)a.distinct, (unsigned long long)b.distinct);
    ASSERT_GT(a.states, 0u);
    ASSERT_EQ(a.state_verdicts.size(), a.states);
    EXPECT_EQ(a.state_verdicts, b.state_verdicts);
    if (sector == 512) {
      EXPECT_LT(a.distinct * 10, b.distinct) << "the reduction must reduce";
    }
  }
}

// The explorer keys a crash state from its snapshot without building the world; that key must be the
// hash of the world SimEnv's PowerLoss (or process crash) leaves, for every state.
TEST(ExplorerTest, CrashKeysAreTheHashOfTheWorldTheCrashLeaves) {
  ExploreOptions o = Only(true, false, 0);
  o.check_keys = true;
  for (uint32_t sector : {512u, 4096u, 8192u}) {  // hash blocks are 4096 bytes: windows of a sector and more
    const ExploreReport r = Explore(Small(150, sector), 1, o);
    EXPECT_TRUE(r.error.empty()) << "sector " << sector << ": " << r.error;
    EXPECT_GT(r.states, 500u);
  }
}

TEST(ExplorerTest, CrashEveryStepCoversEveryStepAndPassesOnTheRealEngine) {
  const ExploreReport r = Explore(Small(80, 512), 1, Only(true, false, 0));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_GT(r.steps_recorded, 20u);
  EXPECT_EQ(r.steps_covered, r.steps_recorded);
  EXPECT_GT(r.states, r.steps_recorded * 2) << "a process crash and at least one power loss per step";
  EXPECT_LT(r.distinct, r.states) << "identical crash states are judged once";
  EXPECT_TRUE(r.failures.empty()) << r.failures.front().message;
  EXPECT_NE(ExploreText(r).find("coverage"), std::string::npos);
}

// Pages smaller than the device sector: the explorer tears in page-sized sectors, as the fault plan draws
// them (a 512-byte tear of a 256-byte page garbles the synced page beside it, which the format cannot
// survive). Found on scenarios/deep-tiny-freelist.json seed 1: 344 failures, all "torn".
TEST(ExplorerTest, TearsAreNoLargerThanAPage) {
  sim::Scenario s = Small(120, 512);
  s.page_size = {256};
  sim::Recording rec;
  sim::RunOptions run;
  run.record = &rec;
  sim::RunSeed(s, 1, run);
  EXPECT_EQ(rec.sector_size, 256u);
  const ExploreReport r = Explore(s, 1, Only(true, false, 0));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_GT(r.distinct, 100u);
  EXPECT_TRUE(r.failures.empty()) << r.failures.front().message;
}

// A state judged from its snapshot gives what the same decisions give when the seed runs from step 0.
TEST(ExplorerTest, EveryStateReplaysFromStepZeroAlike) {
  const sim::Scenario s = Small(50, 512);
  std::vector<ExploredState> states;
  for (ExploreOptions o : {Only(true, false, 2), Only(false, true, 0)}) {
    o.keep_states = true;
    o.max_states = 20000;
    const ExploreReport r = Explore(s, 1, o);
    states.insert(states.end(), r.judged.begin(), r.judged.end());
  }
  ASSERT_GT(states.size(), 50u);
  int compared = 0, nested = 0;
  for (size_t i = 0; i < states.size(); i += 5) {
    const ExploredState& e = states[i];
    nested += e.crash.process.size() > 1;
    const sim::SeedResult again = ReplayExplored(s, 1, e.crash, e.decisions);
    EXPECT_EQ(again.pass, e.pass) << "state " << i << " at step " << e.step << ": " << again.message;
    EXPECT_EQ(again.recovery_path, e.recovery_path) << "state " << i << " at step " << e.step << " (" << e.variant << ")";
    ++compared;
  }
  EXPECT_GT(compared, 10);
  EXPECT_GT(nested, 0) << "crashes during recovery compared too";
}

TEST(ExplorerTest, JobsGiveIdenticalResults) {
  ExploreOptions o = Only(true, false, 2);
  o.io_errors = o.run_on = true;
  o.max_states = 20000;
  const ExploreReport one = Explore(Small(60, 512), 1, o);
  o.jobs = 2;
  const ExploreReport two = Explore(Small(60, 512), 1, o);
  EXPECT_EQ(ExploreJson(one, false).Dump(), ExploreJson(two, false).Dump());
  EXPECT_GT(one.recovery_states, 0u);
  EXPECT_EQ(one.io_error_states, one.steps_recorded);
  EXPECT_EQ(one.run_on_states, one.steps_recorded);
}

// The re-run explorers: an I/O error at every step, and a process crash at every step with the run
// going on to a power loss, pass on the real engine, and their states replay from step 0 alike.
TEST(ExplorerTest, IoErrorsAndRunOnPassOnTheRealEngine) {
  ExploreOptions o;
  o.io_errors = o.run_on = true;
  o.keep_states = true;
  const sim::Scenario s = Small(80, 512);
  const ExploreReport r = Explore(s, 1, o);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.states, 2 * r.steps_recorded);
  EXPECT_TRUE(r.failures.empty()) << r.failures.front().message;
  for (size_t i = 0; i < r.judged.size(); i += 11) {
    const sim::SeedResult again = ReplayExplored(s, 1, r.judged[i].crash, r.judged[i].decisions);
    EXPECT_EQ(again.pass, r.judged[i].pass);
    EXPECT_EQ(again.recovery_path, r.judged[i].recovery_path);
  }
}

TEST(ExplorerTest, HtmlIsSelfContained) {
  ExploreOptions o = Only(true, false, 0);
  o.max_states = 500;
  const std::string html = ExploreHtml(Explore(Small(30, 512), 1, o));
  EXPECT_NE(html.find("<table>"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos) << "no external assets";
  EXPECT_EQ(html.find("<script src"), std::string::npos);
}

}  // namespace
}  // namespace lsm::faults
