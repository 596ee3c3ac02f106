// Publishing a small record in shared memory so that other processes never act on a torn one
// (engine-reference.md §5.3-5.4): the record goes into two slots, each with its length, a version and
// two checksum words, written copy 2, barrier, copy 1. A reader takes the newer of the valid copies,
// and when neither is valid waits on a barrier and retries, giving up with kBusy after a bounded
// number of attempts.
//
// Two departures from the reference, both found by tests:
//  - Publish starts with a barrier, so the stores the record points at (tree nodes, db pages, anything
//    written before it) are visible before either copy is. Without it a reader on a weakly ordered
//    machine can take a valid new copy and follow it to stale memory (the simulator's visibility model
//    catches the weakened variant, kNoBarrierBeforePublication).
//  - The reference takes copy 1 whenever it is valid. A reader that finds copy 1 mid-write takes copy 2,
//    the new record; its next read may find copy 1 still valid and older (it reads the two copies at
//    two moments), and go back in time (seen across real processes, after a writer was killed and the
//    next one repaired). Versions make the reader take the newer copy and never one older than the
//    version it took last (`at_least`): it retries instead, so each reader's reads are monotonic.
// After a writer dies (its lock released), the next one calls Repair before publishing, so at most one
// copy is ever torn.
//
// Slot layout, u32 words in host order: [0] n, [1] version, [2..n+1] the record, [n+2] [n+3] the
// checksum of words 0..n+1. Every shared word is read and written with relaxed atomic operations:
// slots are written while other processes read them, and the checksum, not the load, decides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/status.h"

namespace lsm::shm {

// The most record words a slot of `slot_words` words holds.
constexpr size_t RecordCapacity(size_t slot_words) { return slot_words < 4 ? 0 : slot_words - 4; }

// Checksum words of `words` (length, version and record).
std::pair<uint32_t, uint32_t> PublicationChecksum(std::span<const uint32_t> words);

// Writes `record` into both slots (each slot_words long) with the next version: barrier, copy 2,
// barrier, copy 1. The caller is the only writer (it holds the writer lock). kInvalidArgument if the
// record does not fit. *version_out, if given, gets the version written.
Status Publish(uint32_t* copy1, uint32_t* copy2, size_t slot_words, std::span<const uint32_t> record,
               const std::function<void()>& barrier, uint32_t* version_out = nullptr);

// Makes both copies the same valid record: the newer valid copy is written over the other. kCorrupt
// if neither is valid (nothing was ever published, or the memory is damaged).
Status Repair(uint32_t* copy1, uint32_t* copy2, size_t slot_words, const std::function<void()>& barrier);

struct Published {
  std::vector<uint32_t> record;
  uint32_t version = 0;
  int copy = 0;      // 1 or 2: the slot it came from
  int attempts = 0;  // 1 if the first attempt found a valid copy
};

// Reads the newer valid copy whose version is at least `at_least` (the version this reader took last);
// if neither qualifies, barrier and retry, up to `attempts` times; then kBusy naming what was wrong
// with each copy.
Result<Published> ReadPublished(const uint32_t* copy1, const uint32_t* copy2, size_t slot_words,
                                const std::function<void()>& barrier, int attempts, uint32_t at_least = 0);

}  // namespace lsm::shm
