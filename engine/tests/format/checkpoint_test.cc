#include "engine/format/checkpoint.h"

#include <gtest/gtest.h>

#include "engine/format/meta_page.h"
#include "engine/tests/db/golden_files.h"

namespace lsm {
namespace {

using testing::GoldenDir;
using testing::ReadGolden;
using Kind = CheckpointError::Kind;

Checkpoint OneLevel() {
  Checkpoint c = Checkpoint::Empty(1024, 65536);
  c.id = 21;
  c.cmpid = kCompressionNone;
  c.nblock = 4;
  c.levels.push_back(Level{0, 0, {29, 35, 35, 7}, {}, {}});
  return c;
}

// Re-signs a blob after a test edits a word, so the edit reaches structural validation.
void Resign(Bytes& blob) {
  uint32_t n = LoadBe32(blob.data() + 8);
  std::vector<uint32_t> w(n);
  for (uint32_t i = 0; i < n; ++i) w[i] = LoadBe32(blob.data() + 4 * i);
  auto [c1, c2] = CheckpointChecksum(w.data(), n - 2);
  StoreBe32(blob.data() + 4 * (n - 2), c1);
  StoreBe32(blob.data() + 4 * (n - 1), c2);
}

TEST(CheckpointTest, EveryValidGoldenPageReencodesBitExactly) {
  int valid = 0;
  for (const auto& entry : std::filesystem::directory_iterator(GoldenDir() / "ckpt")) {
    if (entry.path().extension() != ".bin") continue;
    Bytes page = ReadGolden(entry.path());
    ASSERT_EQ(page.size(), kMetaPageSize) << entry.path();
    auto c = DecodeCheckpoint(page);
    if (!c.ok()) {
      EXPECT_EQ(LoadBe32(page.data() + 8), 0u) << entry.path() << ": " << c.error().ToString();
      continue;
    }
    ++valid;
    auto blob = EncodeCheckpoint(*c);
    ASSERT_TRUE(blob.ok());
    ASSERT_EQ(blob->size(), size_t{LoadBe32(page.data() + 8)} * 4);
    EXPECT_TRUE(std::equal(blob->begin(), blob->end(), page.begin())) << entry.path();
  }
  EXPECT_EQ(valid, 9);
}

TEST(CheckpointTest, ChecksumFoldsAnOddLastWordInHalves) {
  // Three data words: the third is folded first (low half into c1, high half into c2), then the pair.
  const uint32_t w[3] = {5, 7, 0x00030004};
  auto [c1, c2] = CheckpointChecksum(w, 3);
  uint32_t e1 = 1 + 4, e2 = 2 + 0x00030000;
  e1 += e2 + 5;
  e2 += e1 + 7;
  EXPECT_EQ(c1, e1);
  EXPECT_EQ(c2, e2);
  // An even count never looks at a word past the pairs.
  auto [d1, d2] = CheckpointChecksum(w, 2);
  EXPECT_EQ(d1, 1u + 2 + 5);
  EXPECT_EQ(d2, 2u + (1 + 2 + 5) + 7);
}

TEST(CheckpointTest, EmptyCheckpointMatchesTheGoldenEmptyPage) {
  Bytes page = ReadGolden(GoldenDir() / "ckpt" / "000_small_meta1.bin");
  auto blob = EncodeCheckpoint(Checkpoint::Empty(4096, 1 << 20));
  ASSERT_TRUE(blob.ok());
  EXPECT_TRUE(std::equal(blob->begin(), blob->end(), page.begin()));
}

TEST(CheckpointTest, RoundTripsAMergingLevel) {
  Checkpoint c = OneLevel();
  c.nblock = 10;
  Level merging{1, kLevelIncomplete, {513, 513, 0, 1}, {{476, 481, 481, 6}, {470, 475, 0, 6}}, {}};
  merging.merge = {2, {{476, 1}, {470, 0}, {0, 0}}, {470, 3}, 385};
  c.levels.insert(c.levels.begin(), merging);
  c.redirects = {{8, 7}};
  c.freelist = {{2, 20}, {5, kFreeEntryDelete}};
  auto blob = EncodeCheckpoint(c);
  ASSERT_TRUE(blob.ok());
  auto back = DecodeCheckpoint(*blob);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, c);
}

TEST(CheckpointTest, RejectsLengthsOutsideTheMetaPage) {
  Bytes blob = *EncodeCheckpoint(OneLevel());
  for (uint32_t bad : {0u, 1u, 2u, 1025u, 0xFFFFFFFFu}) {
    Bytes b = blob;
    StoreBe32(b.data() + 8, bad);
    auto r = DecodeCheckpoint(MetaPageImage(b));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, Kind::kBadLength) << bad;
    EXPECT_EQ(r.error().word, 2u);
  }
  auto short_input = DecodeCheckpoint(ByteView(blob).first(11));
  ASSERT_FALSE(short_input.ok());
  EXPECT_EQ(short_input.error().kind, Kind::kTooShort);
  auto truncated = DecodeCheckpoint(ByteView(blob).first(blob.size() - 1));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().kind, Kind::kTooShort);
}

TEST(CheckpointTest, ErrorsNameTheFieldAndWord) {
  Bytes blob = *EncodeCheckpoint(OneLevel());
  // Level 0's lhs size is words 21 + 2 + 6, 7 (64-bit): zero it.
  StoreBe32(blob.data() + 4 * 30, 0);
  Resign(blob);
  auto r = DecodeCheckpoint(blob);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Kind::kBadValue);
  EXPECT_EQ(r.error().field, "level[0].lhs.size");
  EXPECT_EQ(r.error().ToString(), "checkpoint word 29 (level[0].lhs.size): segment size is 0");
}

TEST(CheckpointTest, RejectsCountsThatDoNotFit) {
  Checkpoint c = OneLevel();
  Bytes blob = *EncodeCheckpoint(c);
  Bytes b = blob;
  StoreBe32(b.data() + 4 * 6, 50);  // nlevel
  Resign(b);
  auto r = DecodeCheckpoint(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Kind::kOverrun);
  EXPECT_EQ(r.error().field, "nlevel");

  b = blob;
  StoreBe32(b.data() + 4 * 22, 0x40000000);  // level[0].nright
  Resign(b);
  r = DecodeCheckpoint(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Kind::kOverrun);
  EXPECT_EQ(r.error().field, "level[0].nright");
}

TEST(CheckpointTest, RejectsTooManyRedirectsAndFreeEntries) {
  Checkpoint c = OneLevel();
  c.nblock = 100;
  for (uint32_t i = 0; i < kMaxBlockRedirects + 1; ++i) c.redirects.push_back({i + 2, 1 + i});
  auto r = DecodeCheckpoint(*EncodeCheckpoint(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "nredirect");
  c.redirects.clear();
  for (uint32_t i = 0; i < kMaxFreelistEntries + 1; ++i) c.freelist.push_back({i + 1, 3});
  r = DecodeCheckpoint(*EncodeCheckpoint(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "nfree");
}

TEST(CheckpointTest, RejectsTrailingWords) {
  Bytes blob = *EncodeCheckpoint(OneLevel());
  uint32_t n = LoadBe32(blob.data() + 8);
  blob.insert(blob.end() - 8, {0, 0, 0, 0});
  StoreBe32(blob.data() + 8, n + 1);
  Resign(blob);
  auto r = DecodeCheckpoint(blob);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Kind::kTrailingWords);
}

// lsmsim's extension: a 2-word trailer, present only for a user version other than 0.
TEST(CheckpointTest, TheUserVersionTrailerRoundTripsAndAnythingElseThereIsRejected) {
  Checkpoint c = OneLevel();
  const size_t plain = EncodeCheckpoint(c)->size();
  c.user_version = 7;
  Bytes blob = *EncodeCheckpoint(c);
  EXPECT_EQ(blob.size(), plain + 8);
  EXPECT_EQ(LoadBe32(blob.data() + blob.size() - 16), kUserVersionTag);
  auto r = DecodeCheckpoint(blob);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, c);

  Bytes zero = blob;
  StoreBe32(zero.data() + zero.size() - 12, 0);  // a stored 0 is never written
  Resign(zero);
  r = DecodeCheckpoint(zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "user_version");

  Bytes other = blob;
  StoreBe32(other.data() + other.size() - 16, kUserVersionTag ^ 1);
  Resign(other);
  r = DecodeCheckpoint(other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Kind::kTrailingWords);
}

TEST(CheckpointTest, RejectsPagesOutsideTheFileAndInconsistentSegments) {
  struct Case {
    Segment seg;
    const char* field;
  };
  // 1 KiB pages, 64 KiB blocks, 4 blocks: pages 9..256 exist; block 2 is pages 65..128.
  for (const Case& k : {Case{{300, 301, 0, 2}, "level[0].lhs.first"}, Case{{5, 6, 0, 2}, "level[0].lhs.first"},
                        Case{{70, 66, 0, 5}, "level[0].lhs.last"}, Case{{66, 70, 0, 4}, "level[0].lhs.size"},
                        Case{{66, 70, 71, 5}, "level[0].lhs.root"}, Case{{120, 20, 0, 3}, "level[0].lhs.size"}}) {
    Checkpoint c = OneLevel();
    c.levels[0].lhs = k.seg;
    auto r = DecodeCheckpoint(*EncodeCheckpoint(c));
    ASSERT_FALSE(r.ok()) << k.field;
    EXPECT_EQ(r.error().field, k.field) << r.error().ToString();
  }
  // Block chaining: a run may start in a later block than it ends (as the golden pages show).
  Checkpoint c = OneLevel();
  c.levels[0].lhs = {120, 20, 20, 9 + 12};
  EXPECT_TRUE(DecodeCheckpoint(*EncodeCheckpoint(c)).ok());
}

TEST(CheckpointTest, RejectsBadMergeInputCountsAndFreeIds) {
  Checkpoint c = OneLevel();
  c.levels[0].rhs = {{40, 45, 0, 6}};
  c.levels[0].merge.inputs = {{40, 0}, {29, 0}, {30, 0}};
  EXPECT_EQ(EncodeCheckpoint(c).status().code(), Code::kInvalidArgument);

  c = OneLevel();
  c.freelist = {{2, 21}};  // a free id must be older than the checkpoint itself
  auto r = DecodeCheckpoint(*EncodeCheckpoint(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "freelist[0].id");
  c.freelist = {{3, 1}, {2, 1}};
  r = DecodeCheckpoint(*EncodeCheckpoint(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "freelist[1].block");
}

TEST(CheckpointTest, EncodeRefusesBlobsLargerThanAMetaPage) {
  Checkpoint c = OneLevel();
  c.nblock = 1000;
  for (int i = 0; i < 110; ++i) c.levels.push_back(c.levels[0]);
  EXPECT_EQ(EncodeCheckpoint(c).status().code(), Code::kFull);
}

}  // namespace
}  // namespace lsm
