// lsmsim_variants: every weakened engine variant (engine/weaken.h) against the scenarios meant to
// catch it, under the classic fault model (power loss, drop-unsynced only) and under the catalogue.
// Prints BENCHMARKS.md's table: caught?, seeds and seconds to the first failure.
//
//   build/default/lsmsim_variants [MAX_SEEDS [VARIANT]]   (default 2000 seeds per cell, every variant)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_format.h"
#include "faults/scenarios.h"
#include "faults/variants/variants.h"

int main(int argc, char** argv) {
  using namespace lsm;
  uint64_t max_seeds = 2000;
  if (argc > 3 || (argc >= 2 && (max_seeds = std::strtoull(argv[1], nullptr, 10)) == 0) ||
      (argc == 3 && faults::VariantNamed(argv[2]) == nullptr)) {
    std::fprintf(stderr, "usage: lsmsim_variants [MAX_SEEDS [VARIANT]]   (MAX_SEEDS > 0; VARIANT one of:");
    for (const faults::VariantInfo& v : faults::Variants()) std::fprintf(stderr, " %s", v.name);
    std::fprintf(stderr, ")\n");
    return 2;
  }
  const std::string only = argc == 3 ? argv[2] : "";
  std::printf("| variant | scenario | classic: caught? | seeds | s | catalogue: caught? | seeds | s | crashes (process, in recovery) | first failure (catalogue) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  int missed = 0;
  for (const faults::VariantInfo& v : faults::Variants()) {
    if (!only.empty() && only != v.name) continue;
    for (const char* name : v.scenarios) {
      auto s = faults::LoadScenario(name);
      if (!s.ok()) {
        std::fprintf(stderr, "lsmsim_variants: %s\n", s.status().ToString().c_str());
        return 2;
      }
      sim::Scenario classic = *s;
      faults::MakeClassic(&classic);
      const faults::Hunt c = faults::HuntVariant(v, classic, 1, max_seeds);
      const faults::Hunt f = faults::HuntVariant(v, *s, 1, max_seeds);
      missed += !f.caught;
      std::string why = f.message.substr(0, 90);
      for (char& ch : why) {
        if (ch == '|') ch = '/';
      }
      const std::string crashes = f.caught ? absl::StrFormat("%u (%u, %u)", f.crashes, f.process_crashes,
                                                             f.recovery_crashes)
                                           : "";
      std::printf("| %s | %s | %s | %llu | %.2f | %s | %llu | %.2f | %s | %s |\n", v.name, name,
                  c.caught ? "yes" : "no", (unsigned long long)c.seeds, c.seconds, f.caught ? "**yes**" : "no",
                  (unsigned long long)f.seeds, f.seconds, crashes.c_str(), f.caught ? why.c_str() : "");
      std::fflush(stdout);
    }
  }
  return missed == 0 ? 0 : 1;
}
