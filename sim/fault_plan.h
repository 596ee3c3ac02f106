// The runner's side of the fault catalogue (faults/catalogue.h is the catalogue itself). A scenario with
// a `faults` field carries a FaultModel (built by faults/, which knows sim/; sim/ only sees this
// interface); each seed asks it for a FaultPlan, which decides from the seed's decision stream which
// families are active and how hard, wraps the Env the engine sees, and chooses what each crash is.
//
// The runner keeps the mechanics that need the engine and the oracles: it arms crashes, turns a crash
// into a power loss or a process crash, crashes recovery again, reopens after an injected I/O error,
// and judges with the oracle the plan's faults allow (Oracle kinds below).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/env/env.h"
#include "engine/status.h"
#include "sim/decisions.h"
#include "sim/json.h"
#include "sim/sim_env.h"
#include "sim/trace.h"

namespace lsm::sim {

// Which oracle judges a recovery, weakest last.
enum class OracleKind {
  kFull,         // in contract: the history oracle at the safety mode's promise, the checkpoint oracle
  kOlderState,   // out of contract: a commit boundary (any), or bytes somebody wrote, or a clean error
};

// How often a family fired in a seed and how often that changed what the disk holds.
struct FamilyCount {
  std::string family;
  uint64_t fired = 0;
  uint64_t changed = 0;
};

class FaultPlan {
 public:
  virtual ~FaultPlan() = default;

  // The Env the engine runs on (an overlay on the SimEnv), and a one-line description of the plan.
  virtual Env* env() = 0;
  virtual std::string Describe() const = 0;

  // The policy for this power loss (drawn per crash), and what it did (SimEnv::PowerLoss's count of
  // lost operations; torn ones are in SimEnv::last_torn).
  virtual CrashPolicy& PowerLossPolicy() = 0;
  virtual void PowerLossApplied(uint64_t lost) = 0;
  // Whether the crash now firing is a process crash rather than a power loss.
  virtual bool ProcessCrash() = 0;
  // A power loss (or process crash) during recovery number `depth` (1-based) after this one: the step
  // offset at which it fires, or 0 for none. Depth is bounded by the runner (kMaxRecoveryCrashes).
  virtual uint64_t CrashDuringRecovery(int depth) = 0;
  // The crash CrashDuringRecovery armed did land inside recovery (it may not: recovery can end first).
  virtual void RecoveryCrashed() = 0;
  // After a power loss, before recovery: faults at rest (bit rot).
  virtual void AtRest() = 0;
  // Whether an error the engine returned came from an injected I/O fault (not the power loss).
  virtual bool Injected(const Status& s) const = 0;
  // An injected error was seen and the database is being reopened: persistent I/O faults end (the
  // operator fixed the device) so the oracle can look.
  virtual void Repaired() = 0;
  // Call faults off (recovery, the reopen after an injected error) or on again.
  virtual void Suspend(bool on) = 0;
  // Whether an out-of-contract fault has fired since the run began: from then on the older-state
  // oracle applies.
  virtual bool OutOfContract() const = 0;
  // Whether a fault that can put bytes nobody wrote into a page has fired (bit rot; a lost or a
  // misdirected write, after which a value spanning pages mixes old and new ones; a lying sync, after
  // which a checkpoint may name pages a crash then tears):
  // the format has no page checksums, so the engine cannot notice, and the oracle counts it instead.
  virtual bool SilentDamagePossible() const = 0;
  // Per family: fired / changed, in catalogue order, only families that are active in this seed.
  virtual std::vector<FamilyCount> Counts() const = 0;
};

class FaultModel {
 public:
  virtual ~FaultModel() = default;
  virtual std::unique_ptr<FaultPlan> Plan(SimEnv* env, Decisions* d, Trace* trace) const = 0;
  virtual Json ToJson() const = 0;
  // The sector size this seed's device uses: drawn from the model's menu among the sizes that do not
  // exceed the page size (the engine's durability under torn sectors needs page_size >= sector size: a
  // torn write of a page may garbage the synced page sharing its sector); `fallback` without a menu.
  virtual uint32_t SectorSize(Decisions* d, uint32_t fallback, uint32_t page_size) const = 0;
};

// The most crashes that can land in one recovery chain (the first crash plus nested ones).
inline constexpr int kMaxRecoveryCrashes = 3;

}  // namespace lsm::sim
