// Shrinking a failing seed: delta debugging (Zeller's ddmin) over its recorded decisions, so that a
// failure found in a 400-operation run becomes the few operations that cause it. A candidate is kept
// only if it fails the same way (FailureKind: the same oracle and message class). Steps, each repeated
// while it helps:
//   1. stop after the failing operation (the scenario's op count drops to it);
//   2. remove operations: each one's decisions leave the stream and the op count drops with them, in
//      halves, quarters, ... down to single operations;
//   3. zero decisions, in halves down to single values: a replay pads with zeros and 0 is the smallest
//      choice everywhere (the first operation kind, the smallest key and value, the earliest crash);
//   4. drop trailing zeros, which the replay supplies anyway.
// Every candidate is a full simulated run (RunSeed on ReplayDecisions), so the result replays exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"
#include "sim/runner.h"
#include "sim/scenario.h"

namespace lsm::sim {

// "op 271: integrity check after recovery: level 0 lhs: keys out of order at page 666 cell 1" ->
// "integrity check after recovery": the op prefix dropped, then up to the first ':' with every word
// that holds a digit (keys, pages, ids) read as '#'.
std::string FailureKind(const std::string& message);

struct ShrinkResult {
  Scenario scenario;  // the input's, with the op count shrunk
  SeedResult before;
  SeedResult after;   // a run of scenario with after.decisions: fails like before
  std::string kind;
  uint64_t runs = 0;  // simulated runs spent
};

// kInvalidArgument if the decisions do not fail for this scenario and seed.
Result<ShrinkResult> Shrink(const Scenario& scenario, uint64_t seed, const std::vector<uint64_t>& decisions,
                            uint64_t max_runs);

}  // namespace lsm::sim
