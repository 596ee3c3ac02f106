// The Env overlay of the catalogue: the families that act on calls rather than at a power loss
// (lying-sync, lost-write, misdirected-write, latent-read-error, io-error, enospc) and the trigger of
// torn-meta. It wraps the SimEnv the runner owns; durable images are never touched except through
// SimEnv's own operations (a lost write is simply not forwarded, a misdirected one is forwarded to
// another offset), so the run stays re-derivable from its decisions.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "faults/catalogue.h"
#include "sim/decisions.h"
#include "sim/sim_env.h"

namespace lsm::faults {

// What the plan drew for this seed and what has happened since: shared by the overlay and the plan.
struct FaultState {
  sim::SimEnv* sim = nullptr;
  sim::Decisions* d = nullptr;
  std::array<uint32_t, kFamilies> rate{};  // per 10000; 0: inactive
  std::array<uint64_t, kFamilies> fired{};
  std::array<uint64_t, kFamilies> changed{};
  // Recovery and the reopen after an injected error run without call faults (the operator's reopen).
  bool suspended = false;
  enum LyingScope { kOneCall, kOneFile, kEveryFile } lying_scope = kOneCall;
  std::string lying_file;
  std::set<std::pair<std::string, std::string>> persistent;  // (path, call kind) failing until Repaired
  std::optional<std::pair<std::string, uint64_t>> latent;     // a bad sector: path, offset
  bool out_of_contract = false;
  bool silent_damage = false;    // bit rot, a lying sync, a lost or misdirected write fired (sim::FaultPlan::SilentDamagePossible)
  bool torn_meta_armed = false;  // the armed crash is a torn-meta one: the torn policy decides it
  bool process_crash_armed = false;  // the armed crash is a process crash at a Sync (FaultFile::Sync)

  bool active(Family f) const { return rate[size_t(f)] != 0; }
  // Draws whether `f` fires now (counted as fired); nothing is drawn for an inactive family.
  bool Fire(Family f);
  // The same at a Sync, at a tenth of the rate: syncs are many, and a family that also fires at crash
  // time (process-crash) must not turn every seed into a string of crashes.
  bool FireAtSync(Family f);
  static constexpr uint32_t kSyncRateDivisor = 10;
  // An injected I/O error for `kind` on `path`: transient, or persistent from now on.
  std::optional<Status> IoError(const std::string& path, const char* kind, uint64_t offset);
};

// The marker every injected error message carries (the runner tells injected errors from real ones).
inline constexpr const char* kInjected = "[injected]";

class FaultEnv : public EnvWrapper {
 public:
  FaultEnv(sim::SimEnv* sim, FaultState* state) : EnvWrapper(sim), state_(state) {}

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Status Unlink(const std::string& path) override;
  Result<bool> Exists(const std::string& path) override;

 private:
  FaultState* state_;
};

}  // namespace lsm::faults
