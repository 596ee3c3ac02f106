#include "faults/fault_env.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "engine/format/meta_page.h"

namespace lsm::faults {

bool FaultState::Fire(Family f) {
  if (suspended || !active(f)) return false;
  if (d->Below(10000) >= rate[size_t(f)]) return false;
  ++fired[size_t(f)];
  return true;
}

bool FaultState::FireAtSync(Family f) {
  if (suspended || !active(f)) return false;
  if (d->Below(10000) >= rate[size_t(f)] / kSyncRateDivisor) return false;
  ++fired[size_t(f)];
  return true;
}

std::optional<Status> FaultState::IoError(const std::string& path, const char* kind, uint64_t offset) {
  if (suspended) return std::nullopt;
  const bool stuck = persistent.count({path, kind}) != 0;
  if (!stuck && !Fire(Family::kIoError)) return std::nullopt;
  const bool persist = stuck || d->Below(2) == 1;
  if (persist) persistent.insert({path, kind});
  if (!stuck) ++changed[size_t(Family::kIoError)];  // the call did not happen
  sim->Note("io-error", path, offset, persist, 0);
  return Status::IoError(absl::StrFormat("%s: %s I/O error (%s) in %s at offset %u", path, kInjected,
                                         persist ? "persistent" : "transient", kind, offset));
}

namespace {

bool IsLog(const std::string& path) { return path.size() >= 4 && path.compare(path.size() - 4, 4, "-log") == 0; }

class FaultFile : public FileWrapper {
 public:
  FaultFile(std::unique_ptr<File> target, std::string path, FaultState* state)
      : FileWrapper(std::move(target)), path_(std::move(path)), s_(state) {}

  Status Read(uint64_t offset, std::span<uint8_t> out) override {
    if (auto e = s_->IoError(path_, "read", offset)) return Garbage(out, *e);
    if (s_->latent && s_->latent->first == path_ && !s_->suspended) {
      const uint64_t bad = s_->latent->second;
      if (offset < bad + SectorSize() && bad < offset + out.size()) {
        ++s_->changed[size_t(Family::kLatentReadError)];
        s_->sim->Note("latent-read-error", path_, bad, out.size(), 0);
        return Garbage(out, Status::IoError(absl::StrFormat("%s: %s latent read error in sector at offset %u (read at %u)",
                                                            path_, kInjected, bad, offset)));
      }
    }
    return FileWrapper::Read(offset, out);
  }

  Status Write(uint64_t offset, std::span<const uint8_t> data) override {
    if (auto e = s_->IoError(path_, "write", offset)) return *e;
    const uint64_t size = CurrentSize();
    if (offset + data.size() > size && s_->Fire(Family::kNoSpace)) {
      ++s_->changed[size_t(Family::kNoSpace)];
      s_->sim->Note("enospc", path_, offset, data.size(), 0);
      return Status::IoError(absl::StrFormat("%s: %s no space left on device (write of %u bytes at offset %u)", path_,
                                             kInjected, data.size(), offset));
    }
    if (!IsLog(path_) && offset < 2 * kMetaPageSize && s_->Fire(Family::kTornMeta)) {
      // The power fails at this write (its step is the next), at the sync after it, or just after.
      s_->sim->ArmCrash(s_->sim->step() + 1 + s_->d->Below(3));
      s_->torn_meta_armed = true;
    }
    if (s_->Fire(Family::kLostWrite)) {
      s_->out_of_contract = true;
      s_->silent_damage = true;
      ++s_->changed[size_t(Family::kLostWrite)];
      s_->sim->Note("lost-write", path_, offset, data.size(), 0);
      return Status::Ok();
    }
    if (size >= 2 * SectorSize() && s_->Fire(Family::kMisdirectedWrite)) {
      const uint64_t sectors = (size - std::min<uint64_t>(size, data.size())) / SectorSize();
      const uint64_t to = s_->d->Below(sectors + 1) * SectorSize();
      if (to != offset) {
        s_->out_of_contract = true;
        s_->silent_damage = true;
        ++s_->changed[size_t(Family::kMisdirectedWrite)];
        s_->sim->Note("misdirected-write", path_, offset, to, 0);
        return FileWrapper::Write(to, data);
      }
    }
    // A write over the whole bad sector remaps it.
    if (s_->latent && s_->latent->first == path_ && offset <= s_->latent->second &&
        s_->latent->second + SectorSize() <= offset + data.size()) {
      s_->latent.reset();
    }
    return FileWrapper::Write(offset, data);
  }

  Status Truncate(uint64_t size) override {
    if (auto e = s_->IoError(path_, "truncate", size)) return *e;
    return FileWrapper::Truncate(size);
  }

  Status Sync() override {
    if (!s_->torn_meta_armed && !s_->process_crash_armed && s_->sim->PendingCount(path_) > 0 &&
        s_->FireAtSync(Family::kProcessCrash)) {
      // The process dies at this Sync: everything it wrote since the last one is in the kernel, nothing
      // of it durable, the moment a process crash differs most from a power loss (a reopen sees writes
      // a power loss would still take, e.g. a meta page written but not synced).
      s_->sim->ArmCrash(s_->sim->step() + 1);
      s_->process_crash_armed = true;
    }
    if (auto e = s_->IoError(path_, "sync", 0)) {
      // A failed fsync may have dropped the dirty pages (and a later fsync then reports success).
      if (s_->d->Below(2) == 1 && s_->sim->PendingCount(path_) > 0) s_->sim->DiscardPending(path_);
      return *e;
    }
    if (Lies()) {
      s_->out_of_contract = true;
      s_->silent_damage = true;  // pages a checkpoint names may never reach the disk whole
      if (s_->sim->PendingCount(path_) > 0) ++s_->changed[size_t(Family::kLyingSync)];
      s_->sim->Note("lying-sync", path_, 0, s_->sim->PendingCount(path_), 0);
      return Status::Ok();
    }
    return FileWrapper::Sync();
  }

  Result<uint64_t> Size() override {
    if (auto e = s_->IoError(path_, "size", 0)) return *e;
    return FileWrapper::Size();
  }

 private:
  uint64_t CurrentSize() const { return s_->sim->CurrentSize(path_); }

  bool Lies() {
    if (s_->suspended || !s_->active(Family::kLyingSync)) return false;
    switch (s_->lying_scope) {
      case FaultState::kOneCall:
        return s_->Fire(Family::kLyingSync);
      case FaultState::kOneFile:
        if (path_ != s_->lying_file) return false;
        ++s_->fired[size_t(Family::kLyingSync)];
        return true;
      case FaultState::kEveryFile:
        ++s_->fired[size_t(Family::kLyingSync)];
        return true;
    }
    return false;
  }

  // On failure a Read leaves unspecified bytes (env.h): garbage, so that using them shows.
  static Status Garbage(std::span<uint8_t> out, Status s) {
    std::memset(out.data(), 0xA5, out.size());
    return s;
  }

  std::string path_;
  FaultState* s_;
};

}  // namespace

Result<std::unique_ptr<File>> FaultEnv::Open(const std::string& path, OpenMode mode) {
  if (auto e = state_->IoError(path, "open", 0)) return *e;
  auto f = EnvWrapper::Open(path, mode);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new FaultFile(std::move(f).value(), path, state_));
}

Status FaultEnv::Unlink(const std::string& path) {
  if (auto e = state_->IoError(path, "unlink", 0)) return *e;
  return EnvWrapper::Unlink(path);
}

Result<bool> FaultEnv::Exists(const std::string& path) {
  if (auto e = state_->IoError(path, "exists", 0)) return *e;
  return EnvWrapper::Exists(path);
}

}  // namespace lsm::faults
