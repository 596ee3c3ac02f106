// The fault catalogue: every fault the simulated machine can inject, each with its contract written
// beside it (TigerBeetle's testing/storage.zig is the model). For each family: what it does, where it
// may fire, whether it stays inside the Env contract (engine/env/env.h), and what the oracle then demands.
//
// In contract, the engine must keep every promise of its safety mode (the full oracle: the history
// oracle, the checkpoint oracle, the structural check). Out of contract, the engine may lose data, but
// it must never crash, hang, return bytes nobody wrote, or report success for a check that failed: after
// recovery the database is some commit boundary, or holds only pairs somebody wrote, or the engine
// returns a clean error (the older-state oracle, sim/fault_plan.h).
//
// Durable images stay pristine: every fault is an overlay (a crash policy deciding pending operations,
// or a File/Env wrapper around SimEnv), and every choice comes from the seed's decision stream, so a
// faulty run replays bit for bit and a fault can be switched off and the run compared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/fault_plan.h"

namespace lsm::faults {

enum class Family {
  kPowerLoss,
  kPrefix,
  kTorn,
  kByteTear,
  kTornMeta,
  kProcessCrash,
  kRecoveryCrash,
  kLyingSync,
  kLostWrite,
  kMisdirectedWrite,
  kBitRot,
  kLatentReadError,
  kIoError,
  kNoSpace,
};
inline constexpr int kFamilies = 14;

struct Entry {
  Family family;
  const char* name;        // the scenario's and the report's name for it
  const char* what;        // what it does
  const char* where;       // where it may fire: call kind, file, engine phase
  bool in_contract;        // inside the contract of engine/env/env.h
  sim::OracleKind oracle;  // what judges the recovery after it
  const char* demands;     // what the oracle then demands, in words
  const char* rate;        // what the family's rate (per 10000) counts
  uint32_t default_rate;   // per 10000, in the swarm scenario
};

// Every family, in the order above.
const std::vector<Entry>& Catalogue();
const Entry& EntryOf(Family f);
std::optional<Family> FamilyNamed(const std::string& name);

}  // namespace lsm::faults
