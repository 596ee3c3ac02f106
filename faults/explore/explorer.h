// The explorers: instead of sampling crash states with random seeds, enumerate them for one seed's
// workload and configuration (lsmsim explore).
//
//   crash at every step   at each Env step k of the run: every pending operation dropped; every subset of
//                         the last K pending operations per file (the earlier ones applied), with every
//                         tear of the write in flight (sector outcomes old/new/zeros/garbage: all 4^s of
//                         them up to kAllTearsUpTo sectors, beyond that each sector alone torn three ways
//                         and every new-prefix/old-rest cut); every uncommitted unlink kept or undone;
//                         and a process crash (writes kept). Sectors are capped at the page size, as
//                         the fault plan draws them (a torn sector spanning two pages is out of contract)
//   torn meta pages       every meta-page write, torn every way its sectors can be (4^8 with 512-byte
//                         sectors, 4 with 4096; sectors smaller than kMinTearUnit are torn in units of
//                         it), in two phases: the crash lands on the write itself, or just before the
//                         Sync that would make it durable (every later write pending too)
//   I/O error at every step  the call at each step fails once (kIoError; a failed Sync drops the file's
//                         unsynced pages, a failed write is not issued), and the power fails right after
//                         the operation it hit: whatever the engine acknowledged must survive
//   process crash, run on  a process crash at each step, recovery, the rest of the workload, and a power
//                         loss at the end: what the recovery trusted must hold up when the power fails later
//   crash during recovery each explored state's recovery crashed again right at and right after every
//                         write and sync it makes (a crash before recovery's first write reaches a state
//                         the first crash already did), as a power loss (all pending dropped or all
//                         kept) or a process crash, nested to recovery_depth
//
// The two middle explorers re-run the seed from step 0 per state (the engine must go on after the
// fault, and its memory is not snapshotted): a state costs a whole seed there, and each is judged.
//
// Fast by construction: the workload runs once (the recording run, RunOptions::record), which snapshots
// the world before every step (shared durable images and pending lists: a few pointers per step) and
// journals the model. Each state starts its seed at the snapshot (RunOptions::from_step) with the model
// rebuilt from the journal, so it costs its recovery and its oracles, not the workload. States are keyed
// by the content of the world they leave (XXH3 of every durable image and pending operation) and the
// model they are judged by; each distinct key is judged once, by the first state in enumeration order.
//
// Every state is a decision list: the recorded decisions up to its step, then its crash's (ExplorePolicy,
// faults/policies.h), with the crash step and chain in the repro file, so `lsmsim replay` re-runs it
// from step 0 like any other failure.
//
// --jobs: the states are split over threads in fixed chunks and merged in enumeration order; results and
// reports are identical for any number of jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/runner.h"
#include "sim/scenario.h"

namespace lsm::faults {

inline constexpr uint32_t kAllTearsUpTo = 4;  // sectors: up to 4^4 = 256 tears of a write enumerated whole
inline constexpr uint32_t kMinTearUnit = 512;  // bytes: the torn-meta explorer's smallest unit of a tear

struct ExploreOptions {
  bool crash_every_step = false;
  bool torn_meta = false;
  bool io_errors = false;
  bool run_on = false;
  int recovery_depth = 0;              // crashes during recovery nested this deep (0: none)
  uint32_t window = 3;                 // K: the last K pending operations per file decided one by one
  uint64_t max_states = 0;             // stop after this many states (0: no limit)
  uint64_t max_states_per_step = 256;  // states of one crash step (the process crash is one of them)
  int jobs = 1;
  // Torn meta pages: key states by what their meta pages decode to instead of their bytes (the
  // reduction the test proves equivalent); false judges every combination.
  bool reduce_torn_meta = true;
  // Tests: keep every judged state (ExploreReport::judged) and every state's verdict (state_verdicts).
  bool keep_states = false;
  // Tests: key every power-loss state both ways (from the snapshot, and by restoring a SimEnv and
  // powering it off) and report a difference as ExploreReport::error.
  bool check_keys = false;
  // Called now and then with (states done, states total) for a progress line.
  std::function<void(uint64_t, uint64_t)> progress;
};

// One explored state, as a repro needs it.
struct ExploredState {
  std::string explorer;  // "crash-every-step", "torn-meta", "recovery-crash"
  uint64_t step = 0;     // the Env step the crash lands on
  std::string site;      // file x call kind x phase of that step
  std::string variant;   // drop-all, subset, torn, process, torn-meta, recovery-power, recovery-process
  sim::ExploreCrash crash;       // the chain (crash.policy unset)
  std::vector<uint64_t> decisions;  // the whole decision list
  bool pass = true;
  std::string message;   // failures: why
  std::string recovery_path;
};

struct ExploreReport {
  std::string scenario;
  uint64_t seed = 0;
  std::string config;
  uint64_t steps_recorded = 0;  // steps of the recording run after the database was created
  uint64_t steps_covered = 0;   // steps at least one state crashed at
  uint64_t states = 0;          // states enumerated
  uint64_t distinct = 0;        // distinct keys among them, each judged once
  uint64_t steps_capped = 0;    // steps whose states max_states_per_step cut short
  uint64_t torn_meta_writes = 0, torn_meta_states = 0;  // meta-page writes and their states (the formula's)
  uint64_t recovery_states = 0;  // states of crashes during recovery
  uint64_t io_error_states = 0, run_on_states = 0;  // the re-run explorers' states
  double seconds = 0;            // wall clock, for the figures only
  double first_failure_seconds = 0;  // wall clock when the first failure was judged (its round's end)
  std::vector<ExploredState> failures;  // in enumeration order
  std::vector<ExploredState> judged;    // ExploreOptions::keep_states: every judged state, in order
  std::vector<uint8_t> state_verdicts;  // ExploreOptions::keep_states: per state, 1 passed (its key's verdict)
  // Coverage: fault site (file x call kind x phase) -> variant -> recovery path -> distinct states.
  std::map<std::string, std::map<std::string, std::map<std::string, uint64_t>>> coverage;
  std::vector<std::pair<double, double>> rate;  // (seconds, states/s) samples
  std::string error;  // the recording run failed (the workload itself found a bug), or bad input
};

ExploreReport Explore(const sim::Scenario& scenario, uint64_t seed, const ExploreOptions& options);

// Replays one explored state from step 0 (what `lsmsim replay` does with its repro file).
sim::SeedResult ReplayExplored(const sim::Scenario& scenario, uint64_t seed, const sim::ExploreCrash& crash,
                               const std::vector<uint64_t>& decisions);

// The scenario an explorer runs: the seed's workload and configuration, without the fault plan (the
// explorer chooses the crashes), on the scenario's sector size.
sim::Scenario ExploredScenario(const sim::Scenario& scenario);

}  // namespace lsm::faults
