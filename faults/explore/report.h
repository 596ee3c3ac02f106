// An exploration's report three ways: the text the command prints (figures, failures, the coverage
// table and the cells never reached), JSON (--report), and a self-contained HTML page (--html: the
// coverage as a heat map, states/s over time; no external assets).
#pragma once

#include <string>
#include <vector>

#include "faults/explore/explorer.h"
#include "sim/json.h"

namespace lsm::faults {

// The coverage universe: the engine phases a crash can land in, the variants, and the recovery paths
// (meta page 1 / 2 / none x log replay bucket x merge resumed); what was never reached is listed.
const std::vector<std::string>& CoveragePhases();
const std::vector<std::string>& CoverageVariants();
std::vector<std::string> CoverageRecoveryPaths();

std::string ExploreText(const ExploreReport& r);
// `timings`: include seconds and states/s (false for a comparison of two runs, which differ only there).
Json ExploreJson(const ExploreReport& r, bool timings = true);
std::string ExploreHtml(const ExploreReport& r);

}  // namespace lsm::faults
