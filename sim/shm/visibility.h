// Shared memory as processes on a weakly ordered machine see it (issue 14's visibility model). Each
// simulated process works on its own copy of the chunks: its stores are visible to itself at once and
// to the others only at visibility points, when the decision stream picks which of them have arrived.
//
// A process's stores are found by diffing its copy against what it last saw (word granular, 4 bytes,
// the unit the engine stores atomically), so the engine writes through plain pointers as it does into
// real shared memory. A barrier closes the current batch of stores. In contract, a store after a
// barrier is never visible before every store before the barrier: what arrives is all of the first
// batches and any subset of the next one (stores between two barriers arrive in any order, so a record
// of several words can be seen torn). The faults, for the catalogue:
//   reordered barrier  any subset of any batch arrives (a later batch before an earlier one)
//   missing barrier    a barrier call is ignored: the batches on both sides of it merge
// A store that arrives overwrites the word for every other process, except where that process has a
// store of its own still pending (its own view keeps its value). A process crash loses its pending
// stores; a power loss loses the memory.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "engine/env/env.h"
#include "sim/decisions.h"

namespace lsm::sim {

struct ShmFaults {
  bool reordered_barrier = false;
  bool missing_barrier = false;
};

class ShmVisibility {
 public:
  // Processes are numbered from 0; a process is added when it first maps a chunk.
  explicit ShmVisibility(int processes = 1) : procs_(size_t(processes)) {}

  // Process `p`'s copy of `chunk` (kShmChunkSize bytes, zeros at first): stores into it are p's stores.
  uint8_t* Map(int p, uint32_t chunk);
  // p's barrier: its stores so far are ordered before its later ones (unless the fault drops it).
  void Barrier(int p, const ShmFaults& faults);
  // A visibility point of p: the decision stream picks which of p's pending stores arrive.
  void Arrive(int p, Decisions& d, const ShmFaults& faults);
  // Every pending store of p arrives (what a lock release hands over, or p's clean exit).
  void ArriveAll(int p);
  // p dies: its pending stores are lost; its copy becomes what the others see.
  void Crash(int p);
  // The memory is gone (power loss): every copy is zeros (in place: mapped pointers stay valid).
  void Clear();

  // p's stores not yet visible to the others.
  size_t Pending(int p);
  // The word at byte `offset` of `chunk` as the memory holds it (what arrived), for tests and oracles.
  uint32_t Visible(uint32_t chunk, uint32_t offset) const;

 private:
  static constexpr size_t kWords = kShmChunkSize / 4;
  using Chunk = std::array<uint32_t, kWords>;
  struct Store {
    uint32_t chunk, word, value;
  };
  struct Process {
    std::map<uint32_t, std::unique_ptr<Chunk>> view;  // what p reads and writes
    std::map<uint32_t, std::unique_ptr<Chunk>> seen;  // p's view as of its last capture
    std::vector<std::vector<Store>> batches;          // pending, oldest first; the last one open
  };

  Process& Proc(int p);
  Chunk& Memory(uint32_t chunk);
  Chunk& ViewOf(Process& proc, uint32_t chunk);
  // Moves the words p changed since the last capture into its open batch.
  void Capture(Process& proc);
  void Deliver(size_t from, const Store& s);
  bool PendingAt(const Process& proc, uint32_t chunk, uint32_t word) const;

  std::vector<Process> procs_;
  std::map<uint32_t, std::unique_ptr<Chunk>> memory_;  // what has arrived
};

}  // namespace lsm::sim
