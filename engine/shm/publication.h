// Publishing a small record in shared memory so that other processes never act on a torn one
// (engine-reference.md §5.3-5.4): the record goes into two slots, each with its length and two checksum
// words, written copy 2, barrier, copy 1. A reader takes copy 1 if its checksum holds, else copy 2,
// else waits on a barrier and retries, and gives up with kBusy after a bounded number of attempts.
//
// One barrier more than the reference: Publish starts with one, so the stores the record points at
// (tree nodes, db pages, anything written before it) are visible before either copy is. Without it a
// reader on a weakly ordered machine can take a valid new record and follow it to stale memory.
//
// Slot layout, u32 words in host order: [0] n, [1..n] the record, [n+1] [n+2] the checksum of words
// 0..n. Every shared word is read and written with relaxed atomic operations: slots are written while
// other processes read them, and the checksum, not the load, decides what is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/status.h"

namespace lsm::shm {

// The most record words a slot of `slot_words` words holds.
constexpr size_t RecordCapacity(size_t slot_words) { return slot_words < 3 ? 0 : slot_words - 3; }

// Checksum words of `words` (the length word and the record).
std::pair<uint32_t, uint32_t> PublicationChecksum(std::span<const uint32_t> words);

// Writes `record` into both slots (each slot_words long): barrier, copy 2, barrier, copy 1.
// kInvalidArgument if the record does not fit.
Status Publish(uint32_t* copy1, uint32_t* copy2, size_t slot_words, std::span<const uint32_t> record,
               const std::function<void()>& barrier);

struct Published {
  std::vector<uint32_t> record;
  int copy = 0;      // 1 or 2: the slot it came from
  int attempts = 0;  // 1 if the first attempt found a valid copy
};

// Reads the record: copy 1 if valid, else copy 2, else barrier and retry, up to `attempts` times; then
// kBusy naming what was wrong with each copy.
Result<Published> ReadPublished(const uint32_t* copy1, const uint32_t* copy2, size_t slot_words,
                                const std::function<void()>& barrier, int attempts);

}  // namespace lsm::shm
