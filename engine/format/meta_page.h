// The two meta pages: the first two 4096-byte pages of the database file, each holding a checkpoint
// blob followed by zeros. Checkpoints alternate between them, so a torn write can only destroy the
// newer one; recovery falls back to the other.
#pragma once

#include <optional>

#include "engine/bytes.h"
#include "engine/format/checkpoint.h"

namespace lsm {

enum class MetaPage { kNone = 0, kPage1 = 1, kPage2 = 2 };

inline uint64_t MetaPageOffset(MetaPage page) { return page == MetaPage::kPage2 ? kMetaPageSize : 0; }

// The page image for `blob`: the blob, then zeros (never uninitialised bytes).
Bytes MetaPageImage(ByteView blob);

struct MetaPageChoice {
  MetaPage page = MetaPage::kNone;      // kNone: neither page is valid, recovery starts an empty database
  std::optional<Checkpoint> checkpoint;  // the decoded checkpoint of `page`
  CheckpointError page1_error;           // why page 1 was rejected (kind kNone if it was not)
  CheckpointError page2_error;
};

// Recovery's rule (seed lsmCheckpointRecover): read the two ids unvalidated from the first 8 bytes of
// each page, try the page with the larger id first (page 1 on a tie), fall back to the other page when
// the first fails to decode. Pages shorter than 4096 bytes read as if zero-filled.
MetaPageChoice ChooseMetaPage(ByteView page1, ByteView page2);

}  // namespace lsm
