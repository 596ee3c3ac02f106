// Entry point: parses flags with Abseil's registry (so every subcommand's flags show in --help) but
// reports bad flags itself, as one line with exit status 2.
#include <algorithm>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_format.h"
#include "engine/env/posix_env.h"
#include "sim/cli/command.h"
#ifdef LSM_WEAKENED_BUILD
#include "faults/variants/variants.h"
#endif

ABSL_FLAG(int, page, 0, "ckpt decode: read meta page 1 or 2 of a database file instead of a bare page");
ABSL_FLAG(bool, json, false, "ckpt decode, metakey decode: print JSON instead of text");

namespace lsm::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"run",
       "run [--scenario S] --seeds A..B | --seed N [--trace F.json] | --duration 60s [--report F.json] [--jobs N] "
       "[--shard i/n] [--seed_from_commit SHA] [--junit F.xml] [--repro_dir D] [--check-determinism] [--canary] [--overhead]",
       "simulate seeds of a scenario: the engine on SimEnv, crashed and recovered, judged by the oracles", RunRun},
      {"replay", "replay REPRO.json [--trace F.json]",
       "run a repro file's decisions again: check the trace hash, show the last events and the verdict", RunReplay},
      {"shrink", "shrink REPRO.json [-o SMALL.json] [--max_runs N]",
       "minimise a repro file's decisions while it fails the same way; writes the small repro", RunShrink},
      {"record", "record --scenario S --seed N -o F.json --why TEXT [--expected_failure REASON]",
       "run one seed and write its repro file with why it is kept (a regression case)", RunRecord},
      {"report", "report merge A.json B.json ... [-o OUT.json]",
       "merge the reports of a campaign's shards into one (disjoint seeds, counts summed)", RunReport},
      {"compat",
       "compat --old BIN --new BIN [--scenario S] [--seeds A..B] [--both_ways] [--compat_dir D] | "
       "compat crash DIR --scenario S --seed N | compat recover DIR --scenario S",
       "validate a format change: one build crashes each seed, the other decodes and recovers the image", RunCompat},
      {"explore",
       "explore [--scenario S] [--seed N] [--crash_every_step] [--torn_meta] [--io_errors] [--run_on] [--recovery_depth D] [--max_states N] "
       "[--max_states_per_step N] [--window K] [--jobs N] [--report F.json] [--html F.html]",
       "enumerate one seed's crash states: every step, every torn meta page, crashes during recovery", RunExplore},
      {"scenarios", "scenarios", "list the built-in scenarios", RunScenarios},
      {"faults", "faults", "list the fault catalogue: each family, whether it is in the Env contract, what it does",
       RunFaults},
      {"ckpt", "ckpt decode FILE [--page 1|2] [--json] | ckpt encode FILE.json > page.bin | ckpt summary FILE...",
       "decode a checkpoint meta page, encode one from JSON, or summarise many pages and databases", RunCkpt},
      {"metakey", "metakey decode HEX [--json] | metakey encode AGE LEVEL [SEPARATOR_HEX]",
       "decode or encode a bt meta-tree key", RunMetakey},
      {"db",
       "db load FILE [--page_size B] [--block_size B] [--safety off|normal|full] [--automerge N] < TSV | "
       "db dump FILE | db get FILE KEY_HEX | db put FILE KEY_HEX VALUE_HEX | db check FILE | "
       "db bench [--bench_keys N] [--bench_rounds R] [--bench_scans S] [--bench_dir D]",
       "the engine on real files: load/dump hex TSV, get/put one key, integrity check, benchmark vs LevelDB", RunDb},
  };
  return commands;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "lsmsim: %s\n", message.c_str());
  return kExitUsage;
}

int InputError(const Status& status) { return UsageError(status.ToString()); }

Result<FileHead> ReadFileHead(const std::string& path, uint64_t n) {
  auto file = PosixEnv::Default()->Open(path, OpenMode::kReadOnly);
  if (!file.ok()) return file.status();
  auto size = (*file)->Size();
  if (!size.ok()) return size.status();
  FileHead head;
  head.size = *size;
  head.bytes.resize(size_t(std::min(*size, n)));
  LSM_RETURN_IF_ERROR((*file)->Read(0, head.bytes));
  return head;
}

Result<Bytes> ReadFile(const std::string& path, uint64_t max_size, const char* what) {
  auto head = ReadFileHead(path, max_size);
  if (!head.ok()) return head.status();
  if (head->size > max_size) {
    return Status::InvalidArgument(
        absl::StrFormat("%s is %u bytes, too long for %s (at most %u)", path, head->size, what, max_size));
  }
  return std::move(head->bytes);
}

Result<Json> ReadJsonFile(const std::string& path, uint64_t max_size, const char* what) {
  auto bytes = ReadFile(path, max_size, what);
  if (!bytes.ok()) return bytes.status();
  auto json = ParseJson(AsChars(*bytes));
  if (!json.ok()) return Status::InvalidArgument(InFile(path, json.status().message()));
  return json;
}

namespace {

void PrintHelp() {
  std::printf("lsmsim: a deterministic simulation and fault-injection testbed for an LSM storage engine\n\n");
  std::printf("usage: lsmsim SUBCOMMAND [ARGS] [--flags]\n\nsubcommands:\n");
  for (const Command& c : Commands()) std::printf("  %-10s %s\n             %s\n", c.name, c.summary, c.usage);
  std::printf("\nflags:\n");
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    std::string file(flag->Filename());
    if (file.find("sim/cli/") == std::string::npos) continue;  // skip Abseil's own flags
    flags.emplace_back(std::string(name), flag->Help());
  }
  std::sort(flags.begin(), flags.end());
  for (const auto& [name, help] : flags) std::printf("  --%-12s %s\n", name.c_str(), help.c_str());
}

// Applies "--name=value", "--name value", "--bool", "--nobool"; returns the positional arguments.
bool ParseFlags(int argc, char** argv, std::vector<std::string>* positional, bool* help) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional->push_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      positional->push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body == "help" || body == "h") {
      *help = true;
      continue;
    }
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    std::replace(name.begin(), name.end(), '-', '_');  // --check-determinism == --check_determinism
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value && name.rfind("no", 0) == 0) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag != nullptr && flag->IsOfType<bool>()) {
        name = name.substr(2);
        value = "false";
        has_value = true;
      } else {
        flag = nullptr;
      }
    }
    if (flag == nullptr) {
      UsageError(absl::StrFormat("unknown flag --%s (see lsmsim --help)", name));
      return false;
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        UsageError(absl::StrFormat("flag --%s needs a value", name));
        return false;
      }
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      UsageError(absl::StrFormat("bad value '%s' for --%s: %s", value, name, error));
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace lsm::cli

int main(int argc, char** argv) {
  using namespace lsm::cli;
#ifdef LSM_WEAKENED_BUILD
  // lsmsim_weakened: the same command line on the weakened engine, one variant (or deliberate format
  // change) chosen by name, so a variant's failing seed replays from the shell and lsmsim compat has a
  // changed build to catch.
  if (const char* name = std::getenv("LSMSIM_WEAKEN"); name != nullptr && *name != '\0') {
    const lsm::faults::VariantInfo* v = lsm::faults::VariantOrChangeNamed(name);
    if (v == nullptr) return UsageError(std::string("LSMSIM_WEAKEN=") + name + ": no such variant (lsmsim_variants lists them)");
    lsm::weaken::active = v->variant;
  }
#endif
  std::vector<std::string> args;
  bool help = false;
  if (!ParseFlags(argc, argv, &args, &help)) return kExitUsage;
  if (help || args.empty()) {
    PrintHelp();
    return help ? kExitOk : kExitUsage;
  }
  for (const Command& c : Commands()) {
    if (args[0] == c.name) return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  return UsageError("unknown subcommand '" + args[0] + "' (see lsmsim --help)");
}
