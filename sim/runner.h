// One seed of a scenario: the real engine on a SimEnv, driven by the workload, judged by the oracles,
// crashed (power loss) at least once and recovered every time. Everything it does is drawn from one
// decision stream and recorded in one trace, so (scenario, seed) - or (scenario, recorded decisions) -
// replays bit for bit.
//
// After every recovery: the checkpoint oracle (the engine opened the newest valid checkpoint of the
// durable meta pages), the structural check (integrity.h), and the history oracle (oracle.h). During the
// run: every get and cursor step against the model. At the end: a clean close and reopen that must give
// back exactly the model.
//
// With a fault plan (sim/fault_plan.h): a crash may be a process crash, recovery may crash again (up to
// kMaxRecoveryCrashes in one chain), an engine call that returns an injected I/O error is followed by a
// reopen without power loss that must keep every promised commit, and once an out-of-contract fault has
// fired the older-state oracle judges (a commit boundary, or only pairs somebody wrote, or a clean
// error). An engine call whose loops pass the watchdog's budget is a hang verdict.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "sim/crash_image.h"
#include "sim/decisions.h"
#include "sim/fault_plan.h"
#include "sim/oracle.h"
#include "sim/scenario.h"
#include "sim/trace.h"

namespace lsm::sim {

struct SeedResult {
  uint64_t seed = 0;
  bool pass = false;
  std::string message;  // why it failed, or notes
  std::string config;   // the configuration the seed drew
  uint64_t trace_hash = 0;
  uint64_t steps = 0;
  uint64_t ops = 0;
  uint64_t crashes = 0;
  uint64_t commits = 0;
  uint64_t flushes = 0;
  uint64_t merges = 0;
  uint64_t checkpoints = 0;
  uint64_t checkpoints_mid_merge = 0;
  uint64_t blocks_reused = 0;
  uint64_t freelist_overflows = 0;
  bool canary_applied = false;
  // The fault catalogue (a scenario with `faults`): the plan the seed drew, per family how often it fired
  // and changed the disk, the oracle that judged the last recovery ("full" or "older-state"), and how
  // the seed's crashes and errors went.
  std::string faults;
  std::vector<FamilyCount> fault_counts;
  std::string oracle = "full";
  bool hang = false;              // the watchdog stopped an engine call that made no progress
  uint64_t process_crashes = 0;
  uint64_t recovery_crashes = 0;  // crashes during recovery
  uint64_t injected_errors = 0;   // engine calls that returned an injected I/O error
  uint64_t clean_errors = 0;      // out of contract: engine calls that returned an error (accepted)
  uint64_t silent_damage = 0;     // out of contract: recoveries that returned bytes nobody wrote (bit rot, lying
                                  // syncs, lost or misdirected writes: the format has no page checksums)
  // Explorers: how the last recovery went (meta page, log replay, merge resumed), its open's steps that
  // wrote, and the world after a crash (RunOptions::stop_after_crash).
  std::string recovery_path;
  std::vector<uint64_t> recovery_writes;  // steps into the last recovery's open that wrote, truncated or synced
  uint64_t world_hash = 0;
  std::vector<uint64_t> decisions;   // every value drawn, for the repro file
  std::vector<size_t> op_starts;     // per operation run: the index of its first decision (shrinking)
  std::deque<TraceEvent> last_events;
};

// The explorers' hooks (faults/explore/ builds on them).
//
// An explored crash: instead of the workload's own crash operations, one crash lands on Env step `step`
// (an engine call the crash interrupts returns to nobody: its commit may or may not be there). Each
// crash of the chain is a power loss, whose pending operations `policy` decides from the decision
// stream, or a process crash; crash i+1 lands recovery_steps[i] steps into the recovery after crash i.
// The seed ends once its recovery is judged.
//
// fail_step (instead of a crash): the call at that step fails once with kIoError (SimEnv::ArmError), the
// operation it hit ends, and then the power fails (pending operations decided by `policy`): whatever the
// engine acknowledged despite the error must survive. run_on: after the crash's recovery the workload
// runs on to its end, and then the power fails and that recovery is judged too (a process crash now, a
// power loss later).
struct ExploreCrash {
  uint64_t step = 0;
  std::vector<bool> process;             // per crash of the chain, first to last: a process crash
  std::vector<uint64_t> recovery_steps;  // one fewer than `process`
  CrashPolicy* policy = nullptr;
  uint64_t fail_step = 0;
  bool run_on = false;
};

// The engine phase a step belongs to, as the runner sees it from the operation in progress and the
// call (a db-log write is a commit's, a meta-page write or db sync a checkpoint's, another db write a
// flush's, or a merge's inside a work call).
enum class Phase { kOpen, kCommit, kFlush, kMerge, kCheckpoint, kRead, kClose, kRecovery };
const char* PhaseName(Phase p);

// The world just before one step of a recording run: the files, where the workload and the model were.
struct StepSnapshot {
  uint64_t step = 0;       // the step about to run
  std::string kind;        // its call kind and file (Env trace names: "write", "sync", "read", ...)
  std::string file;
  uint64_t offset = 0;
  uint64_t length = 0;
  Phase phase = Phase::kOpen;
  SimEnv::Snapshot files;
  uint64_t op = 0;              // the operation in progress
  size_t decisions = 0;         // decisions drawn before it
  size_t oracle_calls = 0;      // the model's journal up to here
  bool commit_in_flight = false;  // a commit is in the engine: a crash leaves it failed (maybe durable)
};

// A recording run: the seed's workload without crashes, every step snapshotted.
struct Recording {
  std::vector<StepSnapshot> steps;   // from the first step after the database was created
  std::vector<Oracle::Call> oracle;  // the model's journal
  std::vector<uint64_t> decisions;   // the whole run's
  std::vector<size_t> op_starts;     // per operation: the index of its first decision
  Safety safety = Safety::kNormal;
  uint32_t sector_size = 0;
};

struct RunOptions {
  // Draw from these decisions instead of the seed's PRNG (a repro file); null for a campaign.
  Decisions* replay = nullptr;
  // kSimulate: the real thing. kNoFaults: SimEnv, but crash operations are skipped (the overhead
  // benchmark's measurement). kMemEnv: the same on MemEnv, which only stores bytes (its baseline).
  enum class Mode { kSimulate, kNoFaults, kMemEnv };
  Mode mode = Mode::kSimulate;
  // Every trace event of the run is appended here (lsmsim --trace); null keeps only the last ones.
  std::vector<TraceEvent>* events = nullptr;
  // lsmsim compat (crash_image.h), classic fault model only. Write: at the seed's first crash (a power
  // loss) the durable images and the model go to this directory, and the seed ends there, passing.
  std::string write_crash_image;
  // From: instead of a new database the seed starts from another build's crash image: installs it,
  // recovers it, judges the recovery by the image's model, then runs its workload on from there.
  const CrashImage* from_crash_image = nullptr;
  // Explorers: record every step (the workload's crash operations are ignored; nothing crashes), or
  // land `explore`'s crash. from_step: instead of running the workload from step 0, start at a recorded
  // step - its files, `from_oracle` the model there - and land `explore`'s crash at once.
  Recording* record = nullptr;
  const ExploreCrash* explore = nullptr;
  const StepSnapshot* from_step = nullptr;
  const Oracle* from_oracle = nullptr;
  // Stop right after the chain's crash number n (1-based) has been applied and hash the world then
  // (SeedResult::world_hash): an explorer's key for a crash during recovery. 0: run on.
  int stop_after_crash = 0;
};

SeedResult RunSeed(const Scenario& scenario, uint64_t seed, const RunOptions& options = {});

// RunSeed drawing from recorded `decisions` (a repro file's, a shrunk case's; zeros past their end)
// instead of the seed's PRNG; options.replay is set here.
SeedResult ReplaySeed(const Scenario& scenario, uint64_t seed, std::vector<uint64_t> decisions,
                      RunOptions options = {});

}  // namespace lsm::sim
