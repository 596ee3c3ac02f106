// An in-memory summary of one run's user keys, so that a point lookup skips runs that cannot decide it.
// Not part of the file format: a filter is built while the engine writes a run and dropped with the
// Db; runs that came from the file (or a paused merge's output) have none and are always probed.
//
// A run decides a key k when it holds a record at k (insert or point delete) or when a range delete
// covers k (k strictly inside a gap the run marks as deleted). So the filter is a Bloom filter over the
// keys of its records (10 bits and 7 probes per key, blocked by cache line: about 1-2% false positives) plus the exact list of
// covered gaps. MayDecide never answers false for a key the run decides.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/bytes.h"
#include "engine/cursor/record.h"

namespace lsm {

class RunFilter {
 public:
  class Builder {
   public:
    // Records in key order, as written.
    void Add(const Record& r);
    RunFilter Finish();

   private:
    std::vector<uint64_t> hashes_;
    std::vector<std::pair<Bytes, Bytes>> gaps_;
    bool open_gap_ = false;
    Bytes gap_start_;
  };

  // `hash` is HashKey(user_key), computed once for all the runs a lookup visits.
  static uint64_t HashKey(ByteView user_key);
  bool MayDecide(ByteView user_key, uint64_t hash) const;
  bool MayDecide(ByteView user_key) const { return MayDecide(user_key, HashKey(user_key)); }

 private:
  void Set(uint64_t hash);
  bool Test(uint64_t hash) const;

  std::vector<uint64_t> bits_;
  std::vector<std::pair<Bytes, Bytes>> gaps_;  // (start, end) exclusive, ascending
};

}  // namespace lsm
