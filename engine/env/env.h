// The seam. The engine reaches the outside world (files, advisory locks, shared memory, a clock) only
// through Env and File. PosixEnv (posix_env.h) is production, MemEnv (mem_env.h) is the lean in-memory
// baseline for unit tests, SimEnv (sim/) is the simulation. This file is the whole contract: an Env
// that honours it is one the engine must survive; an Env that breaks it (the fault catalogue) is one
// the engine is allowed to fail under, and the oracle's expectations say how.
//
// Durability model, for every implementation:
//   - Write and Truncate change what later reads of that file see (through any handle, at once) but
//     are not durable. Until that file's next successful Sync, a crash (power loss) may drop, apply,
//     or tear each of them independently and in any order; a tear is per sector (SectorSize()): each
//     sector of a torn write holds its old bytes, its new bytes, or garbage. A write never damages a
//     sector it did not cover.
//   - Sync(f) makes every earlier Write/Truncate of that file durable, whichever handle (or process)
//     issued it. Nothing orders two different files: syncing the log says nothing about the db file.
//   - Creating a file (Open) and Unlink are not made durable by any Sync (there is no directory sync;
//     the reference engine never syncs a directory either): after a crash a created file may be
//     missing and an unlinked one may be back.
//   - Shared memory survives a process crash and is lost at power loss. Stores become visible to
//     other handles/processes in an unspecified order except across ShmBarrier, and a Lock call is a
//     full barrier too: whoever takes a lock after it sees every store made before it.
//   - Locks held by a crashed process are released. That is the engine's only crash detector.
//
// Errors are values: nothing here throws. A non-ok Status names the operation, the path and, where
// there is one, the offset. Codes used: kNotFound (missing file or directory), kIoError (the OS or the
// simulated device failed), kBusy (lock conflict), kMisuse (a call the handle's mode forbids),
// kInvalidArgument (not a regular file, lock id or chunk out of range, offset overflow).
//
// Threads: the engine starts none. An Env may be shared by many connections; a File handle is used by
// one thread at a time (REQUIRES: external synchronization per handle). Implementations say whether
// the Env itself is thread-safe (PosixEnv is; MemEnv is not).
//
// Lifetime: every File must be destroyed before the Env that opened it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "engine/status.h"

namespace lsm {

// Advisory lock states. kShared is compatible with other kShared holders only; kExclusive with no one.
enum class LockMode { kUnlocked, kShared, kExclusive };

// Lock ids are 1..kMaxLockId. The LSM engine uses DMS1=1, DMS2=2, DMS3=3, WRITER=4, WORKER=5,
// CHECKPOINTER=6, ROTRANS=7, READER(0..5)=8..13, RWCLIENT(0..15)=14..29; the rest are spare.
inline constexpr int kMaxLockId = 32;

// Shared memory is mapped in chunks of this many bytes (the LSM engine's shm layout assumes it).
inline constexpr size_t kShmChunkSize = 32768;
// Highest chunk index + 1 that ShmMap accepts (2 GiB of shared memory).
inline constexpr uint32_t kMaxShmChunks = 65536;

// The sector size every Env reports unless configured otherwise (lsm_unix.c hard-codes 512).
inline constexpr uint32_t kDefaultSectorSize = 512;

// One open file handle. Destroying it closes the file: releases every lock it holds and unmaps its
// shared memory without deleting it. Closing does not sync.
class File {
 public:
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  virtual ~File() = default;

  // Fills `out` with the bytes at [offset, offset + out.size()). Bytes at or past end of file read as
  // zeros and the call still succeeds (recovery relies on this: a zero meta page is an invalid
  // checkpoint, a zero log byte is end-of-log). On failure `out` holds unspecified bytes; kIoError.
  virtual Status Read(uint64_t offset, std::span<uint8_t> out) = 0;

  // Fills the spans of `outs` in turn from `offset` on, exactly as consecutive Reads would (PosixEnv
  // issues one vectored read, so the page cache can fetch a run of pages in one call). On failure every
  // span holds unspecified bytes. The default is one Read per span, through this handle's own Read, so
  // a wrapper that changes Read changes this too.
  virtual Status ReadV(uint64_t offset, std::span<const std::span<uint8_t>> outs) {
    for (std::span<uint8_t> out : outs) {
      Status s = Read(offset, out);
      if (!s.ok()) return s;
      offset += out.size();
    }
    return Status::Ok();
  }

  // A read-only map of the file's bytes [0, length) that shows every Write at once, whichever handle
  // issued it (the reference engine maps its database file too, LSM_CONFIG_MMAP). The bytes stay
  // mapped while the returned owner lives, even after this handle closes. Only bytes below the file's
  // current size may be read through it (PosixEnv: a read past the end raises SIGBUS), so the caller
  // tracks the size and reads nothing a Truncate removed. Null when the Env does not map (MemEnv;
  // SimEnv, where every read is to be seen and may be faulted) or the map fails: the caller then uses
  // Read. The default is null and FileWrapper does not forward it, so no wrapper that changes Read is
  // bypassed.
  virtual std::shared_ptr<const uint8_t> MapForReading(uint64_t length) { return nullptr; }

  // Writes `data` at `offset`, extending the file (a gap reads as zeros) as needed. All or nothing
  // from the caller's view: a short write is retried, never reported as success. On failure a prefix
  // may have been written; kIoError (kMisuse on a read-only handle). Not durable until Sync.
  virtual Status Write(uint64_t offset, std::span<const uint8_t> data) = 0;

  // Sets the file size: shrinking drops the tail, growing appends zeros. On failure the size is
  // unchanged or already the new one; kIoError (kMisuse on a read-only handle). Not durable until Sync.
  virtual Status Truncate(uint64_t size) = 0;

  // Makes every earlier Write/Truncate of this file durable, whichever handle issued it. On failure
  // nothing is promised about unsynced data (it may be lost even without a crash); kIoError.
  virtual Status Sync() = 0;

  // The current size, including unsynced writes; kIoError on failure.
  virtual Result<uint64_t> Size() = 0;

  // The unit of atomic writes the engine may assume (after a crash each sector of an unsynced write is
  // old, new or garbage, never a mix within the sector). kDefaultSectorSize unless configured.
  virtual uint32_t SectorSize() const = 0;

  // Moves this handle's lock `lock_id` (1..kMaxLockId) to `mode`: kUnlocked releases, kShared takes or
  // downgrades, kExclusive takes or upgrades. Never blocks: kBusy if another holder's lock conflicts,
  // and the handle keeps what it held before. kExclusive on a read-only handle is kMisuse; a bad id is
  // kInvalidArgument. "Another holder" is another handle, in this process or another (in every Env),
  // so the connections of one process that share a database take Env locks through its one handle.
  virtual Status Lock(int lock_id, LockMode mode) = 0;

  // True if another holder (as for Lock) holds any lock in [lock_id, lock_id + count) that conflicts
  // with `mode` (kShared: an exclusive lock; kExclusive: any lock). This handle's own locks never
  // count. Racy by nature: the answer may be stale when it returns. kInvalidArgument if the range
  // leaves 1..kMaxLockId, count < 1, or mode is kUnlocked; kIoError if the OS fails.
  virtual Result<bool> TestLock(int lock_id, int count, LockMode mode) = 0;

  // Returns chunk `chunk` (kShmChunkSize bytes) of the shared memory attached to this database file
  // (PosixEnv: the file "<path>-shm"), creating it zero-filled if it does not exist yet. Every handle
  // of the same file, in any process, sees the same bytes. The pointer is stable: mapping the same
  // chunk again returns it, and it stays valid until ShmUnmap or the handle is closed. Chunks may be
  // mapped in any order. kInvalidArgument if chunk >= kMaxShmChunks; kIoError on failure.
  virtual Result<uint8_t*> ShmMap(uint32_t chunk) = 0;

  // A full memory fence for shared-memory stores: every store before it becomes visible to other
  // handles/processes before any store after it. Loads are not reordered across it either.
  virtual void ShmBarrier() = 0;

  // Unmaps every chunk this handle mapped; their pointers become invalid. If delete_shm, the shared
  // memory itself is deleted too (a later ShmMap, from any handle, starts from zeros); handles that
  // still have it mapped keep their now-detached view. Deleting memory that does not exist is ok.
  // kIoError if deleting fails (the unmap has happened regardless).
  virtual Status ShmUnmap(bool delete_shm) = 0;

 protected:
  File() = default;
};

enum class OpenMode {
  kReadWriteCreate,  // open for reading and writing, creating an empty file if missing
  kReadOnly,         // open an existing file for reading; Write/Truncate/exclusive locks are kMisuse
};

// Files, the clock and scheduling. Paths are opaque strings: the same string names the same file
// (the engine canonicalises once when a database is opened); no path arithmetic is done here.
class Env {
 public:
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // Opens `path`. kNotFound if the file is missing and mode is kReadOnly, or if its directory does not
  // exist; kInvalidArgument if `path` names something that is not a regular file (a directory, a
  // device, a FIFO...: nothing is read or written then); kIoError for other failures. Each call gives a new, independent handle. Creating a file is
  // not durable (see the top of this file). Thread-safety: as the implementation says.
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;

  // Removes `path` from the namespace. Open handles keep working on the old contents (POSIX
  // semantics). kNotFound if missing; kIoError otherwise. Not durable (see the top of this file).
  virtual Status Unlink(const std::string& path) = 0;

  // Whether `path` exists. kIoError if that cannot be determined.
  virtual Result<bool> Exists(const std::string& path) = 0;

  // Microseconds on a monotonic clock with an arbitrary origin. PosixEnv reads the OS clock; MemEnv
  // and SimEnv return simulated time, which only SleepMicros (or the simulator) advances.
  virtual uint64_t NowMicros() = 0;

  // Waits at least `micros` microseconds (simulated Envs advance their clock instead).
  virtual void SleepMicros(uint64_t micros) = 0;

  // A scheduling point: SimEnv may switch to another simulated process here. A no-op for real Envs.
  // The engine also calls it once per iteration of every loop its input does not bound (merge and
  // flush planning), so a simulator can tell a stuck call from a long one (SimEnv's hang watchdog).
  virtual void Yield() = 0;

 protected:
  Env() = default;
};

// Forwards every call to another File it owns, so a fault-injecting File overrides only what it
// changes.
class FileWrapper : public File {
 public:
  explicit FileWrapper(std::unique_ptr<File> target) : target_(std::move(target)) {}

  File* target() const { return target_.get(); }

  Status Read(uint64_t offset, std::span<uint8_t> out) override { return target_->Read(offset, out); }
  Status Write(uint64_t offset, std::span<const uint8_t> data) override {
    return target_->Write(offset, data);
  }
  Status Truncate(uint64_t size) override { return target_->Truncate(size); }
  Status Sync() override { return target_->Sync(); }
  Result<uint64_t> Size() override { return target_->Size(); }
  uint32_t SectorSize() const override { return target_->SectorSize(); }
  Status Lock(int lock_id, LockMode mode) override { return target_->Lock(lock_id, mode); }
  Result<bool> TestLock(int lock_id, int count, LockMode mode) override {
    return target_->TestLock(lock_id, count, mode);
  }
  Result<uint8_t*> ShmMap(uint32_t chunk) override { return target_->ShmMap(chunk); }
  void ShmBarrier() override { target_->ShmBarrier(); }
  Status ShmUnmap(bool delete_shm) override { return target_->ShmUnmap(delete_shm); }

 private:
  std::unique_ptr<File> target_;
};

// Forwards every call to another Env it does not own (which must outlive the wrapper), so a
// fault-injecting Env overrides only what it changes.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}

  Env* target() const { return target_; }

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    return target_->Open(path, mode);
  }
  Status Unlink(const std::string& path) override { return target_->Unlink(path); }
  Result<bool> Exists(const std::string& path) override { return target_->Exists(path); }
  uint64_t NowMicros() override { return target_->NowMicros(); }
  void SleepMicros(uint64_t micros) override { target_->SleepMicros(micros); }
  void Yield() override { target_->Yield(); }

 private:
  Env* target_;
};

}  // namespace lsm
