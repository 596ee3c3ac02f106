// The structural integrity check of one snapshot of a database file (the seed's lsmFsIntegrityCheck,
// made a real check instead of a debug assert, plus what it never looked at):
//   - every run is a readable chain of blocks inside the file, and its records are in strictly
//     ascending key order (both directions agree);
//   - block accounting: every block 1..nblock is used by runs, or is the spare block reserved by the
//     output of a merge in progress, or is on the free list - exactly one of these; a block in the
//     middle of a run belongs to that run alone (runs may share only the blocks they start or end in);
//   - the free list names blocks inside the file, with ids of earlier snapshots;
//   - a merge in progress has its output entirely below its split key;
//   - append points lie in blocks that runs own, after the pages of the run that ends there;
//   - block redirects name distinct blocks;
//   - everything CheckWriteSafety checks (below).
// Problems are reported one per line, each naming the level, run, block or page.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/format/checkpoint.h"
#include "engine/env/env.h"
#include "engine/format/geometry.h"
#include "engine/status.h"

namespace lsm {

// The blocks of run `seg` in chain order (redirects applied), and, if `with_spare` and the run's last
// page is last on its block, the block its next pointer reserves. kCorrupt if the chain leaves the file
// (nblock), loops, or does not reach the block of seg.last.
Result<std::vector<uint32_t>> RunBlocks(File* db, const Geometry& g, uint32_t nblock, const Segment& seg,
                                        std::span<const BlockRedirect> redirects, bool with_spare);

// Which redirects apply to a segment: only the oldest level's original run carries them (its lhs, or,
// while that level is merging, its oldest input).
std::span<const BlockRedirect> RedirectsFor(const Checkpoint& snap, size_t level, int rhs_index);

// "level 2 lhs", "level 2 rhs[0]": how errors name a run.
std::string SegmentName(size_t level, int rhs);

// Every run of a checkpoint with its block chain walked (RunBlocks), level by level, lhs before
// rhs[0], rhs[1]...: walked once at open and handed to every check that needs the chains.
struct RunChain {
  size_t level = 0;
  int rhs = -1;  // -1: the lhs
  Result<std::vector<uint32_t>> blocks;  // or the kCorrupt that stopped the walk
};
// The chains of every run; a chain that cannot be walked holds its kCorrupt, other errors (I/O) fail
// the whole walk.
Result<std::vector<RunChain>> WalkRunChains(File* db, const Checkpoint& snap);

// What the next write relies on, so that a hostile file (checksum-valid, values a writer never
// produces) cannot make a write that succeeds destroy data a reader saw. Database::Recover refuses a
// file with any of these problems (kCorrupt); CheckIntegrity reports them. One string per problem,
// naming the field and its value:
//   - the checkpoint id leaves room to grow (at most kMaxOpenCheckpointId), so that every later
//     checkpoint gets an id the decoder accepts;
//   - every page belongs to at most one run: runs share a block only where one ends and another
//     starts (append points, §2.8 of the reference study), never a page. A merging level's lhs also
//     owns the rest of its last block, or, when its last page is last on its block, the block its next
//     pointer reserves: the merge continues there;
//   - no page of a run lies in a block on the free list (the allocator would hand it out);
//   - each append point starts a stretch no run holds: no run has a page from it to the end of its
//     block, the block is not on the free list, and no other append point lies in the same block.
// Runs whose block chain cannot be walked are skipped (CheckIntegrity and Recover report those).
std::vector<std::string> CheckWriteSafety(const Checkpoint& snap, std::span<const RunChain> chains,
                                          const std::map<uint32_t, int64_t>& free_entries);

// The problems found (empty string: healthy). `free_entries`: the whole free list (checkpoint delta
// applied over the LSM part). Errors other than corruption (I/O) are returned as a Status.
Result<std::string> CheckIntegrity(File* db, const Checkpoint& snap, const std::map<uint32_t, int64_t>& free_entries);

}  // namespace lsm
