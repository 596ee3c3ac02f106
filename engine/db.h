// The LSM database: an in-memory tree in front of levels of sorted runs in one database file, a log
// for commits not yet in a run, and checkpoints in the two meta pages. Formats follow SQLite4 LSM's
// uncompressed design so files are interchangeable.
//
// A Db is one connection. Any number of connections in one process may share a database file (they
// share one Database, database.h); another process gets kBusy, unless every process opens it with
// Options::shared_memory. Connections may be used from different
// threads: every call locks the database. Readers see snapshots; one connection writes at a time.
//
// Everything the engine touches goes through an Env; errors are returned, never thrown.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/format/checkpoint.h"
#include "engine/env/env.h"
#include "engine/log/log.h"
#include "engine/cursor/merged_cursor.h"
#include "engine/lsm/tree.h"

namespace lsm {

// Per connection, except what shapes the shared database: the first connection's safety and use_log
// hold for all (a later connection asking for others gets kInvalidArgument), likewise its
// max_freelist and cache_kb, and page and block size for a new file.
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
  // Read the database file through a read-only map where the Env can (PosixEnv), as the reference
  // does by default on 64-bit (LSM_CONFIG_MMAP); writes still go through Write. While mapped, a file
  // truncated by someone else under an open database can kill the process (SIGBUS), as in the
  // reference: turn it off to read only with Read.
  bool mmap = true;
  // Share the database with other processes through the Env's shared memory and locks
  // (engine-reference.md §5, shm/shared_state.h): the committed in-memory tree lives in shared memory,
  // every process reads and writes through it, and roles (writer, worker, checkpointer) pass between
  // processes with their locks. Shapes the shared database: every process opening it must say so (one
  // that does not gets kBusy while others share it, and the other way round).
  bool shared_memory = false;

  // kInvalidArgument naming the first bad option.
  Status Validate() const;
};

// Counters the tests use to prove that a workload reached the interesting paths.
struct DbStats {
  uint64_t commits = 0;
  uint64_t flushes = 0;
  uint64_t merges = 0;                 // merges completed
  uint64_t merges_started = 0;
  uint64_t merges_resumed = 0;         // in-progress merges found at Open and resumed where they stopped
  uint64_t checkpoints_mid_merge = 0;  // checkpoints written while a merge was in progress
  uint64_t room_work_calls = 0;        // forced merges a flush ran to make room for its level
  uint64_t checkpoints = 0;
  uint64_t blocks_allocated = 0;  // extending the file
  uint64_t blocks_reused = 0;     // taken from the free list
  uint64_t blocks_freed = 0;
  uint64_t freelist_overflows = 0;  // free-list entries moved out of the checkpoint into the LSM
  uint64_t log_replayed_commits = 0;
  uint64_t freelist_overflow_loaded = 0;  // free-list entries Open read back from the LSM's system records
};

class Database;
struct ReadView;

// A cursor over a snapshot: the database as it was when the cursor was made (plus, inside a
// transaction, the transaction's own writes up to then). Later writes, by any connection, do not move
// it. It keeps the blocks it reads from being reused, so do not keep idle cursors for long. Once the
// database is closed, every call returns kMisuse.
class Cursor {
 public:
  ~Cursor();
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
  Cursor(std::shared_ptr<Database> db, std::unique_ptr<ReadView> view, std::shared_ptr<const Tree> overlay,
         std::vector<std::unique_ptr<RecordCursor>> sources);
  template <typename F>
  Status Guard(F op) {
    auto lock = Lock();
    LSM_RETURN_IF_ERROR(CheckOpen());
    Status s = op();
    if (!s.ok()) merged_.Invalidate();
    return s;
  }
  std::unique_lock<std::mutex> Lock();
  Status CheckOpen();

  std::shared_ptr<Database> db_;
  std::unique_ptr<ReadView> view_;
  std::shared_ptr<const Tree> overlay_;
  MergedCursor merged_;  // over view_ and overlay_: destroyed first
};

// What Db::CheckFile found.
struct FileCheck {
  std::string problems;           // one line per problem (integrity.h); empty: healthy
  lsm::Checkpoint snapshot;       // the checkpoint recovery chose (its free-list delta applied)
  size_t free_blocks = 0;         // the whole free list
};

class Db {
 public:
  // The structural check (integrity.h) of the existing database file at `path` as it is on disk,
  // writing nothing: no log replay, no checkpoint, no log deleted. It reports the problems for which
  // Open refuses a file (CheckWriteSafety) instead of refusing. kNotFound if there is no such file,
  // kBusy if it is open (in this process or another); the errors of Open for files it cannot read
  // (no valid checkpoint, a broken block chain, a bad free list).
  static Result<FileCheck> CheckFile(Env* env, const std::string& path);

  // Opens (creating if missing) the database at `path`; its log is `path + "-log"`. The first
  // connection in this process recovers: choose the meta page (meta_page.h), check every field of its
  // checkpoint against the file, load the free list, replay the log from the checkpoint's pointer up to
  // the last valid commit. Later connections (same Env, same path string) join the open database.
  // kBusy if another process holds the file (the DMS2 lock); kNotADatabase if the meta pages are neither
  // valid checkpoints nor blank; kCorrupt naming what is wrong.
  static Result<std::unique_ptr<Db>> Open(Env* env, const std::string& path, const Options& options);
  // Destroying a Db without Close abandons its open transaction; destroying the last connection so
  // abandons the database: nothing more is written (like a process that died, except that the Env keeps
  // what was written). Recovery at the next Open sorts it out.
  ~Db();

  // Rolls back any open transaction. The last connection to close also flushes the tree, checkpoints
  // (synced), truncates the file to its blocks and deletes the log; after an earlier write failure it
  // only closes the files. The Db is unusable afterwards.
  Status Close();

  // Transactions nest; a write outside any transaction commits on its own. Reads inside a transaction
  // see the snapshot taken at its outermost Begin, plus its own writes. The first write makes the
  // connection the writer: kBusy while another connection is, or if another connection committed since
  // this transaction began (its snapshot is stale: roll back and retry). Commit of the outermost
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

  // An application's number for its schema (the seed's lsm_set_user_version), 0 in a new database.
  // Setting it is a write like Put, and as durable (logged and checkpointed, unlike the seed's).
  Status SetUserVersion(uint32_t version);
  Result<uint32_t> UserVersion();
  Result<std::unique_ptr<Cursor>> NewCursor();

  // Writes the committed tree to a new top level (no checkpoint). kMisuse inside a transaction.
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

  // The shared database's figures (read them while no other thread uses the database).
  const DbStats& stats() const;
  const lsm::Checkpoint& snapshot() const;
  // The whole free list (checkpoint delta over the LSM part).
  const std::map<uint32_t, int64_t>& free_blocks() const;

 private:
  Db(std::shared_ptr<Database> db, Options options);
  Status Usable() const;
  Status Write(LogOp::Kind kind, ByteView key, ByteView value);
  // Becomes the writer, or kBusy.
  Status ClaimWriter();
  // Ends the outermost transaction: drops the overlay and the snapshot, releases the writer (unless
  // the caller still commits as the writer).
  void EndTransaction(bool release_writer = true);
  Tree& MutableOverlay();
  // Leaves the database; the last connection closes it (`close`) or abandons it.
  Status Leave(bool close);

  std::shared_ptr<Database> db_;
  Options options_;
  // The open transaction: its writes (an overlay over the committed tree: copy-on-write against
  // cursors), the snapshot it reads, undo marks and log ops per nested level.
  std::shared_ptr<Tree> txn_ = std::make_shared<Tree>();
  std::unique_ptr<ReadView> view_;
  std::vector<size_t> marks_;          // txn_ undo mark per open transaction
  std::vector<size_t> op_marks_;       // pending_ size per open transaction
  std::vector<LogOp> pending_;         // ops of the open outermost transaction
  bool closed_ = false;
};

}  // namespace lsm
