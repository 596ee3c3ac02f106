// The repro file a failing seed leaves behind: enough to replay it bit for bit on another machine -
// build, format and PRNG versions, the whole scenario, the seed, every decision drawn, the trace hash and
// the last events before the verdict. `lsmsim replay` and `lsmsim shrink` (later) read it back.
//
//   {"lsmsim_repro": 1, "build": "...", "format": "sqlite4-lsm uncompressed", "prng_version": 1,
//    "scenario": {...}, "seed": N, "verdict": "fail", "message": "...", "trace_hash": "hex",
//    "steps": N, "decisions": [...], "last_events": [{"step": N, "kind": "...", "file": "...",
//    "offset": N, "length": N, "content": "hex", "detail": "..."}, ...]}
#pragma once

#include <string>

#include "sim/json.h"
#include "sim/runner.h"
#include "sim/scenario.h"

namespace lsm::sim {

inline constexpr int kReproVersion = 1;

// The compiler and sanitizer this binary was built with.
std::string BuildId();

Json ReproJson(const Scenario& scenario, const SeedResult& result);

// Writes `j` to `path` (one line of JSON); kIoError naming the path on failure.
Status WriteJsonFile(const std::string& path, const Json& j);

}  // namespace lsm::sim
