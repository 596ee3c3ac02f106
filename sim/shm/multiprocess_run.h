// The engine shared by several simulated processes (Options::shared_memory) over SimEnv: each process
// opens the database through its own Env object (so it gets its own Database, as an OS process
// would), sees shared memory through its own view (sim/shm/visibility.h), and runs on the scheduler
// (sim/sched), which may switch at every Env call. Processes may be killed at any Env call (their
// stores not yet arrived are lost, their locks go; files keep every write issued).
//
// The workload makes isolation checkable: a writer's transaction reads the counter key "c", and
// writes c+1 both to "c" and to its next own key "w<writer>-<i>" (in order). The oracle:
//   - every snapshot a reader takes is one the commits could have made: per writer a prefix of its
//     keys, each holding its commit's counter value, and "c" equal to the number of keys (transactions
//     are serializable: a writer whose snapshot went stale gets kBusy and retries);
//   - no reader's snapshot goes back in time;
//   - at the end, a fresh process finds every commit a writer was told was made, and at most the one
//     each killed writer was making.
#pragma once

#include <cstdint>
#include <string>

#include "sim/shm/visibility.h"

namespace lsm::sim {

struct MultiprocessConfig {
  int writers = 2;
  int readers = 1;
  bool worker = true;        // a process that merges and checkpoints
  int commits_per_writer = 30;
  bool kill = false;         // processes may die at any Env call (the decisions pick)
  ShmFaults faults;
};

struct MultiprocessResult {
  bool pass = true;
  std::string message;     // the first violation
  uint64_t commits = 0;    // acknowledged
  uint64_t snapshots = 0;  // reader snapshots checked
  uint64_t busy = 0;       // calls that got kBusy (and were retried)
  uint64_t kills = 0;
  uint64_t switches = 0;
};

MultiprocessResult RunMultiprocess(uint64_t seed, const MultiprocessConfig& config);

}  // namespace lsm::sim
