// lsmsim run: a campaign of seeds of one scenario; lsmsim scenarios: the built-in scenarios.
// Exit status: 0 every seed passed, 1 a seed failed (its repro line printed, its repro file written),
// 2 bad arguments.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "engine/env/posix_env.h"
#include "faults/catalogue.h"
#include "faults/scenarios.h"
#include "sim/chrome_trace.h"
#include "sim/cli/command.h"
#include "sim/repro.h"
#include "sim/runner.h"
#include "sim/seed_pool.h"
#include "sim/scenario.h"

ABSL_FLAG(std::string, scenario, "default", "run: a built-in scenario (lsmsim scenarios) or a scenario JSON file");
ABSL_FLAG(std::string, seeds, "", "run: a range of seeds A..B (inclusive)");
ABSL_FLAG(int64_t, seed, -1, "run: one seed");
ABSL_FLAG(std::string, duration, "", "run: keep running seeds (from --seeds' start, or 1) for this long: 90s, 10m, 1h");
ABSL_FLAG(std::string, report, "", "run: write a JSON report of every seed to this file");
ABSL_FLAG(std::string, repro_dir, "lsmsim-repro", "run: where failing seeds write their repro files (made if missing)");
ABSL_FLAG(std::string, trace, "", "run --seed N, replay: write the run as Chrome trace-event JSON (Perfetto) to this file");
ABSL_FLAG(int, jobs, 0, "run: seeds run on this many threads (default: the machine's cores); results identical to --jobs 1");
ABSL_FLAG(std::string, shard, "", "run: i/n runs shard i (0-based) of n: every n-th seed of the range, from its i-th (CI matrices, Kubernetes Indexed Jobs)");
ABSL_FLAG(std::string, seed_from_commit, "", "run: shift the seeds by a number read from this git commit id (its first 12 hex digits), so a nightly campaign's seeds follow from the commit alone");
ABSL_FLAG(std::string, junit, "", "run: write a JUnit XML report here (a testcase for the campaign and one per failing seed)");
ABSL_FLAG(bool, check_determinism, false, "run: run every seed twice and fail on any difference");
ABSL_FLAG(bool, canary, false, "run: corrupt a promised-durable byte after each crash (the oracle must fail)");
ABSL_FLAG(std::string, faults, "", "run: \"classic\" replaces the scenario's fault model with power loss and drop-unsynced only");
ABSL_FLAG(bool, overhead, false, "run: measure the simulator's overhead (SimEnv without faults vs MemEnv) instead");

namespace lsm::cli {

bool ParseSeeds(const std::string& text, uint64_t* a, uint64_t* b) {
  size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  return absl::SimpleAtoi(text.substr(0, dots), a) && absl::SimpleAtoi(text.substr(dots + 2), b) && *a <= *b;
}

namespace {

using sim::RunOptions;
using sim::Scenario;
using sim::SeedResult;
using Clock = std::chrono::steady_clock;

bool ParseDuration(const std::string& text, double* seconds) {
  if (text.size() < 2) return false;
  double unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    default:
      return false;
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &n) || n == 0) return false;
  *seconds = double(n) * unit;
  return true;
}

// "torn 3/2, io-error 1/1": per family, fired / changed the disk.
std::string FiredText(const SeedResult& r) {
  std::string out;
  for (const sim::FamilyCount& c : r.fault_counts) {
    out += absl::StrFormat("%s%s %u/%u", out.empty() ? "" : ", ", c.family, c.fired, c.changed);
  }
  return out.empty() ? "none fired" : out + " (fired/changed)";
}

Json SeedJson(const SeedResult& r) {
  Json j = Json::Object();
  j.Set("seed", Json::Uint(r.seed));
  j.Set("verdict", Json::String(r.pass ? "pass" : "fail"));
  j.Set("trace_hash", Json::String(sim::HashHex(r.trace_hash)));
  j.Set("steps", Json::Uint(r.steps));
  j.Set("crashes", Json::Uint(r.crashes));
  j.Set("message", Json::String(r.message));
  j.Set("config", Json::String(r.config));
  j.Set("ops", Json::Uint(r.ops));
  j.Set("commits", Json::Uint(r.commits));
  j.Set("flushes", Json::Uint(r.flushes));
  j.Set("merges", Json::Uint(r.merges));
  j.Set("checkpoints", Json::Uint(r.checkpoints));
  j.Set("checkpoints_mid_merge", Json::Uint(r.checkpoints_mid_merge));
  j.Set("blocks_reused", Json::Uint(r.blocks_reused));
  j.Set("freelist_overflows", Json::Uint(r.freelist_overflows));
  j.Set("canary_applied", Json::Bool(r.canary_applied));
  if (!r.faults.empty()) {
    j.Set("faults", Json::String(r.faults));
    Json fired = Json::Object();
    for (const sim::FamilyCount& c : r.fault_counts) {
      Json f = Json::Object();
      f.Set("fired", Json::Uint(c.fired));
      f.Set("changed", Json::Uint(c.changed));
      fired.Set(c.family, f);
    }
    j.Set("fault_counts", fired);
    j.Set("oracle", Json::String(r.oracle));
    j.Set("process_crashes", Json::Uint(r.process_crashes));
    j.Set("recovery_crashes", Json::Uint(r.recovery_crashes));
    j.Set("injected_errors", Json::Uint(r.injected_errors));
    j.Set("clean_errors", Json::Uint(r.clean_errors));
    j.Set("silent_damage", Json::Uint(r.silent_damage));
  }
  if (r.hang) j.Set("hang", Json::Bool(true));
  return j;
}

std::string XmlEscaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no other control characters than tab, newline and carriage return.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

// JUnit XML as GitHub Actions, GitLab and Jenkins read it: one testsuite per scenario, a testcase for the
// campaign (failed if any seed failed) and one per failing seed whose failure text is its reproduction.
Status WriteJunit(const std::string& path, const std::string& scenario, const std::string& range, uint64_t seeds,
                  double seconds, const std::vector<std::pair<uint64_t, std::string>>& failures) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const std::string name = XmlEscaped("lsmsim run " + scenario);
  x += absl::StrFormat("<testsuites name=\"lsmsim\" tests=\"%u\" failures=\"%u\" time=\"%.3f\">\n", failures.size() + 1,
                       failures.size() + (failures.empty() ? 0 : 1), seconds);
  x += absl::StrFormat("  <testsuite name=\"%s\" tests=\"%u\" failures=\"%u\" time=\"%.3f\">\n", name, failures.size() + 1,
                       failures.size() + (failures.empty() ? 0 : 1), seconds);
  x += absl::StrFormat("    <testcase classname=\"%s\" name=\"%s\" time=\"%.3f\">", name,
                       XmlEscaped(absl::StrFormat("campaign: %u seeds (%s)", seeds, range)), seconds);
  if (!failures.empty()) {
    x += absl::StrFormat("<failure message=\"%u of %u seeds failed\"/>", failures.size(), seeds);
  }
  x += "</testcase>\n";
  for (const auto& [seed, text] : failures) {
    x += absl::StrFormat("    <testcase classname=\"%s\" name=\"seed %u\"><failure message=\"%s\">%s</failure></testcase>\n",
                         name, seed, XmlEscaped(text.substr(0, text.find('\n'))), XmlEscaped(text));
  }
  x += "  </testsuite>\n</testsuites>\n";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::IoError(absl::StrFormat("cannot write %s: %s", path, std::strerror(errno)));
  const bool ok = std::fwrite(x.data(), 1, x.size(), f) == x.size();
  if (std::fclose(f) != 0 || !ok) return Status::IoError("cannot write " + path);
  return Status::Ok();
}

int Overhead(const Scenario& s, uint64_t first, uint64_t count) {
  auto time = [&](RunOptions::Mode mode, uint64_t* hash) {
    RunOptions o;
    o.mode = mode;
    auto start = Clock::now();
    for (uint64_t seed = first; seed < first + count; ++seed) {
      SeedResult r = sim::RunSeed(s, seed, o);
      if (!r.pass) std::fprintf(stderr, "lsmsim: seed %llu failed: %s\n", (unsigned long long)seed, r.message.c_str());
      *hash ^= r.commits;
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  uint64_t h1 = 0, h2 = 0, h3 = 0;
  // Interleave twice and keep the faster of each, to damp the machine's noise.
  double mem = time(RunOptions::Mode::kMemEnv, &h1), sim = time(RunOptions::Mode::kNoFaults, &h2);
  mem = std::min(mem, time(RunOptions::Mode::kMemEnv, &h3));
  sim = std::min(sim, time(RunOptions::Mode::kNoFaults, &h3));
  double full = time(RunOptions::Mode::kSimulate, &h3);
  std::printf("overhead, scenario %s, %llu seeds: MemEnv %.3f s, SimEnv without faults %.3f s: %.2fx\n",
              s.name.c_str(), (unsigned long long)count, mem, sim, sim / mem);
  std::printf("full simulation (faults, crashes, recoveries, oracles): %.3f s, %.1f seeds/s\n", full,
              double(count) / full);
  return h1 == h2 ? kExitOk : kExitFailed;  // both modes must have run the same workload
}

}  // namespace

int RunRun(const std::vector<std::string>& args) {
  if (!args.empty()) return UsageError("run takes no positional arguments (see lsmsim --help)");
  auto scenario = faults::LoadScenario(absl::GetFlag(FLAGS_scenario));
  if (!scenario.ok()) return InputError(scenario.status());
  if (absl::GetFlag(FLAGS_canary)) scenario->canary = true;
  const std::string fault_model = absl::GetFlag(FLAGS_faults);
  if (fault_model == "classic") {
    faults::MakeClassic(&*scenario);
  } else if (!fault_model.empty()) {
    return UsageError("--faults '" + fault_model + "': the only model is \"classic\" (the scenario's own is the default)");
  }
  uint64_t first = 1, last = 0;
  const std::string seeds = absl::GetFlag(FLAGS_seeds), duration_text = absl::GetFlag(FLAGS_duration);
  const int64_t one = absl::GetFlag(FLAGS_seed);
  double duration = 0;
  int modes = !seeds.empty() + (one >= 0) + !duration_text.empty();
  if (modes == 0) return UsageError("run needs --seeds A..B, --seed N or --duration T");
  if (!seeds.empty() && !ParseSeeds(seeds, &first, &last)) return UsageError("--seeds '" + seeds + "' is not A..B with A <= B");
  if (one >= 0) {
    if (!seeds.empty()) return UsageError("--seed and --seeds are exclusive");
    first = last = uint64_t(one);
  }
  if (!duration_text.empty()) {
    if (!ParseDuration(duration_text, &duration)) {
      return UsageError("--duration '" + duration_text + "' is not a positive number followed by s, m or h");
    }
    if (one >= 0) return UsageError("--seed and --duration are exclusive");
    last = ~uint64_t{0};
  }
  uint64_t stride = 1;
  if (const std::string shard = absl::GetFlag(FLAGS_shard); !shard.empty()) {
    uint64_t i = 0, n = 0;
    const size_t slash = shard.find('/');
    if (slash == std::string::npos || !absl::SimpleAtoi(shard.substr(0, slash), &i) ||
        !absl::SimpleAtoi(shard.substr(slash + 1), &n) || n < 1 || n > 1000000 || i >= n) {
      return UsageError("--shard '" + shard + "' is not i/n with 0 <= i < n <= 1000000");
    }
    if (one >= 0) return UsageError("--shard and --seed are exclusive");
    if (first + i > last) return UsageError("--shard " + shard + " holds no seed of " + seeds);
    first += i;
    stride = n;
  }
  std::string commit_note;
  if (const std::string sha = absl::GetFlag(FLAGS_seed_from_commit); !sha.empty()) {
    uint64_t base = 0;
    const bool hex = sha.size() >= 7 && sha.size() <= 64 &&
                     std::all_of(sha.begin(), sha.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (!hex || !absl::SimpleHexAtoi(sha.substr(0, std::min<size_t>(sha.size(), 12)), &base)) {
      return UsageError("--seed_from_commit '" + sha + "' is not a git commit id (7 to 64 hex digits)");
    }
    if (first > (uint64_t{1} << 62) || (last != ~uint64_t{0} && last > (uint64_t{1} << 62))) {
      return UsageError("--seed_from_commit needs seeds below 2^62");
    }
    first += base;
    if (last != ~uint64_t{0}) last += base;
    commit_note = absl::StrFormat(" (seeds shifted by %u, from commit %s)", base, sha.substr(0, 12));
  }
  if (absl::GetFlag(FLAGS_overhead)) return Overhead(*scenario, first, last - first + 1 > 1000 ? 200 : last - first + 1);

  const bool determinism = absl::GetFlag(FLAGS_check_determinism);
  const bool tty = isatty(2);
  const auto start = Clock::now();
  Json report_seeds = Json::Array();
  uint64_t done = 0, failed = 0, canaries = 0;
  SeedResult totals;
  // Per family, in catalogue order: seeds it was active in, times it fired, times it changed the disk,
  // and of the seeds where it fired, those where the engine noticed (returned a clean error) and those
  // left with silent damage (bytes nobody wrote, out of contract). With several families in one seed the
  // last two are shared by all that fired; a faults-<family> scenario attributes them exactly.
  struct FamilyTotal {
    uint64_t seeds = 0, fired = 0, changed = 0, noticed = 0, silent = 0;
  };
  std::map<std::string, FamilyTotal> families;
  uint64_t older_state = 0, silent = 0, hangs = 0, process_crashes = 0, recovery_crashes = 0, injected = 0, clean_errors = 0;
  const std::string trace_path = absl::GetFlag(FLAGS_trace);
  if (!trace_path.empty() && one < 0) return UsageError("--trace needs --seed N (one seed)");
  std::vector<sim::TraceEvent> events;
  RunOptions options;
  if (!trace_path.empty()) options.events = &events;
  int jobs = absl::GetFlag(FLAGS_jobs);
  if (jobs < 0 || jobs > 256) return UsageError(absl::StrFormat("--jobs %d is outside 0..256 (0: the machine's cores)", jobs));
  if (jobs == 0) jobs = sim::DefaultJobs();
  sim::SeedPool pool(*scenario, first, last, stride, jobs, options);
  const uint64_t total = last == ~uint64_t{0} ? 0 : (last - first) / stride + 1;  // 0: until --duration ends
  double last_progress = 0;
  std::vector<std::pair<uint64_t, std::string>> failures;  // seed, message: the JUnit report's testcases
  for (uint64_t seed = first;; seed += stride) {
    SeedResult r = pool.Take(seed);
    if (!trace_path.empty()) {
      Status w = sim::WriteJsonFile(trace_path, sim::ChromeTrace(events, absl::StrFormat("%s seed %u", scenario->name, seed)));
      if (!w.ok()) return InputError(w);
    }
    if (determinism && r.pass) {
      SeedResult again = sim::RunSeed(*scenario, seed);
      if (again.trace_hash != r.trace_hash || again.pass != r.pass || again.steps != r.steps) {
        r.pass = false;
        r.message = absl::StrFormat("nondeterministic: trace hash %s then %s, %u then %u steps",
                                    sim::HashHex(r.trace_hash), sim::HashHex(again.trace_hash), r.steps, again.steps);
      }
    }
    ++done;
    totals.crashes += r.crashes;
    totals.flushes += r.flushes;
    totals.merges += r.merges;
    totals.checkpoints += r.checkpoints;
    totals.checkpoints_mid_merge += r.checkpoints_mid_merge;
    totals.blocks_reused += r.blocks_reused;
    totals.freelist_overflows += r.freelist_overflows;
    totals.commits += r.commits;
    canaries += r.canary_applied;
    for (const sim::FamilyCount& c : r.fault_counts) {
      FamilyTotal& t = families[c.family];
      ++t.seeds;
      t.fired += c.fired;
      t.changed += c.changed;
      t.noticed += c.fired > 0 && r.clean_errors + r.injected_errors > 0;
      t.silent += c.fired > 0 && r.silent_damage > 0;
    }
    older_state += r.oracle == "older-state";
    silent += r.silent_damage > 0;
    hangs += r.hang;
    process_crashes += r.process_crashes;
    recovery_crashes += r.recovery_crashes;
    injected += r.injected_errors;
    clean_errors += r.clean_errors;
    if (!r.pass) {
      ++failed;
      const std::string dir = absl::GetFlag(FLAGS_repro_dir);
      const std::string path = absl::StrFormat("%s/lsmsim-repro-%s-%u.json", dir, scenario->name, seed);
      Status w = ::mkdir(dir.c_str(), 0777) == 0 || errno == EEXIST
                     ? sim::WriteJsonFile(path, sim::ReproJson(*scenario, r))
                     : Status::IoError(absl::StrFormat("cannot make %s: %s", dir, std::strerror(errno)));
      if (tty) std::fprintf(stderr, "\r\033[K");
      std::printf("%s seed %llu (%s): %s\n", r.hang ? "HANG" : "FAIL", (unsigned long long)seed, r.config.c_str(),
                  r.message.c_str());
      if (!r.faults.empty()) std::printf("  faults: %s; oracle: %s\n", FiredText(r).c_str(), r.oracle.c_str());
      const std::string reproduce =
          absl::StrFormat("lsmsim run --scenario %s --seed %u%s%s", absl::GetFlag(FLAGS_scenario), seed,
                          scenario->canary ? " --canary" : "", fault_model.empty() ? "" : " --faults classic");
      std::printf("  reproduce: %s   (%s)\n", reproduce.c_str(),
                  w.ok() ? ("or: lsmsim replay " + path).c_str() : ("no repro file: " + w.ToString()).c_str());
      std::fflush(stdout);
      failures.emplace_back(seed, absl::StrFormat("%s\nreproduce: %s\nrepro file: %s\nconfig: %s", r.message, reproduce,
                                                  w.ok() ? path : w.ToString(), r.config));
    }
    if (!absl::GetFlag(FLAGS_report).empty()) report_seeds.Push(SeedJson(r));
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    // On a terminal one line kept current; elsewhere (CI logs) a line every 10 s at most.
    if (tty || elapsed - last_progress >= 10) {
      const double rate = double(done) / std::max(elapsed, 1e-9);
      const double left = total > 0 ? double(total - done) / std::max(rate, 1e-9) : std::max(duration - elapsed, 0.0);
      std::fprintf(stderr, "%sseeds %llu%s done, %.1f seeds/s, %llu failed, ETA %.0f s%s", tty ? "\r\033[K" : "",
                   (unsigned long long)done, total > 0 ? absl::StrFormat("/%u", total).c_str() : "", rate,
                   (unsigned long long)failed, left, tty ? "" : "\n");
      last_progress = elapsed;
    }
    if ((total > 0 && done == total) || (duration > 0 && elapsed >= duration)) break;
  }
  if (tty) std::fprintf(stderr, "\n");
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("scenario %s: %llu seeds, %llu passed, %llu failed (%.1f seeds/s)%s\n", scenario->name.c_str(),
              (unsigned long long)done, (unsigned long long)(done - failed), (unsigned long long)failed,
              double(done) / std::max(elapsed, 1e-9), commit_note.c_str());
  std::printf("  %llu crashes and recoveries, %llu commits, %llu flushes, %llu merges, %llu checkpoints (%llu mid-merge), "
              "%llu blocks reused, %llu free-list overflows%s\n",
              (unsigned long long)totals.crashes, (unsigned long long)totals.commits,
              (unsigned long long)totals.flushes, (unsigned long long)totals.merges,
              (unsigned long long)totals.checkpoints, (unsigned long long)totals.checkpoints_mid_merge,
              (unsigned long long)totals.blocks_reused, (unsigned long long)totals.freelist_overflows,
              scenario->canary ? absl::StrFormat(", canary applied in %u seeds", canaries).c_str() : "");
  if (scenario->faults) {
    std::printf("  %llu process crashes, %llu crashes during recovery, %llu injected errors, %llu clean errors, %llu seeds "
                "judged by the older-state oracle (%llu with silent damage), %llu hangs\n",
                (unsigned long long)process_crashes, (unsigned long long)recovery_crashes, (unsigned long long)injected,
                (unsigned long long)clean_errors, (unsigned long long)older_state, (unsigned long long)silent,
                (unsigned long long)hangs);
    std::printf("  %-18s %8s %10s %10s %8s %8s\n", "family", "seeds", "fired", "changed", "noticed", "silent");
    for (const faults::Entry& e : faults::Catalogue()) {
      auto it = families.find(e.name);
      if (it == families.end()) continue;
      std::printf("  %-18s %8llu %10llu %10llu %8llu %8llu\n", e.name, (unsigned long long)it->second.seeds,
                  (unsigned long long)it->second.fired, (unsigned long long)it->second.changed,
                  (unsigned long long)it->second.noticed, (unsigned long long)it->second.silent);
    }
  }
  if (!absl::GetFlag(FLAGS_report).empty()) {
    Json report = Json::Object();
    report.Set("scenario", scenario->ToJson());
    report.Set("build", Json::String(sim::BuildId()));
    report.Set("seeds", report_seeds);
    Json summary = Json::Object();
    summary.Set("seeds", Json::Uint(done));
    summary.Set("failed", Json::Uint(failed));
    summary.Set("crashes", Json::Uint(totals.crashes));
    summary.Set("flushes", Json::Uint(totals.flushes));
    summary.Set("merges", Json::Uint(totals.merges));
    summary.Set("checkpoints", Json::Uint(totals.checkpoints));
    summary.Set("checkpoints_mid_merge", Json::Uint(totals.checkpoints_mid_merge));
    summary.Set("canary_applied", Json::Uint(canaries));
    if (scenario->faults) {
      Json fam = Json::Object();
      for (const faults::Entry& e : faults::Catalogue()) {
        auto it = families.find(e.name);
        if (it == families.end()) continue;
        Json f = Json::Object();
        f.Set("seeds", Json::Uint(it->second.seeds));
        f.Set("fired", Json::Uint(it->second.fired));
        f.Set("changed", Json::Uint(it->second.changed));
        f.Set("noticed", Json::Uint(it->second.noticed));
        f.Set("silent", Json::Uint(it->second.silent));
        fam.Set(e.name, f);
      }
      summary.Set("families", fam);
      summary.Set("older_state", Json::Uint(older_state));
      summary.Set("hangs", Json::Uint(hangs));
      summary.Set("silent_damage", Json::Uint(silent));
    }
    report.Set("summary", summary);
    Status w = sim::WriteJsonFile(absl::GetFlag(FLAGS_report), report);
    if (!w.ok()) return InputError(w);
  }
  if (const std::string junit = absl::GetFlag(FLAGS_junit); !junit.empty()) {
    const std::string range = absl::StrFormat("seeds %u..%u%s", first, first + (done - 1) * stride,
                                              stride > 1 ? absl::StrFormat(" step %u", stride) : "");
    Status w = WriteJunit(junit, scenario->name, range + commit_note, done, elapsed, failures);
    if (!w.ok()) return InputError(w);
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

int RunScenarios(const std::vector<std::string>& args) {
  if (!args.empty()) return UsageError("scenarios takes no arguments");
  for (const Scenario& s : faults::AllScenarios()) std::printf("%-18s %s\n", s.name.c_str(), s.description.c_str());
  return kExitOk;
}

int RunFaults(const std::vector<std::string>& args) {
  if (!args.empty()) return UsageError("faults takes no arguments");
  for (const faults::Entry& e : faults::Catalogue()) {
    std::printf("%-18s %-15s %s\n", e.name, e.in_contract ? "in contract" : "out of contract", e.what);
  }
  return kExitOk;
}

}  // namespace lsm::cli
