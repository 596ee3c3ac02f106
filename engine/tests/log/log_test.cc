#include "engine/log/log.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <tuple>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/format/checkpoint.h"
#include "engine/env/mem_env.h"
#include "engine/format/meta_page.h"
#include "engine/tests/db/golden_files.h"
#include "engine/format/varint.h"

// The largest single allocation made while g_track_allocations is set: operator new is replaced for
// this test binary (it only counts), so a test can show that recovery never allocates what a log
// record merely claims.
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

// GCC, inlining these, sees free() of what operator new returned and warns; they are a matched pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
    }
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace lsm {
namespace {

using testing::GoldenDir;
using testing::ReadGolden;

using Txn = std::vector<LogOp>;

class CountingFile : public FileWrapper {
 public:
  using FileWrapper::FileWrapper;
  Status Sync() override {
    ++syncs;
    return FileWrapper::Sync();
  }
  int syncs = 0;
};

std::unique_ptr<File> OpenFile(MemEnv& env, const std::string& path) {
  auto f = env.Open(path, OpenMode::kReadWriteCreate);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(*f);
}

struct Recovered {
  LogRecovery state;
  std::vector<LogOp> ops;
};

Recovered Recover(File* f, LogPosition start) {
  Recovered out;
  auto r = RecoverLog(f, start, [&](const LogOp& op) {
    out.ops.push_back(op);
    return Status::Ok();
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) out.state = *r;
  return out;
}

Recovered RecoverBytes(const Bytes& log, LogPosition start) {
  MemEnv env;
  env.SetContents("log", log);
  auto f = OpenFile(env, "log");
  return Recover(f.get(), start);
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& c : b) c = uint8_t(rng());
  return b;
}

LogOp Put(std::string k, std::string v) {
  return {LogOp::kPut, Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end())};
}
LogOp Del(std::string k) { return {LogOp::kDelete, Bytes(k.begin(), k.end()), {}}; }

std::vector<LogOp> Flatten(const std::vector<Txn>& txns, size_t from = 0) {
  std::vector<LogOp> ops;
  for (size_t i = from; i < txns.size(); ++i) ops.insert(ops.end(), txns[i].begin(), txns[i].end());
  return ops;
}

constexpr LogPosition kEmptyStart{0, kEmptyLogChecksum0, kEmptyLogChecksum1};

// --- Format details ---------------------------------------------------------------------------------

TEST(LogTest, ChecksumZeroPadsTheLastWordPair) {
  uint32_t a0 = 1, a1 = 2, b0 = 1, b1 = 2;
  const uint8_t bytes[] = {1, 2, 3};
  const uint8_t padded[] = {1, 2, 3, 0, 0, 0, 0, 0};
  LogChecksum(bytes, &a0, &a1);
  LogChecksum(padded, &b0, &b1);
  EXPECT_EQ(a0, b0);
  EXPECT_EQ(a1, b1);
  // s0 += x0 + s1; s1 += x1 + s0 with x0 = 0x030201 (little-endian), x1 = 0.
  EXPECT_EQ(a0, 1u + 0x030201u + 2u);
  EXPECT_EQ(a1, 2u + a0);
}

TEST(LogTest, OneSmallTransactionHasTheSeedsLayout) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  ASSERT_TRUE(w.Append(Put("ab", "xyz")).ok());
  ASSERT_TRUE(w.Append(Del("ab")).ok());
  auto pos = w.Commit();
  ASSERT_TRUE(pos.ok());
  Bytes log = *env.Contents("log");
  Bytes body = {0x06, 2, 3, 'a', 'b', 'x', 'y', 'z', 0x08, 2, 'a', 'b', 0x03};
  uint32_t s0 = kEmptyLogChecksum0, s1 = kEmptyLogChecksum1;
  LogChecksum(body, &s0, &s1);
  Bytes expected = body;
  AppendBe32(expected, s0);
  AppendBe32(expected, s1);
  EXPECT_EQ(log, expected);
  EXPECT_EQ(*pos, (LogPosition{expected.size(), s0, s1}));
  EXPECT_EQ(w.position(), *pos);
}

TEST(LogTest, LargeRecordsEmbedAChecksumAndReplay) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  std::mt19937_64 rng(7);
  Txn t = {LogOp{LogOp::kPut, RandomBytes(rng, 10), RandomBytes(rng, 20000)},
           LogOp{LogOp::kPut, RandomBytes(rng, 10), RandomBytes(rng, 20000)},  // passes 32 KB
           LogOp{LogOp::kPut, RandomBytes(rng, 5), RandomBytes(rng, 70000)}};
  for (const auto& op : t) ASSERT_TRUE(w.Append(op).ok());
  ASSERT_TRUE(w.Commit().ok());
  Bytes log = *env.Contents("log");
  EXPECT_EQ(log[0], kLogWrite);
  size_t second = 1 + 1 + 3 + 10 + 20000;
  EXPECT_EQ(log[second], kLogWrite | kLogWithChecksum);
  auto rec = Recover(f.get(), kEmptyStart);
  EXPECT_EQ(rec.state.commits, 1u);
  EXPECT_EQ(rec.ops, t);
  EXPECT_EQ(rec.state.end, w.position());
}

TEST(LogTest, DeleteRangeIsLoggedAndReplayed) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  LogOp range{LogOp::kDeleteRange, {'a'}, {'m', 'n'}};
  ASSERT_TRUE(w.Append(range).ok());
  ASSERT_TRUE(w.Commit().ok());
  Bytes log = *env.Contents("log");
  EXPECT_EQ(Bytes(log.begin(), log.begin() + 6), (Bytes{0x0A, 1, 2, 'a', 'm', 'n'}));
  auto rec = Recover(f.get(), kEmptyStart);
  EXPECT_EQ(rec.ops, std::vector<LogOp>{range});
}

TEST(LogTest, UserVersionIsLoggedAndReplayed) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  LogOp uv{LogOp::kUserVersion, {}, {0, 0, 1, 2}};
  ASSERT_TRUE(w.Append(uv).ok());
  ASSERT_TRUE(w.Commit().ok());
  Bytes log = *env.Contents("log");
  EXPECT_EQ(Bytes(log.begin(), log.begin() + 7), (Bytes{0x0C, 0, 4, 0, 0, 1, 2}));
  auto rec = Recover(f.get(), kEmptyStart);
  EXPECT_EQ(rec.ops, std::vector<LogOp>{uv});
}

TEST(LogTest, RollbackDropsTheTransaction) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  ASSERT_TRUE(w.Append(Put("a", "1")).ok());
  ASSERT_TRUE(w.Commit().ok());
  ASSERT_TRUE(w.Append(Put("b", std::string(40000, 'x'))).ok());  // flushed: embeds a checksum
  w.Rollback();
  ASSERT_TRUE(w.Append(Put("c", "3")).ok());
  ASSERT_TRUE(w.Commit().ok());
  auto rec = Recover(f.get(), kEmptyStart);
  EXPECT_EQ(rec.ops, (std::vector<LogOp>{Put("a", "1"), Put("c", "3")}));
  EXPECT_EQ(rec.state.end, w.position());
}

TEST(LogTest, NoCommitFromANonZeroPointerRestartsAtZero) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  ASSERT_TRUE(w.Append(Put("a", "1")).ok());
  ASSERT_TRUE(w.Commit().ok());
  // A pointer past the end of this (recreated) log.
  auto rec = Recover(f.get(), LogPosition{5000, kEmptyLogChecksum0, kEmptyLogChecksum1});
  EXPECT_TRUE(rec.state.restarted_at_zero);
  EXPECT_EQ(rec.state.commits, 1u);
  EXPECT_EQ(rec.ops, std::vector<LogOp>{Put("a", "1")});
  EXPECT_EQ(rec.state.end, w.position());
}

// A jump cycle after the restart at offset 0: the seed's jump counter, carried into the restart, would
// never reach 2 again and loop forever.
TEST(LogTest, JumpCyclesEndTheLogEvenAfterARestart) {
  Bytes log = {kLogJump, 0, 0, 0, 0, 0, 0, 0, kLogJump, 8};
  auto rec = RecoverBytes(log, LogPosition{8, 1, 2});
  EXPECT_TRUE(rec.state.restarted_at_zero);
  EXPECT_EQ(rec.state.commits, 0u);
  EXPECT_EQ(rec.state.stop, LogStop::kTooManyJumps);
  EXPECT_EQ(rec.state.end, (LogPosition{0, 1, 2}));
}

TEST(LogTest, EmptyLogRecoversToItsStart) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  auto rec = Recover(f.get(), kEmptyStart);
  EXPECT_EQ(rec.state.commits, 0u);
  EXPECT_EQ(rec.state.end, kEmptyStart);
  EXPECT_EQ(rec.state.stop, LogStop::kEndOfLog);
}

// --- Hostile lengths ---------------------------------------------------------------------------------

// A sparse log: Size() claims `size` bytes though only the start was written, so the rest reads as
// zeros (as MemEnv's reads past its end do), except single bytes planted far out. Counts bytes read.
class SparseFile : public FileWrapper {
 public:
  SparseFile(std::unique_ptr<File> f, uint64_t size) : FileWrapper(std::move(f)), size_(size) {}
  Result<uint64_t> Size() override { return size_; }
  Status Read(uint64_t offset, std::span<uint8_t> out) override {
    bytes_read += out.size();
    LSM_RETURN_IF_ERROR(FileWrapper::Read(offset, out));
    for (auto [at, b] : planted) {
      if (at >= offset && at - offset < out.size()) out[at - offset] = b;
    }
    return Status::Ok();
  }
  std::map<uint64_t, uint8_t> planted;
  uint64_t bytes_read = 0;

 private:
  uint64_t size_;
};

// One committed transaction, then the header of a WRITE+CKSUM claiming an nkey-byte key, with a
// correct checksum: only the length is hostile. Returns the file and the offset just past the claimed
// key; `size` is what the file claims to hold.
struct HostileLog {
  MemEnv env;
  std::unique_ptr<SparseFile> file;
  uint64_t body_end = 0;
};

void WriteHostileLog(HostileLog* h, uint64_t nkey, uint64_t size) {
  auto f = OpenFile(h->env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  ASSERT_TRUE(w.Append(Put("a", "1")).ok());
  ASSERT_TRUE(w.Commit().ok());
  LogPosition at = w.position();
  Bytes header = {kLogWrite | kLogWithChecksum};
  AppendVarint(header, nkey);
  AppendVarint(header, 0);
  uint32_t s0 = at.cksum0, s1 = at.cksum1;
  LogChecksum(header, &s0, &s1);
  AppendBe32(header, s0);
  AppendBe32(header, s1);
  ASSERT_TRUE(f->Write(at.offset, header).ok());
  h->body_end = at.offset + header.size() + nkey;
  h->file = std::make_unique<SparseFile>(std::move(f), size);
}

Recovered RecoverTracked(File* f) {
  g_largest_allocation = 0;
  g_track_allocations = true;
  Recovered rec = Recover(f, kEmptyStart);
  g_track_allocations = false;
  return rec;
}

// A 2 GB key in a sparse log, followed by nothing: the transaction cannot commit, so the log ends
// after the committed one, without reading or allocating the key.
TEST(LogTest, AHugeKeyInASparseTailEndsTheLogWithoutReadingIt) {
  HostileLog h;
  const uint64_t nkey = kLogMaxLength;
  WriteHostileLog(&h, nkey, nkey + (1 << 20));
  Recovered rec = RecoverTracked(h.file.get());
  EXPECT_EQ(rec.ops, std::vector<LogOp>{Put("a", "1")});
  EXPECT_EQ(rec.state.commits, 1u);
  EXPECT_EQ(rec.state.stop, LogStop::kEndOfLog);
  EXPECT_EQ(rec.state.stop_offset, h.body_end);  // where reading the key would have stopped
  EXPECT_LT(h.file->bytes_read, 4096u);
  EXPECT_LT(g_largest_allocation.load(), size_t{1} << 20);
}

// The same with a record after the key: the key is summed (as the seed does) but never held in memory,
// and, its transaction having no COMMIT, never read again.
TEST(LogTest, AHugeUncommittedKeyIsSummedButNeverHeld) {
  HostileLog h;
  const uint64_t nkey = uint64_t{256} << 20;
  WriteHostileLog(&h, nkey, nkey + (1 << 20));
  h.file->planted[h.body_end] = kLogPad1;
  Recovered rec = RecoverTracked(h.file.get());
  EXPECT_EQ(rec.ops, std::vector<LogOp>{Put("a", "1")});
  EXPECT_EQ(rec.state.commits, 1u);
  EXPECT_EQ(rec.state.stop, LogStop::kEndOfLog);
  EXPECT_EQ(rec.state.stop_offset, h.body_end + 1);
  EXPECT_GE(h.file->bytes_read, nkey);
  EXPECT_LT(h.file->bytes_read, nkey + (1 << 20));
  EXPECT_LT(g_largest_allocation.load(), size_t{1} << 20);
}

// Longer than the file, or longer than the format allows: the end of the log, before any allocation.
TEST(LogTest, ImpossibleLengthsEndTheLog) {
  for (uint64_t nkey : {uint64_t{1} << 31, uint64_t{1} << 40, uint64_t{5000}}) {
    HostileLog h;
    WriteHostileLog(&h, nkey, 4096);
    Recovered rec = RecoverTracked(h.file.get());
    EXPECT_EQ(rec.ops, std::vector<LogOp>{Put("a", "1")}) << nkey;
    EXPECT_EQ(rec.state.stop, nkey > kLogMaxLength ? LogStop::kBadLength : LogStop::kPastEndOfFile) << nkey;
    EXPECT_LT(g_largest_allocation.load(), size_t{1} << 20);
  }
  // A user version is 0 and 4 bytes long; anything else is not one.
  Bytes log = {kLogUserVersion, 0, 5, 0, 0, 0, 1, 2, kLogCommit};
  auto rec = RecoverBytes(log, kEmptyStart);
  EXPECT_EQ(rec.state.stop, LogStop::kBadLength);
  EXPECT_EQ(rec.state.stop_offset, 0u);
}

// A committed value longer than 32 KB takes the deferred path: summed in big reads, read again at
// its COMMIT, replayed intact between small records.
TEST(LogTest, LongCommittedValuesReplayIntact) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  std::mt19937_64 rng(11);
  std::vector<Txn> txns = {
      {Put("a", "1"), LogOp{LogOp::kPut, RandomBytes(rng, 3), RandomBytes(rng, 3 << 20)}, Put("b", "2")},
      {LogOp{LogOp::kPut, RandomBytes(rng, 40000), RandomBytes(rng, 100001)}},
      {Put("c", "3")}};
  for (const Txn& t : txns) {
    for (const LogOp& op : t) ASSERT_TRUE(w.Append(op).ok());
    ASSERT_TRUE(w.Commit().ok());
  }
  auto rec = Recover(f.get(), kEmptyStart);
  EXPECT_EQ(rec.state.commits, 3u);
  EXPECT_EQ(rec.ops, Flatten(txns));
  EXPECT_EQ(rec.state.end, w.position());
}

// --- Golden: a log written by the seed --------------------------------------------------------------

struct Golden {
  Checkpoint ckpt;
  Bytes log;
  std::map<Bytes, Bytes> expected;
};

Golden LoadGolden() {
  Golden g;
  Bytes db = ReadGolden(GoldenDir() / "db" / "pub_replay_1k.crash.db");
  g.log = ReadGolden(GoldenDir() / "db" / "pub_replay_1k.crash.db-log");
  EXPECT_GE(db.size(), 2 * kMetaPageSize);
  MetaPageChoice choice = ChooseMetaPage(ByteView(db).subspan(0, kMetaPageSize),
                                         ByteView(db).subspan(kMetaPageSize, kMetaPageSize));
  EXPECT_EQ(choice.page, MetaPage::kPage1);
  if (choice.checkpoint) g.ckpt = *choice.checkpoint;
  std::ifstream tsv(GoldenDir() / "db" / "pub_replay_1k.expected.tsv");
  std::string line;
  while (std::getline(tsv, line)) {
    auto tab = line.find('\t');
    Bytes k, v;
    EXPECT_TRUE(FromHex(line.substr(0, tab), &k) && FromHex(line.substr(tab + 1), &v)) << line;
    g.expected[k] = v;
  }
  return g;
}

TEST(LogGoldenTest, ReplaysTheSeedsCrashLog) {
  Golden g = LoadGolden();
  ASSERT_EQ(g.ckpt.id, 13u);
  LogPosition start = LogPositionOf(g.ckpt.log);
  EXPECT_EQ(start.offset, 478208u);
  auto rec = RecoverBytes(g.log, start);
  const LogRecovery& s = rec.state;
  EXPECT_GT(s.commits, 0u);
  EXPECT_FALSE(s.restarted_at_zero);
  // The study: replay starts at 478,208, wraps to 0, and ends at a bad checksum at 102,903.
  EXPECT_EQ(s.stop, LogStop::kBadChecksum);
  EXPECT_EQ(s.stop_offset, 102903u);
  // Measured here (no independent source): 426 transactions, the last ending at the sector boundary
  // just before the damaged record (FULL: every commit ends on a sector boundary).
  EXPECT_EQ(s.commits, 426u);
  EXPECT_EQ(s.end.offset, 102400u);
  EXPECT_EQ(s.regions[0].start, start.offset);
  EXPECT_EQ(s.regions[2].start, 0u);
  EXPECT_EQ(s.regions[2].end, s.end.offset);

  std::map<Bytes, std::optional<Bytes>> state;
  size_t puts = 0, deletes = 0;
  for (const LogOp& op : rec.ops) {
    ASSERT_NE(op.kind, LogOp::kDeleteRange);
    if (op.kind == LogOp::kPut) {
      state[op.key] = op.value;
      ++puts;
    } else {
      state[op.key] = std::nullopt;
      ++deletes;
    }
  }
  EXPECT_GT(puts, 0u);
  for (const auto& [key, value] : state) {
    auto it = g.expected.find(key);
    if (value) {
      ASSERT_NE(it, g.expected.end()) << ToHex(key);
      EXPECT_EQ(it->second, *value) << ToHex(key);
    } else {
      EXPECT_EQ(it, g.expected.end()) << ToHex(key);
    }
  }
  std::cout << "golden replay: " << s.commits << " commits, " << puts << " puts, " << deletes
            << " deletes, end " << s.end.offset << ", stop at " << s.stop_offset << "\n";
}

// Splits the recovery of `log` from `start` into transactions and the position after each.
struct Split {
  std::vector<Txn> txns;
  std::vector<LogPosition> ends;
  LogRecovery state;
};

Split SplitTransactions(File* f, LogPosition start) {
  Split out;
  Txn current;
  auto r = RecoverLog(
      f, start,
      [&](const LogOp& op) {
        current.push_back(op);
        return Status::Ok();
      },
      [&](const LogPosition& end) {
        out.txns.push_back(std::move(current));
        current.clear();
        out.ends.push_back(end);
      });
  EXPECT_TRUE(r.ok());
  if (r.ok()) out.state = *r;
  return out;
}

// Byte compatibility: the golden transactions, rewritten by LogWriter (FULL, 512-byte sectors) from
// the checkpoint's position over a copy of the golden file, must leave the file byte-identical.
TEST(LogGoldenTest, RewritingTheSeedsTransactionsReproducesItsBytes) {
  Golden g = LoadGolden();
  LogPosition start = LogPositionOf(g.ckpt.log);
  MemEnv env;
  env.SetContents("log", g.log);
  auto f = OpenFile(env, "log");
  Split split = SplitTransactions(f.get(), start);
  ASSERT_GT(split.txns.size(), 0u);

  // The seed's region 2 began below 128 KB until a synced checkpoint moved it; model that by starting
  // region 2 at 0 and reporting the checkpoint just before the transaction that wrapped.
  LogRecovery state = LogRecovery::Empty(start);
  state.regions[2].start = 0;
  LogWriter w(f.get(), state, Safety::kFull);
  const Bytes wrap = {kLogPad2, 4, 0, 0, 0, 0, kLogJump, 0};
  LogPosition prev = start;
  int wraps = 0;
  for (size_t i = 0; i < split.txns.size(); ++i) {
    if (prev.offset + 8 <= g.log.size() &&
        std::equal(wrap.begin(), wrap.end(), g.log.begin() + prev.offset)) {
      w.CheckpointSynced(start);
      ++wraps;
    }
    for (const LogOp& op : split.txns[i]) ASSERT_TRUE(w.Append(op).ok());
    auto pos = w.Commit();
    ASSERT_TRUE(pos.ok());
    ASSERT_EQ(*pos, split.ends[i]) << "transaction " << i;
    prev = *pos;
  }
  EXPECT_EQ(wraps, 1);
  Bytes after = *env.Contents("log");
  ASSERT_EQ(after.size(), g.log.size());
  size_t diff = 0;
  while (diff < after.size() && after[diff] == g.log[diff]) ++diff;
  EXPECT_EQ(diff, after.size()) << "first differing byte at offset " << diff;
}

// --- Round trips ------------------------------------------------------------------------------------

struct GenTxn {
  std::vector<std::tuple<int, size_t, size_t>> ops;  // kind, key size, value size
  bool rollback = false;
  bool checkpoint = false;  // report a synced checkpoint (lagging) before this transaction
  bool reopen = false;      // recover and continue with a fresh writer before this transaction
};

rc::Gen<GenTxn> GenTransaction() {
  return rc::gen::build<GenTxn>(
      rc::gen::set(&GenTxn::ops,
                   rc::gen::mapcat(rc::gen::inRange<size_t>(0, 8), [](size_t n) {
                     return rc::gen::container<std::vector<std::tuple<int, size_t, size_t>>>(
                         n, rc::gen::tuple(rc::gen::inRange(0, 11), rc::gen::inRange<size_t>(0, 3001),
                                           rc::gen::inRange<size_t>(0, 3001)));
                   })),
      rc::gen::set(&GenTxn::rollback, rc::gen::weightedElement<bool>({{1, true}, {9, false}})),
      rc::gen::set(&GenTxn::checkpoint, rc::gen::weightedElement<bool>({{1, true}, {3, false}})),
      rc::gen::set(&GenTxn::reopen, rc::gen::weightedElement<bool>({{1, true}, {15, false}})));
}

LogOp MakeOp(std::mt19937_64& rng, const std::tuple<int, size_t, size_t>& g) {
  auto [kind, nkey, nval] = g;
  LogOp op;
  op.kind = kind < 7 ? LogOp::kPut : kind < 9 ? LogOp::kDelete : kind < 10 ? LogOp::kDeleteRange : LogOp::kUserVersion;
  if (op.kind == LogOp::kUserVersion) {
    op.value = RandomBytes(rng, 4);
    return op;
  }
  op.key = RandomBytes(rng, nkey);
  if (op.kind != LogOp::kDelete) op.value = RandomBytes(rng, nval);
  return op;
}

void RoundTrip(Safety safety) {
  uint32_t sector = *rc::gen::element<uint32_t>(512, 4096);
  size_t ntxn = *rc::gen::resize(100, rc::gen::inRange<size_t>(40, 300));
  size_t lag = *rc::gen::element<size_t>(1, 3, 30);
  bool sparse = *rc::gen::arbitrary<bool>();  // checkpoints rarely: region 2 runs into region 0
  auto gen = *rc::gen::container<std::vector<GenTxn>>(ntxn, GenTransaction());
  uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  std::mt19937_64 rng(seed);
  MemEnv env(MemEnv::Options{sector, uint64_t{64} << 20});
  auto f = OpenFile(env, "log");
  auto writer = std::make_unique<LogWriter>(f.get(), LogRecovery::Empty(kEmptyStart), safety);

  std::vector<Txn> committed;
  std::vector<LogPosition> ends;  // ends[i]: position after committed[i]
  LogPosition synced = kEmptyStart;
  size_t synced_index = 0;  // committed[synced_index..] are after `synced`
  uint64_t max_offset = 0;
  int wraps = 0;
  // A rollback may leave a wrap (PAD2+JUMP(0)) behind it: the writer then continues at offset 0 while
  // recovery stops before the JUMP; both are valid ends of the same committed log.
  bool rolled_back = false;
  bool jumped = false;
  for (size_t i = 0; i < gen.size(); ++i) {
    const GenTxn& g = gen[i];
    if (g.checkpoint && !committed.empty() && (!sparse || i % 10 == 0)) {
      // A checkpoint of some earlier commit (flushes lag behind the log).
      size_t k = std::max(synced_index, committed.size() - std::min(committed.size(), lag));
      if (k > 0) {
        synced = ends[k - 1];
        synced_index = k;
        writer->CheckpointSynced(synced);
      }
    }
    if (g.reopen) {
      Recovered rec = Recover(f.get(), synced);
      RC_ASSERT(rec.ops == Flatten(committed, synced_index));
      RC_ASSERT(rolled_back || rec.state.end == writer->position());
      writer = std::make_unique<LogWriter>(f.get(), rec.state, safety);
      rolled_back = false;
    }
    Txn t;
    for (const auto& op : g.ops) t.push_back(MakeOp(rng, op));
    for (const LogOp& op : t) RC_ASSERT(writer->Append(op).ok());
    if (g.rollback) {
      writer->Rollback();
      rolled_back = true;
      continue;
    }
    auto pos = writer->Commit();
    RC_ASSERT(pos.ok());
    rolled_back = false;
    if (!ends.empty() && pos->offset < ends.back().offset) ++wraps;
    if (writer->regions()[1].end != 0) jumped = true;
    committed.push_back(std::move(t));
    ends.push_back(*pos);
    max_offset = std::max(max_offset, pos->offset);
    if (safety == Safety::kFull) RC_ASSERT(pos->offset % sector == 0);
  }
  Recovered rec = Recover(f.get(), synced);
  RC_ASSERT(rec.ops == Flatten(committed, synced_index));
  RC_ASSERT(rolled_back || rec.state.end == writer->position());
  RC_TAG(wraps > 0 ? "wrapped" : "no wrap", jumped ? "jumped over region 0" : "no jump");
  RC_CLASSIFY(max_offset > 2 * kLogWrapOffset, "log > 256 KB");
}

TEST(LogPropertyTest, RoundTripNormal) {
  EXPECT_TRUE(rc::check("recovered ops == committed ops (NORMAL)", [] { RoundTrip(Safety::kNormal); }));
}

TEST(LogPropertyTest, RoundTripFull) {
  EXPECT_TRUE(rc::check("recovered ops == committed ops (FULL)", [] { RoundTrip(Safety::kFull); }));
}

// A long deterministic run with frequent checkpoints, so both the wrap (case 1) and the jump over
// region 0 (case 2, then region 1) happen many times; recovery is checked after every commit.
TEST(LogTest, WrapsAndJumpsKeepEveryCommitRecoverable) {
  // stall: after every other wrap, checkpoints stop for 80 commits, so region 2 runs into region 0 and jumps.
  for (auto [safety, stall] : {std::pair{Safety::kNormal, false}, std::pair{Safety::kFull, false},
                               std::pair{Safety::kNormal, true}, std::pair{Safety::kFull, true}}) {
    SCOPED_TRACE(std::string(safety == Safety::kFull ? "FULL" : "NORMAL") + (stall ? " stalling" : ""));
    const size_t lag = 20;
    MemEnv env;
    auto f = OpenFile(env, "log");
    LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), safety);
    std::mt19937_64 rng(42);
    std::vector<Txn> committed;
    std::vector<LogPosition> ends;
    size_t synced_index = 0;
    LogPosition synced = kEmptyStart;
    int wraps = 0, jumps = 0;
    int stall_until = -1000;
    for (int i = 0; i < 800; ++i) {
      bool stalled = i < stall_until + 80;
      if (i % 7 == 0 && !stalled && committed.size() > lag) {
        synced_index = committed.size() - lag;
        synced = ends[synced_index - 1];
        w.CheckpointSynced(synced);
      }
      Txn t;
      int n = int(rng() % 6);
      for (int k = 0; k < n; ++k) {
        t.push_back(LogOp{LogOp::kPut, RandomBytes(rng, 1 + rng() % 40), RandomBytes(rng, rng() % 3000)});
      }
      auto before = w.regions();
      for (const LogOp& op : t) ASSERT_TRUE(w.Append(op).ok());
      auto pos = w.Commit();
      ASSERT_TRUE(pos.ok());
      if (before[0].end == 0 && w.regions()[0].end != 0 && ++wraps % 2 == 1 && stall) stall_until = i;
      if (before[1].end == 0 && w.regions()[1].end != 0) ++jumps;
      committed.push_back(t);
      ends.push_back(*pos);
      Recovered rec = Recover(f.get(), synced);
      ASSERT_EQ(rec.ops, Flatten(committed, synced_index)) << "commit " << i;
      ASSERT_EQ(rec.state.end, *pos);
    }
    std::cout << (safety == Safety::kFull ? "FULL" : "NORMAL") << (stall ? " stalling" : "") << ": "
              << wraps << " wraps, " << jumps << " jumps over region 0\n";
    EXPECT_GT(wraps, 2);
    if (stall) { EXPECT_GT(jumps, 1); }
  }
}

// --- Torn tails and damage --------------------------------------------------------------------------

struct Written {
  Bytes log;
  std::vector<Txn> txns;
  std::vector<LogPosition> ends;
};

Written WriteTransactions(Safety safety, const std::vector<std::vector<size_t>>& value_sizes) {
  MemEnv env;
  auto f = OpenFile(env, "log");
  LogWriter w(f.get(), LogRecovery::Empty(kEmptyStart), safety);
  std::mt19937_64 rng(3);
  Written out;
  for (const auto& sizes : value_sizes) {
    Txn t;
    for (size_t n : sizes) {
      t.push_back(n == 0 ? LogOp{LogOp::kDelete, RandomBytes(rng, 9), {}}
                         : LogOp{LogOp::kPut, RandomBytes(rng, 9), RandomBytes(rng, n)});
    }
    for (const LogOp& op : t) EXPECT_TRUE(w.Append(op).ok());
    auto pos = w.Commit();
    EXPECT_TRUE(pos.ok());
    out.txns.push_back(t);
    out.ends.push_back(*pos);
  }
  out.log = *env.Contents("log");
  return out;
}

void CheckTornTail(Safety safety, const std::vector<std::vector<size_t>>& sizes, size_t stride) {
  Written w = WriteTransactions(safety, sizes);
  size_t n = w.txns.size();
  uint64_t begin = w.ends[n - 2].offset;
  uint64_t end = w.ends[n - 1].offset;
  std::vector<LogOp> prefix = Flatten(std::vector<Txn>(w.txns.begin(), w.txns.end() - 1));
  std::vector<LogOp> all = Flatten(w.txns);
  for (uint64_t cut = begin; cut < end; cut += (cut + 16 >= end || cut < begin + 16) ? 1 : stride) {
    // Truncated.
    Bytes log(w.log.begin(), w.log.begin() + cut);
    Recovered rec = RecoverBytes(log, kEmptyStart);
    if (rec.state.commits == n) {
      // Only when the cut-off bytes were zeros (the tail of the last checksum): nothing is lost.
      ASSERT_TRUE(std::all_of(w.log.begin() + cut, w.log.begin() + end, [](uint8_t b) { return b == 0; }))
          << "cut " << cut;
      ASSERT_EQ(rec.ops, all);
    } else {
      ASSERT_EQ(rec.state.commits, n - 1) << "cut " << cut;
      ASSERT_EQ(rec.ops, prefix) << "cut " << cut;
      ASSERT_EQ(rec.state.end, w.ends[n - 2]);
    }
    // Damaged.
    Bytes bad = w.log;
    bad[cut] ^= 0xA5;
    rec = RecoverBytes(bad, kEmptyStart);
    ASSERT_EQ(rec.state.commits, n - 1) << "damaged byte " << cut;
    ASSERT_EQ(rec.ops, prefix) << "damaged byte " << cut;
  }
}

TEST(LogTest, TornTailNeverAppliesAPartialTransaction) {
  std::vector<std::vector<size_t>> small = {{10, 0, 300}, {5}, {100, 0, 7, 2000, 0}};
  CheckTornTail(Safety::kNormal, small, 1);
  CheckTornTail(Safety::kFull, small, 1);
  // A last transaction with checksums embedded (records past 32 KB) and a FULL commit pad.
  std::vector<std::vector<size_t>> big = {{100}, {20000, 20000, 0, 30000, 5000, 70000, 3}};
  CheckTornTail(Safety::kNormal, big, 61);
  CheckTornTail(Safety::kFull, big, 61);
}

TEST(LogTest, FullCommitsEndOnSectorsAndSync) {
  for (uint32_t sector : {512u, 4096u}) {
    MemEnv env(MemEnv::Options{sector, uint64_t{1} << 32});
    auto counting = std::make_unique<CountingFile>(OpenFile(env, "log"));
    CountingFile* f = counting.get();
    LogWriter w(f, LogRecovery::Empty(kEmptyStart), Safety::kFull);
    std::mt19937_64 rng(11);
    for (int i = 0; i < 200; ++i) {
      int before = f->syncs;
      size_t nops = rng() % 4;
      for (size_t k = 0; k < nops; ++k) {
        ASSERT_TRUE(w.Append(LogOp{LogOp::kPut, RandomBytes(rng, 8), RandomBytes(rng, rng() % 1500)}).ok());
      }
      auto pos = w.Commit();
      ASSERT_TRUE(pos.ok());
      EXPECT_EQ(pos->offset % sector, 0u);
      EXPECT_GE(f->syncs, before + 1);
      if (i % 10 == 9) w.CheckpointSynced(*pos);
    }
    // Filler bytes of the seed.
    Bytes log = *env.Contents("log");
    EXPECT_NE(std::find(log.begin(), log.end(), kLogPadFiller), log.end());
  }
  // NORMAL never syncs.
  MemEnv env;
  auto counting = std::make_unique<CountingFile>(OpenFile(env, "log"));
  LogWriter w(counting.get(), LogRecovery::Empty(kEmptyStart), Safety::kNormal);
  ASSERT_TRUE(w.Append(Put("a", "b")).ok());
  ASSERT_TRUE(w.Commit().ok());
  EXPECT_EQ(counting->syncs, 0);
}

// --- Hostile bytes ----------------------------------------------------------------------------------

void RecoverAndContinue(const Bytes& log, LogPosition start) {
  MemEnv env(MemEnv::Options{512, uint64_t{16} << 20});
  env.SetContents("log", log);
  auto f = OpenFile(env, "log");
  auto r = RecoverLog(f.get(), start, [](const LogOp&) { return Status::Ok(); });
  RC_ASSERT(r.ok());
  RC_ASSERT(r->end.offset <= std::max<uint64_t>(log.size(), start.offset));
  RC_ASSERT(r->regions[2].end == r->end.offset);
  // Whatever was recovered is a state a writer can continue from.
  LogWriter w(f.get(), *r, Safety::kFull);
  for (int i = 0; i < 3; ++i) {
    (void)w.Append(Put("k", std::string(size_t(i) * 700, 'v')));
    (void)w.Commit();
  }
}

TEST(LogPropertyTest, ArbitraryBytesNeverCrashRecovery) {
  EXPECT_TRUE(rc::check("arbitrary log bytes", [](const std::vector<uint8_t>& log, uint16_t off,
                                                   uint32_t c0, uint32_t c1) {
    RecoverAndContinue(log, LogPosition{off % (log.size() + 1), c0, c1});
  }));
}

// An offset in [0, n), uniform whatever RapidCheck's size (inRange alone favours small offsets).
rc::Gen<size_t> Anywhere(size_t n) { return rc::gen::resize(100, rc::gen::inRange<size_t>(0, n)); }

TEST(LogPropertyTest, MutatedLogsNeverCrashRecovery) {
  Written base = WriteTransactions(Safety::kNormal, {{10, 0, 300}, {40000}, {5, 5, 5}, {2000, 0}});
  ASSERT_EQ(RecoverBytes(base.log, kEmptyStart).state.commits, 4u);
  EXPECT_TRUE(rc::check("mutated real log", [&] {
    Bytes log = base.log;
    size_t nedits = *rc::gen::inRange<size_t>(0, 6);
    auto edits = *rc::gen::container<std::vector<std::pair<size_t, uint8_t>>>(
        nedits, rc::gen::pair(Anywhere(log.size()), rc::gen::arbitrary<uint8_t>()));
    for (auto [at, b] : edits) log[at] = b;
    // Plant record types that steer the reader: jumps, huge lengths, pads.
    size_t nplants = *rc::gen::inRange<size_t>(0, 4);
    auto plants = *rc::gen::container<std::vector<std::pair<size_t, uint8_t>>>(
        nplants, rc::gen::pair(Anywhere(log.size()),
                               rc::gen::elementOf(std::vector<uint8_t>{kLogJump, kLogPad2, 0xFF, kLogWrite,
                                                                       kLogCommit, 0x0B})));
    for (auto [at, b] : plants) log[at] = b;
    size_t cut = *Anywhere(log.size() + 1);
    log.resize(cut);
    LogPosition start = kEmptyStart;
    if (*rc::gen::arbitrary<bool>()) start.offset = *Anywhere(base.log.size() + 1000);
    RC_CLASSIFY(RecoverBytes(log, start).state.commits >= 2, "2+ commits survive");
    RecoverAndContinue(log, start);
  }));
}

}  // namespace
}  // namespace lsm
