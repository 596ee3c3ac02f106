#include "engine/db.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "absl/strings/str_format.h"
#include "engine/database.h"

namespace lsm {
namespace {

constexpr uint64_t kMaxKeyOrValue = 0x7FFFFFFF;

bool PowerOfTwoIn(uint64_t v, uint64_t lo, uint64_t hi) { return v >= lo && v <= hi && (v & (v - 1)) == 0; }

// The databases open in this process, by Env and path (the same path string names the same file; the
// Env contract does no path arithmetic), so that connections share one. Another Env object, or another
// spelling of the path, opens a Database of its own, which the DMS2 lock then refuses (kBusy) unless
// they share memory. Opens of one key take turns on its `opening` mutex, held while the database
// recovers; the registry's mutex is held only to look up, so opens of other keys (another simulated
// process, whose Env calls may hand over to this one) go on meanwhile. Lock order: `opening`, then
// the registry's or a database's.
struct OpenEntry {
  std::weak_ptr<Database> db;
  std::shared_ptr<std::mutex> opening = std::make_shared<std::mutex>();
};
std::mutex g_open_mutex;
std::map<std::pair<const Env*, std::string>, OpenEntry>& OpenDatabases() {
  static auto* open = new std::map<std::pair<const Env*, std::string>, OpenEntry>();
  return *open;
}

}  // namespace

Status Options::Validate() const {
  if (!PowerOfTwoIn(page_size, 256, 65536)) {
    return Status::InvalidArgument(absl::StrFormat("page size %u is not a power of two in [256, 65536]", page_size));
  }
  if (!PowerOfTwoIn(block_size, 64 * 1024, 64 * 1024 * 1024)) {
    return Status::InvalidArgument(
        absl::StrFormat("block size %u is not a power of two in [64 KiB, 64 MiB]", block_size));
  }
  if (block_size / page_size < 2) {
    return Status::InvalidArgument(
        absl::StrFormat("block size %u holds fewer than 2 pages of %u bytes", block_size, page_size));
  }
  if (autoflush_kb > 1024 * 1024) {
    return Status::InvalidArgument(absl::StrFormat("autoflush %u KB is above 1 GB", autoflush_kb));
  }
  if (automerge < 2) return Status::InvalidArgument(absl::StrFormat("automerge %u is below 2", automerge));
  if (max_freelist < 2 || max_freelist > kMaxFreelistEntries) {
    return Status::InvalidArgument(
        absl::StrFormat("max free list %u is outside [2, %u]", max_freelist, kMaxFreelistEntries));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------------
// Cursor

Cursor::Cursor(std::shared_ptr<Database> db, std::unique_ptr<ReadView> view, std::shared_ptr<const Tree> overlay,
               std::vector<std::unique_ptr<RecordCursor>> sources)
    : db_(std::move(db)), view_(std::move(view)), overlay_(std::move(overlay)), merged_(std::move(sources)) {}

Cursor::~Cursor() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  db_->CloseView(*view_);
}

std::unique_lock<std::mutex> Cursor::Lock() { return std::unique_lock<std::mutex>(db_->mutex()); }

Status Cursor::CheckOpen() {
  if (db_->closed()) {
    merged_.Invalidate();
    return Status::Misuse("cursor's database is closed");
  }
  return Status::Ok();
}

Status Cursor::SeekEq(ByteView key) {
  LSM_RETURN_IF_ERROR(SeekGe(key));
  if (merged_.Valid() && CompareKeys(kTopicUser, merged_.key(), kTopicUser, key) != 0) merged_.Invalidate();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------------
// Connections

Db::Db(std::shared_ptr<Database> db, Options options) : db_(std::move(db)), options_(options) {}

Result<std::unique_ptr<Db>> Db::Open(Env* env, const std::string& path, const Options& options) {
  LSM_RETURN_IF_ERROR(options.Validate());
  const std::pair<const Env*, std::string> key(env, path);
  std::shared_ptr<std::mutex> opening;
  {
    std::lock_guard<std::mutex> registry(g_open_mutex);
    std::erase_if(OpenDatabases(),
                  [](const auto& entry) { return entry.second.db.expired() && entry.second.opening.use_count() == 1; });
    opening = OpenDatabases()[key].opening;
  }
  std::lock_guard<std::mutex> turn(*opening);
  std::shared_ptr<Database> shared;
  {
    std::lock_guard<std::mutex> registry(g_open_mutex);
    shared = OpenDatabases()[key].db.lock();
  }
  if (shared) {
    std::lock_guard<std::mutex> lock(shared->mutex());
    if (!shared->closed()) {  // closed: only cursors keep it; open the file afresh
      LSM_RETURN_IF_ERROR(shared->Join(options));
      return std::unique_ptr<Db>(new Db(std::move(shared), options));
    }
  }
  auto fresh = Database::Open(env, path, options);
  if (!fresh.ok()) return fresh.status();
  {
    std::lock_guard<std::mutex> registry(g_open_mutex);
    OpenDatabases()[key].db = *fresh;
  }
  return std::unique_ptr<Db>(new Db(std::move(fresh).value(), options));
}

Result<FileCheck> Db::CheckFile(Env* env, const std::string& path) {
  auto exists = env->Exists(path);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status::NotFound(path + ": no such database file");
  std::lock_guard<std::mutex> registry(g_open_mutex);
  auto& open = OpenDatabases();
  if (auto it = open.find({env, path}); it != open.end()) {
    if (std::shared_ptr<Database> shared = it->second.db.lock(); shared && !shared->closed()) {
      return Status::Busy(path + ": database is open in this process");
    }
  }
  auto shared = Database::Open(env, path, Options{}, /*inspect=*/true);
  if (!shared.ok()) return shared.status();
  std::lock_guard<std::mutex> lock((*shared)->mutex());
  auto problems = (*shared)->Check();
  FileCheck out;
  out.snapshot = (*shared)->snapshot();
  out.free_blocks = (*shared)->free_blocks().size();
  (*shared)->Abandon();
  if (!problems.ok()) return problems.status();
  out.problems = std::move(problems).value();
  return out;
}

Db::~Db() {
  if (closed_) return;
  std::lock_guard<std::mutex> lock(db_->mutex());
  Status abandoned = Leave(false);  // writes nothing, so it cannot fail
  (void)abandoned;
}

Status Db::Close() {
  if (closed_) return Status::Ok();
  std::lock_guard<std::mutex> lock(db_->mutex());
  return Leave(true);
}

Status Db::Leave(bool close) {
  EndTransaction();
  closed_ = true;
  if (!db_->Leave()) return Status::Ok();
  if (close) return db_->Close();
  db_->Abandon();
  return Status::Ok();
}

Status Db::Usable() const {
  if (closed_) return Status::Misuse("connection is closed");
  return db_->Usable();
}

const DbStats& Db::stats() const { return db_->stats(); }
const lsm::Checkpoint& Db::snapshot() const { return db_->snapshot(); }
const std::map<uint32_t, int64_t>& Db::free_blocks() const { return db_->free_blocks(); }

// ---------------------------------------------------------------------------------------------------
// Reading

Result<std::optional<Bytes>> Db::Get(ByteView key) {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (marks_.empty()) return db_->Get(key, nullptr, nullptr);
  // While nobody committed since Begin, the current state reads the same as the snapshot, faster.
  // (With shared memory another process may have: always the snapshot.)
  const bool stale = db_->shared() || view_->commit_seq != db_->commit_seq();
  return db_->Get(key, txn_.get(), stale ? view_.get() : nullptr);
}

Result<std::unique_ptr<Cursor>> Db::NewCursor() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  const bool in_txn = !marks_.empty();
  std::unique_ptr<ReadView> view;
  if (in_txn) {
    view = std::make_unique<ReadView>(db_->CopyView(*view_));
  } else {
    auto opened = db_->OpenView();
    if (!opened.ok()) return opened.status();
    view = std::make_unique<ReadView>(std::move(opened).value());
  }
  std::shared_ptr<const Tree> overlay;
  if (in_txn) overlay = txn_;
  std::vector<std::unique_ptr<RecordCursor>> sources;
  Status s = db_->ViewSources(*view, overlay.get(), &sources);
  if (!s.ok()) {
    db_->CloseView(*view);
    return s;
  }
  return std::unique_ptr<Cursor>(new Cursor(db_, std::move(view), std::move(overlay), std::move(sources)));
}

Result<std::string> Db::Check() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  return db_->Check();
}

// ---------------------------------------------------------------------------------------------------
// Transactions

Status Db::Begin() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (marks_.empty()) {
    auto opened = db_->OpenView();
    if (!opened.ok()) return opened.status();
    txn_->set_recording(true);
    view_ = std::make_unique<ReadView>(std::move(opened).value());
  }
  marks_.push_back(txn_->Mark());
  op_marks_.push_back(pending_.size());
  return Status::Ok();
}

Status Db::Rollback() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (marks_.empty()) return Status::Misuse("rollback without a transaction");
  MutableOverlay().RollbackTo(marks_.back());
  pending_.resize(op_marks_.back());
  marks_.pop_back();
  op_marks_.pop_back();
  if (marks_.empty()) EndTransaction();
  return Status::Ok();
}

Status Db::Commit() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (marks_.empty()) return Status::Misuse("commit without a transaction");
  if (marks_.size() > 1) {
    marks_.pop_back();
    op_marks_.pop_back();
    return Status::Ok();
  }
  // The snapshot goes first, so the committed tree is not copied for it; the writer stays claimed
  // until the commit is made (with shared memory, no other process may commit in between).
  std::vector<LogOp> ops = std::move(pending_);
  EndTransaction(/*release_writer=*/false);
  Status s = db_->Commit(ops);
  db_->ReleaseWriter(this);
  LSM_RETURN_IF_ERROR(s);
  return db_->AfterCommit(options_);
}

void Db::EndTransaction(bool release_writer) {
  if (txn_.use_count() > 1) {
    txn_ = std::make_shared<Tree>();  // a cursor holds the old overlay
  } else {
    txn_->Clear();
  }
  if (view_) {
    db_->CloseView(*view_);
    view_.reset();
  }
  marks_.clear();
  op_marks_.clear();
  pending_.clear();
  if (release_writer) db_->ReleaseWriter(this);
}

Tree& Db::MutableOverlay() {
  if (txn_.use_count() > 1) txn_ = std::make_shared<Tree>(*txn_);
  return *txn_;
}

Status Db::ClaimWriter() {
  return db_->ClaimWriter(this, marks_.empty() ? std::nullopt : std::optional<uint64_t>(view_->commit_seq));
}

Status Db::Write(LogOp::Kind kind, ByteView key, ByteView value) {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (key.size() > kMaxKeyOrValue || value.size() > kMaxKeyOrValue) {
    return Status::InvalidArgument("key or value longer than 2^31-1 bytes");
  }
  LSM_RETURN_IF_ERROR(ClaimWriter());
  if (marks_.empty()) {
    Status s = db_->Commit(kind, key, value);
    db_->ReleaseWriter(this);
    LSM_RETURN_IF_ERROR(s);
    return db_->AfterCommit(options_);
  }
  // Inside a transaction: into its own overlay; the committed tree gets it at commit.
  Database::ApplyTo(&MutableOverlay(), kind, key, value);
  pending_.push_back(LogOp{kind, Bytes(key.begin(), key.end()), Bytes(value.begin(), value.end())});
  return Status::Ok();
}

Status Db::Put(ByteView key, ByteView value) { return Write(LogOp::kPut, key, value); }

Status Db::SetUserVersion(uint32_t version) {
  uint8_t be[4];
  StoreBe32(be, version);
  return Write(LogOp::kUserVersion, {}, ByteView(be, 4));
}

Result<uint32_t> Db::UserVersion() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (marks_.empty()) return db_->user_version();
  for (auto op = pending_.rbegin(); op != pending_.rend(); ++op) {
    if (op->kind == LogOp::kUserVersion) return LoadBe32(op->value.data());
  }
  return view_->user_version;
}
Status Db::Erase(ByteView key) { return Write(LogOp::kDelete, key, {}); }
Status Db::EraseRange(ByteView start, ByteView end) { return Write(LogOp::kDeleteRange, start, end); }

// ---------------------------------------------------------------------------------------------------
// Flushing, merging, checkpoints

Status Db::Flush() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (!marks_.empty()) return Status::Misuse("flush inside a transaction");
  return db_->Flush();
}

Result<uint64_t> Db::Work(int nmerge, int64_t nkb) {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  if (!marks_.empty()) return Status::Misuse("work inside a transaction");
  return db_->Work(options_, nmerge, nkb);
}

Status Db::Checkpoint() {
  std::lock_guard<std::mutex> lock(db_->mutex());
  LSM_RETURN_IF_ERROR(Usable());
  return db_->Checkpoint();
}

}  // namespace lsm
