#include "engine/database.h"

#include <algorithm>
#include <limits>
#include <set>

#include "absl/strings/str_format.h"
#include "engine/cursor/clipped_cursor.h"
#include "engine/integrity.h"
#include "engine/lsm/merge_policy.h"
#include "engine/env/page_cache.h"
#include "engine/lsm/segment.h"
#include "engine/cursor/vector_cursor.h"
#include "engine/weaken.h"

namespace lsm {
namespace {

// DMS2: held shared by every read-write connection in the seed; exclusive here, where one Database
// (shared by this process's connections) owns the file: other processes get kBusy.
constexpr int kConnectionLock = 2;

constexpr uint32_t kMaxBlocks = 0x7FFFFFFF;

// DMS1 is held only while a process connects or disconnects: waiting this long for it means one is stuck.
constexpr int kConnectAttempts = 10000;
constexpr uint64_t kConnectWaitMicros = 100;

// The writer refuses keys out of order as a caller's mistake; coming from a merge of runs read off the
// disk, it means a damaged run.
Status OutOfOrderIsCorrupt(Status s) {
  if (s.code() != Code::kInvalidArgument) return s;
  return Status::Corrupt("merge input is not in key order (a damaged run): " + s.message());
}

// What one source says about a key, newest source first: decided (present or deleted) or not its
// business.
enum class Verdict { kUnknown, kPresent, kDeleted };

Result<Verdict> Probe(RecordCursor& c, ByteView key, Bytes* value) {
  LSM_RETURN_IF_ERROR(c.SeekGe(kTopicUser, key));
  if (!c.Valid()) return Verdict::kUnknown;
  const Record& r = c.record();
  if (CompareKeys(r.topic(), r.key, kTopicUser, key) == 0) {
    if (r.flags & kInsert) {
      *value = r.value;
      return Verdict::kPresent;
    }
    return (r.flags & kPointDelete) ? Verdict::kDeleted : Verdict::kUnknown;
  }
  return (r.flags & kEndDelete) ? Verdict::kDeleted : Verdict::kUnknown;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Blocks

class Database::Allocator : public BlockAllocator {
 public:
  // extend_only: while a run carries the free-list delta, taking a free block would change the delta
  // being written, so such runs only grow the file.
  Allocator(Database* db, bool extend_only) : db_(db), extend_only_(extend_only) {}

  Result<uint32_t> AllocateBlock() override {
    if (!extend_only_) {
      if (auto b = db_->free_.TakeReusable(db_->ReuseThreshold())) {
        ++db_->stats_.blocks_reused;
        return *b;
      }
    }
    if (db_->snap_.nblock >= kMaxBlocks) return Status::Full("database file has the maximum number of blocks");
    ++db_->stats_.blocks_allocated;
    return ++db_->snap_.nblock;
  }

 private:
  Database* db_;
  bool extend_only_;
};

// The merge in progress, while this process runs it: cursors over the inputs, the merger and the writer of
// the output. A merge found in a checkpoint at Open has no job until work resumes it where the checkpoint
// says it stopped, as the reference does: each input from its saved cell, the output continued after its
// last page. It cannot be started over: the reference frees ("gobbles") the input blocks a paused merge
// has consumed, so those records live only in the partial output.
auto RunKey(const Segment& s) { return std::make_tuple(s.first, s.last, s.size); }

struct Database::MergeJob {
  std::vector<Segment> inputs;  // newest first
  RunFilter::Builder filter;
  std::vector<std::vector<BlockRedirect>> input_redirects;
  std::vector<std::unique_ptr<RecordCursor>> sources;
  std::vector<SegmentCursor*> cursors;  // the same objects as `sources`
  std::unique_ptr<RecordMerger> merger;
  std::unique_ptr<Allocator> alloc;
  std::unique_ptr<SegmentWriter> writer;
  std::unique_ptr<OlderRunPointer> pointers;
  uint16_t age = 0;
  bool to_bottom = false;
  bool installed = false;           // the snapshot holds the merging level
  size_t first = 0, count = 0;      // before installation: the levels the merge replaces
  // A merge resumed from a checkpoint: its output so far, the inputs' saved cells and nskip.
  std::optional<Segment> resume_lhs;
  std::vector<MergeCursor> resume_at;
  uint32_t resume_nskip = 0;
  uint64_t emitted = 0;
};

Status Database::FreeRuns(const std::vector<Segment>& removed,
                    const std::vector<std::span<const BlockRedirect>>& redirects, bool with_spare) {
  std::set<uint32_t> keep;
  auto keep_ends = [&](const Segment& s) {
    if (s.first != 0) keep.insert({uint32_t(geom_.BlockOf(s.first)), uint32_t(geom_.BlockOf(s.last))});
  };
  for (const Level& l : snap_.levels) {
    keep_ends(l.lhs);
    for (const Segment& s : l.rhs) keep_ends(s);
  }
  std::set<uint32_t> freed;
  for (size_t i = 0; i < removed.size(); ++i) {
    auto blocks = RunBlocks(db_file_.get(), geom_, snap_.nblock, removed[i], redirects[i], with_spare);
    if (!blocks.ok()) return blocks.status();
    for (uint32_t b : *blocks) {
      if (!keep.count(b)) freed.insert(b);
    }
  }
  for (uint32_t b : freed) {
    free_.Free(b, int64_t(snap_.id));
    ++stats_.blocks_freed;
  }
  for (uint64_t& ap : snap_.append) {
    if (ap != 0 && freed.count(uint32_t(geom_.BlockOf(ap)))) ap = 0;
  }
  return Status::Ok();
}

void Database::RunFinished(const Segment& seg, uint32_t spare_block) {
  if (spare_block != 0) {
    free_.Free(spare_block, 0);  // never part of a published snapshot: reusable at once
    return;
  }
  if (seg.first == 0 || geom_.IsLastOnBlock(seg.last)) return;
  for (uint64_t& ap : snap_.append) {
    if (ap == 0) {
      ap = seg.last + 1;
      return;
    }
  }
}

OlderRunPointer Database::PointersInto(size_t li) const {
  // A level mid-merge has no single next-older run; a redirected one is read through logical page numbers.
  if (li >= snap_.levels.size() || !snap_.levels[li].rhs.empty() || !RedirectsFor(snap_, li, -1).empty()) {
    return OlderRunPointer(db_file_.get(), geom_, Segment{});
  }
  return OlderRunPointer(db_file_.get(), geom_, snap_.levels[li].lhs);
}

uint64_t Database::TakeAppendPoint() {
  for (uint64_t& ap : snap_.append) {
    if (ap != 0) {
      uint64_t page = ap;
      ap = 0;
      return page;
    }
  }
  return 0;
}

void Database::Published(uint64_t pages) {
  worker_dirty_ = true;
  ++snap_.id;
  ++levels_version_;
  published_.reset();
  snap_.nwrite += uint32_t(pages);
  pages_since_checkpoint_ += pages;
}

Status Database::Fail(Status s) {
  if (!s.ok() && broken_.ok()) broken_ = s;
  return s;
}

Status Database::Usable() const {
  if (closed_) return Status::Misuse("database is closed");
  if (!broken_.ok()) {
    return Status(broken_.code(), "database unusable after an earlier write failure (reopen to recover): " +
                                      broken_.message());
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------------
// Open and recovery

Database::Database(Env* env, std::string path, Options options)
    : env_(env), path_(std::move(path)), log_path_(path_ + "-log"), options_(options) {}

Database::~Database() = default;

Result<std::shared_ptr<Database>> Database::Open(Env* env, const std::string& path, const Options& options,
                                                 bool inspect) {
  std::shared_ptr<Database> db(new Database(env, path, options));
  db->inspect_ = inspect;
  auto file = env->Open(path, OpenMode::kReadWriteCreate);
  if (!file.ok()) return file.status();
  db->db_file_ = std::move(file).value();
  if (options.shared_memory && !inspect) {
    LSM_RETURN_IF_ERROR(db->ConnectShared());
  } else {
    Status lock = db->db_file_->Lock(kConnectionLock, LockMode::kExclusive);
    if (lock.code() == Code::kBusy) return Status::Busy(path + ": database is open in another process");
    LSM_RETURN_IF_ERROR(lock);
    LSM_RETURN_IF_ERROR(db->Recover());
  }
  db->connections_ = 1;
  return db;
}

// ---------------------------------------------------------------------------------------------------
// Shared memory

Status Database::LockDms1() {
  for (int i = 0; i < kConnectAttempts; ++i) {
    Status s = db_file_->Lock(shm::kDms1Lock, LockMode::kExclusive);
    if (s.code() != Code::kBusy) return s;
    env_->Yield();
    env_->SleepMicros(kConnectWaitMicros);
  }
  return Status::Busy(absl::StrFormat("%s: another process has been connecting or disconnecting for %d attempts (DMS1)",
                                      path_, kConnectAttempts));
}

Status Database::ConnectShared() {
  shared_ = std::make_unique<shm::SharedState>(db_file_.get());  // the raw handle, under any cache
  LSM_RETURN_IF_ERROR(LockDms1());
  Status s = [&]() -> Status {
    // DMS2 is held shared by every connected process; a non-sharing one holds it exclusive.
    auto others = db_file_->TestLock(shm::kDms2Lock, 1, LockMode::kExclusive);
    if (!others.ok()) return others.status();
    LSM_RETURN_IF_ERROR(shared_->Attach());
    auto reusable = [this](uint32_t gen) { return TreeGenReusable(gen); };
    if (!*others || !shared_->Initialized()) {
      // Nobody else is connected (or everybody died, or the first one failed): shared memory is
      // rebuilt from the files.
      shared_->Clear();
      shm_tree_ = std::make_unique<shm::ShmTree>(&shared_->chunks(), shm::ShmTreeState{}, reusable);
      LSM_RETURN_IF_ERROR(Recover());
      worker_dirty_ = true;
      ++worker_holds_;
      LSM_RETURN_IF_ERROR(EndWork(Status::Ok()));
      return PublishTree();
    }
    auto w = shared_->ReadWorker();
    if (!w.ok()) return w.status();
    LSM_RETURN_IF_ERROR(LoadWorker(w->first, w->second, true));
    auto log = env_->Open(log_path_, OpenMode::kReadWriteCreate);
    if (!log.ok()) return log.status();
    log_file_ = std::move(log).value();
    auto h = shared_->ReadTree();
    if (!h.ok()) return h.status();
    shm_tree_ = std::make_unique<shm::ShmTree>(&shared_->chunks(), h->first.tree, reusable);
    LoadTree(h->first, h->second);
    return Status::Ok();
  }();
  if (s.ok()) {
    s = db_file_->Lock(shm::kDms2Lock, LockMode::kShared);
    if (s.code() == Code::kBusy) s = Status::Busy(path_ + ": database is open in a process that does not share it");
  }
  (void)db_file_->Lock(shm::kDms1Lock, LockMode::kUnlocked);
  return s;
}

void Database::CacheSees(uint32_t version) {
  if (version != own_worker_version_ && version != cache_version_) {
    // Another process's worker may have reused blocks this process has cached.
    if (auto* cache = dynamic_cast<CachedFile*>(db_file_.get())) cache->Invalidate();
  }
  cache_version_ = version;
}

Status Database::LoadWorker(const shm::WorkerRecord& w, uint32_t version, bool for_work) {
  if (version != worker_version_ || !geometry_known_) {
    // Another process's work: its merge state, its pages and its free list replace ours.
    if (version != own_worker_version_ || !geometry_known_) merge_.reset();
    CacheSees(version);
    snap_ = w.snap;
    worker_delta_ = std::move(snap_.freelist);
    snap_.freelist.clear();
    synced_id_ = w.synced_id;
    meta_page_ = w.meta_page;
    pages_since_checkpoint_ = w.pages_since_checkpoint;
    flushed_gen_ = w.flushed_gen;
    synced_log_ = w.synced_log;
    if (!geometry_known_) UseGeometry();
    ++levels_version_;
    published_.reset();
    worker_version_ = version;
  }
  if (for_work && free_version_ != version) {
    LSM_RETURN_IF_ERROR(LoadFreeList(worker_delta_));
    free_version_ = version;
  }
  return Status::Ok();
}

void Database::LoadTree(const shm::TreeHeader& h, uint32_t version) {
  if (version == tree_version_) return;
  shm_tree_->Reset(h.tree);
  published_tree_ = h.tree;
  commit_seq_ = h.commit_seq;
  user_version_ = h.user_version;
  LogRecovery rec = LogRecovery::Empty(h.log_end);
  rec.regions = h.regions;
  log_ = std::make_unique<LogWriter>(log_file_.get(), rec, options_.safety);
  tree_version_ = version;
}

shm::WorkerRecord Database::WorkerNow() const {
  shm::WorkerRecord w;
  w.snap = snap_;
  w.snap.freelist = free_.Delta();
  w.synced_id = synced_id_;
  w.meta_page = meta_page_;
  w.synced_log = synced_log_;
  w.pages_since_checkpoint = pages_since_checkpoint_;
  w.flushed_gen = flushed_gen_;
  return w;
}

Status Database::PublishTree() {
  shm_tree_->Published();
  shm::TreeHeader h;
  h.tree = shm_tree_->state();
  h.commit_seq = commit_seq_;
  h.user_version = user_version_;
  h.log_end = log_->position();
  h.regions = log_->regions();
  auto v = shared_->PublishTree(h);
  if (!v.ok()) return v.status();
  tree_version_ = *v;
  published_tree_ = h.tree;
  tree_dirty_ = false;
  return Status::Ok();
}

Status Database::BeginWrite() {
  if (writer_holds_++ > 0) return Status::Ok();
  Status s = [&]() -> Status {
    Status lock = db_file_->Lock(shm::kWriterLock, LockMode::kExclusive);
    if (lock.code() == Code::kBusy) return Status::Busy(path_ + ": another process is writing");
    LSM_RETURN_IF_ERROR(lock);
    // A writer that died between the header's two copies left them different.
    if (!LSM_WEAKENED(kNoRepairAfterDeadPeer)) LSM_RETURN_IF_ERROR(shared_->RepairTree());
    auto h = shared_->ReadTree();
    if (!h.ok()) return h.status();
    LoadTree(h->first, h->second);
    if (worker_holds_ == 0) {
      auto w = shared_->ReadWorker();
      if (!w.ok()) return w.status();
      LSM_RETURN_IF_ERROR(LoadWorker(w->first, w->second, false));
    }
    // The log before the newest synced checkpoint is free, whoever synced it.
    if (synced_id_ != 0) log_->CheckpointSynced(synced_log_);
    reader_floor_.reset();
    return Status::Ok();
  }();
  if (!s.ok()) {
    --writer_holds_;
    (void)db_file_->Lock(shm::kWriterLock, LockMode::kUnlocked);
  }
  return s;
}

Status Database::EndWrite() {
  if (--writer_holds_ > 0) return Status::Ok();
  Status s = tree_dirty_ && broken_.ok() ? PublishTree() : Status::Ok();
  (void)db_file_->Lock(shm::kWriterLock, LockMode::kUnlocked);
  return s;
}

Status Database::BeginWork(bool checkpointer) {
  if (worker_holds_++ > 0) return Status::Ok();
  Status s = [&]() -> Status {
    Status lock = db_file_->Lock(shm::kWorkerLock, LockMode::kExclusive);
    if (lock.code() == Code::kBusy) return Status::Busy(path_ + ": another process is flushing or merging");
    LSM_RETURN_IF_ERROR(lock);
    if (checkpointer) {
      lock = db_file_->Lock(shm::kCheckpointerLock, LockMode::kExclusive);
      if (lock.code() == Code::kBusy) return Status::Busy(path_ + ": another process is checkpointing");
      LSM_RETURN_IF_ERROR(lock);
    }
    // A worker that died between the record's two copies left them different.
    if (!LSM_WEAKENED(kNoRepairAfterDeadPeer)) LSM_RETURN_IF_ERROR(shared_->RepairWorker());
    auto w = shared_->ReadWorker();
    if (!w.ok()) return w.status();
    return LoadWorker(w->first, w->second, true);
  }();
  if (!s.ok()) {
    --worker_holds_;
    (void)db_file_->Lock(shm::kCheckpointerLock, LockMode::kUnlocked);
    (void)db_file_->Lock(shm::kWorkerLock, LockMode::kUnlocked);
  }
  return s;
}

Status Database::EndWork(Status s) {
  if (--worker_holds_ > 0) return s;
  // Work that failed half-way is not published: the others go on from the last record.
  if (worker_dirty_ && broken_.ok()) {
    auto v = shared_->PublishWorker(WorkerNow());
    if (!v.ok() && s.ok()) s = v.status();
    if (v.ok()) {
      worker_version_ = own_worker_version_ = free_version_ = *v;
      worker_delta_ = free_.Delta();
      worker_dirty_ = false;
    }
  }
  (void)db_file_->Lock(shm::kCheckpointerLock, LockMode::kUnlocked);
  (void)db_file_->Lock(shm::kWorkerLock, LockMode::kUnlocked);
  return s;
}

template <typename F>
Status Database::InRoles(int roles, F f) {
  if (!shared_) return f();
  if (roles & kWriterRole) LSM_RETURN_IF_ERROR(BeginWrite());
  Status s = (roles & kWorkerRole) ? BeginWork(roles & kCheckpointerRole) : Status::Ok();
  if (s.ok()) {
    s = f();
    if (roles & kWorkerRole) s = EndWork(s);
  }
  if (roles & kWriterRole) {
    Status e = EndWrite();
    if (s.ok()) s = e;
  }
  return s;
}

Status Database::ClaimWriter(const void* owner, std::optional<uint64_t> since) {
  if (writer_ == owner) return Status::Ok();
  if (writer_ != nullptr) return Status::Busy(path_ + ": another connection is writing");
  if (shared_) LSM_RETURN_IF_ERROR(BeginWrite());
  if (since && *since != commit_seq_) {
    if (shared_) (void)EndWrite();
    return Status::Busy(path_ + ": another connection committed since this transaction began (roll back and retry)");
  }
  writer_ = owner;
  return Status::Ok();
}

void Database::ReleaseWriter(const void* owner) {
  if (writer_ != owner) return;
  writer_ = nullptr;
  if (shared_) (void)EndWrite();  // commits were published as they were made
}

bool Database::TreeGenReusable(uint32_t gen) {
  if (!reader_floor_) {
    // A new reader may start on the published tree until the next header replaces it: a new
    // generation (a flush) claims none of its chunks before then.
    uint32_t floor = published_tree_.gen;
    if (!tree_readers_.empty()) floor = std::min(floor, *tree_readers_.begin());
    auto others = shared_->OldestReader();
    if (!others.ok()) {
      floor = 0;  // cannot tell: reuse nothing
    } else if (*others) {
      floor = std::min(floor, (*others)->gen);
    }
    reader_floor_ = floor;
  }
  return gen < *reader_floor_;
}

std::unique_ptr<RecordCursor> Database::TreeCursor(const ReadView& v) const {
  if (v.tree) return v.tree->NewCursor();
  return shm::ShmTree::NewCursor(&shared_->chunks(), v.shm_tree);
}

Result<ReadView> Database::OpenSharedView() {
  Status last;
  for (int attempt = 0; attempt < shm::kReadAttempts; ++attempt) {
    if (attempt > 0) {
      db_file_->ShmBarrier();
      env_->Yield();
    }
    auto h = shared_->ReadTree();
    if (!h.ok()) {
      last = h.status();
      continue;
    }
    // The header before the levels it goes with: a flush publishes the levels first.
    db_file_->ShmBarrier();
    auto w = shared_->ReadWorker();
    if (!w.ok()) {
      last = w.status();
      continue;
    }
    if (uint64_t{w->first.flushed_gen} + 1 < h->first.tree.gen) {
      last = Status::Busy(absl::StrFormat("tree generation %u is newer than the levels (which hold up to %u)",
                                          h->first.tree.gen, w->first.flushed_gen));
      continue;
    }
    const shm::ReaderMark mark{h->first.tree.gen, w->first.snap.id};
    auto slot = shared_->TakeReaderSlot(mark);
    if (!slot.ok()) {
      if (slot.status().code() != Code::kBusy) return slot.status();
      last = slot.status();
      continue;
    }
    // Re-validate: what the slot protects must still be what is published.
    auto h2 = LSM_WEAKENED(kNoReaderRevalidation) ? h : shared_->ReadTree();
    auto w2 = LSM_WEAKENED(kNoReaderRevalidation) ? w : shared_->ReadWorker();
    if (!h2.ok() || !w2.ok() || h2->second != h->second || w2->second != w->second) {
      shared_->ReleaseReaderSlot(*slot);
      last = Status::Busy("the published state changed while a reader slot was taken");
      continue;
    }
    Status mapped = shared_->chunks().MapBelow(h->first.tree.nchunks);
    if (!mapped.ok()) {
      shared_->ReleaseReaderSlot(*slot);
      return mapped;
    }
    if (client_version_ != w->second || !client_snap_) {
      CacheSees(w->second);
      auto snap = std::make_shared<lsm::Checkpoint>(std::move(w->first.snap));
      snap->freelist.clear();
      client_snap_ = std::move(snap);
      client_version_ = w->second;
    }
    ReadView v;
    v.shm_tree = h->first.tree;
    v.snap = client_snap_;
    v.commit_seq = h->first.commit_seq;
    v.user_version = h->first.user_version;
    v.pin = readers_.insert(client_snap_->id);
    v.gen_pin = tree_readers_.insert(h->first.tree.gen);
    v.slot = *slot;
    return v;
  }
  return Status::Busy(absl::StrFormat("%s: no consistent snapshot in shared memory after %d attempts: %s", path_,
                                      shm::kReadAttempts, last.message()));
}

Status Database::CloseShared() {
  Status s = LockDms1();
  if (s.ok()) {
    auto others = db_file_->TestLock(shm::kDms2Lock, 1, LockMode::kExclusive);
    if (!others.ok()) {
      s = others.status();
    } else if (!*others) {
      // The last process to leave flushes, checkpoints and cleans up, then deletes shared memory.
      s = LastClose();
      if (s.ok()) s = db_file_->ShmUnmap(true);
    }
  }
  shared_->chunks().Forget();
  CloseFiles();  // and with the handle go its locks
  return s;
}

Status Database::Join(const Options& options) {
  if (options.safety != options_.safety || options.use_log != options_.use_log) {
    // Weaker or stronger promises than the shared log keeps would be silently broken.
    return Status::InvalidArgument(absl::StrFormat(
        "%s: open with safety %s and use_log %d, but its first connection set safety %s and use_log %d", path_,
        SafetyName(options.safety), options.use_log, SafetyName(options_.safety), options_.use_log));
  }
  ++connections_;
  return Status::Ok();
}

bool Database::Leave() { return --connections_ == 0; }

Result<bool> Database::LogHoldsCommits() {
  auto exists = env_->Exists(log_path_);
  if (!exists.ok() || !*exists) return exists;
  auto log = env_->Open(log_path_, OpenMode::kReadOnly);
  if (!log.ok()) return log.status();
  const auto empty = lsm::Checkpoint::Empty(options_.page_size, options_.block_size);
  auto scan = RecoverLog(log->get(), LogPositionOf(empty.log), [](const LogOp&) { return Status::Ok(); });
  if (!scan.ok()) return scan.status();
  return scan->commits > 0;
}

Status Database::Recover() {
  Bytes meta(2 * kMetaPageSize);
  LSM_RETURN_IF_ERROR(db_file_->Read(0, meta));
  MetaPageChoice choice =
      ChooseMetaPage(ByteView(meta).first(kMetaPageSize), ByteView(meta).subspan(kMetaPageSize));
  if (choice.checkpoint) {
    snap_ = std::move(*choice.checkpoint);
    meta_page_ = choice.page;
    synced_id_ = snap_.id;
    if (snap_.cmpid != kCompressionNone && snap_.cmpid != kCompressionEmpty) {
      return Status::Corrupt(absl::StrFormat("%s: compressed database (compression id %u) is not supported", path_,
                                             snap_.cmpid));
    }
  } else {
    // Blank meta pages: a new database, or one whose first checkpoint never reached the disk (its
    // commits are in the log). A first checkpoint torn by a crash (env.h lets a torn sector hold
    // garbage) leaves its commits in the log too: the reference recovers such a file from the log, and
    // so do we when the log exists and either the other meta page is blank (it was never written: the
    // first checkpoint's own tear) or the log holds a commit (a later tear of the other page). Anything
    // else is not ours: refuse rather than overwrite it.
    auto blank = [](ByteView page) { return std::all_of(page.begin(), page.end(), [](uint8_t b) { return b == 0; }); };
    if (!blank(meta)) {
      const bool one_blank = blank(ByteView(meta).first(kMetaPageSize)) || blank(ByteView(meta).subspan(kMetaPageSize));
      auto torn_first = one_blank ? env_->Exists(log_path_) : LogHoldsCommits();
      if (!torn_first.ok()) return torn_first.status();
      if (!*torn_first) {
        return Status::NotADatabase(absl::StrFormat("%s: neither meta page holds a valid checkpoint (page 1: %s; page 2: %s)",
                                                    path_, choice.page1_error.ToString(),
                                                    choice.page2_error.ToString()));
      }
    }
    snap_ = Checkpoint::Empty(options_.page_size, options_.block_size);
  }
  UseGeometry();
  user_version_ = snap_.user_version;
  auto chains = ValidateSnapshot();
  if (!chains.ok()) return chains.status();
  LSM_RETURN_IF_ERROR(LoadFreeList(snap_.freelist));
  snap_.freelist.clear();  // the free list lives in free_ from here on
  // A write trusts the append points, the block ownership and the id: refuse a file where it would
  // destroy data instead (an inspection leaves that to Check, and never writes).
  const std::vector<std::string> unsafe = CheckWriteSafety(snap_, *chains, free_.entries());
  if (inspect_) return Status::Ok();
  if (!unsafe.empty()) {
    std::string all;
    for (const std::string& p : unsafe) all += (all.empty() ? "" : "; ") + p;
    return Status::Corrupt(absl::StrFormat("%s: a write would destroy data (%s)", path_, all));
  }

  // The checkpoint just read may not be durable: a process that crashed, or a close whose Sync failed,
  // can leave a meta page written but not synced, and this connection is about to reuse the log space
  // that checkpoint frees. Make what recovery relies on durable first (env.h: a Sync covers every
  // earlier write of the file, whichever process issued it). Found by the fault catalogue's io-error
  // family: a later power loss took the checkpoint and the log records it had freed.
  if (options_.safety != Safety::kOff && !LSM_WEAKENED(kRecoverySkipsSync)) LSM_RETURN_IF_ERROR(db_file_->Sync());

  auto log = env_->Open(log_path_, OpenMode::kReadWriteCreate);
  if (!log.ok()) return log.status();
  log_file_ = std::move(log).value();
  auto rec = RecoverLog(log_file_.get(), LogPositionOf(snap_.log), [&](const LogOp& op) {
    return ApplyCommitted(op.kind, op.key, op.value);
  });
  if (!rec.ok()) return rec.status();
  // A log deleted at close and recreated: replay started over at offset 0 (the checkpoint on disk
  // keeps its stale pointer; recovery will restart at 0 again until the next checkpoint).
  if (rec->restarted_at_zero) snap_.log.offset &= 1;
  log_ = std::make_unique<LogWriter>(log_file_.get(), *rec, options_.safety);
  stats_.log_replayed_commits = rec->commits;
  return Status::Ok();
}

void Database::UseGeometry() {
  geometry_known_ = true;
  geom_ = Geometry{snap_.pgsz, snap_.blksz};
  if (options_.cache_kb > 0) {
    db_file_ = std::make_unique<CachedFile>(std::move(db_file_), geom_.pgsz, size_t{options_.cache_kb} * 1024,
                                            options_.mmap);
  }
}

// The decoder checked every field against the checkpoint's own geometry; here every run's block chain is
// walked through the file (readable, inside nblock, no loops). The chains go on to CheckWriteSafety.
Result<std::vector<RunChain>> Database::ValidateSnapshot() const {
  if (geom_.PagesPerBlock() < 2) {
    return Status::Corrupt(absl::StrFormat("%s: block size %u holds fewer than 2 pages of %u bytes", path_,
                                           geom_.blksz, geom_.pgsz));
  }
  auto chains = WalkRunChains(db_file_.get(), snap_);
  if (!chains.ok()) return chains.status();
  for (const RunChain& chain : *chains) {
    if (!chain.blocks.ok()) {
      return Status(chain.blocks.status().code(), absl::StrFormat("%s: %s: %s", path_, SegmentName(chain.level, chain.rhs),
                                                                  chain.blocks.status().message()));
    }
  }
  return chains;
}

Status Database::LoadFreeList(const std::vector<FreeEntry>& delta) {
  std::vector<std::unique_ptr<RecordCursor>> sources;
  LSM_RETURN_IF_ERROR(AllLevelSources(snap_, &sources));
  MergedCursor c(std::move(sources), kTopicSystem);
  std::map<uint32_t, int64_t> in_lsm;
  LSM_RETURN_IF_ERROR(c.First());
  for (; c.Valid(); ) {
    auto block = FreeListBlock(c.key());
    if (!block || c.value().size() != 8) {
      return Status::Corrupt(absl::StrFormat("%s: system record (key %s, %u-byte value) is not a free-list entry",
                                             path_, ToHex(c.key()), c.value().size()));
    }
    const int64_t id = int64_t(LoadBe64(c.value().data()));
    if (*block < 1 || *block > snap_.nblock || id < 0 || uint64_t(id) >= snap_.id) {
      return Status::Corrupt(absl::StrFormat("%s: free-list record names block %u with id %d (file has %u blocks, "
                                             "checkpoint id %u)",
                                             path_, *block, id, snap_.nblock, snap_.id));
    }
    in_lsm[*block] = id;
    LSM_RETURN_IF_ERROR(c.Next());
  }
  stats_.freelist_overflow_loaded = in_lsm.size();
  Status s = free_.Load(std::move(in_lsm), delta);
  if (!s.ok()) return Status::Corrupt(path_ + ": " + s.message());
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------------
// Reading

Result<Record> Database::SplitKey(const Level& level) {
  return ReadRecordAt(db_file_.get(), geom_, level.merge.splitkey.page, level.merge.splitkey.cell);
}

Status Database::AddLevelSources(const lsm::Checkpoint& snap, size_t li,
                                 std::vector<std::unique_ptr<RecordCursor>>* out) {
  const Level& level = snap.levels[li];
  auto segment = [&](const Segment& seg, int ri) {
    return std::make_unique<SegmentCursor>(db_file_.get(), geom_, seg, RedirectsFor(snap, li, ri));
  };
  if (level.rhs.empty()) {
    out->push_back(segment(level.lhs, -1));
    return Status::Ok();
  }
  auto split = SplitKey(level);
  if (!split.ok()) {
    return Status(split.status().code(), absl::StrFormat("level %u split key: %s", li, split.status().message()));
  }
  out->push_back(std::make_unique<ClippedCursor>(segment(level.lhs, -1), *split, ClippedCursor::Side::kBelow));
  for (size_t ri = 0; ri < level.rhs.size(); ++ri) {
    out->push_back(std::make_unique<ClippedCursor>(segment(level.rhs[ri], int(ri)), *split,
                                                   ClippedCursor::Side::kAtOrAbove));
  }
  return Status::Ok();
}

Status Database::AllLevelSources(const lsm::Checkpoint& snap, std::vector<std::unique_ptr<RecordCursor>>* out) {
  for (size_t li = 0; li < snap.levels.size(); ++li) LSM_RETURN_IF_ERROR(AddLevelSources(snap, li, out));
  return Status::Ok();
}

Result<ReadView> Database::OpenView() {
  if (shared_) return OpenSharedView();
  if (!published_) published_ = std::make_shared<const lsm::Checkpoint>(snap_);
  ReadView v;
  v.tree = tree_;
  v.snap = published_;
  v.commit_seq = commit_seq_;
  v.user_version = user_version_;
  v.pin = readers_.insert(published_->id);
  return v;
}

ReadView Database::CopyView(const ReadView& v) {
  ReadView copy = v;
  copy.pin = readers_.insert(v.snap->id);
  if (v.slot >= 0) {
    copy.gen_pin = tree_readers_.insert(v.shm_tree.gen);
    shared_->AddReaderRef(v.slot);
  }
  return copy;
}

void Database::CloseView(ReadView& v) {
  if (!v.snap) return;
  readers_.erase(v.pin);
  if (v.slot >= 0) {
    tree_readers_.erase(v.gen_pin);
    shared_->ReleaseReaderSlot(v.slot);
  }
  v = ReadView{};
}

uint64_t Database::ReuseThreshold() {
  uint64_t t = readers_.empty() ? synced_id_ : std::min(synced_id_, *readers_.begin());
  if (shared_) {
    auto others = shared_->OldestReader();
    if (!others.ok()) return 0;  // cannot tell: reuse only what no snapshot ever used
    if (*others) t = std::min(t, (*others)->snap_id);
  }
  return t;
}

Status Database::ViewSources(const ReadView& v, const Tree* overlay,
                             std::vector<std::unique_ptr<RecordCursor>>* out) {
  if (overlay) out->push_back(overlay->NewCursor());
  out->push_back(TreeCursor(v));
  return AllLevelSources(*v.snap, out);
}

Result<std::optional<Bytes>> Database::ProbeLevels(const lsm::Checkpoint& snap,
                                                   std::vector<std::vector<std::unique_ptr<RecordCursor>>>& levels,
                                                   ByteView key) {
  const uint64_t hash = RunFilter::HashKey(key);
  Bytes value;
  for (size_t li = 0; li < levels.size(); ++li) {
    const Level& level = snap.levels[li];
    if (level.rhs.empty()) {
      // A run's filter outlives it only while no view holds it, and a view keeps its blocks from
      // reuse, so a filter found by the run's pages is the run's own.
      auto f = filters_.find(RunKey(level.lhs));
      if (f != filters_.end() && !f->second.MayDecide(key, hash)) continue;
    }
    for (auto& c : levels[li]) {
      auto v = Probe(*c, key, &value);
      if (!v.ok()) return v.status();
      if (*v == Verdict::kPresent) return std::optional<Bytes>(std::move(value));
      if (*v == Verdict::kDeleted) return std::optional<Bytes>();
    }
  }
  return std::optional<Bytes>();
}

Result<std::optional<Bytes>> Database::Get(ByteView key, const Tree* overlay, const ReadView* view) {
  if (shared_ && !view) {
    // The current state is what shared memory says now: a snapshot of it.
    auto now = OpenView();
    if (!now.ok()) return now.status();
    auto got = Get(key, overlay, &*now);
    CloseView(*now);
    return got;
  }
  Bytes value;
  for (int source = 0; source < 2; ++source) {
    if (source == 0 && !overlay) continue;
    auto c = source == 0 ? overlay->NewCursor() : view ? TreeCursor(*view) : tree_->NewCursor();
    auto v = Probe(*c, key, &value);
    if (!v.ok()) return v.status();
    if (*v == Verdict::kPresent) return std::optional<Bytes>(std::move(value));
    if (*v == Verdict::kDeleted) return std::optional<Bytes>();
  }
  if (view) {
    // An older snapshot than the current one: cursors of its own.
    std::vector<std::vector<std::unique_ptr<RecordCursor>>> levels(view->snap->levels.size());
    for (size_t li = 0; li < levels.size(); ++li) LSM_RETURN_IF_ERROR(AddLevelSources(*view->snap, li, &levels[li]));
    return ProbeLevels(*view->snap, levels, key);
  }
  if (get_cursors_version_ != levels_version_) {
    get_cursors_.clear();
    for (size_t li = 0; li < snap_.levels.size(); ++li) {
      get_cursors_.emplace_back();
      LSM_RETURN_IF_ERROR(AddLevelSources(snap_, li, &get_cursors_.back()));
    }
    get_cursors_version_ = levels_version_;
  }
  return ProbeLevels(snap_, get_cursors_, key);
}

Result<std::string> Database::Check() {
  std::string problems;
  Status s = InRoles(kWorkerRole, [&]() -> Status {
    auto p = CheckIntegrity(db_file_.get(), snap_, free_.entries());
    if (!p.ok()) return p.status();
    problems = std::move(p).value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Commits

Tree& Database::MutableTree() {
  if (tree_.use_count() > 1) tree_ = std::make_shared<Tree>(*tree_);  // a view holds the old one
  return *tree_;
}

template <typename AppendOps, typename ApplyOps>
Status Database::LogAndApply(AppendOps append, ApplyOps apply) {
  if (options_.use_log) {
    Status s = append();
    if (s.ok()) s = log_->Commit().status();
    if (!s.ok()) {
      log_->Rollback();
      return s;
    }
  }
  Status applied = apply();
  if (!applied.ok()) {
    // Logged but not applied (shared memory ran out): only a reopen, replaying the log, sorts it out.
    // The others go on from the published tree, and the next writer overwrites the record.
    if (shared_) shm_tree_->Reset(published_tree_);
    return Fail(applied);
  }
  ++commit_seq_;
  ++stats_.commits;
  if (shared_) return PublishTree();
  return Status::Ok();
}

Status Database::Commit(std::span<const LogOp> ops) {
  if (ops.empty()) return Status::Ok();
  return LogAndApply(
      [&] {
        for (const LogOp& op : ops) LSM_RETURN_IF_ERROR(log_->Append(op));
        return Status::Ok();
      },
      [&] {
        for (const LogOp& op : ops) LSM_RETURN_IF_ERROR(ApplyCommitted(op.kind, op.key, op.value));
        return Status::Ok();
      });
}

Status Database::Commit(LogOp::Kind kind, ByteView key, ByteView value) {
  // A write on its own: logged straight from the caller's bytes, without a LogOp copy.
  return LogAndApply([&] { return log_->Append(kind, key, value); },
                     [&] { return ApplyCommitted(kind, key, value); });
}

Status Database::AfterCommit(const Options& conn) {
  // With shared memory, another process busy writing or working does it later instead.
  auto busy_is_fine = [&](Status s) { return shared_ && s.code() == Code::kBusy ? Status::Ok() : s; };
  if (TreeBytes() >= uint64_t{conn.autoflush_kb} * 1024) {
    LSM_RETURN_IF_ERROR(busy_is_fine(InRoles(kWriterRole | kWorkerRole, [&]() -> Status {
      const uint64_t before = pages_since_checkpoint_;
      LSM_RETURN_IF_ERROR(FlushTree());
      if (conn.autowork) {
        const uint64_t flushed = pages_since_checkpoint_ - before;
        const int64_t budget = int64_t(std::max<uint64_t>(flushed, 1) * (snap_.levels.size() + 1));
        auto w = DoWork(int(conn.automerge), budget, false);
        if (!w.ok()) return w.status();
      }
      return Status::Ok();
    })));
  }
  if (conn.autocheckpoint_kb > 0 && pages_since_checkpoint_ * geom_.pgsz >= uint64_t{conn.autocheckpoint_kb} * 1024) {
    LSM_RETURN_IF_ERROR(busy_is_fine(Checkpoint()));
  }
  return Status::Ok();
}

Status Database::ApplyCommitted(LogOp::Kind kind, ByteView key, ByteView value) {
  if (kind != LogOp::kUserVersion) {
    if (shared_) {
      tree_dirty_ = true;
      return ApplyTo(shm_tree_.get(), kind, key, value);
    }
    ApplyTo(&MutableTree(), kind, key, value);
    return Status::Ok();
  }
  // Only a foreign writer makes this (the commit's checksum matched).
  if (!key.empty() || value.size() != 4) {
    return Status::Corrupt(absl::StrFormat("%s: user-version log record with a %u-byte key and a %u-byte value",
                                           log_path_, key.size(), value.size()));
  }
  user_version_ = LoadBe32(value.data());
  return Status::Ok();
}

void Database::ApplyTo(Tree* tree, LogOp::Kind kind, ByteView key, ByteView value) {
  switch (kind) {
    case LogOp::kPut:
      tree->Put(kTopicUser, key, value);
      break;
    case LogOp::kDelete:
      tree->Erase(kTopicUser, key);
      break;
    case LogOp::kDeleteRange:
      tree->EraseRange(key, value);
      break;
    case LogOp::kUserVersion:
      break;
  }
}

Status Database::ApplyTo(shm::ShmTree* tree, LogOp::Kind kind, ByteView key, ByteView value) {
  switch (kind) {
    case LogOp::kPut:
      return tree->Put(kTopicUser, key, value);
    case LogOp::kDelete:
      return tree->Erase(kTopicUser, key);
    case LogOp::kDeleteRange:
      return tree->EraseRange(key, value);
    case LogOp::kUserVersion:
      break;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------------
// Flushing

Status Database::MakeRoomForLevel() {
  RoomMaker room(options_.automerge);
  for (;;) {
    env_->Yield();  // the hang watchdog's scheduling point (a loop its input does not bound)
    const RoomMaker::Step step = room.Next(ShapeOf(snap_.levels));
    if (step.kind == RoomMaker::Step::Kind::kDone) return Status::Ok();
    if (step.kind == RoomMaker::Step::Kind::kFull) {
      return Status::Full(absl::StrFormat("%s: %u rhs units in %u levels and merging frees no room", path_,
                                          ProgressOf(ShapeOf(snap_.levels)).units, snap_.levels.size()));
    }
    ++stats_.room_work_calls;
    // Unlimited and forced: one merge, run to its end (no merge is left in progress).
    auto w = DoWork(step.nmerge, -1, true);
    if (!w.ok()) return w.status();
  }
}

Status Database::WriteTopLevel(std::vector<std::unique_ptr<RecordCursor>> sources, uint16_t flags, bool carry_freelist,
                         uint64_t* pages) {
  std::vector<FreeEntry> carried;
  if (carry_freelist) {
    carried = free_.Delta();
    sources.push_back(std::make_unique<VectorCursor>(free_.DeltaRecords()));
  }
  for (auto& s : sources) LSM_RETURN_IF_ERROR(s->First());
  const uint64_t start = TakeAppendPoint();
  Allocator alloc(this, carry_freelist);
  SegmentWriter writer(db_file_.get(), geom_, &alloc, start);
  OlderRunPointer pointers = PointersInto(0);
  RunFilter::Builder filter;
  LSM_RETURN_IF_ERROR(MergeRecords(sources, snap_.levels.empty(), [&](const Record& r) {
    filter.Add(r);
    auto ptr = pointers.For(r.topic(), r.key);
    if (!ptr.ok()) return ptr.status();
    return OutOfOrderIsCorrupt(writer.Add(r.flags, r.key, r.value, *ptr));
  }));
  auto seg = writer.Finish();
  if (!seg.ok()) return seg.status();
  *pages = writer.pages_written();
  if (seg->first == 0) {
    if (start != 0) RunFinished(Segment{start - 1, start - 1, 0, 1}, 0);  // give the append point back
  } else {
    Level level;
    level.flags = flags;
    level.lhs = *seg;
    snap_.levels.insert(snap_.levels.begin(), level);
    filters_[RunKey(*seg)] = filter.Finish();
    RunFinished(*seg, writer.spare_block());
  }
  if (carry_freelist) {
    free_.DeltaWritten(carried);
    ++stats_.freelist_overflows;
  }
  return Status::Ok();
}

Status Database::Flush() {
  return InRoles(kWriterRole | kWorkerRole, [&] { return FlushTree(); });
}

Status Database::FlushTree() {
  if (TreeEmpty() && snap_.user_version == user_version_) return Status::Ok();
  LSM_RETURN_IF_ERROR(Fail(MakeRoomForLevel()));
  const bool carry = free_.Delta().size() > options_.max_freelist / 2;
  std::vector<std::unique_ptr<RecordCursor>> sources;
  if (shared_) {
    LSM_RETURN_IF_ERROR(shared_->chunks().MapBelow(shm_tree_->state().nchunks));
    sources.push_back(shm::ShmTree::NewCursor(&shared_->chunks(), shm_tree_->state()));
  } else {
    sources.push_back(tree_->NewCursor());
  }
  uint64_t pages = 0;
  LSM_RETURN_IF_ERROR(Fail(WriteTopLevel(std::move(sources), 0, carry, &pages)));
  // The snapshot now holds every commit up to the log's end: recovery replays from there. The toggle
  // bit changes the pointer even when the log did not move (logging off).
  const LogPosition pos = log_->position();
  snap_.log = LogPointer{(pos.offset << 1) | ((snap_.log.offset & 1) ^ 1), pos.cksum0, pos.cksum1};
  snap_.user_version = user_version_;
  if (shared_) {
    // The levels now hold this generation: readers of it keep its chunks until they are done.
    flushed_gen_ = shm_tree_->state().gen;
    shm_tree_->StartGeneration();
    tree_dirty_ = true;
  } else {
    tree_ = std::make_shared<Tree>();  // views may still hold the old one
  }
  ++stats_.flushes;
  Published(pages);
  return Fail(SpillFreelistIfNeeded());
}

Status Database::SpillFreelistIfNeeded() {
  while (free_.Delta().size() > options_.max_freelist) {
    env_->Yield();
    uint64_t pages = 0;
    LSM_RETURN_IF_ERROR(WriteTopLevel({}, kLevelFreelistOnly, true, &pages));
    Published(pages);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------------
// Merging

Status Database::StartMerge(size_t first, size_t count) {
  auto job = std::make_unique<MergeJob>();
  job->first = first;
  job->count = count;
  job->to_bottom = first + count == snap_.levels.size();
  for (size_t i = first; i < first + count; ++i) {
    const Level& l = snap_.levels[i];
    job->age = std::max(job->age, l.age);
    job->inputs.push_back(l.lhs);
    auto r = RedirectsFor(snap_, i, -1);
    job->input_redirects.emplace_back(r.begin(), r.end());
  }
  job->age = uint16_t(std::min(0xFFFF, job->age + 1));
  merge_ = std::move(job);
  ++stats_.merges_started;
  return Status::Ok();
}

Status Database::ResumeMerge(size_t li) {
  const Level& l = snap_.levels[li];
  auto job = std::make_unique<MergeJob>();
  job->first = li;
  job->count = 1;
  job->to_bottom = li + 1 == snap_.levels.size();
  job->age = l.age;
  job->installed = true;
  job->inputs = l.rhs;
  for (size_t ri = 0; ri < l.rhs.size(); ++ri) {
    auto r = RedirectsFor(snap_, li, int(ri));
    job->input_redirects.emplace_back(r.begin(), r.end());
  }
  // A reference merge may carry one more input than it has rhs segments: the b-tree separators of the
  // next level, merged in as index records. They hold no data; the rest of this merge leaves them out
  // (and the checkpoint it writes says so).
  job->resume_at.assign(l.merge.inputs.begin(), l.merge.inputs.begin() + std::ptrdiff_t(l.rhs.size()));
  job->resume_lhs = l.lhs;
  job->resume_nskip = l.merge.nskip;
  job->emitted = 1;  // the output is not empty: the merge may pause again at once
  merge_ = std::move(job);
  ++stats_.merges_resumed;
  return Status::Ok();
}

Status Database::MergeStep(uint64_t budget, uint64_t* pages) {
  MergeJob& job = *merge_;
  if (!job.writer) {
    for (size_t i = 0; i < job.inputs.size(); ++i) {
      auto c = std::make_unique<SegmentCursor>(db_file_.get(), geom_, job.inputs[i], job.input_redirects[i]);
      if (!job.resume_lhs) {
        LSM_RETURN_IF_ERROR(c->First());
      } else if (job.resume_at[i].page != 0) {  // page 0: the input was used up
        Status s = c->SeekCell(job.resume_at[i].page, job.resume_at[i].cell);
        if (!s.ok()) {
          return Status(s.code(), absl::StrFormat("%s: resuming the merge into level %u: input %u: %s", path_,
                                                  job.first, i, s.message()));
        }
      }
      job.cursors.push_back(c.get());
      job.sources.push_back(std::move(c));
    }
    job.merger = std::make_unique<RecordMerger>(&job.sources, job.to_bottom);
    job.alloc = std::make_unique<Allocator>(this, false);
    // The level below the merge's output: below the merging level, or below the levels it replaces.
    job.pointers = std::make_unique<OlderRunPointer>(PointersInto(job.installed ? job.first + 1 : job.first + job.count));
    if (job.resume_lhs) {
      job.writer = std::make_unique<SegmentWriter>(db_file_.get(), geom_, job.alloc.get(), 0);
      Status s = job.writer->Continue(*job.resume_lhs, job.resume_nskip);
      if (!s.ok()) {
        return Status(s.code(), absl::StrFormat("%s: resuming the merge into level %u: output: %s", path_, job.first,
                                                s.message()));
      }
    } else {
      job.writer = std::make_unique<SegmentWriter>(db_file_.get(), geom_, job.alloc.get(), TakeAppendPoint());
    }
  }
  const uint64_t start = job.writer->pages_written();
  Record out;
  while (!job.merger->Done()) {
    // Stop only after some output: a paused merge must have a non-empty output run.
    if (job.emitted > 0 && job.writer->pages_written() - start >= budget) break;
    bool emitted = false;
    LSM_RETURN_IF_ERROR(job.merger->Step(&out, &emitted));
    if (emitted) {
      if (!job.resume_lhs) job.filter.Add(out);
      auto ptr = job.pointers->For(out.topic(), out.key);
      if (!ptr.ok()) return ptr.status();
      LSM_RETURN_IF_ERROR(OutOfOrderIsCorrupt(job.writer->Add(out.flags, out.key, out.value, *ptr)));
      ++job.emitted;
    }
  }
  const bool done = job.merger->Done();
  auto seg = done ? job.writer->Finish() : job.writer->Pause();
  if (!seg.ok()) return seg.status();
  *pages = job.writer->pages_written() - start;

  // Install the result in the snapshot.
  size_t li = job.first;
  if (job.installed) {
    li = 0;
    while (snap_.levels[li].rhs.empty()) ++li;
  } else {
    snap_.levels.erase(snap_.levels.begin() + std::ptrdiff_t(job.first) + 1,
                       snap_.levels.begin() + std::ptrdiff_t(job.first + job.count));
    job.installed = true;
  }
  Level& level = snap_.levels[li];
  level.age = job.age;
  level.flags = 0;
  level.lhs = *seg;
  if (done) {
    level.rhs.clear();
    level.merge = Merge{};
    if (seg->first == 0) snap_.levels.erase(snap_.levels.begin() + std::ptrdiff_t(li));
  } else {
    level.rhs = job.inputs;
    level.merge = Merge{};
    level.merge.nskip = job.writer->nskip();
    for (SegmentCursor* c : job.cursors) {
      level.merge.inputs.push_back(c->Valid() ? MergeCursor{c->page(), uint32_t(c->cell())} : MergeCursor{});
    }
    const SegmentCursor* at = job.cursors[size_t(job.merger->PeekSource())];
    level.merge.splitkey = MergeCursor{at->page(), uint32_t(at->cell())};
  }
  if (done) {
    std::vector<std::span<const BlockRedirect>> redirects(job.input_redirects.begin(), job.input_redirects.end());
    LSM_RETURN_IF_ERROR(FreeRuns(job.inputs, redirects, false));
    for (const Segment& in : job.inputs) filters_.erase(RunKey(in));
    // A resumed merge saw only part of its output's keys: no filter (Get probes the run).
    if (seg->first != 0 && !job.resume_lhs) filters_[RunKey(*seg)] = job.filter.Finish();
    bool redirected = false;
    for (const auto& r : job.input_redirects) redirected |= !r.empty();
    if (redirected) snap_.redirects.clear();
    RunFinished(*seg, job.writer->spare_block());
    ++stats_.merges;
    merge_.reset();
  }
  Published(*pages);
  return SpillFreelistIfNeeded();
}

Result<uint64_t> Database::DoWork(int nmerge, int64_t page_budget, bool force) {
  uint64_t total = 0;
  if (page_budget == 0) return total;
  // Each merge may free enough blocks to spill the free list into a new level, which can make another
  // merge eligible (with a tiny free list, "merge everything" would never be done): one call starts at
  // most as many merges as there were levels (one, when merging everything).
  size_t starts_left = nmerge <= 1 ? 1 : std::max<size_t>(snap_.levels.size(), 1);
  for (;;) {
    env_->Yield();
    if (!merge_) {
      if (starts_left == 0) return total;
      --starts_left;
      const MergePlan plan = PlanMerge(ShapeOf(snap_.levels), nmerge, force);
      switch (plan.kind) {
        case MergePlan::Kind::kResume:
          LSM_RETURN_IF_ERROR(ResumeMerge(plan.first));
          break;
        case MergePlan::Kind::kStart:
          LSM_RETURN_IF_ERROR(StartMerge(plan.first, plan.count));
          break;
        case MergePlan::Kind::kNone:
          return total;
      }
    }
    const uint64_t remaining = page_budget < 0 ? std::numeric_limits<uint64_t>::max() : uint64_t(page_budget) - total;
    uint64_t pages = 0;
    if (LSM_WEAKENED(kWorkWithoutMerging)) continue;
    Status s = MergeStep(remaining, &pages);
    if (!s.ok()) return Fail(s);
    total += pages;
    if (page_budget >= 0 && total >= uint64_t(page_budget)) return total;
    if (force && !merge_) return total;
  }
}

Result<uint64_t> Database::Work(const Options& conn, int nmerge, int64_t nkb) {
  if (nmerge <= 0) nmerge = int(conn.automerge);
  int64_t budget = -1;
  if (nkb >= 0) budget = std::max<int64_t>(nkb > 0 ? 1 : 0, nkb * 1024 / int64_t(geom_.pgsz));
  uint64_t pages = 0;
  LSM_RETURN_IF_ERROR(InRoles(kWorkerRole, [&]() -> Status {
    auto done = DoWork(nmerge, budget, false);
    if (!done.ok()) return done.status();
    pages = *done;
    if (conn.autocheckpoint_kb > 0 &&
        pages_since_checkpoint_ * geom_.pgsz >= uint64_t{conn.autocheckpoint_kb} * 1024) {
      LSM_RETURN_IF_ERROR(Checkpoint());
    }
    return Status::Ok();
  }));
  return pages * geom_.pgsz / 1024;
}

// ---------------------------------------------------------------------------------------------------
// Checkpoints and close

Status Database::Checkpoint() {
  return InRoles(kWorkerRole | kCheckpointerRole, [&] { return WriteCheckpoint(); });
}

Status Database::WriteCheckpoint() {
  if (snap_.id == synced_id_ && meta_page_ != MetaPage::kNone) return Status::Ok();
  // A file with a larger id is refused at open (CheckWriteSafety): do not write one.
  if (snap_.id > kMaxOpenCheckpointId) {
    return Fail(Status::Full(absl::StrFormat("%s: checkpoint id %u would exceed %u, the largest id a database "
                                             "opens with",
                                             path_, snap_.id, kMaxOpenCheckpointId)));
  }
  lsm::Checkpoint c = snap_;
  // The reference writes EMPTY (0) only into the checkpoint it synthesises for a file without one; every
  // checkpoint it stores says NONE (uncompressed). A file whose checkpoint says 0 still opens.
  c.cmpid = kCompressionNone;
  c.freelist = free_.Delta();
  auto blob = EncodeCheckpoint(c);
  if (!blob.ok()) return Fail(blob.status());
  // Never replace a checkpoint with one recovery would refuse (Close deletes the log after this).
  if (auto back = DecodeCheckpoint(*blob); !back.ok()) {
    return Fail(Status::Corrupt(absl::StrFormat("%s: refusing to write checkpoint %u, which recovery would reject: %s",
                                                path_, c.id, back.error().ToString())));
  }
  const MetaPage target = meta_page_ == MetaPage::kPage1 ? MetaPage::kPage2 : MetaPage::kPage1;
  const bool sync = options_.safety != Safety::kOff;
  // The pages the checkpoint names must be durable before the page that names them.
  if (sync) LSM_RETURN_IF_ERROR(Fail(db_file_->Sync()));
  LSM_RETURN_IF_ERROR(Fail(db_file_->Write(MetaPageOffset(target), MetaPageImage(*blob))));
  if (sync) LSM_RETURN_IF_ERROR(Fail(db_file_->Sync()));
  meta_page_ = target;
  synced_id_ = snap_.id;
  synced_log_ = LogPositionOf(snap_.log);
  worker_dirty_ = true;
  pages_since_checkpoint_ = 0;
  ++stats_.checkpoints;
  if (std::any_of(snap_.levels.begin(), snap_.levels.end(), [](const Level& l) { return !l.rhs.empty(); })) {
    ++stats_.checkpoints_mid_merge;
  }
  // With shared memory the log is the writer's: the next one frees it (BeginWrite).
  if (!shared_ || writer_holds_ > 0) log_->CheckpointSynced(synced_log_);
  return Status::Ok();
}

Status Database::Close() {
  if (closed_) return Status::Ok();
  if (inspect_) {  // nothing recovered, nothing to write
    CloseFiles();
    return Status::Ok();
  }
  if (shared_) return CloseShared();
  Status s = LastClose();
  CloseFiles();
  return s;
}

Status Database::LastClose() {
  Status s = broken_;
  if (s.ok()) {
    s = Flush();
    if (s.ok()) s = Checkpoint();
    if (s.ok()) {
      const uint64_t size = std::max<uint64_t>(uint64_t{snap_.nblock} * geom_.blksz, 2 * kMetaPageSize);
      auto now = db_file_->Size();
      if (!now.ok()) {
        s = now.status();
      } else if (*now > size) {
        s = db_file_->Truncate(size);
      }
    }
    if (s.ok()) {
      log_.reset();
      log_file_.reset();
      s = env_->Unlink(log_path_);
      if (s.code() == Code::kNotFound) s = Status::Ok();
    }
  }
  return s;
}

void Database::Abandon() { CloseFiles(); }

void Database::CloseFiles() {
  closed_ = true;
  merge_.reset();
  get_cursors_.clear();
  get_cursors_version_ = ~uint64_t{0};
  log_.reset();
  log_file_.reset();
  db_file_.reset();
}

}  // namespace lsm
