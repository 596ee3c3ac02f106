// The whole Db API against a std::map model (RapidCheck stateful testing): puts, erases, range erases,
// gets, cursor walks and seeks, nested transactions, flush, work, checkpoint, close/reopen and
// abandon/reopen (recovery from checkpoint + log), with the integrity check after every reopen and as a
// command of its own. A second connection commits, flushes and holds read transactions in between
// (snapshot reads; a transaction that saw a stale snapshot may not write), and a cursor held across
// commands must keep showing its snapshot while the blocks under it are freed. Small pages, blocks, autoflush and free-list limits make every case flush, merge,
// pause merges across checkpoints, reuse blocks and overflow the free list; the statistics prove it.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "engine/db.h"
#include "engine/env/mem_env.h"

namespace lsm {
namespace {

using Map = std::map<Bytes, Bytes>;

struct Model {
  Map committed;
  std::vector<Map> open;  // one snapshot per open transaction, innermost last
  bool writing = false;   // the open transaction has written (holds the write lock)
  bool stale = false;     // the other connection committed since the open transaction began
  std::optional<Map> other_snapshot;  // the other connection's read transaction
  std::optional<Map> held;            // what the held cursor must show
  uint32_t user_version = 0;          // committed
  std::vector<uint32_t> open_user_version;  // per open transaction, like `open`
  const Map& view() const { return open.empty() ? committed : open.back(); }
  uint32_t view_user_version() const { return open.empty() ? user_version : open_user_version.back(); }
  uint32_t& mutable_view_user_version() { return open.empty() ? user_version : open_user_version.back(); }
  Map& mutable_view() { return open.empty() ? committed : open.back(); }
  // A transaction that has not written and saw a stale snapshot may not start writing.
  bool WriteRefused() const { return !open.empty() && stale && !writing; }
  void Wrote() { writing = !open.empty(); }
};

DbStats g_totals;

void Accumulate(const DbStats& s) {
  g_totals.flushes += s.flushes;
  g_totals.merges += s.merges;
  g_totals.merges_resumed += s.merges_resumed;
  g_totals.checkpoints_mid_merge += s.checkpoints_mid_merge;
  g_totals.checkpoints += s.checkpoints;
  g_totals.blocks_reused += s.blocks_reused;
  g_totals.blocks_freed += s.blocks_freed;
  g_totals.freelist_overflows += s.freelist_overflows;
  g_totals.log_replayed_commits += s.log_replayed_commits;
}

struct Sut {
  MemEnv env;
  Options options;
  std::unique_ptr<Db> db;
  std::unique_ptr<Db> other;  // a second connection to the same database
  std::unique_ptr<Cursor> held;

  void Open() {
    auto d = Db::Open(&env, "test.db", options);
    RC_ASSERT(d.ok());
    db = std::move(d).value();
    auto o = Db::Open(&env, "test.db", options);
    RC_ASSERT(o.ok());
    other = std::move(o).value();
    CheckIntegrity();
  }
  void CheckIntegrity() {
    auto problems = db->Check();
    RC_ASSERT(problems.ok());
    if (!problems->empty()) RC_FAIL("integrity: " + *problems);
  }
};

std::string Show(ByteView b) { return "'" + std::string(AsChars(b)) + "'"; }

rc::Gen<Bytes> GenKey() {
  return rc::gen::map(rc::gen::container<std::string>(*rc::gen::inRange(1, 4), rc::gen::inRange('a', 'q')),
                      [](const std::string& s) { return Bytes(s.begin(), s.end()); });
}

// Mostly small values, sometimes several pages long (records spill across pages).
Bytes GenValue() {
  const bool big = *rc::gen::inRange(0, 4) == 0;
  const int len = big ? *rc::gen::inRange(200, 3000) : *rc::gen::inRange(0, 40);
  const uint8_t fill = *rc::gen::arbitrary<uint8_t>();
  Bytes v(size_t(len), fill);
  if (!v.empty()) v[0] = uint8_t(len);  // distinguish values of equal fill
  return v;
}

using Cmd = rc::state::Command<Model, Sut>;

struct PutMany : Cmd {
  std::vector<std::pair<Bytes, Bytes>> kvs;
  PutMany() {
    const int n = *rc::gen::inRange(1, 200);
    for (int i = 0; i < n; ++i) kvs.emplace_back(*GenKey(), GenValue());
  }
  void apply(Model& m) const override {
    if (m.WriteRefused()) return;
    for (const auto& [k, v] : kvs) m.mutable_view()[k] = v;
    m.Wrote();
  }
  void run(const Model& m, Sut& s) const override {
    if (m.WriteRefused()) {
      RC_ASSERT(s.db->Put(kvs[0].first, kvs[0].second).code() == Code::kBusy);
      return;
    }
    for (const auto& [k, v] : kvs) RC_ASSERT(s.db->Put(k, v).ok());
  }
  void show(std::ostream& os) const override { os << "PutMany(" << kvs.size() << ")"; }
};

struct Erase : Cmd {
  Bytes key = *GenKey();
  void apply(Model& m) const override {
    if (m.WriteRefused()) return;
    m.mutable_view().erase(key);
    m.Wrote();
  }
  void run(const Model& m, Sut& s) const override {
    RC_ASSERT(s.db->Erase(key).code() == (m.WriteRefused() ? Code::kBusy : Code::kOk));
  }
  void show(std::ostream& os) const override { os << "Erase(" << Show(key) << ")"; }
};

struct EraseRange : Cmd {
  Bytes start = *GenKey();
  Bytes end = *GenKey();
  void apply(Model& m) const override {
    if (m.WriteRefused()) return;
    m.Wrote();
    Map& v = m.mutable_view();
    if (start >= end) return;
    v.erase(v.upper_bound(start), v.lower_bound(end));
  }
  void run(const Model& m, Sut& s) const override {
    RC_ASSERT(s.db->EraseRange(start, end).code() == (m.WriteRefused() ? Code::kBusy : Code::kOk));
  }
  void show(std::ostream& os) const override { os << "EraseRange(" << Show(start) << ", " << Show(end) << ")"; }
};

struct Get : Cmd {
  Bytes key = *GenKey();
  void run(const Model& m, Sut& s) const override {
    auto got = s.db->Get(key);
    RC_ASSERT(got.ok());
    auto it = m.view().find(key);
    if (it == m.view().end()) {
      RC_ASSERT(!got->has_value());
    } else {
      RC_ASSERT(got->has_value());
      RC_ASSERT(**got == it->second);
    }
  }
  void show(std::ostream& os) const override { os << "Get(" << Show(key) << ")"; }
};

// Seek (ge / le / eq / first / last), then walk a few steps, possibly turning around.
struct Scan : Cmd {
  int how = *rc::gen::inRange(0, 5);
  Bytes key = *GenKey();
  std::vector<bool> forward = *rc::gen::container<std::vector<bool>>(*rc::gen::inRange(0, 12), rc::gen::arbitrary<bool>());
  void run(const Model& m, Sut& s) const override {
    const Map& v = m.view();
    auto c = s.db->NewCursor();
    RC_ASSERT(c.ok());
    Cursor& cur = **c;
    Map::const_iterator it = v.end();
    switch (how) {
      case 0:
        RC_ASSERT(cur.First().ok());
        it = v.begin();
        break;
      case 1:
        RC_ASSERT(cur.Last().ok());
        it = v.empty() ? v.end() : std::prev(v.end());
        break;
      case 2:
        RC_ASSERT(cur.SeekGe(key).ok());
        it = v.lower_bound(key);
        break;
      case 3: {
        RC_ASSERT(cur.SeekLe(key).ok());
        auto ub = v.upper_bound(key);
        it = ub == v.begin() ? v.end() : std::prev(ub);
        break;
      }
      default:
        RC_ASSERT(cur.SeekEq(key).ok());
        it = v.find(key);
        break;
    }
    for (size_t step = 0;; ++step) {
      if (it == v.end()) {
        RC_ASSERT(!cur.Valid());
        return;
      }
      RC_ASSERT(cur.Valid());
      RC_ASSERT(Bytes(cur.key().begin(), cur.key().end()) == it->first);
      RC_ASSERT(Bytes(cur.value().begin(), cur.value().end()) == it->second);
      if (step == forward.size()) return;
      if (forward[step]) {
        RC_ASSERT(cur.Next().ok());
        ++it;
      } else {
        RC_ASSERT(cur.Prev().ok());
        it = it == v.begin() ? v.end() : std::prev(it);
      }
    }
  }
  void show(std::ostream& os) const override { os << "Scan(" << how << ", " << Show(key) << ", " << forward.size() << " steps)"; }
};

struct Begin : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open.size() < 3); }
  void apply(Model& m) const override {
    if (m.open.empty()) m.stale = false;
    m.open_user_version.push_back(m.view_user_version());
    m.open.push_back(m.view());
  }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.db->Begin().ok()); }
  void show(std::ostream& os) const override { os << "Begin"; }
};

struct Commit : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.open.empty()); }
  void apply(Model& m) const override {
    Map top = std::move(m.open.back());
    const uint32_t top_user_version = m.open_user_version.back();
    m.open.pop_back();
    m.open_user_version.pop_back();
    // A transaction that never wrote commits nothing (its snapshot may be older than the database).
    if (!m.open.empty() || m.writing) {
      m.mutable_view() = std::move(top);
      m.mutable_view_user_version() = top_user_version;
    }
    if (m.open.empty()) m.writing = false;
  }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.db->Commit().ok()); }
  void show(std::ostream& os) const override { os << "Commit"; }
};

struct Rollback : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.open.empty()); }
  void apply(Model& m) const override {
    m.open.pop_back();
    m.open_user_version.pop_back();
    if (m.open.empty()) m.writing = false;
  }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.db->Rollback().ok()); }
  void show(std::ostream& os) const override { os << "Rollback"; }
};

struct Flush : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open.empty()); }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.db->Flush().ok()); }
  void show(std::ostream& os) const override { os << "Flush"; }
};

struct Work : Cmd {
  int nmerge = *rc::gen::inRange(0, 4);
  int nkb = *rc::gen::inRange(-1, 16);
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open.empty()); }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.db->Work(nmerge, nkb).ok()); }
  void show(std::ostream& os) const override { os << "Work(" << nmerge << ", " << nkb << ")"; }
};

struct Checkpoint : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open.empty()); }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.db->Checkpoint().ok()); }
  void show(std::ostream& os) const override { os << "Checkpoint"; }
};

// The other connection: writes on their own (kBusy while this one's transaction writes), flushes,
// and read transactions whose snapshot its gets must keep showing.
struct OtherPut : Cmd {
  Bytes key = *GenKey();
  Bytes value = GenValue();
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.other_snapshot); }
  void apply(Model& m) const override {
    if (m.writing) return;
    m.committed[key] = value;
    if (!m.open.empty()) m.stale = true;
  }
  void run(const Model& m, Sut& s) const override {
    RC_ASSERT(s.other->Put(key, value).code() == (m.writing ? Code::kBusy : Code::kOk));
  }
  void show(std::ostream& os) const override { os << "OtherPut(" << Show(key) << ")"; }
};

struct OtherBegin : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.other_snapshot); }
  void apply(Model& m) const override { m.other_snapshot = m.committed; }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.other->Begin().ok()); }
  void show(std::ostream& os) const override { os << "OtherBegin"; }
};

struct OtherEnd : Cmd {
  bool commit = *rc::gen::arbitrary<bool>();
  void checkPreconditions(const Model& m) const override { RC_PRE(bool(m.other_snapshot)); }
  void apply(Model& m) const override { m.other_snapshot.reset(); }
  void run(const Model& m, Sut& s) const override {
    RC_ASSERT((commit ? s.other->Commit() : s.other->Rollback()).ok());
  }
  void show(std::ostream& os) const override { os << (commit ? "OtherCommit" : "OtherRollback"); }
};

struct OtherGet : Cmd {
  Bytes key = *GenKey();
  void run(const Model& m, Sut& s) const override {
    const Map& v = m.other_snapshot ? *m.other_snapshot : m.committed;
    auto got = s.other->Get(key);
    RC_ASSERT(got.ok());
    auto it = v.find(key);
    RC_ASSERT(got->has_value() == (it != v.end()));
    if (it != v.end()) RC_ASSERT(**got == it->second);
  }
  void show(std::ostream& os) const override { os << "OtherGet(" << Show(key) << ")"; }
};

struct OtherFlush : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.other_snapshot); }
  void run(const Model& m, Sut& s) const override { RC_ASSERT(s.other->Flush().ok()); }
  void show(std::ostream& os) const override { os << "OtherFlush"; }
};

// A cursor made now and read in full later: it must still show the state it was made on.
struct HoldCursor : Cmd {
  void apply(Model& m) const override { m.held = m.view(); }
  void run(const Model& m, Sut& s) const override {
    auto c = s.db->NewCursor();
    RC_ASSERT(c.ok());
    s.held = std::move(c).value();
  }
  void show(std::ostream& os) const override { os << "HoldCursor"; }
};

struct ReadHeldCursor : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(bool(m.held)); }
  void apply(Model& m) const override { m.held.reset(); }
  void run(const Model& m, Sut& s) const override {
    Map seen;
    RC_ASSERT(s.held->First().ok());
    for (; s.held->Valid(); RC_ASSERT(s.held->Next().ok())) {
      seen[Bytes(s.held->key().begin(), s.held->key().end())] = Bytes(s.held->value().begin(), s.held->value().end());
    }
    RC_ASSERT(seen == *m.held);
    s.held.reset();
  }
  void show(std::ostream& os) const override { os << "ReadHeldCursor"; }
};

// The user version: a write like a put, read back (durable across reopens: Reopen re-checks it).
struct SetUserVersion : Cmd {
  uint32_t version = *rc::gen::inRange<uint32_t>(0, 4);
  void apply(Model& m) const override {
    if (m.WriteRefused()) return;
    m.mutable_view_user_version() = version;
    m.Wrote();
  }
  void run(const Model& m, Sut& s) const override {
    RC_ASSERT(s.db->SetUserVersion(version).code() == (m.WriteRefused() ? Code::kBusy : Code::kOk));
  }
  void show(std::ostream& os) const override { os << "SetUserVersion(" << version << ")"; }
};

struct GetUserVersion : Cmd {
  void run(const Model& m, Sut& s) const override {
    auto v = s.db->UserVersion();
    RC_ASSERT(v.ok());
    RC_ASSERT(*v == m.view_user_version());
  }
  void show(std::ostream& os) const override { os << "GetUserVersion"; }
};

struct CheckIntegrity : Cmd {
  void run(const Model& m, Sut& s) const override { s.CheckIntegrity(); }
  void show(std::ostream& os) const override { os << "Check"; }
};

// Close cleanly (open transactions roll back), or abandon the Db (recovery replays the log; MemEnv keeps
// every write, so every commit must come back), then reopen.
struct Reopen : Cmd {
  bool clean = *rc::gen::arbitrary<bool>();
  void apply(Model& m) const override {
    m.open.clear();
    m.open_user_version.clear();
    m.writing = false;
    m.other_snapshot.reset();
    m.held.reset();
  }
  void run(const Model& m, Sut& s) const override {
    Accumulate(s.db->stats());
    s.held.reset();
    if (clean) {
      RC_ASSERT(s.other->Close().ok());
      RC_ASSERT(s.db->Close().ok());  // the last connection cleans up
    }
    s.other.reset();
    s.db.reset();
    s.Open();
    // Everything committed is back.
    auto c = s.db->NewCursor();
    RC_ASSERT(c.ok());
    RC_ASSERT((*c)->First().ok());
    for (const auto& [k, v] : m.committed) {
      RC_ASSERT((*c)->Valid());
      RC_ASSERT(Bytes((*c)->key().begin(), (*c)->key().end()) == k);
      RC_ASSERT(Bytes((*c)->value().begin(), (*c)->value().end()) == v);
      RC_ASSERT((*c)->Next().ok());
    }
    RC_ASSERT(!(*c)->Valid());
    RC_ASSERT(s.db->UserVersion().value() == m.user_version);
  }
  void show(std::ostream& os) const override { os << (clean ? "CloseReopen" : "AbandonReopen"); }
};

TEST(DbStatefulTest, MatchesAMapModelAcrossFlushesMergesAndReopens) {
  g_totals = DbStats{};
  EXPECT_TRUE(rc::check("Db behaves like std::map", [] {
    Sut sut;
    sut.options.page_size = *rc::gen::element(256u, 512u, 1024u);
    sut.options.block_size = 64 * 1024;
    sut.options.autoflush_kb = *rc::gen::element(1u, 2u, 4u);
    sut.options.automerge = *rc::gen::element(2u, 3u);
    sut.options.max_freelist = *rc::gen::element(2u, 3u, 4u);
    sut.options.autocheckpoint_kb = *rc::gen::element(0u, 0u, 16u, 64u);
    sut.Open();
    Model model;
    rc::state::check(model, sut,
                     rc::state::gen::execOneOfWithArgs<PutMany, Erase, EraseRange, Get, Scan, Begin, Commit,
                                                       Rollback, Flush, Work, Checkpoint, CheckIntegrity, Reopen,
                                                       OtherPut, OtherBegin, OtherEnd, OtherGet, OtherFlush,
                                                       HoldCursor, ReadHeldCursor, SetUserVersion, GetUserVersion>());
    Accumulate(sut.db->stats());
  }));
  std::cout << "totals: " << g_totals.flushes << " flushes, " << g_totals.merges << " merges, "
            << g_totals.checkpoints_mid_merge << " checkpoints mid-merge, " << g_totals.merges_resumed
            << " merges restarted at open, " << g_totals.blocks_freed << " blocks freed, " << g_totals.blocks_reused
            << " reused, " << g_totals.freelist_overflows << " free-list overflows, " << g_totals.log_replayed_commits
            << " commits replayed\n";
  EXPECT_GT(g_totals.flushes, 0u);
  EXPECT_GT(g_totals.merges, 0u);
  EXPECT_GT(g_totals.checkpoints_mid_merge, 0u);
  EXPECT_GT(g_totals.merges_resumed, 0u);
  EXPECT_GT(g_totals.blocks_reused, 0u);
  EXPECT_GT(g_totals.freelist_overflows, 0u);
  EXPECT_GT(g_totals.log_replayed_commits, 0u);
}

}  // namespace
}  // namespace lsm
