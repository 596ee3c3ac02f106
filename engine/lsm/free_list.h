// The free-block list: blocks of the database file that no run uses, each with the id of the last
// snapshot that still used it.
//
// Reuse rule. A block freed while building snapshot N+1 carries id N (the last snapshot that used it).
// It may be reused only once a checkpoint with id > N is synced: before that, a crash recovers a
// checkpoint that still reads the block. Id 0 marks a block no published snapshot ever used (the spare
// block a finished run reserved), reusable at once. (Readers never pin blocks here: a Db's cursors go
// stale at its next write.)
//
// Where the list lives (the seed's format). A checkpoint holds at most `max_freelist` (<= 24) entries;
// the rest lives in the LSM itself as system records, key BE32(~block) (so blocks sort descending),
// value BE64 id; a removal is a point delete of that key. The checkpoint's entries are a *delta* over
// the LSM part: (block, id) adds or overrides an entry, (block, -1) removes one. This class keeps the
// whole list (`entries`) and what the LSM part says (`in_lsm`); the checkpoint's delta is their
// difference. When the delta outgrows the checkpoint, the engine writes it into a run (a flush, or a
// level of only free-list records) and calls DeltaWritten.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "engine/format/checkpoint.h"
#include "engine/cursor/record.h"

namespace lsm {

// The system-record key of a free block, and back; nullopt for a system key of another shape.
Bytes FreeListKey(uint32_t block);
std::optional<uint32_t> FreeListBlock(ByteView key);

class FreeList {
 public:
  // `in_lsm`: entries read from the LSM's system records; `delta`: the checkpoint's entries. A delete
  // entry for a block the LSM part does not hold is normal (the reference writes one for every block it
  // reuses). kCorrupt if the delta names a block twice (the reference's list is a sorted set).
  Status Load(std::map<uint32_t, int64_t> in_lsm, const std::vector<FreeEntry>& delta);

  // Takes the lowest-numbered block that may be reused while the newest synced checkpoint has id
  // `synced_id` (0: none, so only id-0 blocks are reusable).
  std::optional<uint32_t> TakeReusable(uint64_t synced_id);
  void Free(uint32_t block, int64_t id);
  bool Contains(uint32_t block) const { return entries_.count(block) != 0; }

  const std::map<uint32_t, int64_t>& entries() const { return entries_; }
  // The checkpoint's delta, ascending by block.
  std::vector<FreeEntry> Delta() const;
  // The delta as system records in key order (inserts and point deletes), for a run that carries it.
  std::vector<Record> DeltaRecords() const;
  // A run holding `written` (a Delta() taken before writing it) became part of the snapshot.
  void DeltaWritten(const std::vector<FreeEntry>& written);

 private:
  std::map<uint32_t, int64_t> entries_;
  std::map<uint32_t, int64_t> in_lsm_;
};

}  // namespace lsm
