// The fault catalogue's built-in scenarios (the swarm, and one per family) and the scenario loader that
// knows the `faults` field. The lsmsim command line loads every scenario through here.
#pragma once

#include <string>
#include <vector>

#include "sim/scenario.h"

namespace lsm::faults {

// sim's built-in scenarios followed by the catalogue's: "swarm" (every family) and "faults-<family>".
const std::vector<sim::Scenario>& AllScenarios();

// A built-in name or a scenario file, whose `faults` field is parsed by the catalogue.
Result<sim::Scenario> LoadScenario(const std::string& name_or_path);

// The classic fault model (--faults classic): power loss with drop-unsynced only, nothing else.
void MakeClassic(sim::Scenario* s);

}  // namespace lsm::faults
