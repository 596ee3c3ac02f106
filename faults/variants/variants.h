// The weakened engine variants (engine/weaken.h) and the scenarios meant to catch them: each variant
// removes one defence, and the family whose contract that defence serves must notice. Linked only
// against the weakened engine (lsm_engine_weakened).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/weaken.h"
#include "sim/scenario.h"

namespace lsm::faults {

struct VariantInfo {
  weaken::Variant variant;
  const char* name;                    // what it removes
  std::vector<const char*> scenarios;  // the built-in fault scenarios that must catch it
};

const std::vector<VariantInfo>& Variants();
const VariantInfo* VariantNamed(const std::string& name);
// Deliberate on-disk format changes (no scenario catches them: lsmsim compat reports them as breaks).
const std::vector<VariantInfo>& FormatChanges();
// A variant or a format change by name (lsmsim_weakened's LSMSIM_WEAKEN).
const VariantInfo* VariantOrChangeNamed(const std::string& name);

// Runs seeds first, first+1, ... of `scenario` on the variant until one fails or `max_seeds` ran.
struct Hunt {
  bool caught = false;
  uint64_t seeds = 0;     // seeds run, the failing one included
  double seconds = 0;     // wall clock, for the table only
  std::string message;    // the first failure
  uint64_t seed = 0;      // the failing seed
  uint64_t real_failures = 0;  // seeds that failed but fail on the real engine too (skipped)
  // The failing seed's crashes: all of them, how many were process crashes and how many landed during
  // a recovery (which family's fault the catch needed).
  uint64_t crashes = 0, process_crashes = 0, recovery_crashes = 0;
};
Hunt HuntVariant(const VariantInfo& v, const sim::Scenario& scenario, uint64_t first, uint64_t max_seeds);

}  // namespace lsm::faults
