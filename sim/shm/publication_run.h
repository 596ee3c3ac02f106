// The publication protocol (engine/shm/publication.h) between a writer and a reader process over the
// visibility model, the two processes run by the scheduler (sim/sched): the first simulation the
// shared-memory faults run against, before the engine keeps its tree in shared memory. Per round the
// writer stores a data block for the next sequence number (what a tree header points at: nodes written
// just before it) and publishes {seq, block}; each of its barriers is a visibility point and a
// scheduling point. A reader that takes a record must find the block the record names as the writer
// wrote it, and the record must be one the writer published.
#pragma once

#include <cstdint>
#include <string>

#include "sim/shm/visibility.h"

namespace lsm::sim {

struct PublicationResult {
  bool pass = true;
  std::string message;   // the first violation
  uint64_t reads = 0;    // records the reader took
  uint64_t busy = 0;     // reads that found no valid copy within their attempts
  uint64_t switches = 0; // scheduler hand-overs between the processes
  bool writer_killed = false;
};

// kill_writer: the writer may be killed at any of its barriers (SimEnv::KillProcess: its stores not yet
// arrived are lost, mid-publication included), and a successor process repairs and goes on.
PublicationResult RunPublication(uint64_t seed, const ShmFaults& faults, bool kill_writer = false, int rounds = 40);

}  // namespace lsm::sim
