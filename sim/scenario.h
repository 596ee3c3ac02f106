// A scenario: what a seed runs - engine configurations, the workload mix, crash behaviour and switches -
// as data. Built-in scenarios have names (`lsmsim scenarios` lists them); any other --scenario value is
// a JSON file with the same fields (scenarios/ holds examples). Every list field is a menu: each seed
// draws one entry from its decision stream, so one scenario covers many configurations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/db.h"
#include "engine/status.h"
#include "sim/fault_plan.h"
#include "sim/json.h"
#include "sim/start_image.h"

namespace lsm::sim {

enum class KeyDistribution { kUniform, kHotSet, kSequential };

struct Scenario {
  std::string name = "default";
  std::string description;
  // Engine configurations (one entry drawn per seed from each list).
  std::vector<Safety> safety = {Safety::kNormal, Safety::kFull};
  std::vector<uint32_t> page_size = {256, 512, 1024};
  uint32_t block_size = 64 * 1024;
  std::vector<uint32_t> autoflush_kb = {1, 2, 4};
  std::vector<uint32_t> automerge = {2, 3, 4};
  std::vector<uint32_t> autocheckpoint_kb = {8, 32};
  uint32_t max_freelist = 4;
  uint32_t cache_kb = 64;
  uint32_t sector_size = 512;
  // Workload.
  uint32_t ops = 400;          // operations per seed
  uint32_t keys = 300;         // distinct keys
  uint32_t max_value = 2048;   // largest value (bytes); values from empty to several small pages
  uint32_t max_key_padding = 120;  // some keys get a suffix of up to this many bytes (long b-tree keys)
  std::vector<KeyDistribution> key_distribution = {KeyDistribution::kUniform, KeyDistribution::kHotSet,
                                                   KeyDistribution::kSequential};
  // Relative weights of the operations.
  uint32_t w_put = 40, w_erase = 8, w_erase_range = 3, w_get = 15, w_scan = 5, w_begin = 4, w_commit = 4,
           w_rollback = 2, w_flush = 2, w_work = 3, w_checkpoint = 3, w_reopen = 2, w_crash = 2,
           w_user_version = 1;
  // Crashes: how many steps after a crash operation the power fails, and what survives it.
  uint32_t crash_window = 400;
  std::vector<std::string> crash_policy = {"drop-unsynced", "keep-random-subset"};
  // The canary: after each power loss, flip a byte the engine promised durable (a key byte on the first
  // page of the newest run of the recovered checkpoint). The oracle must then fail.
  bool canary = false;
  // The starting database (start_image.h): every seed installs this file (and its "-log") as durable
  // content before the workload runs, and the model starts with what it holds. Empty: an empty database
  // the engine makes itself. start_expected: a listing of the file's content (hex(key) TAB hex(value)
  // lines, a golden NAME.expected.tsv) that the engine's reading must equal. Both are resolved paths once
  // loaded; `start` is the loaded image. The page and block size come from the file.
  std::string start_from;
  std::string start_expected;
  std::shared_ptr<const StartImage> start;
  // The fault catalogue's plan (faults/plan.h), from the scenario's `faults` field; null: the classic
  // model (power loss with crash_policy only), drawing nothing more from the decision stream.
  std::shared_ptr<const FaultModel> faults;

  Json ToJson() const;
};

// Parses a scenario's `faults` field (faults/ provides it: sim/ does not know the catalogue). Errors
// name the field ("scenario field \"faults.families\": ...").
using FaultsParser = std::function<Result<std::shared_ptr<const FaultModel>>(const Json&)>;

// The built-in scenarios, by name.
const std::vector<Scenario>& BuiltinScenarios();

// A built-in name, or a JSON file's path. kInvalidArgument names the field or file that is wrong.
// A `faults` field needs `faults` (without it: kInvalidArgument naming the field).
Result<Scenario> LoadScenario(const std::string& name_or_path, const FaultsParser* faults = nullptr);
// `base_dir` is where relative start_from / start_expected paths are resolved (a scenario file's
// directory; empty: the current directory).
Result<Scenario> ScenarioFromJson(const Json& j, const std::string& base_dir = "", const FaultsParser* faults = nullptr);

const char* DistributionName(KeyDistribution k);

}  // namespace lsm::sim
