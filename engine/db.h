// The LSM database: an in-memory tree in front of levels of sorted runs in one database file, a log
// for commits not yet in a run, and checkpoints in the two meta pages. Formats follow SQLite4 LSM's
// uncompressed design so files are interchangeable. One Db per database file (a second Open gets
// kBusy); sharing one database among connections through shared memory comes later.
//
// Everything the engine touches goes through an Env; errors are returned, never thrown.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "engine/checkpoint.h"
#include "engine/env.h"
#include "engine/free_list.h"
#include "engine/geometry.h"
#include "engine/log.h"
#include "engine/merged_cursor.h"
#include "engine/run_filter.h"
#include "engine/meta_page.h"
#include "engine/tree.h"

namespace lsm {

struct Options {
  uint32_t page_size = 4096;        // 256..65536, power of two; an existing database keeps its own
  uint32_t block_size = 1u << 20;   // 64 KB..64 MB, power of two; likewise
  Safety safety = Safety::kNormal;  // off / normal / full: what a commit promises (log.h)
  uint32_t autoflush_kb = 1024;     // flush the tree once it holds this much
  bool autowork = true;             // merge after flushes
  uint32_t automerge = 4;           // levels of one age merged together (>= 2)
  uint32_t autocheckpoint_kb = 2048;  // checkpoint after this many KB of pages written (0: only on demand)
  uint32_t max_freelist = kMaxFreelistEntries;  // free-list entries kept in the checkpoint (2..24)
  bool use_log = true;
  uint32_t cache_kb = 64 * 1024;    // page cache over the database file

  // kInvalidArgument naming the first bad option.
  Status Validate() const;
};

// Counters the tests use to prove that a workload reached the interesting paths.
struct DbStats {
  uint64_t commits = 0;
  uint64_t flushes = 0;
  uint64_t merges = 0;                 // merges completed
  uint64_t merges_started = 0;
  uint64_t merges_restarted = 0;       // in-progress merges found at Open and started over
  uint64_t checkpoints_mid_merge = 0;  // checkpoints written while a merge was in progress
  uint64_t checkpoints = 0;
  uint64_t blocks_allocated = 0;  // extending the file
  uint64_t blocks_reused = 0;     // taken from the free list
  uint64_t blocks_freed = 0;
  uint64_t freelist_overflows = 0;  // free-list entries moved out of the checkpoint into the LSM
  uint64_t log_replayed_commits = 0;
};

class Db;

// A cursor over the database as it was when the cursor was made. Any write through the Db makes it
// stale: every call then returns kMisuse (make a new cursor). Destroy cursors before their Db.
class Cursor {
 public:
  Status First() { return Guard([&] { return merged_.First(); }); }
  Status Last() { return Guard([&] { return merged_.Last(); }); }
  Status Next() { return Guard([&] { return merged_.Next(); }); }
  Status Prev() { return Guard([&] { return merged_.Prev(); }); }
  Status SeekGe(ByteView key) { return Guard([&] { return merged_.SeekGe(key); }); }
  Status SeekLe(ByteView key) { return Guard([&] { return merged_.SeekLe(key); }); }
  // Positions on `key` itself, or invalid.
  Status SeekEq(ByteView key);
  bool Valid() const { return merged_.Valid(); }
  ByteView key() const { return merged_.key(); }
  ByteView value() const { return merged_.value(); }

 private:
  friend class Db;
  Cursor(Db* db, uint64_t generation, std::vector<std::unique_ptr<RecordCursor>> sources)
      : db_(db), generation_(generation), merged_(std::move(sources)) {}
  template <typename F>
  Status Guard(F op) {
    LSM_RETURN_IF_ERROR(CheckFresh());
    Status s = op();
    if (!s.ok()) merged_.Invalidate();
    return s;
  }
  Status CheckFresh();
  Db* db_;
  uint64_t generation_;
  MergedCursor merged_;
};

class Db {
 public:
  // Opens (creating if missing) the database at `path`; its log is `path + "-log"`. Recovery: choose the
  // meta page (meta_page.h), check every field of its checkpoint against the file, load the free list,
  // replay the log from the checkpoint's pointer up to the last valid commit. kBusy if another Db holds
  // the file; kNotADatabase if the meta pages are neither valid checkpoints nor blank; kCorrupt naming
  // what is wrong. Only one Db per file at a time: other processes are kept out by the DMS2 lock
  // (exclusive), other Db objects of this process by a table of open paths per Env.
  static Result<std::unique_ptr<Db>> Open(Env* env, const std::string& path, const Options& options);
  // Destroying a Db without Close abandons it: nothing more is written (like a process that died, except
  // that the Env keeps what was written). Recovery at the next Open sorts it out.
  ~Db();

  // Rolls back any open transaction, flushes the tree, checkpoints (synced), truncates the file to its
  // blocks and deletes the log. After an earlier write failure it only closes the files. The Db is
  // unusable afterwards.
  Status Close();

  // Transactions nest; a write outside any transaction commits on its own. Commit of the outermost
  // transaction appends it to the log (FULL: synced before Commit returns). If that fails, the
  // transaction is rolled back in memory and the error returned, though its bytes may be durable.
  Status Begin();
  Status Commit();
  Status Rollback();
  int transaction_depth() const { return int(marks_.size()); }

  Status Put(ByteView key, ByteView value);
  Status Erase(ByteView key);
  // Deletes every key strictly between `start` and `end` (logged, unlike the seed).
  Status EraseRange(ByteView start, ByteView end);
  // The value, or nullopt when absent.
  Result<std::optional<Bytes>> Get(ByteView key);
  Result<std::unique_ptr<Cursor>> NewCursor();

  // Writes the tree to a new top level (no checkpoint). kMisuse inside a transaction.
  Status Flush();
  // Merges levels: up to `nkb` KB of output (negative: unlimited), merging groups of at least `nmerge`
  // levels of one age (<= 0: the configured automerge; 1: everything into one level). Stops early when
  // nothing is left to merge. Returns KB written. kMisuse inside a transaction.
  Result<uint64_t> Work(int nmerge, int64_t nkb);
  // Writes the current snapshot to the meta page not holding the last synced one: sync the db file,
  // write the page, sync again (safety off: no syncs), then frees what the checkpoint made obsolete.
  Status Checkpoint();

  // Structural integrity of the current snapshot (integrity.h). Empty string: healthy.
  Result<std::string> Check();

  const DbStats& stats() const { return stats_; }
  const lsm::Checkpoint& snapshot() const { return snap_; }
  // The whole free list (checkpoint delta over the LSM part).
  const std::map<uint32_t, int64_t>& free_blocks() const { return free_.entries(); }

 private:
  friend class Cursor;
  class Allocator;
  struct MergeJob;
  Db(Env* env, std::string path, Options options);

  Status Recover();
  Status LoadFreeList(const std::vector<FreeEntry>& delta, const std::map<uint32_t, size_t>& used);
  Result<std::map<uint32_t, size_t>> ValidateSnapshot() const;
  Status Write(LogOp::Kind kind, ByteView key, ByteView value);
  static void ApplyTo(Tree* tree, LogOp::Kind kind, ByteView key, ByteView value);
  Status CommitOutermost();
  Status AfterCommit();
  Status Usable() const;

  // Sources of a level, newest first (a merging level: its output below the split key, its inputs
  // from it up).
  Status AddLevelSources(size_t level, std::vector<std::unique_ptr<RecordCursor>>* out);
  Status AllSources(bool with_tree, std::vector<std::unique_ptr<RecordCursor>>* out);
  Result<Record> SplitKey(const Level& level);

  Status FlushTree();
  Status MakeRoomForLevel();
  Status SpillFreelistIfNeeded();
  // Writes one run from `sources` (and the free-list delta if `carry_freelist`) as a new top level.
  Status WriteTopLevel(std::vector<std::unique_ptr<RecordCursor>> sources, uint16_t flags, bool carry_freelist,
                       uint64_t* pages);
  // Picks levels to merge (first index and count); false when nothing qualifies.
  bool SelectMerge(int nmerge, bool force, size_t* first, size_t* count) const;
  Status StartMerge(size_t first, size_t count);
  Status ResumeMerge();
  // Runs the merge in progress for up to `budget` pages; *pages gets what was written.
  Status MergeStep(uint64_t budget, uint64_t* pages);
  Result<uint64_t> DoWork(int nmerge, int64_t page_budget, bool force);
  // Frees the blocks of `removed` runs except blocks a run of the current snapshot starts or ends in.
  Status FreeRuns(const std::vector<Segment>& removed, const std::vector<std::span<const BlockRedirect>>& redirects,
                  bool with_spare);
  void RunFinished(const Segment& seg, uint32_t spare_block);
  uint64_t TakeAppendPoint();
  void Published(uint64_t pages);
  Status Fail(Status s);

  Env* env_;
  std::string path_;
  std::string log_path_;
  Options options_;
  Geometry geom_;
  std::unique_ptr<File> db_file_;
  std::unique_ptr<File> log_file_;
  std::unique_ptr<LogWriter> log_;
  lsm::Checkpoint snap_;         // the current snapshot (levels newest first); id = newest published
  FreeList free_;
  uint64_t synced_id_ = 0;       // id of the newest checkpoint on disk (0: none)
  MetaPage meta_page_ = MetaPage::kNone;  // the meta page holding it
  uint64_t pages_since_checkpoint_ = 0;
  std::unique_ptr<MergeJob> merge_;    // the merge in progress, if this Db has been running it
  Tree tree_;
  // The open transaction's writes, kept out of tree_ until it commits (so tree_ holds only committed
  // data, which flushes and other readers may see); undo marks per nested level.
  Tree txn_;
  std::vector<size_t> marks_;          // txn_ undo mark per open transaction
  std::vector<size_t> op_marks_;       // pending_ size per open transaction
  std::vector<LogOp> pending_;         // ops of the open outermost transaction
  uint64_t generation_ = 0;            // bumped by every change, to detect stale cursors
  // Filters of the runs this Db wrote, by (first page, last page, size); see run_filter.h.
  std::map<std::tuple<uint64_t, uint64_t, uint64_t>, RunFilter> filters_;
  uint64_t levels_version_ = 0;        // bumped whenever the levels change
  // Get's cursors over each level, reused while levels_version_ stays the same.
  std::vector<std::vector<std::unique_ptr<RecordCursor>>> get_cursors_;
  uint64_t get_cursors_version_ = ~uint64_t{0};
  Status broken_;                      // set when a write to the db file failed half-way
  bool closed_ = false;
  bool registered_ = false;  // in the process's table of open databases
  void Unregister();
  DbStats stats_;
};

}  // namespace lsm
