// The simulator's parts: the PRNG's documented stream, decision streams, SimEnv's durability model, the
// history oracle, and whole seeds (pass, replay, determinism, the canary).
#include <gtest/gtest.h>

#include <set>

#include "engine/db.h"
#include "sim/chrome_trace.h"
#include "sim/decisions.h"
#include "sim/oracle.h"
#include "sim/prng.h"
#include "sim/runner.h"
#include "sim/shrink.h"
#include "sim/scenario.h"
#include "sim/sim_env.h"

namespace lsm::sim {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(PrngTest, Version1StreamIsPinned) {
  uint64_t state = 0;
  EXPECT_EQ(SplitMix64(&state), 0xe220a8397b1dcdafull);  // SplitMix64's published first output for seed 0
  Prng p(0);
  EXPECT_EQ(p.Next(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(p.Next(), 0xbf6e1f784956452aull);
  EXPECT_EQ(p.Next(), 0x1a5f849d4933e6e0ull);
  EXPECT_EQ(Prng(42).Next(), 0x15780b2e0c2ec716ull);
  EXPECT_EQ(kPrngVersion, 1);  // changing the stream means bumping the version
}

TEST(DecisionsTest, StreamsStayInBoundsAndReplayExactly) {
  PrngDecisions prng(7);
  RecordingDecisions rec(&prng);
  std::vector<uint64_t> drawn;
  for (uint64_t n = 1; n < 300; ++n) drawn.push_back(rec.Below(n));
  for (size_t i = 0; i < drawn.size(); ++i) EXPECT_LT(drawn[i], i + 1);
  ReplayDecisions replay(rec.values());
  for (uint64_t n = 1; n < 300; ++n) EXPECT_EQ(replay.Below(n), drawn[n - 1]);
  EXPECT_EQ(replay.Below(1000), 0u);  // past the end: zeros
  const uint8_t bytes[] = {0xff, 0x01, 0x02};
  ByteDecisions b(bytes);
  EXPECT_EQ(b.Below(256), 0xffu);
  EXPECT_EQ(b.Below(65536), 0x0201u);
  EXPECT_EQ(b.Below(1000), 0u);
}

TEST(SimEnvTest, WritesBecomeDurableOnlyAtSync) {
  Trace trace;
  SimEnv env(&trace, {});
  {
    auto f = env.Open("a", OpenMode::kReadWriteCreate);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write(0, B("hello")).ok());
    EXPECT_FALSE(env.Durable("a").has_value());  // not even created durably yet
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Write(2, B("LP")).ok());
    uint8_t buf[7];
    ASSERT_TRUE((*f)->Read(0, buf).ok());
    EXPECT_EQ(Bytes(buf, buf + 7), B(std::string("heLPo\0\0", 7)));  // newest state, zeros past the end
  }
  EXPECT_EQ(*env.Durable("a"), B("hello"));
  DropUnsynced drop;
  PrngDecisions d(1);
  auto [kept, lost] = env.PowerLoss(drop, d);
  EXPECT_EQ(kept, 0u);
  EXPECT_EQ(lost, 1u);
  EXPECT_EQ(*env.Contents("a"), B("hello"));
}

TEST(SimEnvTest, KeepRandomSubsetKeepsWholeWritesInAnyCombination) {
  int combos[4] = {};
  for (uint64_t seed = 0; seed < 64; ++seed) {
    Trace trace;
    SimEnv env(&trace, {});
    auto f = env.Open("a", OpenMode::kReadWriteCreate);
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Write(0, B("AAAA")).ok());
    ASSERT_TRUE((*f)->Write(4, B("BBBB")).ok());
    f->reset();
    KeepRandomSubset keep;
    PrngDecisions d(seed);
    env.PowerLoss(keep, d);
    Bytes c = *env.Contents("a");
    const bool a = c.size() >= 4 && c[0] == 'A', b = c.size() == 8 && c[4] == 'B';
    ASSERT_TRUE(c.empty() || c == B("AAAA") || c == B(std::string("\0\0\0\0BBBB", 8)) || c == B("AAAABBBB"));
    combos[a * 2 + b]++;
  }
  for (int n : combos) EXPECT_GT(n, 0);  // later writes survive without earlier ones, too
}

TEST(SimEnvTest, ACrashAtAStepKillsEveryLaterCallAndFilesNeverSyncedVanish) {
  Trace trace;
  SimEnv env(&trace, {});
  auto f = env.Open("a", OpenMode::kReadWriteCreate);
  auto g = env.Open("b", OpenMode::kReadWriteCreate);
  ASSERT_TRUE((*g)->Sync().ok());
  env.ArmCrash(env.step() + 2);
  EXPECT_TRUE((*f)->Write(0, B("x")).ok());
  Status s = (*f)->Write(1, B("y"));  // the crash step: fails, but may have reached the device
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_NE(s.message().find("simulated power loss"), std::string::npos);
  EXPECT_TRUE(env.crashed());
  EXPECT_FALSE((*f)->Sync().ok());
  KeepRandomSubset keep;
  ReplayDecisions all_kept({1, 1, 1, 1});
  env.PowerLoss(keep, all_kept);
  EXPECT_EQ(*env.Contents("a"), B("xy"));
  EXPECT_FALSE((*f)->Read(0, std::span<uint8_t>()).ok());  // handles from before the power loss are dead
  DropUnsynced drop;
  auto h = env.Open("c", OpenMode::kReadWriteCreate);
  h->reset();
  env.PowerLoss(drop, all_kept);
  EXPECT_FALSE(env.Contents("c").has_value());
  EXPECT_TRUE(env.Contents("b").has_value());
}

TEST(SimEnvTest, AnUnlinkIsDurableOnlyOnceASyncFollowsIt) {
  Trace trace;
  SimEnv env(&trace, {});
  for (const char* p : {"a", "b"}) {
    auto f = env.Open(p, OpenMode::kReadWriteCreate);
    ASSERT_TRUE((*f)->Write(0, B(p)).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  ASSERT_TRUE(env.Unlink("a").ok());
  EXPECT_FALSE(*env.Exists("a"));
  DropUnsynced drop;
  PrngDecisions d(1);
  env.PowerLoss(drop, d);
  EXPECT_EQ(*env.Contents("a"), B("a"));  // the unlink never reached the disk
  ASSERT_TRUE(env.Unlink("a").ok());
  auto b = env.Open("b", OpenMode::kReadWriteCreate);
  ASSERT_TRUE((*b)->Sync().ok());  // commits the unlink
  b->reset();
  env.PowerLoss(drop, d);
  EXPECT_FALSE(env.Contents("a").has_value());
}

TEST(SimEnvTest, LocksConflictBetweenHandlesAndShmIsLostAtPowerLoss) {
  Trace trace;
  SimEnv env(&trace, {});
  auto f = env.Open("db", OpenMode::kReadWriteCreate);
  auto g = env.Open("db", OpenMode::kReadWriteCreate);
  ASSERT_TRUE((*f)->Lock(2, LockMode::kExclusive).ok());
  EXPECT_EQ((*g)->Lock(2, LockMode::kShared).code(), Code::kBusy);
  EXPECT_TRUE(*(*g)->TestLock(1, 3, LockMode::kShared));
  uint8_t* p = *(*f)->ShmMap(0);
  EXPECT_EQ(p[100], 0);
  p[100] = 7;
  EXPECT_EQ((*g)->ShmMap(0).value()[100], 7);
  f->reset();
  EXPECT_TRUE((*g)->Lock(2, LockMode::kShared).ok());  // closing released the lock
  g->reset();
  DropUnsynced drop;
  PrngDecisions d(1);
  env.PowerLoss(drop, d);
  EXPECT_FALSE(env.Contents("db").has_value());  // never synced: the file is gone, and its shared memory
  auto h = env.Open("db", OpenMode::kReadWriteCreate);
  EXPECT_EQ((*h)->ShmMap(0).value()[100], 0);
}

TEST(OracleTest, RecoveryMustLandOnACommitBoundaryAtOrAfterThePromise) {
  Oracle o(Safety::kNormal);
  auto put = [&](const char* k, const char* v) {
    o.Single(LogOp{LogOp::kPut, B(k), B(v)});
    o.Acknowledged();
  };
  put("a", "1");
  o.Flushed();
  o.Checkpointed();  // "a" is promised
  put("b", "2");
  o.Begin();
  o.Apply(LogOp{LogOp::kPut, B("c"), B("3")});
  o.Apply(LogOp{LogOp::kDelete, B("a"), {}});
  o.Acknowledged();
  Oracle copy = o;
  EXPECT_TRUE(copy.CheckRecovered({{B("a"), B("1")}}).ok());
  copy = o;
  EXPECT_TRUE(copy.CheckRecovered({{B("a"), B("1")}, {B("b"), B("2")}}).ok());
  copy = o;
  EXPECT_TRUE(copy.CheckRecovered({{B("b"), B("2")}, {B("c"), B("3")}}).ok());
  copy = o;
  Status s = copy.CheckRecovered({});  // lost a promised commit
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("key 61 missing"), std::string::npos) << s.message();
  copy = o;
  // Half of the last transaction: an in-between state.
  EXPECT_FALSE(copy.CheckRecovered({{B("a"), B("1")}, {B("b"), B("2")}, {B("c"), B("3")}}).ok());
  copy = o;
  EXPECT_FALSE(copy.CheckRecovered({{B("a"), B("9")}}).ok());  // bytes nobody wrote
  // A failed commit may or may not be there.
  o.Single(LogOp{LogOp::kPut, B("d"), B("4")});
  o.Failed();
  copy = o;
  EXPECT_TRUE(copy.CheckRecovered({{B("b"), B("2")}, {B("c"), B("3")}, {B("d"), B("4")}}).ok());
  EXPECT_TRUE(o.CheckRecovered({{B("b"), B("2")}, {B("c"), B("3")}}).ok());
}

TEST(OracleTest, FullSafetyPromisesEveryAcknowledgedCommit) {
  Oracle o(Safety::kFull);
  o.Single(LogOp{LogOp::kPut, B("a"), B("1")});
  o.Acknowledged();
  Oracle copy = o;
  EXPECT_FALSE(copy.CheckRecovered({}).ok());
  EXPECT_TRUE(o.CheckRecovered({{B("a"), B("1")}}).ok());
}

// The user version is part of the state: it must come back with the commit that set it, and not alone.
TEST(OracleTest, TheUserVersionIsJudgedWithItsCommit) {
  Oracle o(Safety::kFull);
  o.Begin();
  o.Apply(LogOp{LogOp::kPut, B("a"), B("1")});
  o.Apply(LogOp{LogOp::kUserVersion, {}, {0, 0, 0, 7}});
  EXPECT_EQ(o.view_user_version(), 7u);
  o.Acknowledged();
  Oracle copy = o;
  Status s = copy.CheckRecovered({{B("a"), B("1")}}, 0);  // the seed's B12: the version is lost
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("user version 0"), std::string::npos) << s.message();
  copy = o;
  EXPECT_FALSE(copy.CheckRecovered({}, 7).ok());
  EXPECT_TRUE(o.CheckRecovered({{B("a"), B("1")}}, 7).ok());
}

Scenario Small() {
  Scenario s = *LoadScenario("default");
  s.ops = 150;
  return s;
}

TEST(RunnerTest, SeedsPassCrashAndAreDeterministic) {
  const Scenario s = Small();
  uint64_t flushes = 0, merges = 0, checkpoints = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SeedResult r = RunSeed(s, seed);
    ASSERT_TRUE(r.pass) << "seed " << seed << ": " << r.message;
    EXPECT_GE(r.crashes, 1u);
    flushes += r.flushes;
    merges += r.merges;
    checkpoints += r.checkpoints;
    SeedResult again = RunSeed(s, seed);
    EXPECT_EQ(again.trace_hash, r.trace_hash);
    EXPECT_EQ(again.steps, r.steps);
  }
  EXPECT_GT(flushes, 30u);
  EXPECT_GT(merges, 0u);
  EXPECT_GT(checkpoints, 0u);
  EXPECT_NE(RunSeed(s, 1).trace_hash, RunSeed(s, 2).trace_hash);
}

TEST(RunnerTest, RecordedDecisionsReplayTheSeedExactly) {
  const Scenario s = Small();
  SeedResult r = RunSeed(s, 99);
  ReplayDecisions replay(r.decisions);
  RunOptions o;
  o.replay = &replay;
  SeedResult again = RunSeed(s, 12345, o);  // the seed is not used: the decisions are
  EXPECT_EQ(again.trace_hash, r.trace_hash);
  EXPECT_EQ(again.pass, r.pass);
}

TEST(RunnerTest, TheCanaryMakesTheOracleFailAndSayWhatDiverged) {
  Scenario s = Small();
  s.canary = true;
  int applied = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SeedResult r = RunSeed(s, seed);
    if (!r.canary_applied) continue;
    ++applied;
    EXPECT_FALSE(r.pass) << "seed " << seed << " passed with a corrupted durable page";
    EXPECT_TRUE(r.message.find("integrity") != std::string::npos || r.message.find("key") != std::string::npos)
        << r.message;
  }
  EXPECT_GT(applied, 10);
}

TEST(ScenarioTest, BadScenarioFilesNameTheField) {
  auto parse = [](const char* text) { return ScenarioFromJson(*ParseJson(text)); };
  EXPECT_TRUE(parse("{}").ok());
  auto bad = parse(R"({"ops": -1})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"ops\""), std::string::npos);
  bad = parse(R"({"safety": ["sometimes"]})");
  EXPECT_NE(bad.status().message().find("\"safety\""), std::string::npos);
  bad = parse(R"({"colour": 1})");
  EXPECT_NE(bad.status().message().find("unknown field \"colour\""), std::string::npos);
  bad = parse(R"({"page_size": [1000]})");
  EXPECT_NE(bad.status().message().find("\"page_size\": item 0 is not a power of two in [256, 65536]"), std::string::npos);
  // A scenario survives a round trip through its JSON.
  const Scenario d = *LoadScenario("default");
  auto again = ScenarioFromJson(d.ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson().Dump(), d.ToJson().Dump());
}

// The hang watchdog: an engine call that passes more scheduling points than the budget is stopped
// with SimEnv::Hang; a new call starts the count again.
TEST(SimEnvTest, WatchdogStopsALoopWithoutEnvCalls) {
  SimEnv::Options o;
  o.max_yields_per_call = 10;
  SimEnv env(nullptr, o);
  for (int i = 0; i < 10; ++i) env.Yield();
  EXPECT_THROW(env.Yield(), SimEnv::Hang);
  env.BeginCall();
  for (int i = 0; i < 10; ++i) env.Yield();
}

// Process crash: writes stay (pending, visible), locks go, old handles die; a power loss later may
// still drop what was never synced. A failed fsync's dropped pages: reads see the durable image.
TEST(SimEnvTest, ProcessCrashKeepsPendingWritesAndDropsLocks) {
  SimEnv env(nullptr, SimEnv::Options{});
  auto f = env.Open("f", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(0, Bytes{1, 2, 3}).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Write(3, Bytes{4}).ok());
  ASSERT_TRUE((*f)->Lock(4, LockMode::kExclusive).ok());
  env.ArmCrash(env.step() + 1);
  EXPECT_FALSE((*f)->Size().ok());
  env.ProcessCrash();
  EXPECT_FALSE((*f)->Size().ok());  // the dead process's handle
  auto g = env.Open("f", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE((*g)->Lock(4, LockMode::kExclusive).ok());
  EXPECT_EQ(*env.Contents("f"), (Bytes{1, 2, 3, 4}));
  EXPECT_EQ(env.PendingCount("f"), 1u);
  env.DiscardPending("f");
  EXPECT_EQ(*env.Contents("f"), (Bytes{1, 2, 3}));
  EXPECT_EQ(env.PendingCount("f"), 0u);
}

// Under the catalogue the promise outlives a recovery: safety normal promises no commit the log alone
// holds, so a later crash may go back past what the previous recovery replayed (a torn log sector),
// but never past the promise; a failed commit that made it becomes an ordinary unpromised one.
TEST(OracleTest, ReopenedKeepsThePromiseNotTheRecoveredState) {
  auto put = [](uint8_t k) { return LogOp{LogOp::kPut, Bytes{k}, Bytes{k}}; };
  Oracle o(Safety::kNormal);
  o.Single(put(1));
  o.Acknowledged();
  o.Flushed();
  o.Checkpointed();  // commit 1 promised
  o.Single(put(2));
  o.Acknowledged();
  o.Single(put(3));
  o.Failed();
  const Oracle::Map one{{Bytes{1}, Bytes{1}}}, two{{Bytes{1}, Bytes{1}}, {Bytes{2}, Bytes{2}}};
  Oracle::Map three = two;
  three[Bytes{3}] = Bytes{3};
  EXPECT_TRUE(o.CheckReopened(three).ok());  // the failed commit made it
  EXPECT_TRUE(o.CheckReopened(one).ok());    // and a later crash took it and commit 2: not promised
  EXPECT_FALSE(o.CheckReopened(Oracle::Map{}).ok());  // commit 1 was
  Oracle strict(Safety::kNormal);
  strict.Single(put(2));
  strict.Acknowledged();
  EXPECT_TRUE(strict.CheckRecovered(Oracle::Map{{Bytes{2}, Bytes{2}}}).ok());
  EXPECT_FALSE(strict.CheckRecovered(Oracle::Map{}).ok());  // the classic judge: the recovered state is the floor
}

}  // namespace
}  // namespace lsm::sim

namespace lsm::sim {
namespace {

TEST(ShrinkTest, FailureKindIsTheOracleWithNumbersAndKeysRubbedOut) {
  EXPECT_EQ(FailureKind("op 271: integrity check after recovery: level 0 lhs: keys out of order at page 666 cell 1"),
            "integrity check after recovery");
  EXPECT_EQ(FailureKind("op 12: get 6b6579 returned absent, the model has 7631"), "get # returned absent, the model has #");
  EXPECT_EQ(FailureKind("recovery opened checkpoint 12; the newest valid durable checkpoint is 14"),
            "recovery opened checkpoint # the newest valid durable checkpoint is #");
  EXPECT_NE(FailureKind("op 3: integrity check after recovery: x"), FailureKind("op 3: scan after recovery failed: x"));
}

}  // namespace
}  // namespace lsm::sim

namespace lsm::sim {
namespace {

// --trace: a whole run as Chrome trace-event JSON that parses back and holds Env calls with their file
// and offset, the workload's operations as spans, a recovery span and the power-loss marker.
TEST(ChromeTraceTest, ARunWithACrashParsesAndHoldsEnvCallsOperationsAndRecovery) {
  auto scenario = LoadScenario("default");
  ASSERT_TRUE(scenario.ok());
  std::vector<TraceEvent> events;
  RunOptions options;
  options.events = &events;
  SeedResult r = RunSeed(*scenario, 3, options);
  ASSERT_TRUE(r.pass) << r.message;
  ASSERT_GT(r.crashes, 0u);
  auto parsed = ParseJson(ChromeTrace(events, "default seed 3").Dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Json* list = parsed->Find("traceEvents");
  ASSERT_NE(list, nullptr);
  ASSERT_TRUE(list->is_array());
  std::set<std::string> names;
  bool write_with_offset = false;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    const std::string name = *e.Find("name")->AsString(), ph = *e.Find("ph")->AsString();
    names.insert(ph + ":" + name);
    if (name == "write" && ph == "X") {
      const Json* args = e.Find("args");
      write_with_offset |= args != nullptr && args->Find("file") != nullptr && args->Find("offset") != nullptr;
    }
  }
  EXPECT_TRUE(write_with_offset);
  for (const char* want : {"X:write", "X:read", "X:sync", "X:put", "X:recovery", "i:power-loss", "i:recovered",
                           "i:verdict", "M:thread_name"}) {
    EXPECT_TRUE(names.count(want)) << want;
  }
}

}  // namespace
}  // namespace lsm::sim
