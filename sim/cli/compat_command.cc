// lsmsim compat: validating an on-disk format change. Each seed's workload runs and crashes under one
// build (its `compat crash`), the other build decodes the meta pages the crash left and recovers the
// image (its `compat recover`), judged by the model the first build kept, then runs the workload on
// from there. Forward: the new build reads the old build's files; --both_ways adds the reverse.
//
//   lsmsim compat --old BIN --new BIN [--scenario S] [--seeds A..B] [--both_ways] [--compat_dir D]
//   lsmsim compat crash DIR --scenario S --seed N     (the writing side, run by the driver)
//   lsmsim compat recover DIR --scenario S            (the reading side)
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "faults/scenarios.h"
#include "sim/cli/command.h"
#include "sim/crash_image.h"
#include "sim/runner.h"

ABSL_DECLARE_FLAG(std::string, scenario);
ABSL_DECLARE_FLAG(std::string, seeds);
ABSL_DECLARE_FLAG(int64_t, seed);
ABSL_FLAG(std::string, old, "", "compat: the lsmsim binary of the build before the change");
ABSL_FLAG(std::string, new, "", "compat: the lsmsim binary of the build with the change");
ABSL_FLAG(bool, both_ways, false, "compat: also let the old build recover the new build's crash images");
ABSL_FLAG(std::string, compat_dir, "lsmsim-compat", "compat: where the crash images go (one directory per seed and way)");

namespace lsm::cli {
namespace {

Result<sim::Scenario> ClassicScenario() {
  auto s = faults::LoadScenario(absl::GetFlag(FLAGS_scenario));
  if (!s.ok()) return s.status();
  faults::MakeClassic(&*s);  // a crash image is a power loss's: the classic model
  return s;
}

int Crash(const std::string& dir) {
  auto scenario = ClassicScenario();
  if (!scenario.ok()) return InputError(scenario.status());
  const int64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed < 0) return UsageError("compat crash needs --seed N");
  sim::RunOptions options;
  options.write_crash_image = dir;
  const sim::SeedResult r = sim::RunSeed(*scenario, uint64_t(seed), options);
  std::printf("%s seed %lld: %s\n", r.pass ? "pass" : "FAIL", (long long)seed, r.message.c_str());
  return r.pass ? kExitOk : kExitFailed;
}

int Recover(const std::string& dir) {
  auto scenario = ClassicScenario();
  if (!scenario.ok()) return InputError(scenario.status());
  auto image = sim::ReadCrashImage(dir);
  if (!image.ok()) return InputError(image.status());
  if (image->scenario != scenario->name) {
    return UsageError(absl::StrFormat("%s holds a crash image of scenario %s, not %s", dir, image->scenario, scenario->name));
  }
  sim::RunOptions options;
  options.from_crash_image = &*image;
  const sim::SeedResult r = sim::RunSeed(*scenario, image->seed, options);
  if (r.pass) {
    std::printf("pass seed %llu: recovered the crash image (power loss in op %llu, checkpoint %llu), then %llu "
                "operations and %llu crashes\n",
                (unsigned long long)image->seed, (unsigned long long)image->op,
                (unsigned long long)image->checkpoint_id, (unsigned long long)r.ops, (unsigned long long)r.crashes);
  } else {
    std::printf("FAIL seed %llu: %s\n", (unsigned long long)image->seed, r.message.c_str());
  }
  return r.pass ? kExitOk : kExitFailed;
}

// ---------------------------------------------------------------------------------------------------
// The driver

std::string Quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Ran {
  int exit = -1;
  std::string output;  // stdout and stderr
  std::string FirstLine() const { return output.substr(0, output.find('\n')); }
};

Ran Spawn(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + Quote(a);
  Ran ran;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    ran.output = "could not start: " + cmd;
    return ran;
  }
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) ran.output.append(buf, n);
  const int status = pclose(p);
  ran.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return ran;
}

std::string Show(const Json& v) {
  std::string s = v.Dump();
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

// The first field where two decodings differ, as "levels[1].lhs.first: 12 vs 14"; nullopt if equal.
std::optional<std::string> FirstDifference(const Json& a, const Json& b, const std::string& path) {
  const std::string here = path.empty() ? "(the checkpoint)" : path;
  if (a.type() != b.type()) return absl::StrFormat("%s: %s vs %s", here, Show(a), Show(b));
  if (a.is_object()) {
    for (const auto& [k, v] : a.items()) {
      const std::string field = path.empty() ? k : path + "." + k;
      const Json* w = b.Find(k);
      if (w == nullptr) return absl::StrFormat("%s: %s vs missing", field, Show(v));
      if (auto d = FirstDifference(v, *w, field)) return d;
    }
    for (const auto& [k, w] : b.items()) {
      if (a.Find(k) == nullptr) return absl::StrFormat("%s: missing vs %s", path.empty() ? k : path + "." + k, Show(w));
    }
    return std::nullopt;
  }
  if (a.is_array()) {
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (auto d = FirstDifference(a[i], b[i], absl::StrFormat("%s[%u]", path, i))) return d;
    }
    if (a.size() != b.size()) return absl::StrFormat("%s: %u vs %u items", here, a.size(), b.size());
    return std::nullopt;
  }
  if (a.Dump() != b.Dump()) return absl::StrFormat("%s: %s vs %s", here, Show(a), Show(b));
  return std::nullopt;
}

// Why `ckpt decode --json` refused a page: its "error" (which names the checkpoint word and field), or
// its first line.
std::string Refusal(const Ran& decode) {
  auto j = ParseJson(decode.output);
  if (j.ok()) {
    if (const Json* e = j->Find("error"); e != nullptr && e->AsString()) return *e->AsString();
  }
  return decode.FirstLine();
}

// Both builds decode both meta pages of the image: any difference is a break, named by its field.
std::vector<std::string> DecodeDifferences(const std::string& writer, const std::string& reader,
                                           const std::string& db) {
  std::vector<std::string> out;
  for (const char* page : {"1", "2"}) {
    const Ran w = Spawn({writer, "ckpt", "decode", db, "--page", page, "--json"});
    const Ran r = Spawn({reader, "ckpt", "decode", db, "--page", page, "--json"});
    if (w.exit != r.exit) {
      out.push_back(absl::StrFormat("meta page %s: the writing build %s, the reading build %s", page,
                                    w.exit == 0 ? "decodes it" : "refuses it: " + Refusal(w),
                                    r.exit == 0 ? "decodes it" : "refuses it: " + Refusal(r)));
      continue;
    }
    if (w.exit != 0) continue;  // both refuse it (a blank or torn page): no difference to name
    auto wj = ParseJson(w.output), rj = ParseJson(r.output);
    if (!wj.ok() || !rj.ok()) {
      out.push_back(absl::StrFormat("meta page %s: a decoding is not JSON (%s)", page,
                                    (!wj.ok() ? wj : rj).status().ToString()));
      continue;
    }
    if (auto d = FirstDifference(*wj, *rj, "")) {
      out.push_back(absl::StrFormat("meta page %s: field %s (writing build vs reading build)", page, *d));
    }
  }
  return out;
}

struct Way {
  const char* name;  // "forward", "backward"
  std::string writer, reader;
  uint64_t passed = 0, broke = 0;
};

int Drive() {
  const std::string old_bin = absl::GetFlag(FLAGS_old), new_bin = absl::GetFlag(FLAGS_new);
  if (old_bin.empty() || new_bin.empty()) return UsageError("compat needs --old BIN and --new BIN");
  for (const std::string& bin : {old_bin, new_bin}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(bin, ec)) return UsageError(bin + ": not an lsmsim binary (no such file)");
  }
  auto scenario = ClassicScenario();
  if (!scenario.ok()) return InputError(scenario.status());
  uint64_t first = 1, last = 10;
  if (const std::string seeds = absl::GetFlag(FLAGS_seeds); !seeds.empty() && !ParseSeeds(seeds, &first, &last)) {
    return UsageError("--seeds '" + seeds + "' is not A..B with A <= B");
  }
  if (last - first >= 100000) return UsageError("--seeds: at most 100000 seeds per compat run");
  const std::string name = absl::GetFlag(FLAGS_scenario), root = absl::GetFlag(FLAGS_compat_dir);
  std::vector<Way> ways = {{"forward", old_bin, new_bin}};
  if (absl::GetFlag(FLAGS_both_ways)) ways.push_back({"backward", new_bin, old_bin});
  for (uint64_t seed = first; seed <= last; ++seed) {
    for (Way& way : ways) {
      const std::string dir = absl::StrFormat("%s/seed-%u/%s", root, seed, way.name);
      const std::string seed_text = std::to_string(seed);
      const std::string repro = absl::StrFormat(
          "%s compat crash %s --scenario %s --seed %u && %s compat recover %s --scenario %s", Quote(way.writer),
          Quote(dir), Quote(name), seed, Quote(way.reader), Quote(dir), Quote(name));
      std::vector<std::string> breaks;
      const Ran crash = Spawn({way.writer, "compat", "crash", dir, "--scenario", name, "--seed", seed_text});
      if (crash.exit != 0) {
        breaks.push_back("the writing build failed the seed itself: " + crash.FirstLine());
      } else {
        breaks = DecodeDifferences(way.writer, way.reader, dir + "/db");
        const Ran recover = Spawn({way.reader, "compat", "recover", dir, "--scenario", name});
        if (recover.exit != 0) breaks.push_back("recovery by the reading build: " + recover.FirstLine());
      }
      if (breaks.empty()) {
        ++way.passed;
        continue;
      }
      ++way.broke;
      std::printf("BREAK %s seed %llu:\n", way.name, (unsigned long long)seed);
      for (const std::string& b : breaks) std::printf("  %s\n", b.c_str());
      std::printf("  reproduce: %s\n", repro.c_str());
    }
  }
  bool broke = false;
  for (const Way& way : ways) {
    std::printf("compat %s (%s reads what %s wrote), scenario %s: %llu seeds, %llu passed, %llu broke\n", way.name,
                way.reader.c_str(), way.writer.c_str(), scenario->name.c_str(),
                (unsigned long long)(way.passed + way.broke), (unsigned long long)way.passed,
                (unsigned long long)way.broke);
    broke |= way.broke > 0;
  }
  return broke ? kExitFailed : kExitOk;
}

}  // namespace

int RunCompat(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "crash") {
    if (args.size() != 2) return UsageError("usage: compat crash DIR --scenario S --seed N");
    return Crash(args[1]);
  }
  if (!args.empty() && args[0] == "recover") {
    if (args.size() != 2) return UsageError("usage: compat recover DIR --scenario S");
    return Recover(args[1]);
  }
  if (!args.empty()) return UsageError("compat takes no positional arguments but crash DIR or recover DIR (see lsmsim --help)");
  return Drive();
}

}  // namespace lsm::cli
