// Properties of the checkpoint codec over generated checkpoints and arbitrary bytes.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "engine/format/checkpoint.h"
#include "engine/format/meta_page.h"
#include "engine/tests/format/checkpoint_gen.h"

namespace lsm {
namespace {

using testing::GenCheckpoint;

TEST(CheckpointPropertyTest, DecodeInvertsEncode) {
  EXPECT_TRUE(rc::check("decode(encode(c)) == c", [] {
    Checkpoint c = *GenCheckpoint();
    auto blob = EncodeCheckpoint(c);
    RC_ASSERT(blob.ok());
    RC_ASSERT(blob->size() == CheckpointWords(c) * 4);
    auto back = DecodeCheckpoint(MetaPageImage(*blob));
    RC_ASSERT(back.ok());
    RC_ASSERT(*back == c);
  }));
}

TEST(CheckpointPropertyTest, EverySingleBitFlipIsRejected) {
  EXPECT_TRUE(rc::check("a flipped bit in the first nckpt words never decodes", [] {
    Checkpoint c = *GenCheckpoint();
    Bytes page = MetaPageImage(*EncodeCheckpoint(c));
    size_t nbits = CheckpointWords(c) * 32;
    for (size_t bit = 0; bit < nbits; ++bit) {
      page[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
      auto r = DecodeCheckpoint(page);
      RC_ASSERT(!r.ok());
      page[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
    }
  }));
}

TEST(CheckpointPropertyTest, ArbitraryBytesGetAValueOrANamedError) {
  EXPECT_TRUE(rc::check("arbitrary bytes", [](const std::vector<uint8_t>& bytes) {
    auto r = DecodeCheckpoint(bytes);
    if (r.ok()) {
      auto again = EncodeCheckpoint(*r);
      RC_ASSERT(again.ok());
      RC_ASSERT(std::equal(again->begin(), again->end(), bytes.begin()));
    } else {
      RC_ASSERT(r.error().kind != CheckpointError::Kind::kNone);
      RC_ASSERT(!r.error().ToString().empty());
    }
  }));
}

// Hostile blobs with a valid checksum: overwrite words of a real blob, re-sign, decode. Whatever
// survives validation must re-encode to the same words; whatever does not names a field in the blob.
TEST(CheckpointPropertyTest, ResignedMutationsNeverConfuseTheDecoder) {
  EXPECT_TRUE(rc::check("re-signed word mutations", [] {
    Checkpoint c = *GenCheckpoint();
    Bytes blob = *EncodeCheckpoint(c);
    uint32_t n = uint32_t(blob.size() / 4);
    int edits = *rc::gen::inRange(1, 4);
    for (int i = 0; i < edits; ++i) {
      uint32_t word = *rc::gen::inRange<uint32_t>(0, n - 2);
      uint32_t value = *rc::gen::oneOf(rc::gen::arbitrary<uint32_t>(), rc::gen::inRange<uint32_t>(0, 64));
      StoreBe32(blob.data() + 4 * word, value);
    }
    uint32_t nckpt = LoadBe32(blob.data() + 8);
    Bytes page = MetaPageImage(blob);
    // Re-signed only where the checksum words lie past the nckpt word (word 2) they would overwrite.
    if (nckpt > 4 && nckpt <= kMaxCheckpointWords) {
      std::vector<uint32_t> w(nckpt);
      for (uint32_t i = 0; i < nckpt; ++i) w[i] = LoadBe32(page.data() + 4 * i);
      auto [c1, c2] = CheckpointChecksum(w.data(), nckpt - 2);
      StoreBe32(page.data() + 4 * (nckpt - 2), c1);
      StoreBe32(page.data() + 4 * (nckpt - 1), c2);
    }
    auto r = DecodeCheckpoint(page);
    if (r.ok()) {
      auto again = EncodeCheckpoint(*r);
      RC_ASSERT(again.ok());
      RC_ASSERT(again->size() == size_t{nckpt} * 4);
      RC_ASSERT(std::equal(again->begin(), again->end(), page.begin()));
    } else {
      RC_ASSERT(r.error().word < std::max<uint32_t>(LoadBe32(page.data() + 8), 3));
    }
  }));
}

}  // namespace
}  // namespace lsm
