// The Env contract (engine/env/env.h), checked the same way against MemEnv and PosixEnv. "Another holder"
// of a lock is another handle for MemEnv and another process (a forked child) for PosixEnv (whose
// locks also conflict between handles of one process: EnvPosix.LocksBelongToTheHandleEvenWithinAProcess).
#include "engine/env/env.h"

#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/env/mem_env.h"
#include "engine/env/posix_env.h"
#include "engine/tests/temp_dir.h"
#include "gtest/gtest.h"

namespace lsm {
namespace {

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + 1);
  return v;
}

std::vector<uint8_t> ReadBytes(File& f, uint64_t offset, size_t n) {
  std::vector<uint8_t> out(n, 0xAA);  // poison: zero-fill must be done by Read
  Status s = f.Read(offset, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}
bool AllZero(const std::vector<uint8_t>& v) { return AllZero(v.data(), v.size()); }

// Someone other than the handle under test who can take locks on the same file.
class OtherHolder {
 public:
  virtual ~OtherHolder() = default;
  virtual Status Lock(int lock_id, LockMode mode) = 0;
  virtual Result<bool> TestLock(int lock_id, int count, LockMode mode) = 0;
  // Closes the other holder's handle (the holder itself stays alive).
  virtual void Close() = 0;
};

class OtherHandle : public OtherHolder {
 public:
  explicit OtherHandle(std::unique_ptr<File> file) : file_(std::move(file)) {}
  Status Lock(int lock_id, LockMode mode) override { return file_->Lock(lock_id, mode); }
  Result<bool> TestLock(int lock_id, int count, LockMode mode) override {
    return file_->TestLock(lock_id, count, mode);
  }
  void Close() override { file_.reset(); }

 private:
  std::unique_ptr<File> file_;
};

// A forked child that opens the file through its own PosixEnv and obeys commands sent over a pipe.
class OtherProcess : public OtherHolder {
 public:
  enum Op : int { kLock, kTestLock, kClose, kRawLockByte };
  struct Command {
    int op, a, b, c;
  };
  struct Reply {
    int code, value;
  };

  explicit OtherProcess(const std::string& path) {
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) {
      ADD_FAILURE() << "pipe failed";
      return;
    }
    pid_ = ::fork();
    if (pid_ < 0) {
      ADD_FAILURE() << "fork failed";
      return;
    }
    if (pid_ == 0) {
      ::close(to_child[1]);
      ::close(from_child[0]);
      ChildMain(path, to_child[0], from_child[1]);  // never returns
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    cmd_fd_ = to_child[1];
    reply_fd_ = from_child[0];
  }

  ~OtherProcess() override {
    if (pid_ <= 0) return;
    ::close(cmd_fd_);  // child sees EOF and exits
    ::close(reply_fd_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }

  Status Lock(int lock_id, LockMode mode) override {
    Reply r = Call({kLock, lock_id, static_cast<int>(mode), 0});
    return r.code == 0 ? Status::Ok() : Status(static_cast<Code>(r.code), "from child");
  }
  Result<bool> TestLock(int lock_id, int count, LockMode mode) override {
    Reply r = Call({kTestLock, lock_id, count, static_cast<int>(mode)});
    if (r.code != 0) return Status(static_cast<Code>(r.code), "from child");
    return r.value != 0;
  }
  void Close() override { Call({kClose, 0, 0, 0}); }
  // Takes an fcntl lock on one byte directly, bypassing PosixEnv's id-to-byte mapping.
  void RawLockByte(off_t byte, short type) { Call({kRawLockByte, static_cast<int>(byte), type, 0}); }

 private:
  Reply Call(Command cmd) {
    Reply r{-1, 0};
    if (pid_ <= 0) return r;
    if (::write(cmd_fd_, &cmd, sizeof cmd) != sizeof cmd || ::read(reply_fd_, &r, sizeof r) != sizeof r) {
      ADD_FAILURE() << "lost contact with child";
      r = {-1, 0};
    }
    return r;
  }

  [[noreturn]] static void ChildMain(const std::string& path, int cmd_fd, int reply_fd) {
    PosixEnv env;
    auto file = env.Open(path, OpenMode::kReadWriteCreate);
    if (!file.ok()) ::_exit(2);
    std::unique_ptr<File> f = std::move(file).value();
    int raw_fd = ::open(path.c_str(), O_RDWR);  // kept open: closing it would drop our locks
    Command cmd;
    while (::read(cmd_fd, &cmd, sizeof cmd) == sizeof cmd) {
      Reply r{0, 0};
      switch (cmd.op) {
        case kLock:
          r.code = static_cast<int>(f ? f->Lock(cmd.a, static_cast<LockMode>(cmd.b)).code() : Code::kMisuse);
          break;
        case kTestLock: {
          if (!f) {
            r.code = static_cast<int>(Code::kMisuse);
            break;
          }
          auto t = f->TestLock(cmd.a, cmd.b, static_cast<LockMode>(cmd.c));
          r.code = static_cast<int>(t.ok() ? Code::kOk : t.status().code());
          r.value = t.ok() && *t;
          break;
        }
        case kClose:
          f.reset();
          break;
        case kRawLockByte: {
          struct flock fl {};
          fl.l_type = static_cast<short>(cmd.b);
          fl.l_whence = SEEK_SET;
          fl.l_start = cmd.a;
          fl.l_len = 1;
          r.code = ::fcntl(raw_fd, F_SETLK, &fl) == 0 ? 0 : static_cast<int>(Code::kBusy);
          break;
        }
      }
      if (::write(reply_fd, &r, sizeof r) != sizeof r) ::_exit(3);
    }
    ::_exit(0);
  }

  pid_t pid_ = -1;
  int cmd_fd_ = -1;
  int reply_fd_ = -1;
};

using testing::TempDir;

struct MemEnvSetup {
  static constexpr bool kIsPosix = false;
  MemEnv mem;
  Env* env() { return &mem; }
  std::string Path(const std::string& name) { return "/mem/" + name; }
  std::unique_ptr<OtherHolder> Other(const std::string& path) {
    auto f = mem.Open(path, OpenMode::kReadWriteCreate);
    EXPECT_TRUE(f.ok());
    return std::make_unique<OtherHandle>(std::move(f).value());
  }
  // Whether the shared memory of `path` exists outside any handle (MemEnv: not observable).
  Result<bool> ShmFileExists(const std::string&) { return false; }
};

struct PosixEnvSetup {
  static constexpr bool kIsPosix = true;
  TempDir dir;
  Env* env() { return PosixEnv::Default(); }
  std::string Path(const std::string& name) { return dir.path() + "/" + name; }
  std::unique_ptr<OtherHolder> Other(const std::string& path) { return std::make_unique<OtherProcess>(path); }
  Result<bool> ShmFileExists(const std::string& path) { return env()->Exists(path + "-shm"); }
};

template <typename EnvSetup>
class EnvContractTest : public ::testing::Test {
 protected:
  Env* env() { return setup_.env(); }
  std::string Path(const std::string& name) { return setup_.Path(name); }

  std::unique_ptr<File> Open(const std::string& path, OpenMode mode = OpenMode::kReadWriteCreate) {
    auto f = env()->Open(path, mode);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(f).value() : nullptr;
  }

  EnvSetup setup_;
};

using EnvSetups = ::testing::Types<MemEnvSetup, PosixEnvSetup>;
class EnvSetupNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kIsPosix ? "Posix" : "Mem";
  }
};
TYPED_TEST_SUITE(EnvContractTest, EnvSetups, EnvSetupNames);

// ---- Files ----

TYPED_TEST(EnvContractTest, ReadPastEndOfFileZeroFills) {
  auto f = this->Open(this->Path("a.db"));
  ASSERT_TRUE(f);
  EXPECT_TRUE(AllZero(ReadBytes(*f, 0, 4096)));
  EXPECT_TRUE(AllZero(ReadBytes(*f, uint64_t{1} << 30, 512)));
  auto size = f->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u) << "reading must not extend the file";
}

TYPED_TEST(EnvContractTest, ReadOverlappingEndOfFileGetsDataThenZeros) {
  auto f = this->Open(this->Path("a.db"));
  ASSERT_TRUE(f);
  std::vector<uint8_t> data = Pattern(10, 1);
  ASSERT_TRUE(f->Write(0, data).ok());
  std::vector<uint8_t> got = ReadBytes(*f, 5, 20);
  EXPECT_TRUE(std::equal(data.begin() + 5, data.end(), got.begin()));
  EXPECT_TRUE(AllZero(got.data() + 5, 15));
}

TYPED_TEST(EnvContractTest, ReadVFillsItsSpansAsConsecutiveReadsWouldUpToAndPastTheEnd) {
  auto f = this->Open(this->Path("a.db"));
  ASSERT_TRUE(f);
  std::vector<uint8_t> data = Pattern(10000, 3);
  ASSERT_TRUE(f->Write(0, data).ok());
  // Spans of uneven sizes from offset 100: the last ones cross the end of the file and lie past it.
  std::vector<std::vector<uint8_t>> bufs = {std::vector<uint8_t>(4096, 0xEE), std::vector<uint8_t>(1, 0xEE),
                                            std::vector<uint8_t>(5000, 0xEE), std::vector<uint8_t>(3000, 0xEE),
                                            std::vector<uint8_t>(512, 0xEE)};
  std::vector<std::span<uint8_t>> spans(bufs.begin(), bufs.end());
  ASSERT_TRUE(f->ReadV(100, spans).ok());
  uint64_t at = 100;
  for (const auto& b : bufs) {
    EXPECT_EQ(b, ReadBytes(*f, at, b.size())) << "span at " << at;
    at += b.size();
  }
  EXPECT_TRUE(AllZero(bufs[4].data(), bufs[4].size()));
}

TYPED_TEST(EnvContractTest, WriteExtendsAndGapReadsAsZeros) {
  auto f = this->Open(this->Path("a.db"));
  ASSERT_TRUE(f);
  std::vector<uint8_t> data = Pattern(100, 2);
  ASSERT_TRUE(f->Write(4096, data).ok());
  auto size = f->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 4196u);
  EXPECT_TRUE(AllZero(ReadBytes(*f, 0, 4096)));
  EXPECT_EQ(ReadBytes(*f, 4096, 100), data);
  // Overwrite in the middle; size unchanged.
  std::vector<uint8_t> patch = Pattern(10, 9);
  ASSERT_TRUE(f->Write(4100, patch).ok());
  EXPECT_EQ(*f->Size(), 4196u);
  EXPECT_EQ(ReadBytes(*f, 4100, 10), patch);
  // An empty write changes nothing.
  ASSERT_TRUE(f->Write(1 << 20, {}).ok());
  EXPECT_EQ(*f->Size(), 4196u);
}

TYPED_TEST(EnvContractTest, TruncateShrinksAndGrowsWithZeros) {
  auto f = this->Open(this->Path("a.db"));
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->Write(0, Pattern(100, 3)).ok());
  ASSERT_TRUE(f->Truncate(50).ok());
  EXPECT_EQ(*f->Size(), 50u);
  std::vector<uint8_t> got = ReadBytes(*f, 0, 100);
  std::vector<uint8_t> want = Pattern(100, 3);
  EXPECT_TRUE(std::equal(want.begin(), want.begin() + 50, got.begin()));
  EXPECT_TRUE(AllZero(got.data() + 50, 50));
  ASSERT_TRUE(f->Truncate(200).ok());
  EXPECT_EQ(*f->Size(), 200u);
  EXPECT_TRUE(AllZero(ReadBytes(*f, 50, 150))) << "growth must not resurrect the dropped tail";
  ASSERT_TRUE(f->Truncate(0).ok());
  EXPECT_EQ(*f->Size(), 0u);
  ASSERT_TRUE(f->Sync().ok());
}

TYPED_TEST(EnvContractTest, ReopenAndSecondHandleSeeTheSameBytes) {
  const std::string path = this->Path("a.db");
  std::vector<uint8_t> data = Pattern(3000, 4);
  {
    auto f = this->Open(path);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->Write(1000, data).ok());
    ASSERT_TRUE(f->Sync().ok());
    auto g = this->Open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(g);
    EXPECT_EQ(ReadBytes(*g, 1000, 3000), data) << "a second handle sees writes at once";
  }
  auto f = this->Open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->Size(), 4000u);
  EXPECT_EQ(ReadBytes(*f, 1000, 3000), data);
  EXPECT_EQ(f->SectorSize(), kDefaultSectorSize);
}

TYPED_TEST(EnvContractTest, ExistsAndUnlink) {
  const std::string path = this->Path("a.db");
  EXPECT_FALSE(*this->env()->Exists(path));
  ASSERT_TRUE(this->Open(path));
  EXPECT_TRUE(*this->env()->Exists(path));
  EXPECT_TRUE(this->env()->Unlink(path).ok());
  EXPECT_FALSE(*this->env()->Exists(path));
  Status again = this->env()->Unlink(path);
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_NE(again.message().find(path), std::string::npos) << again.ToString();
}

TYPED_TEST(EnvContractTest, UnlinkedFileStaysReadableThroughOpenHandle) {
  const std::string path = this->Path("a.db");
  auto f = this->Open(path);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->Write(0, Pattern(10, 5)).ok());
  ASSERT_TRUE(this->env()->Unlink(path).ok());
  EXPECT_EQ(ReadBytes(*f, 0, 10), Pattern(10, 5));
  auto g = this->Open(path);  // a new, empty file under the old name
  ASSERT_TRUE(g);
  EXPECT_EQ(*g->Size(), 0u);
}

TYPED_TEST(EnvContractTest, ReadOnlyOpenOfMissingFileIsNotFound) {
  const std::string path = this->Path("missing.db");
  auto f = this->env()->Open(path, OpenMode::kReadOnly);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kNotFound);
  EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status().ToString();
  EXPECT_FALSE(*this->env()->Exists(path)) << "a read-only open must not create";
}

TYPED_TEST(EnvContractTest, ReadOnlyHandleRefusesChanges) {
  const std::string path = this->Path("a.db");
  ASSERT_TRUE(this->Open(path));
  auto f = this->Open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->Write(0, Pattern(4, 1)).code(), Code::kMisuse);
  EXPECT_EQ(f->Truncate(0).code(), Code::kMisuse);
  EXPECT_EQ(f->Lock(1, LockMode::kExclusive).code(), Code::kMisuse);
  EXPECT_TRUE(f->Lock(1, LockMode::kShared).ok());
  EXPECT_TRUE(f->Lock(1, LockMode::kUnlocked).ok());
}

// ---- Locks ----

TYPED_TEST(EnvContractTest, LockIdsAndRangesAreValidated) {
  auto f = this->Open(this->Path("a.db"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->Lock(0, LockMode::kShared).code(), Code::kInvalidArgument);
  EXPECT_EQ(f->Lock(kMaxLockId + 1, LockMode::kShared).code(), Code::kInvalidArgument);
  EXPECT_TRUE(f->Lock(kMaxLockId, LockMode::kExclusive).ok());
  EXPECT_EQ(f->TestLock(1, 0, LockMode::kShared).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(f->TestLock(kMaxLockId, 2, LockMode::kShared).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(f->TestLock(1, 1, LockMode::kUnlocked).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(f->TestLock(1, kMaxLockId, LockMode::kExclusive).ok());
}

TYPED_TEST(EnvContractTest, SharedLocksCoexist) {
  const std::string path = this->Path("a.db");
  auto f = this->Open(path);
  ASSERT_TRUE(f);
  auto other = this->setup_.Other(path);
  EXPECT_TRUE(f->Lock(4, LockMode::kShared).ok());
  EXPECT_TRUE(other->Lock(4, LockMode::kShared).ok());
  EXPECT_EQ(*f->TestLock(4, 1, LockMode::kShared), false);
  EXPECT_EQ(*f->TestLock(4, 1, LockMode::kExclusive), true);
}

TYPED_TEST(EnvContractTest, SharedAndExclusiveConflict) {
  const std::string path = this->Path("a.db");
  auto f = this->Open(path);
  ASSERT_TRUE(f);
  auto other = this->setup_.Other(path);
  ASSERT_TRUE(f->Lock(4, LockMode::kShared).ok());
  EXPECT_EQ(other->Lock(4, LockMode::kExclusive).code(), Code::kBusy);
  ASSERT_TRUE(other->Lock(4, LockMode::kShared).ok());
  // A failed upgrade keeps the shared lock: the other holder still cannot go exclusive.
  EXPECT_EQ(f->Lock(4, LockMode::kExclusive).code(), Code::kBusy);
  ASSERT_TRUE(other->Lock(4, LockMode::kUnlocked).ok());
  EXPECT_EQ(other->Lock(4, LockMode::kExclusive).code(), Code::kBusy);
  // Now alone: the upgrade succeeds and shuts the other out entirely.
  ASSERT_TRUE(f->Lock(4, LockMode::kExclusive).ok());
  EXPECT_EQ(other->Lock(4, LockMode::kShared).code(), Code::kBusy);
  EXPECT_EQ(other->Lock(4, LockMode::kExclusive).code(), Code::kBusy);
  // Downgrade lets shared holders in, not exclusive ones.
  ASSERT_TRUE(f->Lock(4, LockMode::kShared).ok());
  EXPECT_TRUE(other->Lock(4, LockMode::kShared).ok());
  EXPECT_TRUE(other->Lock(4, LockMode::kUnlocked).ok());
  // Other ids are independent.
  EXPECT_TRUE(other->Lock(5, LockMode::kExclusive).ok());
}

TYPED_TEST(EnvContractTest, UnlockReleases) {
  const std::string path = this->Path("a.db");
  auto f = this->Open(path);
  ASSERT_TRUE(f);
  auto other = this->setup_.Other(path);
  ASSERT_TRUE(other->Lock(6, LockMode::kExclusive).ok());
  EXPECT_EQ(f->Lock(6, LockMode::kShared).code(), Code::kBusy);
  EXPECT_EQ(*f->TestLock(6, 1, LockMode::kShared), true);
  ASSERT_TRUE(other->Lock(6, LockMode::kUnlocked).ok());
  EXPECT_EQ(*f->TestLock(6, 1, LockMode::kExclusive), false);
  EXPECT_TRUE(f->Lock(6, LockMode::kExclusive).ok());
}

TYPED_TEST(EnvContractTest, CloseReleases) {
  const std::string path = this->Path("a.db");
  auto f = this->Open(path);
  ASSERT_TRUE(f);
  auto other = this->setup_.Other(path);
  ASSERT_TRUE(other->Lock(1, LockMode::kExclusive).ok());
  ASSERT_TRUE(other->Lock(2, LockMode::kShared).ok());
  EXPECT_EQ(*f->TestLock(1, 2, LockMode::kShared), true);
  other->Close();
  EXPECT_EQ(*f->TestLock(1, 2, LockMode::kExclusive), false);
  EXPECT_TRUE(f->Lock(1, LockMode::kExclusive).ok());
  EXPECT_TRUE(f->Lock(2, LockMode::kExclusive).ok());
}

TYPED_TEST(EnvContractTest, TestLockCoversExactlyTheRange) {
  const std::string path = this->Path("a.db");
  auto f = this->Open(path);
  ASSERT_TRUE(f);
  auto other = this->setup_.Other(path);
  // Only the last id of [3, 5] is held (the reference's B16 range missed exactly this case).
  ASSERT_TRUE(other->Lock(5, LockMode::kExclusive).ok());
  EXPECT_EQ(*f->TestLock(3, 3, LockMode::kShared), true);
  EXPECT_EQ(*f->TestLock(3, 3, LockMode::kExclusive), true);
  EXPECT_EQ(*f->TestLock(3, 2, LockMode::kShared), false);
  EXPECT_EQ(*f->TestLock(6, 3, LockMode::kExclusive), false);
  EXPECT_EQ(*f->TestLock(5, 1, LockMode::kShared), true);
  ASSERT_TRUE(other->Lock(5, LockMode::kShared).ok());
  EXPECT_EQ(*f->TestLock(3, 3, LockMode::kShared), false) << "shared vs shared is no conflict";
  EXPECT_EQ(*f->TestLock(3, 3, LockMode::kExclusive), true);
  ASSERT_TRUE(other->Lock(5, LockMode::kUnlocked).ok());
  // Just outside either end of the range: no conflict. (B16 would report id 2 as inside [3, 5].)
  ASSERT_TRUE(other->Lock(2, LockMode::kExclusive).ok());
  ASSERT_TRUE(other->Lock(6, LockMode::kExclusive).ok());
  EXPECT_EQ(*f->TestLock(3, 3, LockMode::kExclusive), false);
  EXPECT_EQ(*f->TestLock(2, 1, LockMode::kShared), true);
  // The first id of the range.
  ASSERT_TRUE(other->Lock(3, LockMode::kExclusive).ok());
  EXPECT_EQ(*f->TestLock(3, 3, LockMode::kShared), true);
  // The whole RWCLIENT range, as the engine probes it.
  ASSERT_TRUE(other->Lock(29, LockMode::kExclusive).ok());
  EXPECT_EQ(*f->TestLock(14, 16, LockMode::kShared), true);
  EXPECT_EQ(*f->TestLock(14, 15, LockMode::kShared), false);
}

TYPED_TEST(EnvContractTest, OwnLocksNeverCountInTestLock) {
  const std::string path = this->Path("a.db");
  auto f = this->Open(path);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->Lock(4, LockMode::kExclusive).ok());
  ASSERT_TRUE(f->Lock(5, LockMode::kShared).ok());
  EXPECT_EQ(*f->TestLock(4, 2, LockMode::kExclusive), false);
  auto other = this->setup_.Other(path);
  auto seen = other->TestLock(4, 1, LockMode::kShared);
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(*seen) << "but other holders do see them";
}

// ---- Shared memory ----

TYPED_TEST(EnvContractTest, ShmChunksAreZeroedSharedAndStable) {
  const std::string path = this->Path("a.db");
  auto a = this->Open(path);
  auto b = this->Open(path);
  ASSERT_TRUE(a && b);
  auto a0 = a->ShmMap(0);
  ASSERT_TRUE(a0.ok()) << a0.status().ToString();
  EXPECT_TRUE(AllZero(*a0, kShmChunkSize));
  // Out of order: chunk 3 before chunk 1.
  auto a3 = a->ShmMap(3);
  ASSERT_TRUE(a3.ok());
  EXPECT_TRUE(AllZero(*a3, kShmChunkSize));
  auto a1 = a->ShmMap(1);
  ASSERT_TRUE(a1.ok());
  EXPECT_TRUE(AllZero(*a1, kShmChunkSize));

  std::memcpy(*a0, "header", 6);
  (*a0)[kShmChunkSize - 1] = 0x5A;
  (*a3)[100] = 0x33;
  a->ShmBarrier();

  auto b0 = b->ShmMap(0);
  auto b3 = b->ShmMap(3);
  ASSERT_TRUE(b0.ok() && b3.ok());
  EXPECT_EQ(std::memcmp(*b0, "header", 6), 0);
  EXPECT_EQ((*b0)[kShmChunkSize - 1], 0x5A);
  EXPECT_EQ((*b3)[100], 0x33);
  (*b3)[101] = 0x44;
  b->ShmBarrier();
  EXPECT_EQ((*a3)[101], 0x44);

  // Re-mapping returns the same pointer.
  EXPECT_EQ(*a->ShmMap(0), *a0);
  EXPECT_EQ(*a->ShmMap(3), *a3);
  EXPECT_EQ(*b->ShmMap(0), *b0);

  EXPECT_EQ(a->ShmMap(kMaxShmChunks).status().code(), Code::kInvalidArgument);
}

TYPED_TEST(EnvContractTest, ShmOutlivesUnmapUntilDeleted) {
  const std::string path = this->Path("a.db");
  auto a = this->Open(path);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->ShmMap(0).ok());
  (*a->ShmMap(0))[7] = 7;
  ASSERT_TRUE(a->ShmUnmap(/*delete_shm=*/false).ok());
  a.reset();

  auto b = this->Open(path);
  ASSERT_TRUE(b);
  auto b0 = b->ShmMap(0);
  ASSERT_TRUE(b0.ok());
  EXPECT_EQ((*b0)[7], 7) << "shared memory survives unmap and close";
  ASSERT_TRUE(b->ShmUnmap(/*delete_shm=*/true).ok());
  if (TypeParam::kIsPosix) {
    EXPECT_FALSE(*this->setup_.ShmFileExists(path));
  }
  auto again = b->ShmMap(0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(AllZero(*again, kShmChunkSize)) << "deleted shared memory starts over from zeros";
  EXPECT_TRUE(b->ShmUnmap(/*delete_shm=*/true).ok());
  EXPECT_TRUE(b->ShmUnmap(/*delete_shm=*/true).ok()) << "deleting what is gone is ok";
}

TYPED_TEST(EnvContractTest, DeletingShmLeavesOtherMappingsValid) {
  const std::string path = this->Path("a.db");
  auto a = this->Open(path);
  auto b = this->Open(path);
  ASSERT_TRUE(a && b);
  auto a0 = a->ShmMap(0);
  auto b0 = b->ShmMap(0);
  ASSERT_TRUE(a0.ok() && b0.ok());
  (*a0)[0] = 1;
  ASSERT_TRUE(a->ShmUnmap(/*delete_shm=*/true).ok());
  EXPECT_EQ((*b0)[0], 1) << "b's detached view is still mapped";
  (*b0)[1] = 2;
  auto fresh = a->ShmMap(0);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(AllZero(*fresh, kShmChunkSize));
}

// ---- Clock ----

TYPED_TEST(EnvContractTest, ClockIsMonotonicAndSleepAdvancesIt) {
  Env* env = this->env();
  uint64_t t0 = env->NowMicros();
  env->SleepMicros(1000);
  env->Yield();
  uint64_t t1 = env->NowMicros();
  EXPECT_GE(t1, t0 + 1000);
}

// ---- MemEnv only ----

TEST(EnvMem, ClockIsSimulatedAndExact) {
  MemEnv env;
  EXPECT_EQ(env.NowMicros(), 0u);
  env.SleepMicros(250);
  env.SleepMicros(750);
  EXPECT_EQ(env.NowMicros(), 1000u);
}

TEST(EnvMem, ContentsAndSetContents) {
  MemEnv env;
  EXPECT_EQ(env.Contents("/x").status().code(), Code::kNotFound);
  auto f = env.Open("/x", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(2, Pattern(3, 1)).ok());
  std::vector<uint8_t> want = {0, 0};
  std::vector<uint8_t> p = Pattern(3, 1);
  want.insert(want.end(), p.begin(), p.end());
  EXPECT_EQ(*env.Contents("/x"), want);
  env.SetContents("/x", {9, 8, 7});
  EXPECT_EQ(*(*f)->Size(), 3u) << "open handles see replaced bytes";
  EXPECT_EQ(ReadBytes(**f, 0, 4), (std::vector<uint8_t>{9, 8, 7, 0}));
  env.SetContents("/new", {1});
  EXPECT_TRUE(*env.Exists("/new"));
}

TEST(EnvMem, FileSizeLimitIsAnIoErrorNotAnAbort) {
  MemEnv::Options options;
  options.max_file_size = 4096;
  options.sector_size = 4096;
  MemEnv env(options);
  auto f = env.Open("/x", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->SectorSize(), 4096u);
  EXPECT_TRUE((*f)->Write(4000, Pattern(96, 1)).ok());
  Status s = (*f)->Write(4000, Pattern(97, 1));
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_NE(s.message().find("/x"), std::string::npos);
  EXPECT_EQ((*f)->Write(~uint64_t{0}, Pattern(2, 1)).code(), Code::kIoError) << "offset overflow";
  EXPECT_EQ((*f)->Truncate(4097).code(), Code::kIoError);
  EXPECT_EQ(*(*f)->Size(), 4096u);
}

TEST(EnvMem, WrappersForward) {
  MemEnv mem;
  EnvWrapper env(&mem);
  auto f = env.Open("/x", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok());
  FileWrapper file(std::move(f).value());
  ASSERT_TRUE(file.Write(0, Pattern(5, 1)).ok());
  EXPECT_EQ(*file.Size(), 5u);
  EXPECT_EQ(*mem.Contents("/x"), Pattern(5, 1));
  env.SleepMicros(3);
  EXPECT_EQ(mem.NowMicros(), 3u);
}

// ---- PosixEnv only ----

TEST(EnvPosix, DefaultIsOneInstance) { EXPECT_EQ(PosixEnv::Default(), PosixEnv::Default()); }

TEST(EnvPosix, ErrorsNameThePath) {
  TempDir dir;
  const std::string path = dir.path() + "/no_such_dir/x.db";
  auto f = PosixEnv::Default()->Open(path, OpenMode::kReadWriteCreate);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kNotFound);
  EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status().ToString();
  EXPECT_NE(f.status().message().find("No such file or directory"), std::string::npos)
      << f.status().ToString();
  EXPECT_FALSE(*PosixEnv::Default()->Exists(path));
}

TEST(EnvPosix, WriteErrorNamesPathOffsetAndErrno) {
  // A file size limit makes a regular file fail a write (EFBIG) without a full disk.
  TempDir dir;
  const std::string path = dir.path() + "/a.db";
  auto f = PosixEnv::Default()->Open(path, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status s = (*f)->Write(8192, Pattern(10, 1));
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.ToString(), "I/O error: pwrite " + path + " at offset 8192: File too large");
}

// Only regular files hold a database: anything else is refused before a byte is read or written.
TEST(EnvPosix, OpenRefusesWhatIsNotARegularFile) {
  TempDir dir;
  Env* env = PosixEnv::Default();
  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.path(), "a directory"},
      {"/dev/null", "a character device"},
      {"/dev/zero", "a character device"},
      {fifo, "a FIFO"},
      {"/proc/self/mem", "a /proc or /sys file"},
  };
  for (const auto& [path, kind] : cases) {
    for (OpenMode mode : {OpenMode::kReadWriteCreate, OpenMode::kReadOnly}) {
      auto f = env->Open(path, mode);
      ASSERT_FALSE(f.ok()) << path;
      EXPECT_EQ(f.status().code(), Code::kInvalidArgument) << path;
      EXPECT_EQ(f.status().message(), "open " + path + ": " + kind + ", not a regular file");
    }
  }
  // The shared memory file too.
  const std::string db = dir.path() + "/a.db";
  ASSERT_EQ(::mkdir((db + "-shm").c_str(), 0755), 0);
  auto f = env->Open(db, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->ShmMap(0).status().code(), Code::kInvalidArgument);
}

TEST(EnvPosix, LockIdMapsToByte4096MinusId) {
  TempDir dir;
  const std::string path = dir.path() + "/a.db";
  auto f = PosixEnv::Default()->Open(path, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok());
  OtherProcess other(path);
  other.RawLockByte(4096 - 5, F_WRLCK);
  EXPECT_EQ((*f)->Lock(5, LockMode::kShared).code(), Code::kBusy);
  EXPECT_TRUE((*f)->Lock(4, LockMode::kExclusive).ok());
  EXPECT_TRUE((*f)->Lock(6, LockMode::kExclusive).ok());
  EXPECT_TRUE(*(*f)->TestLock(5, 1, LockMode::kShared));
  EXPECT_TRUE(*(*f)->TestLock(3, 3, LockMode::kShared));
  EXPECT_FALSE(*(*f)->TestLock(6, 3, LockMode::kShared));
}

// Open-file-description locks belong to the handle: two handles of one process conflict like two
// processes, and closing one handle drops only its own locks.
TEST(EnvPosix, LocksBelongToTheHandleEvenWithinAProcess) {
  TempDir dir;
  const std::string path = dir.path() + "/a.db";
  Env* env = PosixEnv::Default();
  // Forked first: a child that inherited a's descriptor would share its lock (an OFD lock lives as
  // long as any descriptor of its open file description).
  OtherProcess other(path);
  auto a = env->Open(path, OpenMode::kReadWriteCreate);
  auto b = env->Open(path, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE((*a)->Lock(4, LockMode::kExclusive).ok());
  EXPECT_EQ((*b)->Lock(4, LockMode::kShared).code(), Code::kBusy);
  EXPECT_EQ(*(*b)->TestLock(4, 1, LockMode::kShared), true);
  EXPECT_EQ(other.Lock(4, LockMode::kShared).code(), Code::kBusy);
  b->reset();  // closing b leaves a's lock alone
  EXPECT_EQ(other.Lock(4, LockMode::kShared).code(), Code::kBusy);
  a->reset();
  EXPECT_TRUE(other.Lock(4, LockMode::kExclusive).ok());
}

TEST(EnvPosix, ShmLivesInDashShmFile) {
  TempDir dir;
  const std::string path = dir.path() + "/a.db";
  Env* env = PosixEnv::Default();
  auto f = env->Open(path, OpenMode::kReadWriteCreate);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(*env->Exists(path + "-shm"));
  ASSERT_TRUE((*f)->ShmMap(2).ok());
  struct stat st;
  ASSERT_EQ(::stat((path + "-shm").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 3 * kShmChunkSize);
  EXPECT_EQ(*(*f)->Size(), 0u) << "shm does not touch the database file";
}

}  // namespace
}  // namespace lsm
