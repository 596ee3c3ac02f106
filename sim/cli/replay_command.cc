// lsmsim replay REPRO.json [--trace F.json]: runs a failing seed again from its recorded decisions and checks that the
// run is the same one (trace hash), then shows how it ended. Exit status: 1 the failure reproduced,
// 0 the seed passes now (the bug is fixed, or the repro recorded a pass), 3 the trace differs (the
// build or the engine changed since the repro was written: the decisions no longer mean the same
// run), 2 bad usage or a bad repro file.
#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "faults/policies.h"
#include "faults/plan.h"
#include "sim/chrome_trace.h"
#include "sim/cli/command.h"
#include "sim/json.h"
#include "sim/repro.h"
#include "sim/runner.h"

ABSL_DECLARE_FLAG(std::string, trace);

namespace lsm::cli {
namespace {

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void PrintEvents(const std::deque<sim::TraceEvent>& events) {
  std::printf("last %zu events:\n  %8s %4s %-10s %-28s %12s %8s  %s\n", events.size(), "step", "proc", "call",
              "file", "offset", "length", "detail");
  for (const sim::TraceEvent& e : events) {
    std::string file = e.file.size() > 28 ? "..." + e.file.substr(e.file.size() - 25) : e.file;
    std::printf("  %8llu %4d %-10s %-28s %12llu %8llu  %s\n", (unsigned long long)e.step, e.process,
                std::string(e.kind).c_str(), file.c_str(), (unsigned long long)e.offset,
                (unsigned long long)e.length, e.detail.c_str());
  }
}

}  // namespace

Result<sim::Repro> ReadRepro(const std::string& path) {
  constexpr uint64_t kMaxReproBytes = uint64_t{256} << 20;
  auto json = ReadJsonFile(path, kMaxReproBytes, "a repro file");
  if (!json.ok()) return json.status();
  auto repro = sim::ReproFromJson(*json, DirOf(path), &faults::Parser());
  if (!repro.ok()) return Status::InvalidArgument(InFile(path, repro.status().message()));
  return repro;
}

int RunReplay(const std::vector<std::string>& args) {
  if (args.size() != 1) return UsageError("replay takes one repro file (lsmsim replay REPRO.json)");
  const std::string& path = args[0];
  auto repro = ReadRepro(path);
  if (!repro.ok()) return InputError(repro.status());

  sim::RunOptions options;
  std::vector<sim::TraceEvent> events;
  const std::string trace_path = absl::GetFlag(FLAGS_trace);
  if (!trace_path.empty()) options.events = &events;
  faults::ExplorePolicy explore_policy;  // an explorer's state: its crash, decided by its decisions
  sim::ExploreCrash crash;
  if (repro->explore) {
    crash = *repro->explore;
    crash.policy = &explore_policy;
    options.explore = &crash;
  }
  const sim::SeedResult r = sim::ReplaySeed(repro->scenario, repro->seed, repro->decisions, options);
  if (!trace_path.empty()) {
    Status w = sim::WriteJsonFile(trace_path, sim::ChromeTrace(events, "replay of " + path));
    if (!w.ok()) return InputError(w);
  }
  std::printf("replay of %s: scenario %s, seed %llu, %zu decisions, %llu steps (recorded: %s, %llu steps, by %s)\n",
              path.c_str(), repro->scenario.name.c_str(), (unsigned long long)repro->seed, repro->decisions.size(),
              (unsigned long long)r.steps, repro->verdict.c_str(), (unsigned long long)repro->steps,
              repro->build.c_str());
  PrintEvents(r.last_events);
  if (r.trace_hash != repro->trace_hash) {
    std::printf("DIVERGED: trace hash %s, recorded %s: this build or engine runs these decisions differently "
                "(verdict now: %s%s)\n",
                sim::HashHex(r.trace_hash).c_str(), sim::HashHex(repro->trace_hash).c_str(),
                r.pass ? "pass" : "fail: ", r.pass ? "" : r.message.c_str());
    return kExitDiverged;
  }
  if (!r.pass) {
    std::printf("FAIL reproduced (trace hash %s): %s\n", sim::HashHex(r.trace_hash).c_str(), r.message.c_str());
    return kExitFailed;
  }
  std::printf("PASS (trace hash %s)%s\n", sim::HashHex(r.trace_hash).c_str(),
              repro->verdict == "fail" ? ": recorded as a failure, same run, passes now" : "");
  return kExitOk;
}

}  // namespace lsm::cli
