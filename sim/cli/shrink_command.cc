// lsmsim shrink REPRO.json [-o SMALL.json] [--max_runs N]: minimises a failing repro file (sim/shrink.h)
// and writes the small one, which `lsmsim replay` runs like any other. Exit status: 0 shrunk and
// written, 1 the repro does not fail on this build (nothing to shrink), 2 bad usage or input.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "sim/cli/command.h"
#include "sim/json.h"
#include "sim/repro.h"
#include "sim/shrink.h"

ABSL_FLAG(std::string, o, "", "shrink: where to write the shrunk repro file (default: REPRO with .small.json); report merge: where to write the merged report (default: stdout)");
ABSL_FLAG(int64_t, max_runs, 5000, "shrink: at most this many simulated runs");

namespace lsm::cli {

int RunShrink(const std::vector<std::string>& args) {
  if (args.size() != 1) return UsageError("shrink takes one repro file (lsmsim shrink REPRO.json [-o SMALL.json])");
  const std::string& path = args[0];
  const int64_t max_runs = absl::GetFlag(FLAGS_max_runs);
  if (max_runs < 1 || max_runs > 10000000) return UsageError("--max_runs must be in 1..10000000");
  std::string out = absl::GetFlag(FLAGS_o);
  if (out.empty()) {
    const std::string stem = path.size() > 5 && path.ends_with(".json") ? path.substr(0, path.size() - 5) : path;
    out = stem + ".small.json";
  }
  auto repro = ReadRepro(path);
  if (!repro.ok()) return InputError(repro.status());
  auto shrunk = sim::Shrink(repro->scenario, repro->seed, repro->decisions, uint64_t(max_runs));
  if (!shrunk.ok()) {
    std::printf("%s: %s\n", path.c_str(), shrunk.status().message().c_str());
    return kExitFailed;
  }
  const sim::SeedResult& a = shrunk->before;
  const sim::SeedResult& b = shrunk->after;
  std::printf("failure kind: %s\n", shrunk->kind.c_str());
  std::printf("before: %zu operations, %llu steps, %zu decisions: %s\n", a.op_starts.size(),
              (unsigned long long)a.steps, a.decisions.size(), a.message.c_str());
  std::printf("after:  %zu operations, %llu steps, %zu decisions: %s\n", b.op_starts.size(),
              (unsigned long long)b.steps, b.decisions.size(), b.message.c_str());
  Status w = sim::WriteJsonFile(out, sim::ReproJson(shrunk->scenario, b));
  if (!w.ok()) return InputError(w);
  std::printf("%llu runs; wrote %s (lsmsim replay %s)\n", (unsigned long long)shrunk->runs, out.c_str(), out.c_str());
  return kExitOk;
}

}  // namespace lsm::cli
