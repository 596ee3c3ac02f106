// A scenario's starting database (`start_from`): a real database file, with its log if one sits beside
// it (the file's name + "-log", as the engine names it), that every seed installs into SimEnv's durable
// image - already synced, as if the machine booted with it on disk - before the workload runs.
//
// Every seed starting from an empty database the engine made itself cannot find the bugs that only
// files written by another engine (or an older version of this one) reach: redirected blocks, merges in
// progress, free-list records, logs to replay. This is the way in for them.
//
// Loading (once per scenario, when it is parsed) checks what makes the value wrong - a missing or
// unreadable file, a file that is not a database (no valid checkpoint in its meta pages, or a geometry
// the engine does not accept) - and those are the scenario's errors. Then it reads the database through
// the engine itself, on a SimEnv copy with a step budget, to get the model's starting state. The engine
// failing to open or read it is not a scenario error: it is the engine's failure, and every seed fails
// with it. Optionally (`start_expected`) the engine's reading is cross-checked against an independent
// listing of the content (a golden NAME.expected.tsv): a difference fails every seed as well.
//
// Paths: absolute paths are used as they are; "golden:REST" is REST under the golden directory (the
// LSMSIM_GOLDEN_DIR environment variable, else the directory the build was configured with); any other
// relative path is relative to the directory of the scenario file that names it (the current directory
// for a scenario parsed from a string).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/bytes.h"
#include "engine/status.h"
#include "sim/oracle.h"

namespace lsm::sim {

struct StartImage {
  std::string path;          // the database file, resolved (absolute)
  Bytes db;                  // its bytes
  std::optional<Bytes> log;  // path + "-log", if it exists
  uint64_t hash = 0;         // over the database's and the log's bytes: goes into every seed's trace
  // The newest valid checkpoint's geometry and id: the engine adopts the file's page and block size.
  uint32_t page_size = 0;
  uint32_t block_size = 0;
  uint64_t checkpoint_id = 0;
  // The engine's reading of the file: ok and the content, or why it could not read it.
  Status engine_read;
  Oracle::State state;
  std::vector<Bytes> keys;  // state's keys in order (the workload writes some of them)
  // start_expected: the listing's path, and whether the engine's reading matches it.
  std::string expected_path;
  Status expected_check;
};

// The golden directory (see above).
std::string GoldenDir();

// A start_from / start_expected value as a path (see above).
std::string ResolveScenarioPath(const std::string& value, const std::string& base_dir);
// The inverse for files under the golden directory ("golden:REST"), so that a repro or regression file
// naming a golden database works on any machine; any other path as it is.
std::string PortableScenarioPath(const std::string& resolved);

// Loads `path` (resolved) and, if `expected_path` is not empty, the listing to cross-check it with.
// kInvalidArgument naming the field and the file for a value that is wrong.
Result<std::shared_ptr<const StartImage>> LoadStartImage(const std::string& path, const std::string& expected_path);

}  // namespace lsm::sim
