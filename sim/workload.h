// The workload generator: the next operation of a seed, drawn from its decision stream according to the
// scenario's weights, key distribution and value sizes.
#pragma once

#include <cstdint>
#include <string>

#include "engine/bytes.h"
#include "sim/decisions.h"
#include "sim/scenario.h"

namespace lsm::sim {

struct Op {
  enum Kind {
    kPut, kErase, kEraseRange, kGet, kScan, kBegin, kCommit, kRollback, kFlush, kWork, kCheckpoint, kReopen, kCrash,
    kUserVersion
  };
  Kind kind = kPut;
  Bytes key;    // put/erase/get: the key; erase_range: start; scan: where to seek
  Bytes key2;   // erase_range: end
  Bytes value;  // put
  int a = 0;    // scan: seek mode (0 first, 1 last, 2 ge, 3 le, 4 eq); work: nmerge; crash: steps until power
                // fails; user_version: the version to set
  int b = 0;    // scan: steps; work: KB budget (-1: unlimited)
  std::string Describe() const;
};

class Workload {
 public:
  Workload(const Scenario& s, Decisions* d);
  Op Next();
  KeyDistribution distribution() const { return dist_; }

 private:
  Bytes Key();
  Bytes Value();

  const Scenario& s_;
  Decisions* d_;
  KeyDistribution dist_;
  uint64_t sequential_ = 0;
};

}  // namespace lsm::sim
