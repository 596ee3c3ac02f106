// The two-copy publication: what a reader takes from torn copies, and the protocol across real
// processes through PosixEnv's shared memory, with the writer killed by SIGKILL mid-run.
#include "engine/shm/publication.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "engine/env/posix_env.h"
#include "engine/tests/child_process.h"
#include "engine/tests/temp_dir.h"

namespace lsm::shm {
namespace {

constexpr size_t kSlot = 8;
const auto kNoBarrier = [] {};

TEST(PublicationTest, ARecordRoundTripsFromCopyOne) {
  std::vector<uint32_t> mem(2 * kSlot, 0);
  const uint32_t rec[] = {7, 8, 9};
  ASSERT_TRUE(Publish(mem.data(), mem.data() + kSlot, kSlot, rec, kNoBarrier).ok());
  auto got = ReadPublished(mem.data(), mem.data() + kSlot, kSlot, kNoBarrier, 1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->record, std::vector<uint32_t>({7, 8, 9}));
  EXPECT_EQ(got->copy, 1);
}

TEST(PublicationTest, ATornCopyOneFallsBackToCopyTwoAndTwoTornCopiesAreBusy) {
  std::vector<uint32_t> mem(2 * kSlot, 0);
  const uint32_t rec[] = {1, 2};
  ASSERT_TRUE(Publish(mem.data(), mem.data() + kSlot, kSlot, rec, kNoBarrier).ok());
  mem[1] ^= 0x100;  // a word of copy 1 from another publication
  auto got = ReadPublished(mem.data(), mem.data() + kSlot, kSlot, kNoBarrier, 1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->copy, 2);
  EXPECT_EQ(got->record, std::vector<uint32_t>({1, 2}));
  mem[kSlot] = 99;  // copy 2's length beyond its slot
  int barriers = 0;
  got = ReadPublished(mem.data(), mem.data() + kSlot, kSlot, [&] { ++barriers; }, 3);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kBusy);
  EXPECT_EQ(barriers, 3);
  EXPECT_NE(got.status().message().find("copy 1: checksum"), std::string::npos) << got.status().ToString();
  EXPECT_NE(got.status().message().find("copy 2: length 99 exceeds"), std::string::npos) << got.status().ToString();
}

// Copy 2 is newer while copy 1 is being rewritten; once copy 1 is whole again it is the same record. A
// reader that took copy 2 must not go back to an older copy 1 (found across real processes).
TEST(PublicationTest, TheReaderTakesTheNewerValidCopyAndRepairMakesThemEqual) {
  std::vector<uint32_t> mem(2 * kSlot, 0);
  const uint32_t a[] = {1}, b[] = {2};
  ASSERT_TRUE(Publish(mem.data(), mem.data() + kSlot, kSlot, a, kNoBarrier).ok());
  const std::vector<uint32_t> old_copy1(mem.begin(), mem.begin() + kSlot);
  ASSERT_TRUE(Publish(mem.data(), mem.data() + kSlot, kSlot, b, kNoBarrier).ok());
  std::copy(old_copy1.begin(), old_copy1.end(), mem.begin());  // as if copy 1 were still the old record
  auto got = ReadPublished(mem.data(), mem.data() + kSlot, kSlot, kNoBarrier, 1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->record, std::vector<uint32_t>({2}));
  EXPECT_EQ(got->copy, 2);
  EXPECT_EQ(got->version, 2u);
  // Copy 2 mid-write: a reader that took version 2 does not fall back to copy 1's version 1.
  std::vector<uint32_t> torn = mem;
  torn[kSlot + 2] ^= 1;
  auto busy = ReadPublished(torn.data(), torn.data() + kSlot, kSlot, kNoBarrier, 2, /*at_least=*/2);
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.status().message().find("version 1 is older than the 2 this reader took"), std::string::npos)
      << busy.status().ToString();
  ASSERT_TRUE(Repair(mem.data(), mem.data() + kSlot, kSlot, kNoBarrier).ok());
  EXPECT_TRUE(std::equal(mem.begin(), mem.begin() + kSlot, mem.begin() + kSlot)) << "copy 2 over copy 1";
  std::fill(mem.begin(), mem.end(), 0);
  EXPECT_EQ(Repair(mem.data(), mem.data() + kSlot, kSlot, kNoBarrier).code(), Code::kCorrupt);
}

TEST(PublicationTest, ARecordLargerThanItsSlotIsRefused) {
  std::vector<uint32_t> mem(2 * kSlot, 0);
  const std::vector<uint32_t> rec(RecordCapacity(kSlot) + 1, 5);
  Status s = Publish(mem.data(), mem.data() + kSlot, kSlot, rec, kNoBarrier);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(mem, std::vector<uint32_t>(2 * kSlot, 0)) << "nothing written";
}

// Real processes over PosixEnv's -shm file: a writer publishes {seq, block} after writing the block
// (blocks are reused every kBlocks records); two readers check every record they take against its
// block, unless the writer has reused the block since (a re-read of the record tells). The first
// writer is killed with SIGKILL mid-run; a second takes over from the record it finds, repairing a
// half-written publication by publishing over both copies, and ends by storing its last seq.
constexpr uint32_t kBlockWords = 4, kBlocks = 1024, kDoneWord = 32, kFirstBlockWord = 64;
uint32_t BlockWord(uint32_t seq, uint32_t i) { return seq * 0x9E3779B1u + i * 0x85EBCA77u + 1; }

// Chunk 0 of the database's shared memory, mapped through a handle `keep` holds open.
uint32_t* MapShm(const std::string& path, std::unique_ptr<File>* keep) {
  auto file = PosixEnv::Default()->Open(path, OpenMode::kReadWriteCreate);
  if (!file.ok()) return nullptr;
  *keep = std::move(file).value();
  auto chunk = (*keep)->ShmMap(0);
  return chunk.ok() ? reinterpret_cast<uint32_t*>(*chunk) : nullptr;
}

void Barrier() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

[[noreturn]] void Writer(const std::string& path, uint32_t records, bool last) {
  std::unique_ptr<File> keep;
  uint32_t* mem = MapShm(path, &keep);
  if (mem == nullptr) ::_exit(2);
  // Taking over from a writer that may have died mid-publication: repair, then continue from the record.
  uint32_t seq = 0;
  if (Status s = Repair(mem, mem + kSlot, kSlot, Barrier); !s.ok() && (mem[0] != 0 || mem[kSlot] != 0)) {
    std::fprintf(stderr, "writer: %s\n", s.ToString().c_str());
    ::_exit(7);
  }
  if (auto got = ReadPublished(mem, mem + kSlot, kSlot, Barrier, 1); got.ok()) seq = got->record[0];
  for (uint32_t n = 0; n < records; ++n) {
    ++seq;
    const uint32_t block = kFirstBlockWord + (seq % kBlocks) * kBlockWords;
    for (uint32_t i = 0; i < kBlockWords; ++i) __atomic_store_n(&mem[block + i], BlockWord(seq, i), __ATOMIC_RELAXED);
    const uint32_t rec[] = {seq, block};
    if (!Publish(mem, mem + kSlot, kSlot, rec, Barrier).ok()) ::_exit(3);
  }
  if (last) __atomic_store_n(&mem[kDoneWord], seq, __ATOMIC_RELEASE);
  ::_exit(0);
}

[[noreturn]] void Reader(const std::string& path) {
  std::unique_ptr<File> keep;
  uint32_t* mem = MapShm(path, &keep);
  if (mem == nullptr) ::_exit(2);
  uint32_t last = 0, version = 0;
  for (uint64_t round = 0; round < 200'000'000; ++round) {
    const bool done = __atomic_load_n(&mem[kDoneWord], __ATOMIC_ACQUIRE) != 0;
    auto got = ReadPublished(mem, mem + kSlot, kSlot, Barrier, 10, version);
    if (got.ok()) {
      const uint32_t seq = got->record[0], block = got->record[1];
      if (block != kFirstBlockWord + (seq % kBlocks) * kBlockWords || seq < last) {
        std::fprintf(stderr, "reader: record {%u, %u} after %u is not one the writer published in order\n", seq, block, last);
        ::_exit(1);
      }
      last = seq;
      version = got->version;
      uint32_t words[kBlockWords];
      for (uint32_t i = 0; i < kBlockWords; ++i) words[i] = __atomic_load_n(&mem[block + i], __ATOMIC_RELAXED);
      Barrier();
      auto again = ReadPublished(mem, mem + kSlot, kSlot, Barrier, 10);
      const bool reused = !again.ok() || again->record[0] >= seq + kBlocks - 1;
      for (uint32_t i = 0; i < kBlockWords && !reused; ++i) {
        if (words[i] != BlockWord(seq, i)) {
          std::fprintf(stderr, "reader: record %u's block word %u is %08x, not %08x\n", seq, i, words[i], BlockWord(seq, i));
          ::_exit(1);
        }
      }
    }
    if (done) ::_exit(last == __atomic_load_n(&mem[kDoneWord], __ATOMIC_ACQUIRE) ? 0 : 4);
  }
  ::_exit(5);  // the writer never finished
}

TEST(PublicationProcessTest, ReadersInOtherProcessesNeverTakeATornRecordAcrossAKilledWriter) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/pub.db";
  std::unique_ptr<File> keep;
  uint32_t* mem = MapShm(path, &keep);  // creates the -shm file, zeros
  ASSERT_NE(mem, nullptr);
  std::vector<pid_t> readers;
  for (int r = 0; r < 2; ++r) readers.push_back(testing::SpawnChild([&] { Reader(path); }));
  for (int round = 0; round < 3; ++round) {
    const pid_t doomed = testing::SpawnChild([&] { Writer(path, 1u << 30, false); });
    // Let it publish a while, then kill it wherever it is.
    uint32_t seen = 0;
    for (uint64_t spin = 0; spin < 2'000'000'000 && seen < uint32_t(20000 * (round + 1)); ++spin) {
      if (auto got = ReadPublished(mem, mem + kSlot, kSlot, Barrier, 10); got.ok()) seen = got->record[0];
    }
    ::kill(doomed, SIGKILL);
    EXPECT_EQ(testing::ChildExitCode(doomed), 100 + SIGKILL);
  }
  const pid_t last = testing::SpawnChild([&] { Writer(path, 20000, true); });
  EXPECT_EQ(testing::ChildExitCode(last), 0);
  for (pid_t r : readers) EXPECT_EQ(testing::ChildExitCode(r), 0) << "a reader saw a torn or premature record (stderr)";
  auto got = ReadPublished(mem, mem + kSlot, kSlot, Barrier, 1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->record[0], __atomic_load_n(&mem[kDoneWord], __ATOMIC_ACQUIRE));
  EXPECT_GT(got->record[0], 60000u);
}

}  // namespace
}  // namespace lsm::shm
