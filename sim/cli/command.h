// The lsmsim command line: one binary, one subcommand per concept. Each subcommand lives in its own
// file and registers here. Exit status: 0 success, 1 the thing checked failed (invalid page, failing
// seed), 2 bad usage or bad input (missing file, bad JSON, bad hex, bad flag), 3 a replay that no longer
// gives the recorded run.
#pragma once

#include <string>
#include <vector>

#include "engine/bytes.h"
#include "engine/status.h"
#include "sim/json.h"
#include "sim/repro.h"

namespace lsm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDiverged = 3;  // replay: the recorded decisions no longer give the recorded run

struct Command {
  const char* name;
  const char* usage;    // "ckpt decode FILE [--page 1|2] [--json] | ckpt encode FILE.json"
  const char* summary;  // one line for --help
  int (*run)(const std::vector<std::string>& args);  // args after the subcommand name
};

const std::vector<Command>& Commands();

// Prints "lsmsim: <message>" to stderr and returns kExitUsage.
int UsageError(const std::string& message);
// Prints "lsmsim: <status>" to stderr and returns kExitUsage (bad input is a usage-class failure).
int InputError(const Status& status);

// Input files are read through PosixEnv, so only regular files are accepted (a directory, device,
// FIFO or /proc file is kInvalidArgument before anything is read), and never more than the caller
// needs: errors are values naming the path, never an iostream exception or an endless read.

// The whole file; kInvalidArgument if it is longer than `max_size` bytes (`what` says what it
// should be: "a checkpoint JSON file").
Result<Bytes> ReadFile(const std::string& path, uint64_t max_size, const char* what);

// The whole file (as ReadFile) parsed as JSON; a syntax error names the path and where in it.
Result<Json> ReadJsonFile(const std::string& path, uint64_t max_size, const char* what);

// The file's size and its first min(size, n) bytes.
struct FileHead {
  uint64_t size = 0;
  Bytes bytes;
};
Result<FileHead> ReadFileHead(const std::string& path, uint64_t n);

int RunFaults(const std::vector<std::string>& args);
int RunCkpt(const std::vector<std::string>& args);
int RunMetakey(const std::vector<std::string>& args);
int RunDb(const std::vector<std::string>& args);
int RunDbBench();
int RunRun(const std::vector<std::string>& args);
int RunReplay(const std::vector<std::string>& args);
int RunShrink(const std::vector<std::string>& args);
int RunReport(const std::vector<std::string>& args);
int RunRecord(const std::vector<std::string>& args);
// A repro file (sim/repro.h) read and checked; kInvalidArgument naming the path and the field.
Result<sim::Repro> ReadRepro(const std::string& path);
int RunScenarios(const std::vector<std::string>& args);
int RunCompat(const std::vector<std::string>& args);
int RunExplore(const std::vector<std::string>& args);
// "A..B" with A <= B (--seeds).
bool ParseSeeds(const std::string& text, uint64_t* a, uint64_t* b);

}  // namespace lsm::cli
