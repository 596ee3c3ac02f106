// Seeds of a campaign run on worker threads, handed back in seed order: `lsmsim run --jobs N`. Each seed
// is a world of its own (its SimEnv, PRNG, trace, engine), so a seed's result does not depend on which
// thread ran it or what ran beside it, and the report, the summary and every trace hash are those of
// --jobs 1. Workers run at most a bounded window of seeds ahead of the one taken last.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "sim/runner.h"
#include "sim/scenario.h"

namespace lsm::sim {

class SeedPool {
 public:
  // Seeds first, first + stride, ... up to last, in order (last may be ~0 for an open-ended campaign;
  // stride > 1 for one shard of a campaign), each run with `options`. jobs >= 1; with 1, or with
  // options.events (one sink cannot take several seeds at once), no thread is started and Take runs the
  // seed itself.
  SeedPool(const Scenario& scenario, uint64_t first, uint64_t last, uint64_t stride, int jobs,
           const RunOptions& options = {});
  ~SeedPool();  // stops the workers; seeds not taken are dropped
  SeedPool(const SeedPool&) = delete;
  SeedPool& operator=(const SeedPool&) = delete;

  // The result of `seed`. REQUIRES: seeds are taken in order: first, first + stride, ...
  SeedResult Take(uint64_t seed);

 private:
  void Work();

  const Scenario& scenario_;
  const RunOptions options_;
  const uint64_t first_, stride_;
  const uint64_t count_;  // seeds in the campaign (~0: open-ended)
  const uint64_t window_;
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t next_ = 0;     // index of the next seed a worker claims
  uint64_t taken_ = 0;    // seeds of lower index were handed out
  bool stop_ = false;
  std::map<uint64_t, SeedResult> done_;  // finished, not yet taken, by seed
  std::vector<std::thread> workers_;
};

// The machine's cores (at least 1): --jobs' default.
int DefaultJobs();

}  // namespace lsm::sim
