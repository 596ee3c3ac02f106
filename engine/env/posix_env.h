// PosixEnv: the production Env, on POSIX files. The only code in engine/ that calls the OS.
//
// Mapping of the contract in env.h:
//   - Open: open(2) with O_RDWR|O_CREAT (mode 0644) or O_RDONLY, O_CLOEXEC. Only regular files of a
//     filesystem that stores data: a directory, device, FIFO or socket, or a /proc or /sys file, is
//     kInvalidArgument ("open /dev/zero: a character device, not a regular file"), refused by stat(2)
//     before it is opened where possible (and opened O_NONBLOCK, so a FIFO cannot block the open).
//     The "-shm" file gets the same check. Read/Write: pread/pwrite loops that retry EINTR and short
//     transfers; a read that hits end of file zero-fills the rest.
//     Truncate: ftruncate. Sync: fdatasync (the size change of an extending write is included).
//   - Locks: Linux open-file-description record locks, F_OFD_SETLK (never blocks) / F_OFD_GETLK. Lock
//     id i is byte 4096 - i of the database file itself (inside meta page 1's range; the locks are
//     advisory, the bytes are never touched), so ids i..i+n-1 are bytes 4097-i-n .. 4096-i. They
//     conflict with the classic process-owned fcntl locks the reference engine takes, in any process.
//     Unlike those, they belong to the handle: two handles conflict even in one process, and closing
//     one handle drops only its own locks (classic locks would make two Envs in one process blind to
//     each other, and any close would drop every lock of the process). A forked child that inherits
//     the descriptor shares its locks until it closes it (exec does, through O_CLOEXEC).
//   - Shared memory: the file "<path>-shm", opened O_RDWR|O_CREAT on the first ShmMap (even for a
//     read-only handle), grown to cover the chunk and mapped MAP_SHARED, one mmap per chunk. Growth
//     uses posix_fallocate, which never shrinks the file when two processes grow it at once (falling
//     back to ftruncate where the filesystem cannot allocate); new space is zeros.
//     ShmBarrier: std::atomic_thread_fence(seq_cst).
//   - Clock: CLOCK_MONOTONIC. SleepMicros: nanosleep. Yield: nothing.
//   - Errors: kIoError (kNotFound for ENOENT on open/unlink) with a message naming the call, the path,
//     the offset where there is one and the errno text, e.g.
//     "pwrite /tmp/x.db at offset 4096: No space left on device".
//
// Thread-safe: the Env may be used from any number of threads; each File by one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "engine/env/env.h"

namespace lsm {

class PosixEnv final : public Env {
 public:
  PosixEnv() = default;

  // The process-wide instance; never destroyed.
  static PosixEnv* Default();

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Status Unlink(const std::string& path) override;
  Result<bool> Exists(const std::string& path) override;
  uint64_t NowMicros() override;
  void SleepMicros(uint64_t micros) override;
  void Yield() override {}
};

}  // namespace lsm
