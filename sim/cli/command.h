// The lsmsim command line: one binary, one subcommand per concept. Each subcommand lives in its own
// file and registers here. Exit status: 0 success, 1 the thing checked failed (invalid page, failing
// seed), 2 bad usage or bad input (missing file, bad JSON, bad hex, bad flag).
#pragma once

#include <string>
#include <vector>

#include "engine/bytes.h"
#include "engine/status.h"

namespace lsm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

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

// Whole file contents; kNotFound / kIoError name the path.
Result<Bytes> ReadFile(const std::string& path);

int RunCkpt(const std::vector<std::string>& args);
int RunMetakey(const std::vector<std::string>& args);
int RunDb(const std::vector<std::string>& args);
int RunDbBench();
int RunRun(const std::vector<std::string>& args);
int RunScenarios(const std::vector<std::string>& args);

}  // namespace lsm::cli
