// One seed of a scenario: the real engine on a SimEnv, driven by the workload, judged by the oracles,
// crashed (power loss) at least once and recovered every time. Everything it does is drawn from one
// decision stream and recorded in one trace, so (scenario, seed) - or (scenario, recorded decisions) -
// replays bit for bit.
//
// After every recovery: the checkpoint oracle (the engine opened the newest valid checkpoint of the
// durable meta pages), the structural check (integrity.h), and the history oracle (oracle.h). During the
// run: every get and cursor step against the model. At the end: a clean close and reopen that must give
// back exactly the model.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "sim/decisions.h"
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
  std::vector<uint64_t> decisions;   // every value drawn, for the repro file
  std::vector<size_t> op_starts;     // per operation run: the index of its first decision (shrinking)
  std::deque<TraceEvent> last_events;
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
};

SeedResult RunSeed(const Scenario& scenario, uint64_t seed, const RunOptions& options = {});

}  // namespace lsm::sim
