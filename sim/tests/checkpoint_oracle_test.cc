// Recovery's procedural choice (engine ChooseMetaPage) and the declarative oracle (newest valid
// checkpoint) agree on every pair of meta pages, including torn pages, equal ids, garbage ids and
// pages that are both invalid.
#include "sim/checkpoint_oracle.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "engine/format/meta_page.h"
#include "engine/tests/format/checkpoint_gen.h"

namespace lsm {
namespace {

Bytes ValidPage(uint64_t id, Checkpoint c) {
  c.id = id;
  for (FreeEntry& e : c.freelist) {
    if (e.id >= int64_t(id)) e.id = kFreeEntryDelete;
  }
  return MetaPageImage(*EncodeCheckpoint(c));
}

Bytes ValidPage(uint64_t id) { return ValidPage(id, *testing::GenCheckpoint(300)); }

// Outside a property: one fixed draw from the generator.
Checkpoint SampleCheckpoint(uint64_t seed) { return testing::GenCheckpoint(300)(rc::Random(seed), 50).value(); }

// A page as a crash might leave it: intact, torn at sector granularity against an older image or
// garbage, zeroed, or carrying a garbage id.
Bytes Damage(Bytes page, const Bytes& older) {
  int how = *rc::gen::inRange(0, 6);
  switch (how) {
    case 0: break;                                  // intact
    case 1: std::fill(page.begin(), page.end(), 0); break;  // never written
    case 2: {                                       // torn: some 512-byte sectors from the older image
      for (size_t s = 0; s < kMetaPageSize / 512; ++s) {
        if (*rc::gen::arbitrary<bool>()) std::copy_n(older.begin() + s * 512, 512, page.begin() + s * 512);
      }
      break;
    }
    case 3: {                                       // a garbage sector
      size_t s = *rc::gen::inRange<size_t>(0, kMetaPageSize / 512);
      for (size_t i = 0; i < 512; ++i) page[s * 512 + i] = *rc::gen::arbitrary<uint8_t>();
      break;
    }
    case 4: StoreBe64(page.data(), *rc::gen::arbitrary<uint64_t>()); break;  // garbage id
    case 5: page[*rc::gen::inRange<size_t>(0, kMetaPageSize)] ^= uint8_t(1u << *rc::gen::inRange(0, 8)); break;
  }
  return page;
}

TEST(CheckpointOracleTest, RecoveryChoiceAgreesWithNewestValidCheckpoint) {
  EXPECT_TRUE(rc::check("ChooseMetaPage == NewestValidCheckpoint", [] {
    uint64_t id1 = *rc::gen::inRange<uint64_t>(10, 20);
    uint64_t id2 = *rc::gen::oneOf(rc::gen::just(id1), rc::gen::inRange<uint64_t>(10, 20),
                                   rc::gen::inRange<uint64_t>(1, uint64_t(1) << 63));
    Bytes p1 = ValidPage(id1);
    Bytes p2 = ValidPage(id2);
    Bytes d1 = Damage(p1, p2);
    Bytes d2 = Damage(p2, p1);
    MetaPageChoice choice = ChooseMetaPage(d1, d2);
    RC_ASSERT(choice.page == NewestValidCheckpoint(d1, d2));
    RC_ASSERT(choice.checkpoint.has_value() == (choice.page != MetaPage::kNone));
    if (choice.page != MetaPage::kNone) {
      RC_ASSERT(*choice.checkpoint == *DecodeCheckpoint(choice.page == MetaPage::kPage1 ? d1 : d2));
    }
  }));
}

TEST(CheckpointOracleTest, NamedCases) {
  Bytes a = ValidPage(11, SampleCheckpoint(1));
  Bytes b = ValidPage(12, SampleCheckpoint(2));
  Bytes zero(kMetaPageSize, 0);
  EXPECT_EQ(ChooseMetaPage(a, b).page, MetaPage::kPage2);
  EXPECT_EQ(ChooseMetaPage(b, a).page, MetaPage::kPage1);
  EXPECT_EQ(ChooseMetaPage(a, a).page, MetaPage::kPage1);  // equal ids: page 1
  EXPECT_EQ(ChooseMetaPage(zero, zero).page, MetaPage::kNone);
  Bytes torn = b;
  torn[100] ^= 1;
  EXPECT_EQ(ChooseMetaPage(a, torn).page, MetaPage::kPage1);  // newer page torn: fall back
  Bytes garbage_id = a;
  StoreBe64(garbage_id.data(), ~uint64_t(0) >> 1);  // a huge id with a bad checksum
  EXPECT_EQ(ChooseMetaPage(garbage_id, b).page, MetaPage::kPage2);
  EXPECT_EQ(ChooseMetaPage(Bytes(), b).page, MetaPage::kPage2);  // short page reads as zeros
}

}  // namespace
}  // namespace lsm
