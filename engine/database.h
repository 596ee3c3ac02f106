// The state that every connection (Db) to one database file in this process shares: the committed
// in-memory tree, the snapshot of levels, the free list, the log, the files and the merge in progress.
// Internal to the engine: users hold Db connections and Cursors, which lock the Database's mutex
// around every call; nothing in here locks.
//
// Reads see snapshots. A ReadView pins the committed tree (copy-on-write: a commit copies the tree
// while a view holds it) and the levels as published, and keeps the blocks of those levels from being
// reused (the seed's "no reader needs it" half of the free-block rule).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/format/checkpoint.h"
#include "engine/db.h"
#include "engine/integrity.h"
#include "engine/env/env.h"
#include "engine/lsm/free_list.h"
#include "engine/format/geometry.h"
#include "engine/log/log.h"
#include "engine/format/meta_page.h"
#include "engine/lsm/run_filter.h"
#include "engine/lsm/segment.h"
#include "engine/lsm/tree.h"

namespace lsm {

// What a reader sees: the committed tree and the levels as they were when the view was opened.
struct ReadView {
  std::shared_ptr<const Tree> tree;
  std::shared_ptr<const lsm::Checkpoint> snap;  // levels and redirects (the rest is not read)
  uint64_t commit_seq = 0;                 // commits the database had made
  uint32_t user_version = 0;
  std::multiset<uint64_t>::iterator pin;   // in Database::readers_
};

class Database {
 public:
  // Opens and recovers (see Db::Open). `options` shape the shared state: safety, use_log,
  // max_freelist, cache_kb, and page and block size for a new file.
  // `inspect`: only to read the file as it is and Check it (Db::CheckFile): recovery stops before the
  // log and does not refuse a file a write could not trust (CheckWriteSafety); nothing may be written,
  // so the caller must Abandon, never Close.
  static Result<std::shared_ptr<Database>> Open(Env* env, const std::string& path, const Options& options,
                                                bool inspect = false);
  ~Database();

  std::mutex& mutex() { return mutex_; }
  const std::string& path() const { return path_; }
  const Options& options() const { return options_; }
  const DbStats& stats() const { return stats_; }
  const lsm::Checkpoint& snapshot() const { return snap_; }
  const std::map<uint32_t, int64_t>& free_blocks() const { return free_.entries(); }
  uint64_t commit_seq() const { return commit_seq_; }
  uint32_t user_version() const { return user_version_; }

  // kMisuse once closed; the write failure that broke the database, if any. Connections check it
  // before every call; the calls below assume it.
  Status Usable() const;
  bool closed() const { return closed_; }

  // Connections. Join (REQUIRES: not closed) fails when `options` ask for other promises than the ones
  // it keeps; Leave returns true for the last connection, which must then Close or Abandon.
  Status Join(const Options& options);
  bool Leave();
  // The write lock: one connection writes at a time (the seed's WRITER lock). Owners are opaque.
  const void* writer() const { return writer_; }
  void set_writer(const void* owner) { writer_ = owner; }

  // Snapshots for readers.
  ReadView OpenView();
  ReadView CopyView(const ReadView& v);
  void CloseView(ReadView& v);
  // Cursors over a view, newest first (an overlay, if given, before everything).
  Status ViewSources(const ReadView& v, const Tree* overlay, std::vector<std::unique_ptr<RecordCursor>>* out);
  // The value of `key` in `overlay` (if any) over the current committed state, or over `view`.
  Result<std::optional<Bytes>> Get(ByteView key, const Tree* overlay, const ReadView* view);

  // Commits: logs the ops (unless use_log is off) and applies them to the committed tree (a user
  // version to user_version_).
  Status Commit(std::span<const LogOp> ops);
  Status Commit(LogOp::Kind kind, ByteView key, ByteView value);
  // A tree op to `tree`; a user version is not one (ignored).
  static void ApplyTo(Tree* tree, LogOp::Kind kind, ByteView key, ByteView value);
  // A connection's commit is done: autoflush, autowork and autocheckpoint by its options.
  Status AfterCommit(const Options& conn);

  Status Flush();
  Result<uint64_t> Work(const Options& conn, int nmerge, int64_t nkb);
  Status Checkpoint();
  Result<std::string> Check();
  // The last connection leaves: flush, checkpoint, truncate, delete the log (see Db::Close)...
  Status Close();
  // ...or writes nothing more (see ~Db).
  void Abandon();

 private:
  class Allocator;
  struct MergeJob;
  Database(Env* env, std::string path, Options options);

  Status Recover();
  Status LoadFreeList(const std::vector<FreeEntry>& delta);
  Result<std::vector<RunChain>> ValidateSnapshot() const;
  // Whether the log exists and, replayed from the start, holds a committed transaction (reads only).
  Result<bool> LogHoldsCommits();
  Tree& MutableTree();
  Status ApplyCommitted(LogOp::Kind kind, ByteView key, ByteView value);
  // The commit protocol: append (unless use_log is off) and commit the log, then apply; a failed log
  // write rolls the log back and applies nothing.
  template <typename AppendOps, typename ApplyOps>
  Status LogAndApply(AppendOps append, ApplyOps apply);

  // Sources of level `li` of `snap`, newest first (a merging level: its output below the split key,
  // its inputs from it up).
  Status AddLevelSources(const lsm::Checkpoint& snap, size_t li, std::vector<std::unique_ptr<RecordCursor>>* out);
  Status AllLevelSources(const lsm::Checkpoint& snap, std::vector<std::unique_ptr<RecordCursor>>* out);
  // Probes per-level cursors newest first, skipping levels whose filter rules the key out.
  Result<std::optional<Bytes>> ProbeLevels(const lsm::Checkpoint& snap,
                                           std::vector<std::vector<std::unique_ptr<RecordCursor>>>& levels,
                                           ByteView key);
  Result<Record> SplitKey(const Level& level);
  // Blocks freed while the newest synced checkpoint or the oldest reader still needed them wait.
  uint64_t ReuseThreshold() const;

  // Merges until the flush's level fits in the checkpoint (RoomMaker, merge_policy.h), or kFull.
  Status MakeRoomForLevel();
  Status SpillFreelistIfNeeded();
  // Writes one run from `sources` (and the free-list delta if `carry_freelist`) as a new top level.
  Status WriteTopLevel(std::vector<std::unique_ptr<RecordCursor>> sources, uint16_t flags, bool carry_freelist,
                       uint64_t* pages);
  // The merge PlanMerge (merge_policy.h) chose: `count` levels from `first`, or level `li` mid-merge.
  Status StartMerge(size_t first, size_t count);
  Status ResumeMerge(size_t li);
  // Runs the merge in progress for up to `budget` pages; *pages gets what was written.
  Status MergeStep(uint64_t budget, uint64_t* pages);
  Result<uint64_t> DoWork(int nmerge, int64_t page_budget, bool force);
  // Frees the blocks of `removed` runs except blocks a run of the current snapshot starts or ends in.
  Status FreeRuns(const std::vector<Segment>& removed, const std::vector<std::span<const BlockRedirect>>& redirects,
                  bool with_spare);
  void RunFinished(const Segment& seg, uint32_t spare_block);
  uint64_t TakeAppendPoint();
  // Pointers for a run written above level `li` of the current snapshot (none if there is no such level).
  OlderRunPointer PointersInto(size_t li) const;
  void Published(uint64_t pages);
  Status Fail(Status s);
  void CloseFiles();

  std::mutex mutex_;
  Env* env_;
  std::string path_;
  std::string log_path_;
  Options options_;
  Geometry geom_;
  std::unique_ptr<File> db_file_;
  std::unique_ptr<File> log_file_;
  std::unique_ptr<LogWriter> log_;
  lsm::Checkpoint snap_;         // the current snapshot (levels newest first); id = newest published
  std::shared_ptr<const lsm::Checkpoint> published_;  // a copy of snap_ for views, made on demand
  FreeList free_;
  uint64_t synced_id_ = 0;       // id of the newest checkpoint on disk (0: none)
  MetaPage meta_page_ = MetaPage::kNone;  // the meta page holding it
  uint64_t pages_since_checkpoint_ = 0;
  std::unique_ptr<MergeJob> merge_;    // the merge in progress, if this process has been running it
  std::shared_ptr<Tree> tree_ = std::make_shared<Tree>();  // committed data not yet in a level
  uint64_t commit_seq_ = 0;
  uint32_t user_version_ = 0;          // committed; the snapshot's copy moves with its log pointer
  std::multiset<uint64_t> readers_;    // snapshot ids of open views
  int connections_ = 0;
  const void* writer_ = nullptr;
  // Filters of the runs this process wrote, by (first page, last page, size); see run_filter.h.
  std::map<std::tuple<uint64_t, uint64_t, uint64_t>, RunFilter> filters_;
  uint64_t levels_version_ = 0;        // bumped whenever the levels change
  // Get's cursors over each current level, reused while levels_version_ stays the same.
  std::vector<std::vector<std::unique_ptr<RecordCursor>>> get_cursors_;
  uint64_t get_cursors_version_ = ~uint64_t{0};
  Status broken_;                      // set when a write to the db file failed half-way
  bool closed_ = false;
  bool inspect_ = false;               // opened only to be checked (see Open)
  DbStats stats_;
};

}  // namespace lsm
