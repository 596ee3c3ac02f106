// MemEnv: a minimal in-memory Env that only stores bytes. It is the Env of the engine's unit tests and
// the baseline the simulator's overhead is measured against, so it stays lean: no durability model
// (Sync succeeds and does nothing; there is no crash to survive), no fault injection, no scheduling.
//
// What it does model, because the engine's correctness depends on it:
//   - A file is a byte vector shared by every handle opened on the same path (an "inode"). Unlink
//     removes the name; handles already open keep the old bytes, as on POSIX.
//   - Locks live on the inode and are held per handle: two handles of the same path conflict like two
//     processes would. Closing a handle releases its locks.
//   - Shared memory is kept per database path, in kShmChunkSize chunks that are zero-filled when new
//     and never move. It is not visible as a file (no "<path>-shm" entry).
//   - The clock starts at 0 and advances only through SleepMicros.
//
// Not thread-safe: REQUIRES external synchronization of every call on a MemEnv and its files (the
// engine starts no threads). Every File must be destroyed before its MemEnv.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/env/env.h"

namespace lsm {

class MemEnv : public Env {
 public:
  struct Options {
    uint32_t sector_size = kDefaultSectorSize;
    // Writes or truncates past this size fail with kIoError ("no space"), instead of exhausting memory.
    uint64_t max_file_size = uint64_t{1} << 32;
  };

  MemEnv() : MemEnv(Options{}) {}
  explicit MemEnv(Options options) : options_(options) {}
  ~MemEnv() override;

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Status Unlink(const std::string& path) override;
  Result<bool> Exists(const std::string& path) override;
  uint64_t NowMicros() override { return now_micros_; }
  void SleepMicros(uint64_t micros) override { now_micros_ += micros; }
  void Yield() override {}

  // Test helpers. Contents returns a copy of the file's bytes (kNotFound if missing); SetContents
  // creates or replaces the file's bytes (open handles see the new bytes).
  Result<std::vector<uint8_t>> Contents(const std::string& path) const;
  void SetContents(const std::string& path, std::vector<uint8_t> bytes);

  // Implementation types, shared with the handles (defined in mem_env.cc).
  struct Inode;
  struct Shm;

 private:
  friend class MemFile;

  std::shared_ptr<Shm> AttachShm(const std::string& path);
  void DeleteShm(const std::string& path) { shm_.erase(path); }

  Options options_;
  uint64_t now_micros_ = 0;
  // Ordered maps: nothing here may depend on hash order.
  std::map<std::string, std::shared_ptr<Inode>> files_;
  std::map<std::string, std::shared_ptr<Shm>> shm_;
};

}  // namespace lsm
