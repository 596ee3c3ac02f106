#include "sim/sim_env.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "xxhash.h"

namespace lsm::sim {

// The newest contents of a file, copied on write: after a sync or a power loss it shares the durable
// image, and a state an explorer restores costs no copy until the engine writes.
class CurrentBytes {
 public:
  const Bytes& get() const { return own_ ? *own_ : *shared_; }
  Bytes& mut() {
    if (!own_) {
      own_ = std::make_unique<Bytes>(*shared_);
      shared_.reset();
    }
    return *own_;
  }
  void Share(std::shared_ptr<const Bytes> image) {
    own_.reset();
    shared_ = std::move(image);
  }
  // The contents as a durable image: shared as they are, or moved out (and then shared).
  std::shared_ptr<const Bytes> Freeze() {
    if (own_) Share(std::make_shared<const Bytes>(std::move(*own_)));
    return shared_;
  }

 private:
  std::shared_ptr<const Bytes> shared_ = std::make_shared<const Bytes>();
  std::unique_ptr<Bytes> own_;
};

struct SimEnv::Inode {
  std::string path;
  CurrentBytes current;
  // Shared with snapshots (Snap): replaced, never changed in place.
  std::shared_ptr<const Bytes> durable = std::make_shared<const Bytes>();
  bool durable_exists = false;
  // Shared with snapshots, which read a prefix of it: only appended to; emptied by replacing it.
  std::shared_ptr<std::vector<PendingOp>> pending = std::make_shared<std::vector<PendingOp>>();
  void ClearPending() { pending = std::make_shared<std::vector<PendingOp>>(); }
  // Lock modes held, per handle id (ordered: conflict checks never depend on hash order).
  std::map<uint64_t, std::array<LockMode, kMaxLockId + 1>> locks;
};

namespace {

bool Conflicts(LockMode held, LockMode wanted);

}  // namespace

uint64_t MaxEnd(std::span<const PendingOp> ops) {
  uint64_t end = 0;
  for (const PendingOp& op : ops) {
    if (op.kind == PendingOp::kWrite) end = std::max<uint64_t>(end, op.offset + op.data.size());
  }
  return end;
}

void ApplyOp(const PendingOp& op, Bytes* image) {
  if (op.kind == PendingOp::kWrite) {
    if (image->size() < op.offset + op.data.size()) image->resize(op.offset + op.data.size(), 0);
    std::copy(op.data.begin(), op.data.end(), image->begin() + std::ptrdiff_t(op.offset));
  } else if (op.kind == PendingOp::kTruncate) {
    image->resize(op.offset, 0);
  }
}

CrashPolicy::Outcome CrashPolicy::Decide(const std::string&, const PendingOp& op, uint32_t, Bytes* image, Decisions& d) {
  if (!Survives(op, d)) return kDropped;
  ApplyOp(op, image);
  return kApplied;
}

namespace {

bool Conflicts(LockMode held, LockMode wanted) {
  if (held == LockMode::kUnlocked || wanted == LockMode::kUnlocked) return false;
  return held == LockMode::kExclusive || wanted == LockMode::kExclusive;
}

constexpr uint64_t kMaxSimFileSize = uint64_t{1} << 30;  // 1 GiB: a runaway, not a workload

class SimFile : public File {
 public:
  SimFile(SimEnv* env, std::shared_ptr<SimEnv::Inode> inode, uint64_t id, bool read_only)
      : env_(env), inode_(std::move(inode)), id_(id), read_only_(read_only), generation_(env->generation()),
        process_(env->process()), epoch_(env->process_epoch(process_)) {}

  ~SimFile() override {
    inode_->locks.erase(id_);
    env_->HandleClosed(id_);
    env_->Note("close", inode_->path, 0, 0, 0);
  }

  Status Read(uint64_t offset, std::span<uint8_t> out) override {
    LSM_RETURN_IF_ERROR(Alive("read", offset, out.size()));
    const Bytes& cur = inode_->current.get();
    const size_t have = offset < cur.size() ? std::min<size_t>(out.size(), cur.size() - offset) : 0;
    if (have > 0) std::memcpy(out.data(), cur.data() + offset, have);
    std::fill(out.begin() + std::ptrdiff_t(have), out.end(), 0);  // past end of file: zeros
    return Status::Ok();
  }

  Status Write(uint64_t offset, std::span<const uint8_t> data) override {
    if (read_only_) return Status::Misuse(inode_->path + ": write on a read-only handle");
    if (offset + data.size() > kMaxSimFileSize) {
      return Status::IoError(absl::StrFormat("%s: write at %u beyond the simulated device", inode_->path, offset));
    }
    Status s = Alive("write", offset, data.size(), ContentHash(data));
    // The write issued at the crash step may or may not have reached the device: the policy decides.
    if (!s.ok() && !env_->crashed_now()) return s;
    PendingOp op{PendingOp::kWrite, offset, Bytes(data.begin(), data.end()), env_->step()};
    ApplyOp(op, &inode_->current.mut());
    inode_->pending->push_back(std::move(op));
    return s;
  }

  Status Truncate(uint64_t size) override {
    if (read_only_) return Status::Misuse(inode_->path + ": truncate on a read-only handle");
    LSM_RETURN_IF_ERROR(Alive("truncate", size, 0));
    PendingOp op{PendingOp::kTruncate, size, {}, env_->step()};
    ApplyOp(op, &inode_->current.mut());
    inode_->pending->push_back(std::move(op));
    return Status::Ok();
  }

  Status Sync() override {
    Status alive = Alive("sync", 0, inode_->pending->size());
    if (!alive.ok() && alive.message().find(SimEnv::kInjectedByExplorer) != std::string::npos) {
      env_->DiscardPending(inode_->path);
    }
    LSM_RETURN_IF_ERROR(alive);
    inode_->durable = inode_->current.Freeze();
    inode_->durable_exists = true;
    inode_->ClearPending();
    env_->NamespaceSynced();
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    LSM_RETURN_IF_ERROR(Alive("size", 0, 0));
    return uint64_t(inode_->current.get().size());
  }

  uint32_t SectorSize() const override { return env_->sector_size(); }

  Status Lock(int lock_id, LockMode mode) override {
    if (lock_id < 1 || lock_id > kMaxLockId) return Status::InvalidArgument(absl::StrFormat("lock id %d", lock_id));
    LSM_RETURN_IF_ERROR(Alive("lock", uint64_t(lock_id), uint64_t(mode)));
    // A lock call is a system call, a full barrier: the process's stores are visible to whoever takes
    // a lock after it (the next writer sees everything the last one stored before letting go).
    env_->ShmArriveAll(inode_->path, process_);
    if (mode == LockMode::kExclusive && read_only_) return Status::Misuse("exclusive lock on a read-only handle");
    for (const auto& [other, modes] : inode_->locks) {
      if (other != id_ && Conflicts(modes[size_t(lock_id)], mode)) {
        return Status::Busy(absl::StrFormat("%s: lock %d is held by another handle", inode_->path, lock_id));
      }
    }
    inode_->locks[id_][size_t(lock_id)] = mode;  // a new entry starts all kUnlocked
    return Status::Ok();
  }

  Result<bool> TestLock(int lock_id, int count, LockMode mode) override {
    if (lock_id < 1 || count < 1 || lock_id + count - 1 > kMaxLockId || mode == LockMode::kUnlocked) {
      return Status::InvalidArgument(absl::StrFormat("test lock %d+%d", lock_id, count));
    }
    LSM_RETURN_IF_ERROR(Alive("testlock", uint64_t(lock_id), uint64_t(count)));
    for (const auto& [other, modes] : inode_->locks) {
      if (other == id_) continue;
      for (int i = lock_id; i < lock_id + count; ++i) {
        if (Conflicts(modes[size_t(i)], mode)) return true;
      }
    }
    return false;
  }

  Result<uint8_t*> ShmMap(uint32_t chunk) override {
    if (chunk >= kMaxShmChunks) return Status::InvalidArgument(absl::StrFormat("shm chunk %u", chunk));
    LSM_RETURN_IF_ERROR(Alive("shmmap", chunk, kShmChunkSize));
    return env_->ShmChunk(inode_->path, process_, chunk);
  }

  void ShmBarrier() override { env_->ShmBarrier(inode_->path, process_); }

  Status ShmUnmap(bool delete_shm) override {
    LSM_RETURN_IF_ERROR(Alive("shmunmap", delete_shm, 0));
    if (delete_shm) env_->DeleteShm(inode_->path);
    return Status::Ok();
  }

 private:
  Status Alive(std::string_view kind, uint64_t offset, uint64_t length, uint64_t content = 0) {
    if (generation_ != env_->generation()) {
      env_->Note(kind, inode_->path, offset, length, content);
      return Status::IoError(inode_->path + ": handle opened before a power loss");
    }
    if (epoch_ != env_->process_epoch(process_)) {
      env_->Note(kind, inode_->path, offset, length, content);
      return Status::IoError(absl::StrFormat("%s: handle of process %d, which was killed", inode_->path, process_));
    }
    return env_->Step(kind, inode_->path, offset, length, content);
  }

  SimEnv* env_;
  std::shared_ptr<SimEnv::Inode> inode_;
  uint64_t id_;
  bool read_only_;
  uint64_t generation_;
  int process_;    // the simulated process that opened it
  uint64_t epoch_;  // its epoch then: a killed process's handles are dead
};

}  // namespace

SimEnv::SimEnv(lsm::sim::Trace* trace, Options options) : trace_(trace), options_(options) {}
SimEnv::~SimEnv() = default;

void SimEnv::Note(std::string_view kind, const std::string& file, uint64_t offset, uint64_t length,
                   uint64_t content) {
  if (trace_ != nullptr) trace_->Add(TraceEvent{step_, process_, kind, file, offset, length, content, {}});
}

Status SimEnv::Step(std::string_view kind, const std::string& file, uint64_t offset, uint64_t length,
                    uint64_t content) {
  // A killed process makes no more calls that reach anything (it runs on only until its code notices).
  auto killed = [&] { return Status::IoError(absl::StrFormat("%s: process %d was killed", file, process_)); };
  if (dead_.count(process_)) return killed();
  if (step_hook_) step_hook_(step_ + 1, kind, file, offset, length);
  if (dead_.count(process_)) return killed();
  ++step_;
  crashed_now_ = false;
  if (!crashed_ && crash_at_ && step_ >= *crash_at_) {
    crashed_ = true;
    crashed_now_ = true;
    if (trace_ != nullptr) trace_->Add(TraceEvent{step_, process_, "power-loss", file, offset, length, content, {}});
  }
  Note(kind, file, offset, length, content);
  if (!shm_.empty()) ShmArrive(process_);  // an Env call is a visibility point too
  if (!crashed_ && error_at_ && step_ == *error_at_) {
    error_at_.reset();
    Note("injected-error", file, offset, length, 0);
    return Status::IoError(absl::StrFormat("%s: %s (step %u)", file, kInjectedByExplorer, step_));
  }
  if (crashed_) return Status::IoError(absl::StrFormat("%s: simulated power loss (step %u)", file, step_));
  if (exhausted()) return Status::IoError(absl::StrFormat("%s: step budget of %u Env calls exhausted", file, options_.max_steps));
  return Status::Ok();
}

void SimEnv::SleepMicros(uint64_t micros) {
  now_micros_ += micros;
  Note("sleep", "", micros, 0, 0);
}

Result<std::unique_ptr<File>> SimEnv::Open(const std::string& path, OpenMode mode) {
  LSM_RETURN_IF_ERROR(Step("open", path, uint64_t(mode), 0, 0));
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (mode == OpenMode::kReadOnly) return Status::NotFound(path + ": no such file");
    auto inode = std::make_shared<Inode>();
    inode->path = path;
    inode->pending->push_back(PendingOp{PendingOp::kCreate, 0, {}, step_});
    it = files_.emplace(path, std::move(inode)).first;
  }
  handle_process_[++next_handle_] = process_;
  return std::unique_ptr<File>(new SimFile(this, it->second, next_handle_, mode == OpenMode::kReadOnly));
}

Status SimEnv::Unlink(const std::string& path) {
  LSM_RETURN_IF_ERROR(Step("unlink", path, 0, 0, 0));
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound(path + ": no such file");
  if (it->second->durable_exists) unlinks_.push_back(PendingUnlink{path, it->second, step_});
  files_.erase(it);
  return Status::Ok();
}

void SimEnv::NamespaceSynced() {
  // A sync commits the file system's journal, and with it every earlier unlink.
  unlinks_.clear();
}

Result<bool> SimEnv::Exists(const std::string& path) {
  LSM_RETURN_IF_ERROR(Step("exists", path, 0, 0, 0));
  return files_.count(path) != 0;
}

uint8_t* SimEnv::ShmChunk(const std::string& path, int process, uint32_t chunk) {
  auto& vis = shm_[path];
  if (!vis) vis = std::make_unique<ShmVisibility>();
  return vis->Map(process, chunk);
}

void SimEnv::ShmBarrier(const std::string& path, int process) {
  if (dead_.count(process)) return;
  if (barrier_hook_) barrier_hook_();
  if (dead_.count(process)) return;
  Note("barrier", path, 0, 0, 0);
  auto it = shm_.find(path);
  if (it == shm_.end()) return;
  it->second->Barrier(process, shm_faults_);
  ShmArrive(process);
}

void SimEnv::ShmArriveAll(const std::string& path, int process) {
  auto it = shm_.find(path);
  if (it != shm_.end()) it->second->ArriveAll(process);
}

void SimEnv::ShmArrive(int process) {
  for (auto& [path, vis] : shm_) {  // each captures the process's stores once, and draws nothing if none
    if (shm_decisions_ == nullptr) {
      vis->ArriveAll(process);
    } else {
      vis->Arrive(process, *shm_decisions_, shm_faults_);
    }
  }
}

std::pair<uint64_t, uint64_t> SimEnv::PowerLoss(CrashPolicy& policy, Decisions& d) {
  uint64_t kept = 0, lost = 0;
  last_torn_ = 0;
  // Unlinks no sync has committed may be undone: the old file is back under its name (unless a newer
  // file of that name reached the disk, decided below).
  for (const PendingUnlink& u : unlinks_) {
    if (policy.Survives(PendingOp{PendingOp::kUnlink, 0, {}, u.step}, d)) {
      ++kept;
    } else {
      ++lost;
      if (!files_.count(u.path) || !files_[u.path]->durable_exists) {
        u.inode->ClearPending();  // its unsynced writes went with it when it was unlinked
        files_[u.path] = u.inode;
      }
    }
  }
  unlinks_.clear();
  for (auto it = files_.begin(); it != files_.end();) {
    Inode& f = *it->second;
    bool exists = f.durable_exists;
    policy.BeginFile(f.path, f.pending->size(), d);
    if (policy.drops_all() || f.pending->empty()) {  // the durable image as it is: no copy
      lost += f.pending->size();
    } else {
      Bytes next;
      next.reserve(std::max<uint64_t>(f.durable->size(), MaxEnd(*f.pending)));  // grown in place, not reallocated
      next = *f.durable;
      for (const PendingOp& op : *f.pending) {
        const CrashPolicy::Outcome o = policy.Decide(f.path, op, options_.sector_size, &next, d);
        if (o == CrashPolicy::kDropped) {
          ++lost;
          continue;
        }
        ++kept;
        last_torn_ += o == CrashPolicy::kTorn;
        if (op.kind == PendingOp::kCreate) exists = true;
      }
      f.durable = std::make_shared<const Bytes>(std::move(next));
    }
    f.ClearPending();
    f.locks.clear();
    if (!exists) {
      it = files_.erase(it);
      continue;
    }
    f.durable_exists = true;
    f.current.Share(f.durable);
    ++it;
  }
  shm_.clear();
  crashed_ = false;
  crashed_now_ = false;
  crash_at_.reset();
  ++generation_;
  if (trace_ != nullptr) {
    trace_->Add(TraceEvent{step_, process_, "power-loss-applied", policy.name(), kept, lost, 0, {}});
  }
  return {kept, lost};
}

void SimEnv::KillProcess(int p) {
  ++process_epochs_[p];
  dead_.insert(p);
  for (auto& [path, f] : files_) {
    for (auto it = f->locks.begin(); it != f->locks.end();) {
      auto owner = handle_process_.find(it->first);
      it = owner != handle_process_.end() && owner->second == p ? f->locks.erase(it) : std::next(it);
    }
  }
  for (auto& [path, vis] : shm_) vis->Crash(p);
  if (trace_ != nullptr) trace_->Add(TraceEvent{step_, p, "process-killed", "", 0, 0, 0, {}});
}

void SimEnv::ProcessCrash() {
  for (auto& [path, f] : files_) f->locks.clear();
  for (auto& [path, vis] : shm_) vis->Crash(process_);  // its stores not yet visible are lost
  crashed_ = false;
  crashed_now_ = false;
  crash_at_.reset();
  ++generation_;
  if (trace_ != nullptr) trace_->Add(TraceEvent{step_, process_, "process-crash-applied", "", 0, 0, 0, {}});
}

void SimEnv::DiscardPending(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return;
  Inode& f = *it->second;
  const uint64_t n = f.pending->size();
  const bool created = !f.durable_exists;
  f.ClearPending();
  if (created) f.pending->push_back(PendingOp{PendingOp::kCreate, 0, {}, step_});
  f.current.Share(f.durable);
  Note("pages-dropped", path, 0, n, 0);
}

size_t SimEnv::PendingCount(const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second->pending->size();
}

uint64_t SimEnv::CurrentSize(const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second->current.get().size();
}

SimEnv::Snapshot SimEnv::Snap() const {
  Snapshot out;
  out.files.reserve(files_.size());
  for (const auto& [path, f] : files_) {
    out.files.push_back(FileSnapshot{path, f->durable, f->durable_exists, f->pending, f->pending->size()});
  }
  for (const PendingUnlink& u : unlinks_) {
    out.unlinked.push_back(FileSnapshot{u.path, u.inode->durable, true, nullptr, 0});
    out.unlink_steps.push_back(u.step);
  }
  return out;
}

void SimEnv::Restore(const Snapshot& snapshot, uint64_t step, bool current) {
  files_.clear();
  unlinks_.clear();
  auto make = [current](const FileSnapshot& s) {
    auto inode = std::make_shared<Inode>();
    inode->path = s.path;
    inode->durable = s.durable;
    inode->durable_exists = s.durable_exists;
    inode->current.Share(s.durable);
    if (s.pending != nullptr) {
      inode->pending->assign(s.pending->begin(), s.pending->begin() + std::ptrdiff_t(s.pending_count));
      if (current) {
        for (const PendingOp& op : *inode->pending) ApplyOp(op, &inode->current.mut());
      }
    }
    return inode;
  };
  for (const FileSnapshot& f : snapshot.files) files_[f.path] = make(f);
  for (size_t i = 0; i < snapshot.unlinked.size(); ++i) {
    unlinks_.push_back(PendingUnlink{snapshot.unlinked[i].path, make(snapshot.unlinked[i]), snapshot.unlink_steps[i]});
  }
  shm_.clear();
  step_ = step;
  crashed_ = crashed_now_ = false;
  crash_at_.reset();
  ++generation_;
  Note("restore", "", step, snapshot.files.size(), 0);
}

std::vector<uint64_t> SimEnv::BlockHashes(ByteView image) {
  std::vector<uint64_t> out;
  out.reserve((image.size() + kHashBlock - 1) / kHashBlock);
  for (size_t at = 0; at < image.size(); at += kHashBlock) {
    const size_t n = std::min(kHashBlock, image.size() - at);
    out.push_back(XXH3_64bits(image.data() + at, n));
  }
  return out;
}

uint64_t SimEnv::FileHashOfBlocks(const std::string& path, bool durable_exists, uint64_t size,
                                  std::span<const uint64_t> blocks, std::span<const PendingOp> pending) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  auto mix = [&](const void* p, size_t n) { XXH3_64bits_update(state, p, n); };
  auto mix64 = [&](uint64_t v) { mix(&v, sizeof v); };
  mix(path.data(), path.size() + 1);
  mix64(durable_exists);
  mix64(size);
  mix(blocks.data(), blocks.size() * sizeof(uint64_t));
  mix64(pending.size());
  for (const PendingOp& op : pending) {
    mix64(uint64_t(op.kind));
    mix64(op.offset);
    mix64(op.data.size());
    mix(op.data.data(), op.data.size());
  }
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return h;
}

uint64_t SimEnv::FileHash(const std::string& path, bool durable_exists, const Bytes& durable,
                          std::span<const PendingOp> pending) {
  return FileHashOfBlocks(path, durable_exists, durable.size(), BlockHashes(durable), pending);
}

uint64_t SimEnv::WorldHash(std::span<const uint64_t> file_hashes, std::span<const std::string> unlinked) {
  std::vector<uint64_t> all(file_hashes.begin(), file_hashes.end());
  all.push_back(unlinked.size());
  for (const std::string& path : unlinked) all.push_back(XXH3_64bits(path.data(), path.size()));
  return XXH3_64bits(all.data(), all.size() * sizeof(uint64_t));
}

uint64_t SimEnv::WorldHash() const {
  std::vector<uint64_t> files;
  for (const auto& [path, f] : files_) files.push_back(FileHash(path, f->durable_exists, *f->durable, *f->pending));
  std::vector<std::string> unlinked;
  for (const PendingUnlink& u : unlinks_) unlinked.push_back(u.path);
  return WorldHash(files, unlinked);
}

void SimEnv::Yield() {
  if (options_.max_yields_per_call != 0 && ++yields_ > options_.max_yields_per_call) {
    Note("hang", "", yields_, 0, 0);
    throw Hang{yields_};
  }
}

void SimEnv::InstallDurable(const std::string& path, Bytes content) {
  auto inode = std::make_shared<Inode>();
  inode->path = path;
  const uint64_t hash = ContentHash(content);
  const uint64_t size = content.size();
  inode->durable = std::make_shared<const Bytes>(std::move(content));
  inode->current.Share(inode->durable);
  inode->durable_exists = true;
  files_[path] = std::move(inode);
  Note("install", path, 0, size, hash);
}

std::optional<Bytes> SimEnv::Durable(const std::string& path) const {
  auto it = files_.find(path);
  if (it == files_.end() || !it->second->durable_exists) return std::nullopt;
  return *it->second->durable;
}

std::optional<Bytes> SimEnv::Head(const std::string& path, size_t n, bool durable) const {
  auto it = files_.find(path);
  if (it == files_.end() || (durable && !it->second->durable_exists)) return std::nullopt;
  const Bytes& b = durable ? *it->second->durable : it->second->current.get();
  return Bytes(b.begin(), b.begin() + std::ptrdiff_t(std::min(n, b.size())));
}

std::optional<Bytes> SimEnv::Contents(const std::string& path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  return it->second->current.get();
}

void SimEnv::CorruptDurable(const std::string& path, uint64_t offset, uint8_t mask) {
  auto it = files_.find(path);
  if (it == files_.end()) return;
  Inode& f = *it->second;
  if (offset < f.durable->size()) {
    Bytes changed = *f.durable;
    changed[offset] ^= mask;
    f.durable = std::make_shared<const Bytes>(std::move(changed));
  }
  if (offset < f.current.get().size()) f.current.mut()[offset] ^= mask;
  if (trace_ != nullptr) trace_->Add(TraceEvent{step_, process_, "canary", path, offset, 1, mask, {}});
}

}  // namespace lsm::sim
