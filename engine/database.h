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
#include "engine/shm/shared_state.h"

namespace lsm {

// What a reader sees: the committed tree and the levels as they were when the view was opened.
struct ReadView {
  std::shared_ptr<const Tree> tree;        // null with shared memory: the tree is shm_tree
  shm::ShmTreeState shm_tree;
  std::shared_ptr<const lsm::Checkpoint> snap;  // levels and redirects (the rest is not read)
  uint64_t commit_seq = 0;                 // commits the database had made
  uint32_t user_version = 0;
  std::multiset<uint64_t>::iterator pin;   // in Database::readers_
  std::multiset<uint32_t>::iterator gen_pin;  // in Database::tree_readers_ (shared memory)
  int slot = -1;                           // the reader slot protecting it (shared memory)
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
  bool shared() const { return shared_ != nullptr; }

  // Connections. Join (REQUIRES: not closed) fails when `options` ask for other promises than the ones
  // it keeps; Leave returns true for the last connection, which must then Close or Abandon.
  Status Join(const Options& options);
  bool Leave();
  // The write lock: one connection writes at a time (the seed's WRITER lock; with shared memory also
  // the Env's, so one process at a time). Owners are opaque. Claim fails with kBusy while another
  // connection or process writes, or if the database committed since `since` (a transaction's
  // snapshot's commit count: it is stale).
  const void* writer() const { return writer_; }
  Status ClaimWriter(const void* owner, std::optional<uint64_t> since);
  void ReleaseWriter(const void* owner);

  // Snapshots for readers (kBusy with shared memory when no consistent one can be had).
  Result<ReadView> OpenView();
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
  static Status ApplyTo(shm::ShmTree* tree, LogOp::Kind kind, ByteView key, ByteView value);
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
  // Wraps the db file in the page cache once the geometry is known.
  void UseGeometry();

  // Shared memory (shm/shared_state.h). Connect: under DMS1, the first process recovers from disk and
  // publishes; the others load what is published. Begin/End pairs nest; the outermost takes the Env
  // lock and loads what another process published since, and the outermost End publishes and unlocks.
  Status ConnectShared();
  Status BeginWrite();
  Status EndWrite();
  Status BeginWork(bool checkpointer = false);
  Status EndWork(Status s);
  Status LoadWorker(const shm::WorkerRecord& w, uint32_t version, bool for_work);
  // This process is about to read pages of worker record `version`: unless the page cache already
  // agrees with it (this process wrote it, or saw it before), forget the cache.
  void CacheSees(uint32_t version);
  void LoadTree(const shm::TreeHeader& h, uint32_t version);
  shm::WorkerRecord WorkerNow() const;
  Status PublishTree();
  Result<ReadView> OpenSharedView();
  bool TreeGenReusable(uint32_t gen);
  bool TreeEmpty() const { return shared_ ? shm_tree_->empty() : tree_->empty(); }
  uint64_t TreeBytes() const { return shared_ ? shm_tree_->state().bytes : tree_->bytes(); }
  std::unique_ptr<RecordCursor> TreeCursor(const ReadView& v) const;
  // The last process to leave (the others only let go of their locks).
  Status CloseShared();
  Status LockDms1();
  // Runs `f` holding the roles (shared memory; otherwise just runs it).
  enum Role { kWriterRole = 1, kWorkerRole = 2, kCheckpointerRole = 4 };
  template <typename F>
  Status InRoles(int roles, F f);
  Status FlushTree();
  Status WriteCheckpoint();
  Status LastClose();
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
  // Blocks freed while the newest synced checkpoint or the oldest reader (in any process) still needed
  // them wait.
  uint64_t ReuseThreshold();

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
  bool geometry_known_ = false;  // geom_ is the file's (and the page cache wraps db_file_)
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
  // Shared memory: the header and the tree (the writer's working copy of the published one).
  std::unique_ptr<shm::SharedState> shared_;
  std::unique_ptr<shm::ShmTree> shm_tree_;
  uint32_t tree_version_ = 0;          // publication versions this process last loaded or published
  uint32_t worker_version_ = 0;
  uint32_t own_worker_version_ = 0;    // the last worker record this process published itself
  uint32_t free_version_ = 0;          // the worker record free_ was loaded from
  uint32_t flushed_gen_ = 0;           // tree generations up to this one are in the levels
  int writer_holds_ = 0;               // nested Begin/EndWrite (and a connection's claim)
  int worker_holds_ = 0;
  bool worker_dirty_ = false;          // the worker state changed since it was loaded or published
  bool tree_dirty_ = false;
  std::optional<uint32_t> reader_floor_;  // oldest tree generation a reader holds, while writing
  std::multiset<uint32_t> tree_readers_;  // tree generations of this process's open views
  std::shared_ptr<const lsm::Checkpoint> client_snap_;  // the published levels, for views
  uint32_t client_version_ = 0;
  uint32_t cache_version_ = 0;         // the worker record the page cache is known to agree with
  std::vector<FreeEntry> worker_delta_;  // the free-list delta of the worker record loaded
  LogPosition synced_log_;             // the log pointer of the newest synced checkpoint
  shm::ShmTreeState published_tree_;   // the tree as last published
  Status broken_;                      // set when a write to the db file failed half-way
  bool closed_ = false;
  bool inspect_ = false;               // opened only to be checked (see Open)
  DbStats stats_;
};

}  // namespace lsm
