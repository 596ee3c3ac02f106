// Coverage-guided schedule fuzzing: the fuzzer's bytes are the decision stream of one seed of the
// default scenario (which operations, keys, values, configuration, where the power fails and which
// unsynced writes survive). Property: every schedule passes every oracle; a failure aborts with the
// runner's message, and the input is its reproduction.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sim/decisions.h"
#include "sim/runner.h"
#include "sim/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lsm::sim;
  static const Scenario scenario = [] {
    Scenario s = *LoadScenario("default");
    s.ops = 120;  // short schedules: more of them per second, and shorter reproductions
    return s;
  }();
  ByteDecisions bytes(std::span<const uint8_t>(data, size));
  RunOptions options;
  options.replay = &bytes;
  SeedResult r = RunSeed(scenario, 0, options);
  if (!r.pass) {
    std::fprintf(stderr, "schedule failed: %s\n", r.message.c_str());
    std::abort();
  }
  return 0;
}
