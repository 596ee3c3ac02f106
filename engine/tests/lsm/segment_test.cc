// Sorted runs: the cursor against every run of the golden databases written by SQLite4 LSM, the writer
// against the cursor (round trips over small pages, long keys, values spanning pages, block chains),
// and the cursor against damaged runs (it may fail, never crash, hang or over-read).
#include "engine/lsm/segment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>

#include "engine/env/mem_env.h"
#include "engine/cursor/merged_cursor.h"
#include "engine/format/meta_page.h"
#include "engine/tests/db/golden_files.h"

namespace lsm {
namespace {

using testing::GoldenDir;
using testing::ReadGolden;

std::string Show(const Record& r) {
  return "flags " + std::to_string(r.flags) + " key " + ToHex(r.key).substr(0, 40) + " (" +
         std::to_string(r.key.size()) + "b) value " + std::to_string(r.value.size()) + "b ptr " +
         std::to_string(r.pointer);
}

bool Same(const Record& a, const Record& b) {
  return a.flags == b.flags && a.key == b.key && a.value == b.value && a.pointer == b.pointer;
}

// Every record of a run, forward and backward; checks strict key order and that the two directions
// agree.
std::vector<Record> ReadAll(SegmentCursor& cur) {
  std::vector<Record> fwd, bwd;
  Status s = cur.First();
  while (s.ok() && cur.Valid()) {
    fwd.push_back(cur.record());
    s = cur.Next();
  }
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = cur.Last();
  while (s.ok() && cur.Valid()) {
    bwd.push_back(cur.record());
    s = cur.Prev();
  }
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::reverse(bwd.begin(), bwd.end());
  EXPECT_EQ(fwd.size(), bwd.size());
  for (size_t i = 0; i < std::min(fwd.size(), bwd.size()); ++i) {
    if (!Same(fwd[i], bwd[i])) {
      ADD_FAILURE() << "record " << i << " differs: " << Show(fwd[i]) << " vs " << Show(bwd[i]);
      break;
    }
  }
  for (size_t i = 1; i < fwd.size(); ++i) {
    if (CompareKeys(fwd[i - 1].topic(), fwd[i - 1].key, fwd[i].topic(), fwd[i].key) >= 0) {
      ADD_FAILURE() << "records " << i - 1 << ", " << i << " out of order: " << Show(fwd[i - 1]) << " / "
                    << Show(fwd[i]);
      break;
    }
  }
  return fwd;
}

// Seeks to every record's key (and just past it) must land where the ordered list says.
void CheckSeeks(SegmentCursor& cur, const std::vector<Record>& all) {
  for (size_t i = 0; i < all.size(); ++i) {
    const Record& r = all[i];
    ASSERT_TRUE(cur.SeekGe(r.topic(), r.key).ok());
    ASSERT_TRUE(cur.Valid()) << "SeekGe " << Show(r);
    ASSERT_TRUE(Same(cur.record(), r)) << "SeekGe " << Show(r) << " found " << Show(cur.record());
    ASSERT_TRUE(cur.SeekLe(r.topic(), r.key).ok());
    ASSERT_TRUE(cur.Valid()) << "SeekLe " << Show(r);
    ASSERT_TRUE(Same(cur.record(), r)) << "SeekLe " << Show(r);
    // key + "\0" lies strictly between this key and the next one.
    Bytes after = r.key;
    after.push_back(0);
    ASSERT_TRUE(cur.SeekGe(r.topic(), after).ok());
    if (i + 1 < all.size()) {
      ASSERT_TRUE(cur.Valid());
      ASSERT_TRUE(Same(cur.record(), all[i + 1])) << "SeekGe past " << Show(r);
    } else {
      ASSERT_FALSE(cur.Valid());
    }
    ASSERT_TRUE(cur.SeekLe(r.topic(), after).ok());
    ASSERT_TRUE(cur.Valid());
    ASSERT_TRUE(Same(cur.record(), r)) << "SeekLe past " << Show(r);
    // And the cursor keeps working from a seek position in both directions.
    if (i > 0) {
      ASSERT_TRUE(cur.Prev().ok());
      ASSERT_TRUE(cur.Valid());
      ASSERT_TRUE(Same(cur.record(), all[i - 1]));
    }
  }
  if (!all.empty()) {
    ASSERT_TRUE(cur.SeekLe(all[0].topic(), {}).ok());
    if (!all[0].key.empty() || all[0].topic() != 0) { EXPECT_FALSE(cur.Valid()); }
  }
}

// What a run's pages hold, found by walking its block chain in the raw file.
struct RunShape {
  size_t pages = 0, btree_pages = 0, indirect_keys = 0, skip_this = 0, skip_next = 0, empty_leaves = 0;
};

RunShape ShapeOf(const Bytes& file, Geometry g, const Segment& seg) {
  RunShape shape;
  for (uint64_t pg = seg.first; shape.pages < seg.size; ++shape.pages) {
    const uint8_t* p = file.data() + g.PageOffset(pg);
    const bool first = g.IsFirstOnBlock(pg), last = g.IsLastOnBlock(pg);
    const uint8_t* d = p + (first ? 4 : 0);
    const uint32_t n = g.pgsz - (first || last ? 4 : 0);
    const uint16_t nrec = LoadBe16(d + n - 2), flags = LoadBe16(d + n - 4);
    if (flags & kBtreePage) {
      ++shape.btree_pages;
      for (uint32_t i = 0; i < nrec; ++i) shape.indirect_keys += d[LoadBe16(d + n - 14 - 2 * i)] == 0;
    } else if (nrec == 0) {
      ++shape.empty_leaves;
    }
    shape.skip_this += (flags & kSkipThis) != 0;
    shape.skip_next += (flags & kSkipNext) != 0;
    if (pg == seg.last) {
      ++shape.pages;
      break;
    }
    pg = last ? g.FirstPageOfBlock(LoadBe32(p + g.pgsz - 4)) : pg + 1;
  }
  return shape;
}

std::map<Bytes, Bytes> ReadExpected(const std::filesystem::path& path) {
  std::map<Bytes, Bytes> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    Bytes k, v;
    EXPECT_TRUE(tab != std::string::npos && FromHex(line.substr(0, tab), &k) && FromHex(line.substr(tab + 1), &v));
    out[k] = v;
  }
  return out;
}

struct GoldenDb {
  Bytes bytes;
  Checkpoint ckpt;
  Geometry geom;
};

GoldenDb LoadGolden(const std::string& name) {
  GoldenDb g;
  g.bytes = ReadGolden(GoldenDir() / "db" / name);
  EXPECT_GE(g.bytes.size(), 2 * kMetaPageSize) << name;
  if (g.bytes.size() < 2 * kMetaPageSize) return g;
  auto choice = ChooseMetaPage(ByteView(g.bytes.data(), kMetaPageSize),
                               ByteView(g.bytes.data() + kMetaPageSize, kMetaPageSize));
  EXPECT_TRUE(choice.checkpoint.has_value()) << name;
  if (choice.checkpoint) g.ckpt = *choice.checkpoint;
  g.geom = Geometry{g.ckpt.pgsz, g.ckpt.blksz};
  return g;
}

const char* const kGoldenDbs[] = {"pub_tiny_4k", "pub_small_1k", "pub_bigval_4k", "pub_replay_1k.crash"};

TEST(SegmentGoldenTest, EveryRunReadsInOrderBothWaysAndSeeks) {
  for (const char* name : kGoldenDbs) {
    SCOPED_TRACE(name);
    GoldenDb g = LoadGolden(std::string(name) + ".db");
    MemEnv env;
    env.SetContents("db", g.bytes);
    auto file = env.Open("db", OpenMode::kReadOnly);
    ASSERT_TRUE(file.ok());
    const bool crash = std::string(name).find("crash") != std::string::npos;
    auto expected = ReadExpected(GoldenDir() / "db" / (std::string(name) + ".expected.tsv"));
    ASSERT_FALSE(g.ckpt.levels.empty());

    std::set<std::pair<uint8_t, Bytes>> newer_keys;  // keys some newer level has a record for
    size_t spilled = 0, checked_inserts = 0;
    for (size_t li = 0; li < g.ckpt.levels.size(); ++li) {
      const Level& level = g.ckpt.levels[li];
      const bool oldest = li + 1 == g.ckpt.levels.size();
      std::vector<Segment> segs{level.lhs};
      segs.insert(segs.end(), level.rhs.begin(), level.rhs.end());
      std::vector<Record> level_records;
      for (const Segment& seg : segs) {
        SCOPED_TRACE("level " + std::to_string(li) + " run at page " + std::to_string(seg.first));
        std::span<const BlockRedirect> redirects;
        if (oldest) redirects = g.ckpt.redirects;
        if (redirects.empty()) {
          EXPECT_EQ(ShapeOf(g.bytes, g.geom, seg).pages, seg.size);  // size counts every page, b-tree too
        }
        SegmentCursor cur(file->get(), g.geom, seg, redirects);
        std::vector<Record> all = ReadAll(cur);
        EXPECT_FALSE(all.empty());
        CheckSeeks(cur, all);
        for (const Record& r : all) {
          if (r.key.size() + r.value.size() > g.geom.pgsz) ++spilled;
        }
        level_records.insert(level_records.end(), all.begin(), all.end());
      }
      for (const Record& r : level_records) {
        // The oldest level's inserts that nothing newer touches are the database's content.
        if (oldest && !crash && (r.flags & kInsert) && r.topic() == kTopicUser &&
            !newer_keys.count({r.topic(), r.key})) {
          auto it = expected.find(r.key);
          ASSERT_TRUE(it != expected.end()) << Show(r);
          EXPECT_EQ(it->second, r.value) << Show(r);
          ++checked_inserts;
        }
      }
      for (const Record& r : level_records) newer_keys.insert({r.topic(), r.key});
    }
    if (!crash) { EXPECT_GT(checked_inserts, 0u); }
    if (std::string(name) == "pub_bigval_4k") { EXPECT_GT(spilled, 0u); }
  }
}

// The runs of a checkpointed database, merged newest first, are exactly the expected content.
TEST(SegmentGoldenTest, MergedRunsEqualExpectedContent) {
  for (const char* name : {"pub_tiny_4k", "pub_small_1k", "pub_bigval_4k"}) {
    SCOPED_TRACE(name);
    GoldenDb g = LoadGolden(std::string(name) + ".db");
    MemEnv env;
    env.SetContents("db", g.bytes);
    auto file = env.Open("db", OpenMode::kReadOnly);
    ASSERT_TRUE(file.ok());
    std::vector<std::unique_ptr<RecordCursor>> sources;
    for (size_t li = 0; li < g.ckpt.levels.size(); ++li) {
      ASSERT_TRUE(g.ckpt.levels[li].rhs.empty()) << "golden file with a merge in progress: extend this test";
      std::span<const BlockRedirect> redirects;
      if (li + 1 == g.ckpt.levels.size()) redirects = g.ckpt.redirects;
      sources.push_back(std::make_unique<SegmentCursor>(file->get(), g.geom, g.ckpt.levels[li].lhs, redirects));
    }
    MergedCursor merged(std::move(sources));
    std::map<Bytes, Bytes> got;
    Status s = merged.First();
    while (s.ok() && merged.Valid()) {
      got[Bytes(merged.key().begin(), merged.key().end())] = Bytes(merged.value().begin(), merged.value().end());
      s = merged.Next();
    }
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto expected = ReadExpected(GoldenDir() / "db" / (std::string(name) + ".expected.tsv"));
    EXPECT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected);
  }
}

// ---------------------------------------------------------------------------------------------------
// Writer round trips.

// Hands out blocks from a list (possibly out of order, so chains jump backwards too).
class ListAllocator : public BlockAllocator {
 public:
  explicit ListAllocator(std::vector<uint32_t> blocks) : blocks_(std::move(blocks)) {}
  Result<uint32_t> AllocateBlock() override {
    if (next_ >= blocks_.size()) return Status::Full("test allocator: out of blocks");
    return blocks_[next_++];
  }
  size_t used() const { return next_; }

 private:
  std::vector<uint32_t> blocks_;
  size_t next_ = 0;
};

// Records every write, so tests can check pages are written whole, aligned, once, in run order.
class RecordingFile : public FileWrapper {
 public:
  explicit RecordingFile(std::unique_ptr<File> f) : FileWrapper(std::move(f)) {}
  Status Write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({offset, data.size()});
    return FileWrapper::Write(offset, data);
  }
  std::vector<std::pair<uint64_t, size_t>> writes;
};

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& c : b) c = uint8_t(rng() % 4 == 0 ? rng() : 'a' + rng() % 3);  // shared prefixes are common
  return b;
}

// `n` records in key order with random flags, key sizes up to `max_key`, values up to `max_value`, and
// pointers that wander up and down (negative deltas).
std::vector<Record> RandomRun(std::mt19937_64& rng, size_t n, size_t max_key, size_t max_value) {
  std::set<std::pair<uint8_t, Bytes>> keys;
  while (keys.size() < n) {
    uint8_t topic = rng() % 8 == 0 ? kTopicSystem : kTopicUser;
    size_t len = rng() % 4 == 0 ? rng() % (max_key + 1) : rng() % 12;
    keys.insert({topic, RandomBytes(rng, len)});
  }
  std::vector<Record> out;
  uint64_t ptr = 1000;
  for (const auto& [topic, key] : keys) {
    Record r;
    static const uint8_t kKinds[] = {kInsert, kInsert, kInsert, kPointDelete, kStartDelete | kInsert,
                                     kEndDelete, kSeparator, kStartDelete | kEndDelete | kPointDelete};
    r.flags = kKinds[rng() % 8] | topic;
    r.key = key;
    if (r.flags & kInsert) {
      size_t len = rng() % 3 == 0 ? rng() % (max_value + 1) : rng() % 40;
      r.value = RandomBytes(rng, len);
    }
    if (rng() % 3 == 0) ptr = rng() % 5 == 0 ? 0 : ptr + (rng() % 200) - 100;
    if (rng() % 50 == 0) ptr = ~uint64_t{0} - rng() % 10;
    r.pointer = ptr;
    out.push_back(std::move(r));
  }
  return out;
}

struct Written {
  Segment seg;
  std::vector<uint32_t> blocks;
  uint32_t spare = 0;
  uint64_t pages_written = 0;
};

Written WriteRun(File* file, Geometry g, BlockAllocator* alloc, uint64_t start, const std::vector<Record>& recs) {
  SegmentWriter w(file, g, alloc, start);
  for (const Record& r : recs) {
    Status s = w.Add(r.flags, r.key, r.value, r.pointer);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return {};
  }
  auto seg = w.Finish();
  EXPECT_TRUE(seg.ok()) << seg.status().ToString();
  if (!seg.ok()) return {};
  return {*seg, w.blocks_used(), w.spare_block(), w.pages_written()};
}

RunShape total_shape;

void CheckRoundTrip(uint64_t seed, uint32_t pgsz, size_t n, size_t max_key, size_t max_value) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " pgsz " + std::to_string(pgsz));
  std::mt19937_64 rng(seed);
  const Geometry g{pgsz, 64 * 1024};
  MemEnv env;
  auto opened = env.Open("db", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(opened.ok());
  RecordingFile file(std::move(*opened));
  // Blocks out of order, block 1 (short, after the meta pages) included.
  std::vector<uint32_t> blocks{3, 1, 7, 2, 9, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  ListAllocator alloc(blocks);
  std::vector<Record> recs = RandomRun(rng, n, max_key, max_value);
  Written w = WriteRun(&file, g, &alloc, 0, recs);
  ASSERT_NE(w.seg.first, 0u);

  // Pages: written whole (consecutive ones together), aligned, each once, never overlapping the meta
  // pages; one per run page.
  std::set<uint64_t> pages;
  for (auto [off, len] : file.writes) {
    EXPECT_EQ(len % pgsz, 0u);
    EXPECT_EQ(off % pgsz, 0u);
    EXPECT_GE(off, 2u * kMetaPageSize);
    for (uint64_t at = off; at < off + len; at += pgsz) {
      EXPECT_TRUE(pages.insert(at / pgsz + 1).second) << "page written twice";
    }
  }
  EXPECT_LT(file.writes.size(), pages.size());
  EXPECT_EQ(pages.size(), w.seg.size);
  EXPECT_EQ(w.pages_written, w.seg.size);
  EXPECT_EQ(w.blocks.front(), 3u);
  // A run starting on a fresh block records "previous block" 1, as the reference does.
  auto content = env.Contents("db");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(w.seg.first, g.FirstPageOfBlock(3));
  EXPECT_EQ(LoadBe32(content->data() + g.PageOffset(w.seg.first)), 1u);
  if (w.seg.root != 0) { EXPECT_EQ(w.seg.root, w.seg.last); }
  // The advance block is owned exactly when the run ends on the last page of a block.
  EXPECT_EQ(w.spare != 0, g.IsLastOnBlock(w.seg.last));
  EXPECT_EQ(alloc.used(), w.blocks.size() + (w.spare != 0 ? 1 : 0));

  // Walking the chain from first ends exactly at last after size pages.
  RunShape shape = ShapeOf(*content, g, w.seg);
  EXPECT_EQ(shape.pages, w.seg.size);
  EXPECT_EQ(shape.btree_pages != 0, w.seg.root != 0);
  total_shape.btree_pages += shape.btree_pages;
  total_shape.indirect_keys += shape.indirect_keys;
  total_shape.skip_this += shape.skip_this;
  total_shape.skip_next += shape.skip_next;
  total_shape.empty_leaves += shape.empty_leaves;

  SegmentCursor cur(&file, g, w.seg);
  std::vector<Record> back = ReadAll(cur);
  ASSERT_EQ(back.size(), recs.size());
  for (size_t i = 0; i < recs.size(); ++i) ASSERT_TRUE(Same(back[i], recs[i])) << i << ": " << Show(back[i]) << " vs " << Show(recs[i]);
  CheckSeeks(cur, recs);
  // The same run without its b-tree reads the same (linear seek path).
  if (w.seg.root != 0) {
    Segment flat = w.seg;
    flat.root = 0;
    SegmentCursor lin(&file, g, flat);
    CheckSeeks(lin, recs);
  }
}

TEST(SegmentWriterTest, RoundTripSmallPagesLongKeysBigValues) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (uint32_t pgsz : {256u, 512u, 1024u}) {
      CheckRoundTrip(seed * 7919 + pgsz, pgsz, 150 + seed * 40, pgsz, 3 * pgsz);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  // The runs exercised every page kind: b-tree pages with indirect keys, pages the b-tree skips after a
  // long key, and leaves holding only the spilled tail of a value.
  EXPECT_GT(total_shape.btree_pages, 0u);
  EXPECT_GT(total_shape.indirect_keys, 0u);
  EXPECT_GT(total_shape.skip_this, 0u);
  EXPECT_GT(total_shape.skip_next, 0u);
  EXPECT_GT(total_shape.empty_leaves, 0u);
}

TEST(SegmentWriterTest, ManySmallRecordsBuildADeepBtree) {
  std::mt19937_64 rng(42);
  const Geometry g{256, 64 * 1024};
  MemEnv env;
  auto file = env.Open("db", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(file.ok());
  std::vector<uint32_t> blocks;
  for (uint32_t b = 2; b < 200; ++b) blocks.push_back(b);
  ListAllocator alloc(blocks);
  std::vector<Record> recs;
  for (int i = 0; i < 20000; ++i) {
    char buf[32];
    snprintf(buf, sizeof buf, "key%08d", i * 3);
    recs.push_back(Record{kInsert, Bytes(buf, buf + strlen(buf)), Bytes(rng() % 8, 'v'), uint64_t(i / 10)});
  }
  Written w = WriteRun(file->get(), g, &alloc, 0, recs);
  ASSERT_NE(w.seg.root, 0u);
  EXPECT_EQ(w.seg.root, w.seg.last);
  EXPECT_GT(w.blocks.size(), 5u);
  SegmentCursor cur(file->get(), g, w.seg);
  std::vector<Record> back = ReadAll(cur);
  ASSERT_EQ(back.size(), recs.size());
  for (size_t i = 0; i < recs.size(); i += 97) {
    ASSERT_TRUE(cur.SeekGe(kTopicUser, recs[i].key).ok());
    ASSERT_TRUE(cur.Valid());
    EXPECT_TRUE(Same(cur.record(), recs[i]));
    Bytes between = recs[i].key;
    between.push_back('5');  // between this key and the next
    ASSERT_TRUE(cur.SeekLe(kTopicUser, between).ok());
    ASSERT_TRUE(cur.Valid());
    EXPECT_TRUE(Same(cur.record(), recs[i]));
  }
  // The root's children are b-tree pages too: at least two levels.
  auto root = ReadRecordAt(file->get(), g, w.seg.root, 0);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->flags, kSeparator);
  auto child = ReadRecordAt(file->get(), g, root->pointer, 0);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_EQ(child->flags, kSeparator);
}

// A second run continues at the first one's append point inside the same block.
TEST(SegmentWriterTest, AppendPointContinuesInsideABlock) {
  const Geometry g{512, 64 * 1024};
  MemEnv env;
  auto file = env.Open("db", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(file.ok());
  ListAllocator alloc({5, 6, 7, 8});
  std::mt19937_64 rng(7);
  std::vector<Record> a = RandomRun(rng, 20, 40, 100);
  std::vector<Record> b = RandomRun(rng, 30, 40, 100);
  Written wa = WriteRun(file->get(), g, &alloc, 0, a);
  ASSERT_FALSE(g.IsLastOnBlock(wa.seg.last));
  Written wb = WriteRun(file->get(), g, &alloc, wa.seg.last + 1, b);
  EXPECT_EQ(wb.seg.first, wa.seg.last + 1);
  EXPECT_EQ(wb.blocks, std::vector<uint32_t>{5});
  SegmentCursor ca(file->get(), g, wa.seg), cb(file->get(), g, wb.seg);
  std::vector<Record> ra = ReadAll(ca), rb = ReadAll(cb);
  ASSERT_EQ(ra.size(), a.size());
  ASSERT_EQ(rb.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(Same(ra[i], a[i]));
  for (size_t i = 0; i < b.size(); ++i) EXPECT_TRUE(Same(rb[i], b[i]));
  // SeekCell and ReadRecordAt name records by page and cell, as a saved merge does.
  ASSERT_TRUE(cb.First().ok());
  ASSERT_TRUE(cb.Next().ok());
  auto at = ReadRecordAt(file->get(), g, cb.page(), uint32_t(cb.cell()));
  ASSERT_TRUE(at.ok());
  EXPECT_TRUE(Same(*at, rb[1]));
}

TEST(SegmentWriterTest, RejectsOutOfOrderKeysAndEmptyRunWritesNothing) {
  const Geometry g{1024, 64 * 1024};
  MemEnv env;
  auto file = env.Open("db", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(file.ok());
  ListAllocator alloc({2});
  {
    SegmentWriter w(file->get(), g, &alloc, 0);
    auto seg = w.Finish();
    ASSERT_TRUE(seg.ok());
    EXPECT_EQ(seg->first, 0u);
    EXPECT_EQ(alloc.used(), 0u);
  }
  SegmentWriter w(file->get(), g, &alloc, 0);
  ASSERT_TRUE(w.Add(kInsert, AsBytes("b"), AsBytes("1")).ok());
  EXPECT_EQ(w.Add(kInsert, AsBytes("a"), AsBytes("1")).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.Add(kInsert, AsBytes("b"), AsBytes("1")).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.Add(kPointDelete, AsBytes("c"), AsBytes("x")).code(), Code::kInvalidArgument);
  ASSERT_TRUE(w.Add(kInsert | kSystemKey, AsBytes("a"), AsBytes("2")).ok());  // system keys sort last
}

// ---------------------------------------------------------------------------------------------------
// Damaged runs.

// Drives a cursor through everything it offers; errors are fine, crashes and hangs are not.
void Exercise(SegmentCursor& cur, const std::vector<Record>& probes, size_t cap) {
  size_t steps = 0;
  for (Status s = cur.First(); s.ok() && cur.Valid() && steps < cap; s = cur.Next()) ++steps;
  EXPECT_LT(steps, cap) << "forward walk did not end";
  steps = 0;
  for (Status s = cur.Last(); s.ok() && cur.Valid() && steps < cap; s = cur.Prev()) ++steps;
  EXPECT_LT(steps, cap) << "backward walk did not end";
  for (const Record& r : probes) {
    (void)cur.SeekGe(r.topic(), r.key);
    if (cur.Valid()) (void)cur.Next();
    (void)cur.SeekLe(r.topic(), r.key);
    if (cur.Valid()) (void)cur.Prev();
  }
}

TEST(SegmentCorruptionTest, FlippedBytesNeverCrashOrHang) {
  const Geometry g{256, 64 * 1024};
  std::mt19937_64 rng(99);
  MemEnv env;
  auto file = env.Open("db", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(file.ok());
  ListAllocator alloc({4, 2, 6, 3, 5, 7, 8, 9});
  std::vector<Record> recs = RandomRun(rng, 400, 256, 700);
  Written w = WriteRun(file->get(), g, &alloc, 0, recs);
  ASSERT_NE(w.seg.root, 0u);
  auto pristine = env.Contents("db");
  ASSERT_TRUE(pristine.ok());
  std::vector<Record> probes(recs.begin(), recs.begin() + 40);
  const size_t cap = 10 * recs.size() + 100;
  size_t errors = 0;
  for (int trial = 0; trial < 400; ++trial) {
    Bytes bytes = *pristine;
    const int flips = 1 + int(rng() % 8);
    for (int i = 0; i < flips; ++i) {
      // Aim at the run's blocks, and at footers and block links more often than chance would.
      const uint32_t block = w.blocks[rng() % w.blocks.size()];
      uint64_t page = g.FirstPageOfBlock(block) + rng() % (g.LastPageOfBlock(block) - g.FirstPageOfBlock(block) + 1);
      uint64_t off = g.PageOffset(page);
      uint64_t pos = rng() % 2 ? off + rng() % g.pgsz : off + g.pgsz - 1 - rng() % 24;
      if (pos >= bytes.size()) continue;
      bytes[pos] = rng() % 3 == 0 ? uint8_t(rng()) : uint8_t(bytes[pos] ^ (1u << (rng() % 8)));
    }
    env.SetContents("db", bytes);
    SegmentCursor cur(file->get(), g, w.seg);
    Exercise(cur, probes, cap);
    Status s = cur.First();
    while (s.ok() && cur.Valid()) s = cur.Next();
    if (!s.ok()) {
      ++errors;
      EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
      EXPECT_NE(s.message().find("page"), std::string::npos) << s.ToString();
    }
  }
  EXPECT_GT(errors, 0u);
}

TEST(SegmentCorruptionTest, HostileSegmentsAndRedirectsNeverCrashOrHang) {
  const Geometry g{512, 64 * 1024};
  std::mt19937_64 rng(5);
  MemEnv env;
  auto file = env.Open("db", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(file.ok());
  ListAllocator alloc({2, 3, 4, 5, 6, 7, 8});
  std::vector<Record> recs = RandomRun(rng, 600, 100, 2000);
  Written w = WriteRun(file->get(), g, &alloc, 0, recs);
  ASSERT_GE(w.blocks.size(), 2u);
  std::vector<Record> probes(recs.begin(), recs.begin() + 8);
  for (int trial = 0; trial < 100; ++trial) {
    Segment seg = w.seg;
    auto wobble = [&](uint64_t v) { return rng() % 4 == 0 ? rng() % 2000 : v + rng() % 5 - 2; };
    switch (rng() % 5) {
      case 0: seg.first = wobble(seg.first); break;
      case 1: seg.last = wobble(seg.last); break;
      case 2: seg.root = wobble(seg.root); break;
      case 3: seg.size = rng() % 3 == 0 ? ~uint64_t{0} : wobble(seg.size); break;
      default: break;
    }
    std::vector<BlockRedirect> redirects;
    if (rng() % 2) redirects.push_back({uint32_t(rng() % 6), uint32_t(rng() % 6)});
    SegmentCursor cur(file->get(), g, seg, redirects);
    Exercise(cur, probes, 10 * recs.size() + 100);
  }
  // Redirecting a block the run really uses to a copy of it reads the same records.
  auto bytes = env.Contents("db");
  ASSERT_TRUE(bytes.ok());
  const uint32_t from = w.blocks[1], to = 12;
  Bytes moved = *bytes;
  moved.resize(std::max<size_t>(moved.size(), size_t{std::max(from, to)} * g.blksz));
  const Bytes source = moved;
  std::copy_n(source.begin() + size_t(from - 1) * g.blksz, g.blksz, moved.begin() + size_t(to - 1) * g.blksz);
  std::fill_n(moved.begin() + size_t(from - 1) * g.blksz, g.blksz, 0xEE);
  env.SetContents("db", moved);
  Segment seg = w.seg;
  auto move_page = [&](uint64_t& p) {
    if (p != 0 && g.BlockOf(p) == from) p = uint64_t(int64_t(p) + (int64_t{to} - int64_t{from}) * int64_t(g.PagesPerBlock()));
  };
  move_page(seg.first);
  move_page(seg.last);
  move_page(seg.root);
  std::vector<BlockRedirect> redirects{{from, to}};
  SegmentCursor cur(file->get(), g, seg, redirects);
  std::vector<Record> back = ReadAll(cur);
  ASSERT_EQ(back.size(), recs.size());
  for (size_t i = 0; i < recs.size(); ++i) ASSERT_TRUE(Same(back[i], recs[i]));
  CheckSeeks(cur, recs);
}

}  // namespace
}  // namespace lsm
