#include "engine/env/posix_env.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

namespace lsm {
namespace {

// Lock id i lives at byte kLockByteBase - i of the database file (lsm_unix.c's layout).
constexpr off_t kLockByteBase = 4096;
constexpr uint64_t kMaxOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());

std::string ErrnoText(int err) { return std::generic_category().message(err); }

// "<op> <path>[ at offset N]: <errno text>", as kNotFound for ENOENT when `enoent_is_not_found`.
Status ErrnoStatus(const char* op, const std::string& path, int err, bool enoent_is_not_found = false) {
  std::string message = std::string(op) + " " + path + ": " + ErrnoText(err);
  if (enoent_is_not_found && err == ENOENT) return Status::NotFound(std::move(message));
  return Status::IoError(std::move(message));
}

Status ErrnoStatusAt(const char* op, const std::string& path, uint64_t offset, int err) {
  return Status::IoError(std::string(op) + " " + path + " at offset " + std::to_string(offset) + ": " +
                         ErrnoText(err));
}

// Whether [offset, offset + length) is addressable through off_t.
bool RangeFits(uint64_t offset, uint64_t length) {
  return offset <= kMaxOffset && length <= kMaxOffset - offset;
}

Status RangeError(const char* op, const std::string& path, uint64_t offset, uint64_t length) {
  return Status::InvalidArgument(std::string(op) + " " + path + " at offset " + std::to_string(offset) +
                                 " length " + std::to_string(length) + ": beyond the largest file offset");
}

bool ValidLockId(int id) { return id >= 1 && id <= kMaxLockId; }

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Database files, logs and shared memory must be regular files of a filesystem that keeps what is
// written: a directory or device would hang (/dev/zero never ends), swallow writes (/dev/null) or
// block at open (a FIFO), and /proc and /sys files only look regular (/proc/self/mem is this
// process's memory). `st` is the file's stat; `fd` (or -1) lets fstatfs ask about its filesystem.
Status CheckStoresData(const std::string& path, const struct stat& st, int fd) {
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("open " + path + ": " + FileKind(st.st_mode) + ", not a regular file");
  }
  struct statfs fs;
  if (fd >= 0 && ::fstatfs(fd, &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC)) {
    return Status::InvalidArgument("open " + path + ": a /proc or /sys file, not a regular file");
  }
  return Status::Ok();
}

// Opens `path` with `flags`, refusing (before opening, where it can) anything CheckStoresData does.
// O_NONBLOCK keeps a FIFO that appears between the stat and the open from blocking us.
Result<int> OpenStoringFile(const std::string& path, int flags, bool enoent_is_not_found) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) LSM_RETURN_IF_ERROR(CheckStoresData(path, st, -1));
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus("open", path, errno, enoent_is_not_found);
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = ErrnoStatus("fstat", path, errno);
  } else {
    s = CheckStoresData(path, st, fd);
  }
  if (s.ok() && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) s = ErrnoStatus("fcntl", path, errno);
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  return fd;
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path, bool read_only)
      : fd_(fd), path_(std::move(path)), read_only_(read_only) {}

  ~PosixFile() override {
    UnmapAll();
    ::close(fd_);  // drops this handle's locks
  }

  Status Read(uint64_t offset, std::span<uint8_t> out) override {
    if (!RangeFits(offset, out.size())) return RangeError("pread", path_, offset, out.size());
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatusAt("pread", path_, offset + done, errno);
      }
      if (n == 0) {  // end of file: the rest reads as zeros
        std::memset(out.data() + done, 0, out.size() - done);
        break;
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  std::shared_ptr<const uint8_t> MapForReading(uint64_t length) override {
    if (length == 0 || length > (uint64_t{1} << 46)) return nullptr;
    void* p = ::mmap(nullptr, size_t(length), PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return nullptr;
    return std::shared_ptr<const uint8_t>(static_cast<const uint8_t*>(p),
                                          [length](const uint8_t* q) { ::munmap(const_cast<uint8_t*>(q), size_t(length)); });
  }

  Status ReadV(uint64_t offset, std::span<const std::span<uint8_t>> outs) override {
    constexpr size_t kMaxSpans = 64;
    if (outs.size() > kMaxSpans) return File::ReadV(offset, outs);
    iovec iov[kMaxSpans];
    uint64_t total = 0;
    for (size_t i = 0; i < outs.size(); ++i) {
      iov[i] = {outs[i].data(), outs[i].size()};
      total += outs[i].size();
    }
    if (!RangeFits(offset, total)) return RangeError("preadv", path_, offset, total);
    ssize_t got = ::preadv(fd_, iov, int(outs.size()), static_cast<off_t>(offset));
    if (got < 0 && errno != EINTR) return ErrnoStatusAt("preadv", path_, offset, errno);
    // Whatever one call left (a short read, end of file, EINTR) is finished through Read, which knows
    // each case.
    uint64_t done = got < 0 ? 0 : uint64_t(got);
    for (std::span<uint8_t> out : outs) {
      if (done < out.size()) LSM_RETURN_IF_ERROR(Read(offset + done, out.subspan(done)));
      done -= std::min<uint64_t>(done, out.size());
      offset += out.size();
    }
    return Status::Ok();
  }

  Status Write(uint64_t offset, std::span<const uint8_t> data) override {
    if (read_only_) return Status::Misuse("pwrite " + path_ + ": opened read-only");
    if (!RangeFits(offset, data.size())) return RangeError("pwrite", path_, offset, data.size());
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatusAt("pwrite", path_, offset + done, errno);
      }
      if (n == 0) {  // no progress and no errno: report rather than spin
        return Status::IoError("pwrite " + path_ + " at offset " + std::to_string(offset + done) +
                               ": wrote 0 bytes");
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (read_only_) return Status::Misuse("ftruncate " + path_ + ": opened read-only");
    if (size > kMaxOffset) return RangeError("ftruncate", path_, size, 0);
    while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return ErrnoStatusAt("ftruncate", path_, size, errno);
    }
    return Status::Ok();
  }

  Status Sync() override {
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return ErrnoStatus("fdatasync", path_, errno);
    }
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  uint32_t SectorSize() const override { return kDefaultSectorSize; }

  Status Lock(int lock_id, LockMode mode) override {
    if (!ValidLockId(lock_id)) {
      return Status::InvalidArgument("lock " + std::to_string(lock_id) + " on " + path_ + ": no such lock id");
    }
    if (mode == LockMode::kExclusive && read_only_) {
      return Status::Misuse("exclusive lock " + std::to_string(lock_id) + " on " + path_ + ": opened read-only");
    }
    struct flock fl {};
    fl.l_type = mode == LockMode::kUnlocked ? F_UNLCK : mode == LockMode::kShared ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = kLockByteBase - lock_id;
    fl.l_len = 1;
    while (::fcntl(fd_, F_OFD_SETLK, &fl) != 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EACCES) {
        return Status::Busy("lock " + std::to_string(lock_id) + " on " + path_ + " held by another handle");
      }
      return ErrnoStatus(("fcntl(F_OFD_SETLK) lock " + std::to_string(lock_id) + " on").c_str(), path_, errno);
    }
    return Status::Ok();
  }

  Result<bool> TestLock(int lock_id, int count, LockMode mode) override {
    if (count < 1 || !ValidLockId(lock_id) || !ValidLockId(lock_id + count - 1) ||
        mode == LockMode::kUnlocked) {
      return Status::InvalidArgument("test lock " + std::to_string(lock_id) + "+" + std::to_string(count) +
                                     " on " + path_ + ": bad range or mode");
    }
    // Ids lock_id .. lock_id+count-1 are bytes kLockByteBase-lock_id-count+1 .. kLockByteBase-lock_id
    // (the reference engine started the range at the first id's byte, bug B16).
    struct flock fl {};
    fl.l_type = mode == LockMode::kShared ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = kLockByteBase - lock_id - count + 1;
    fl.l_len = count;
    while (::fcntl(fd_, F_OFD_GETLK, &fl) != 0) {
      if (errno != EINTR) return ErrnoStatus("fcntl(F_OFD_GETLK) on", path_, errno);
    }
    return fl.l_type != F_UNLCK;
  }

  Result<uint8_t*> ShmMap(uint32_t chunk) override {
    const std::string shm_path = path_ + "-shm";
    if (chunk >= kMaxShmChunks) {
      return Status::InvalidArgument("shm map " + shm_path + " chunk " + std::to_string(chunk) +
                                     ": out of range");
    }
    if (chunk < chunks_.size() && chunks_[chunk].data != nullptr) return chunks_[chunk].data;
    if (shm_fd_ < 0) {
      auto fd = OpenStoringFile(shm_path, O_RDWR | O_CREAT, /*enoent_is_not_found=*/false);
      if (!fd.ok()) return fd.status();
      shm_fd_ = *fd;
    }
    const uint64_t offset = uint64_t{chunk} * kShmChunkSize;
    LSM_RETURN_IF_ERROR(GrowShm(shm_path, offset + kShmChunkSize));

    // mmap offsets must be page aligned; on hosts with pages larger than a chunk, map from the page
    // start and hand out the chunk inside it (overlapping MAP_SHARED mappings stay coherent).
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t map_offset = offset - offset % page;
    const size_t length = static_cast<size_t>(offset - map_offset) + kShmChunkSize;
    void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd_,
                        static_cast<off_t>(map_offset));
    if (base == MAP_FAILED) return ErrnoStatusAt("mmap", shm_path, offset, errno);
    if (chunk >= chunks_.size()) chunks_.resize(chunk + 1);
    chunks_[chunk] = {base, length, static_cast<uint8_t*>(base) + (offset - map_offset)};
    return chunks_[chunk].data;
  }

  void ShmBarrier() override { std::atomic_thread_fence(std::memory_order_seq_cst); }

  Status ShmUnmap(bool delete_shm) override {
    UnmapAll();
    if (delete_shm) {
      const std::string shm_path = path_ + "-shm";
      if (::unlink(shm_path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink", shm_path, errno);
    }
    return Status::Ok();
  }

 private:
  struct Mapping {
    void* base = nullptr;
    size_t length = 0;
    uint8_t* data = nullptr;
  };

  // Makes the shm file at least `size` bytes long; new space reads as zeros. Never shrinks it, even
  // if another process grows it at the same time (a plain fstat + ftruncate could undo its growth
  // and leave its mapping past end of file): posix_fallocate only extends.
  Status GrowShm(const std::string& shm_path, uint64_t size) {
    struct stat st;
    if (::fstat(shm_fd_, &st) != 0) return ErrnoStatus("fstat", shm_path, errno);
    if (static_cast<uint64_t>(st.st_size) >= size) return Status::Ok();
    int err;
    do {
      err = ::posix_fallocate(shm_fd_, st.st_size, static_cast<off_t>(size - st.st_size));
    } while (err == EINTR);
    if (err == EOPNOTSUPP || err == EINVAL) {  // filesystem cannot allocate: extend sparsely
      while (::ftruncate(shm_fd_, static_cast<off_t>(size)) != 0) {
        if (errno != EINTR) return ErrnoStatusAt("ftruncate", shm_path, size, errno);
      }
      return Status::Ok();
    }
    if (err != 0) return ErrnoStatusAt("posix_fallocate", shm_path, size, err);
    return Status::Ok();
  }

  void UnmapAll() {
    for (const Mapping& m : chunks_) {
      if (m.base != nullptr) ::munmap(m.base, m.length);
    }
    chunks_.clear();
    if (shm_fd_ >= 0) {
      ::close(shm_fd_);
      shm_fd_ = -1;
    }
  }

  const int fd_;
  const std::string path_;
  const bool read_only_;
  int shm_fd_ = -1;
  std::vector<Mapping> chunks_;  // indexed by chunk; base == nullptr where not mapped
};

}  // namespace

PosixEnv* PosixEnv::Default() {
  static PosixEnv* const env = new PosixEnv();  // never destroyed: usable during static destruction
  return env;
}

Result<std::unique_ptr<File>> PosixEnv::Open(const std::string& path, OpenMode mode) {
  const bool read_only = mode == OpenMode::kReadOnly;
  auto fd = OpenStoringFile(path, read_only ? O_RDONLY : O_RDWR | O_CREAT, /*enoent_is_not_found=*/true);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<File>(std::make_unique<PosixFile>(*fd, path, read_only));
}

Status PosixEnv::Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno, /*enoent_is_not_found=*/true);
  return Status::Ok();
}

Result<bool> PosixEnv::Exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return ErrnoStatus("stat", path, errno);
}

uint64_t PosixEnv::NowMicros() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void PosixEnv::SleepMicros(uint64_t micros) {
  struct timespec left;
  left.tv_sec = static_cast<time_t>(micros / 1000000u);
  left.tv_nsec = static_cast<long>(micros % 1000000u) * 1000;
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

}  // namespace lsm
