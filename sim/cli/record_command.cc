// lsmsim record --scenario S --seed N -o F.json --why TEXT: runs one seed and writes its repro file with
// the reason it is kept, whether it passes or fails: how a regression case (scenarios/regressions/) is
// made, and re-made when a change to the engine or the simulator changes its trace on purpose. Exit
// status: 0 written, 2 bad usage or input.
#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "faults/scenarios.h"
#include "sim/cli/command.h"
#include "sim/repro.h"
#include "sim/runner.h"
#include "sim/scenario.h"

ABSL_DECLARE_FLAG(std::string, scenario);
ABSL_DECLARE_FLAG(int64_t, seed);
ABSL_DECLARE_FLAG(std::string, o);
ABSL_FLAG(std::string, why, "", "record: why this seed is kept (the bug it found, or what it covers)");
ABSL_FLAG(std::string, expected_failure, "", "record: the seed is known to fail, for this reason (ctest then expects the failure)");

namespace lsm::cli {

int RunRecord(const std::vector<std::string>& args) {
  if (!args.empty()) return UsageError("record takes no positional arguments: record --scenario S --seed N -o F.json --why TEXT");
  const int64_t seed = absl::GetFlag(FLAGS_seed);
  const std::string out = absl::GetFlag(FLAGS_o), why = absl::GetFlag(FLAGS_why);
  if (seed < 0) return UsageError("record needs --seed N");
  if (out.empty()) return UsageError("record needs -o F.json");
  if (why.empty()) return UsageError("record needs --why TEXT: a regression case says what it guards");
  auto scenario = faults::LoadScenario(absl::GetFlag(FLAGS_scenario));
  if (!scenario.ok()) return InputError(scenario.status());
  const sim::SeedResult r = sim::RunSeed(*scenario, uint64_t(seed));
  Json j = sim::ReproJson(*scenario, r);
  j.Set("why", Json::String(why));
  const std::string expected = absl::GetFlag(FLAGS_expected_failure);
  if (!expected.empty()) j.Set("expected_failure", Json::String(expected));
  Status w = sim::WriteJsonFile(out, j);
  if (!w.ok()) return InputError(w);
  std::printf("%s: scenario %s seed %llu, %s, trace hash %s, %zu decisions\n", out.c_str(), scenario->name.c_str(),
              (unsigned long long)seed, r.pass ? "passes" : ("fails: " + r.message).c_str(),
              sim::HashHex(r.trace_hash).c_str(), r.decisions.size());
  if (!r.pass && expected.empty()) std::printf("  (it fails: give --expected_failure REASON if that is known)\n");
  return kExitOk;
}

}  // namespace lsm::cli
