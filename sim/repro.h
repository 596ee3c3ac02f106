// The repro file a failing seed leaves behind: enough to replay it bit for bit on another machine -
// build, format and PRNG versions, the whole scenario, the seed, every decision drawn, the trace hash and
// the last events before the verdict. `lsmsim replay` reads it back (ReproFromJson).
//
//   {"lsmsim_repro": 1, "build": "...", "format": "sqlite4-lsm uncompressed", "prng_version": 1,
//    "scenario": {...}, "seed": N, "verdict": "fail", "message": "...", "trace_hash": "hex",
//    "steps": N, "decisions": [...], "last_events": [{"step": N, "kind": "...", "file": "...",
//    "offset": N, "length": N, "content": "hex", "detail": "..."}, ...],
//    "explore": {"step": N, "process": [false, ...], "recovery_steps": [...]}}   (an explorer's state only)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/json.h"
#include "sim/runner.h"
#include "sim/scenario.h"

namespace lsm::sim {

inline constexpr int kReproVersion = 1;

// The compiler and sanitizer this binary was built with.
std::string BuildId();

Json ReproJson(const Scenario& scenario, const SeedResult& result);

// A repro file read back: what RunSeed needs to replay it, and what the run that wrote it saw.
struct Repro {
  Scenario scenario;
  uint64_t seed = 0;
  std::vector<uint64_t> decisions;
  uint64_t trace_hash = 0;
  uint64_t steps = 0;
  std::string verdict;  // "pass" or "fail"
  std::string message;
  std::string build;
  // An explorer's state (faults/explore/): the crash to land instead of the workload's (policy unset).
  std::optional<ExploreCrash> explore;
};

// The "explore" field of an explorer's repro file: {"step": N, "process": [bool...], "recovery_steps": [N...]}.
Json ExploreCrashJson(const ExploreCrash& crash);

// kInvalidArgument naming the field that is missing or malformed; scenario paths resolve against
// `base_dir` (the repro file's directory), and `faults` parses a scenario's faults field (scenario.h).
Result<Repro> ReproFromJson(const Json& j, const std::string& base_dir, const FaultsParser* faults = nullptr);

// Writes `j` to `path` (one line of JSON); kIoError naming the path on failure.
Status WriteJsonFile(const std::string& path, const Json& j);

}  // namespace lsm::sim
