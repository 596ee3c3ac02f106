// Fault plans: a scenario's `faults` field, and what each seed draws from it (swarm testing, Groce et
// al. 2012: per seed a random subset of the listed families is active, each at a rate drawn up to the
// listed one, so most seeds run a few faults hard and rare combinations get runs of their own).
//
//   "faults": {
//     "families": {"torn": 10000, "io-error": 20, ...} | ["torn", "io-error"] | "all",
//                        each family's highest rate per 10000 (its meaning: catalogue.h, `rate`);
//                        a list or "all" takes the catalogue's default rates
//     "swarm": true,     per seed each listed family is active with probability 1/2 (at least one is);
//                        false: every listed family is active in every seed, at its listed rate
//     "sector_size": [512, 4096]   the device's sector, one drawn per seed (default: the scenario's)
//   }
#pragma once

#include <memory>
#include <vector>

#include "faults/catalogue.h"
#include "sim/scenario.h"

namespace lsm::faults {

struct FaultSpec {
  std::vector<std::pair<Family, uint32_t>> families;  // catalogue order, with the highest rate
  bool swarm = true;
  std::vector<uint32_t> sector_size;  // empty: the scenario's sector_size
};

// The FaultModel a scenario carries.
std::shared_ptr<const sim::FaultModel> MakeModel(FaultSpec spec);

// Parses the `faults` field; errors name the field and item.
Result<std::shared_ptr<const sim::FaultModel>> ParseFaults(const Json& j);

// The parser for sim::LoadScenario.
const sim::FaultsParser& Parser();

}  // namespace lsm::faults
