// What the processes sharing one database keep in its shared memory (engine-reference.md §5), and the
// locks that say who may change it. Our layout, not the reference's byte for byte; the database and log
// files stay the reference's.
//
// Chunk 0, u32 words in host order:
//   [0] magic, [1] layout version
//   the tree header, two copies (publication.h): the in-memory tree's state (shm_tree.h), the commit
//     count, the user version, and the log writer's state (end, checksums, regions), so the next
//     writer, in whichever process, continues the log where the last one stopped;
//   the worker record, two copies: the snapshot as a checkpoint blob (levels, free-list delta, log
//     pointer...) with the checkpointer's state (newest synced checkpoint, its meta page and log
//     position, pages written since) and the newest tree generation the levels hold;
//   six reader slots {tree generation, snapshot id}: a reader holds READER(i) shared while it reads
//     what the slot's values protect (a worker reuses no block, a writer no tree chunk, that a live
//     slot's values may still read).
// Chunks 1 and up hold the tree's nodes (shm_tree.h).
//
// Roles: WRITER (exclusive) changes the tree and the log and publishes the tree header; WORKER
// (exclusive) writes the database file body and publishes the worker record; CHECKPOINTER (exclusive,
// with WORKER here) writes a meta page. DMS1 (exclusive) is held around every connect and disconnect;
// DMS2 (shared) while a process is connected, so the first to connect after everyone died, and the
// last to leave, can tell.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/env/env.h"
#include "engine/format/checkpoint.h"
#include "engine/format/meta_page.h"
#include "engine/log/log.h"
#include "engine/shm/publication.h"
#include "engine/shm/shm_tree.h"
#include "engine/status.h"

namespace lsm::shm {

inline constexpr int kDms1Lock = 1;
inline constexpr int kDms2Lock = 2;
inline constexpr int kWriterLock = 4;
inline constexpr int kWorkerLock = 5;
inline constexpr int kCheckpointerLock = 6;
inline constexpr int kReaderLock0 = 8;
inline constexpr int kReaderSlots = 6;

// Attempts a reader makes before kBusy (the reference's 10 for a read transaction).
inline constexpr int kReadAttempts = 10;

struct TreeHeader {
  ShmTreeState tree;
  uint64_t commit_seq = 0;
  uint32_t user_version = 0;
  LogPosition log_end;
  std::array<LogRegion, 3> regions{};
};

struct WorkerRecord {
  Checkpoint snap;                  // freelist: the delta, as a checkpoint carries it
  uint64_t synced_id = 0;           // newest checkpoint on disk (0: none)
  MetaPage meta_page = MetaPage::kNone;
  LogPosition synced_log;           // its log pointer: the log before it is free
  uint64_t pages_since_checkpoint = 0;
  uint32_t flushed_gen = 0;         // tree generations up to this one are in the levels
};

// A reader slot's values: what its holder may still read.
struct ReaderMark {
  uint32_t gen = 0;
  uint64_t snap_id = 0;
};

struct RecordPlace;  // where a record's two copies lie in chunk 0 (shared_state.cc)

class SharedState {
 public:
  // `file`: the database file's handle, whose locks and shared memory these are.
  explicit SharedState(File* file);

  // Maps chunk 0; kCorrupt if it holds another layout (neither zero nor ours).
  Status Attach();
  // Everyone died: the header starts from zeros (and the tree from chunk 1).
  void Clear();
  ShmChunks& chunks() { return chunks_; }

  // Both return the publication's version.
  Result<uint32_t> PublishTree(const TreeHeader& h);
  Result<uint32_t> PublishWorker(const WorkerRecord& w);
  // The newest valid copies (after a dead peer, Repair first); with the publication versions.
  Result<std::pair<TreeHeader, uint32_t>> ReadTree();
  Result<std::pair<WorkerRecord, uint32_t>> ReadWorker();
  // Makes both copies of each record the same valid one (a writer or worker that died between them).
  Status RepairTree();
  Status RepairWorker();
  // Whether anything was ever published (both records).
  bool Initialized() const;

  // Takes a reader slot protecting `mark` (a free one, or a live one whose values are no newer), held
  // until Release. kBusy when none can be had.
  Result<int> TakeReaderSlot(const ReaderMark& mark);
  void ReleaseReaderSlot(int slot);
  // One more hold on a slot this process holds (a copy of a view).
  void AddReaderRef(int slot) { ++held_[size_t(slot)]; }
  // The oldest values among the slots held, by any process (nullopt: none).
  Result<std::optional<ReaderMark>> OldestReader();

 private:
  uint32_t* Words() const;
  // One record's publish, read (with the record's name in errors) and repair.
  Result<uint32_t> PublishAt(const RecordPlace& at, std::span<const uint32_t> record);
  Result<Published> ReadAt(const RecordPlace& at);
  Status RepairAt(const RecordPlace& at);
  ReaderMark SlotValues(int slot) const;

  File* file_;
  ShmChunks chunks_;
  std::array<int, kReaderSlots> held_{};  // this process's locks on each slot (refs)
};

}  // namespace lsm::shm
