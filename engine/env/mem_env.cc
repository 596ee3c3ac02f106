#include "engine/env/mem_env.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

namespace lsm {

// A file's bytes and the locks held on it, shared by every handle of the file. Lock state is kept as
// counts so a handle's own locks can be subtracted when testing for conflicts.
struct MemEnv::Inode {
  std::vector<uint8_t> bytes;
  std::array<uint32_t, kMaxLockId + 1> shared_holders{};
  std::array<bool, kMaxLockId + 1> exclusive_held{};
};

// One database's shared memory. Chunks are separate allocations so their addresses never move.
struct MemEnv::Shm {
  std::vector<std::unique_ptr<uint8_t[]>> chunks;
};

namespace {

bool ValidLockId(int id) { return id >= 1 && id <= kMaxLockId; }

}  // namespace

class MemFile final : public File {
 public:
  MemFile(MemEnv* env, std::string path, std::shared_ptr<MemEnv::Inode> inode, bool read_only)
      : env_(env), path_(std::move(path)), inode_(std::move(inode)), read_only_(read_only) {}

  ~MemFile() override {
    for (int id = 1; id <= kMaxLockId; ++id) Release(id);
  }

  Status Read(uint64_t offset, std::span<uint8_t> out) override {
    const std::vector<uint8_t>& bytes = inode_->bytes;
    size_t n = 0;
    if (offset < bytes.size()) {
      n = static_cast<size_t>(std::min<uint64_t>(out.size(), bytes.size() - offset));
      std::memcpy(out.data(), bytes.data() + offset, n);
    }
    if (n < out.size()) std::memset(out.data() + n, 0, out.size() - n);
    return Status::Ok();
  }

  Status Write(uint64_t offset, std::span<const uint8_t> data) override {
    if (read_only_) return Status::Misuse("write " + path_ + ": opened read-only");
    if (data.empty()) return Status::Ok();
    uint64_t end = offset + data.size();
    if (end < offset || end > env_->options_.max_file_size) {
      return NoSpace("write", offset);
    }
    std::vector<uint8_t>& bytes = inode_->bytes;
    if (end > bytes.size()) {
      LSM_RETURN_IF_ERROR(Resize(end, "write", offset));
    }
    std::memcpy(bytes.data() + offset, data.data(), data.size());
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (read_only_) return Status::Misuse("truncate " + path_ + ": opened read-only");
    if (size > env_->options_.max_file_size) return NoSpace("truncate", size);
    return Resize(size, "truncate", size);
  }

  Status Sync() override { return Status::Ok(); }

  Result<uint64_t> Size() override { return uint64_t{inode_->bytes.size()}; }

  uint32_t SectorSize() const override { return env_->options_.sector_size; }

  Status Lock(int lock_id, LockMode mode) override {
    if (!ValidLockId(lock_id)) {
      return Status::InvalidArgument("lock " + std::to_string(lock_id) + " on " + path_ + ": no such lock id");
    }
    LockMode& held = held_[lock_id];
    if (held == mode) return Status::Ok();
    MemEnv::Inode& in = *inode_;
    switch (mode) {
      case LockMode::kUnlocked:
        Release(lock_id);
        return Status::Ok();
      case LockMode::kShared:
        if (held == LockMode::kExclusive) {  // downgrade: always possible
          in.exclusive_held[lock_id] = false;
        } else if (in.exclusive_held[lock_id]) {
          return Busy(lock_id);
        }
        ++in.shared_holders[lock_id];
        held = LockMode::kShared;
        return Status::Ok();
      case LockMode::kExclusive: {
        if (read_only_) {
          return Status::Misuse("exclusive lock " + std::to_string(lock_id) + " on " + path_ +
                                ": opened read-only");
        }
        uint32_t other_shared = in.shared_holders[lock_id] - (held == LockMode::kShared ? 1 : 0);
        if (in.exclusive_held[lock_id] || other_shared > 0) return Busy(lock_id);
        if (held == LockMode::kShared) --in.shared_holders[lock_id];
        in.exclusive_held[lock_id] = true;
        held = LockMode::kExclusive;
        return Status::Ok();
      }
    }
    return Status::InvalidArgument("lock " + std::to_string(lock_id) + " on " + path_ + ": bad mode");
  }

  Result<bool> TestLock(int lock_id, int count, LockMode mode) override {
    if (count < 1 || !ValidLockId(lock_id) || !ValidLockId(lock_id + count - 1) ||
        mode == LockMode::kUnlocked) {
      return Status::InvalidArgument("test lock " + std::to_string(lock_id) + "+" + std::to_string(count) +
                                     " on " + path_ + ": bad range or mode");
    }
    const MemEnv::Inode& in = *inode_;
    for (int id = lock_id; id < lock_id + count; ++id) {
      bool other_exclusive = in.exclusive_held[id] && held_[id] != LockMode::kExclusive;
      uint32_t other_shared = in.shared_holders[id] - (held_[id] == LockMode::kShared ? 1 : 0);
      if (other_exclusive) return true;
      if (mode == LockMode::kExclusive && other_shared > 0) return true;
    }
    return false;
  }

  Result<uint8_t*> ShmMap(uint32_t chunk) override {
    if (chunk >= kMaxShmChunks) {
      return Status::InvalidArgument("shm map " + path_ + " chunk " + std::to_string(chunk) + ": out of range");
    }
    if (shm_ == nullptr) shm_ = env_->AttachShm(path_);
    std::vector<std::unique_ptr<uint8_t[]>>& chunks = shm_->chunks;
    try {
      if (chunk >= chunks.size()) chunks.resize(chunk + 1);
      if (chunks[chunk] == nullptr) chunks[chunk] = std::make_unique<uint8_t[]>(kShmChunkSize);  // zeroed
    } catch (const std::bad_alloc&) {
      return Status::IoError("shm map " + path_ + " chunk " + std::to_string(chunk) + ": out of memory");
    }
    return chunks[chunk].get();
  }

  void ShmBarrier() override { std::atomic_thread_fence(std::memory_order_seq_cst); }

  Status ShmUnmap(bool delete_shm) override {
    shm_.reset();
    if (delete_shm) env_->DeleteShm(path_);
    return Status::Ok();
  }

 private:
  void Release(int lock_id) {
    LockMode& held = held_[lock_id];
    if (held == LockMode::kShared) --inode_->shared_holders[lock_id];
    if (held == LockMode::kExclusive) inode_->exclusive_held[lock_id] = false;
    held = LockMode::kUnlocked;
  }

  Status Resize(uint64_t size, const char* op, uint64_t offset) {
    try {
      inode_->bytes.resize(static_cast<size_t>(size));  // growth is zero-filled
    } catch (const std::bad_alloc&) {
      return NoSpace(op, offset);
    } catch (const std::length_error&) {
      return NoSpace(op, offset);
    }
    return Status::Ok();
  }

  Status NoSpace(const char* op, uint64_t offset) const {
    return Status::IoError(std::string(op) + " " + path_ + " at offset " + std::to_string(offset) +
                           ": no space (MemEnv file limit " + std::to_string(env_->options_.max_file_size) +
                           " bytes)");
  }

  Status Busy(int lock_id) const {
    return Status::Busy("lock " + std::to_string(lock_id) + " on " + path_ + " held by another handle");
  }

  MemEnv* env_;
  std::string path_;
  std::shared_ptr<MemEnv::Inode> inode_;
  std::shared_ptr<MemEnv::Shm> shm_;  // null until the first ShmMap after open or ShmUnmap
  bool read_only_;
  std::array<LockMode, kMaxLockId + 1> held_{};  // index 0 unused
};

MemEnv::~MemEnv() = default;

Result<std::unique_ptr<File>> MemEnv::Open(const std::string& path, OpenMode mode) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (mode == OpenMode::kReadOnly) return Status::NotFound("open " + path + ": no such file");
    it = files_.emplace(path, std::make_shared<Inode>()).first;
  }
  return std::unique_ptr<File>(std::make_unique<MemFile>(this, path, it->second, mode == OpenMode::kReadOnly));
}

Status MemEnv::Unlink(const std::string& path) {
  if (files_.erase(path) == 0) return Status::NotFound("unlink " + path + ": no such file");
  return Status::Ok();
}

Result<bool> MemEnv::Exists(const std::string& path) { return files_.count(path) != 0; }

Result<std::vector<uint8_t>> MemEnv::Contents(const std::string& path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound("contents " + path + ": no such file");
  return it->second->bytes;
}

void MemEnv::SetContents(const std::string& path, std::vector<uint8_t> bytes) {
  std::shared_ptr<Inode>& inode = files_[path];
  if (inode == nullptr) inode = std::make_shared<Inode>();
  inode->bytes = std::move(bytes);
}

std::shared_ptr<MemEnv::Shm> MemEnv::AttachShm(const std::string& path) {
  std::shared_ptr<Shm>& shm = shm_[path];
  if (shm == nullptr) shm = std::make_shared<Shm>();
  return shm;
}

}  // namespace lsm
