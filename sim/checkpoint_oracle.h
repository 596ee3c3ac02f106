// The checkpoint oracle: what recovery SHOULD pick, stated declaratively and independently of the
// engine's procedure (engine/format/meta_page.h ChooseMetaPage): decode each durable meta page on its own; of
// the valid ones, the newest (largest id) wins, page 1 on a tie; none valid means an empty database.
#pragma once

#include "engine/bytes.h"
#include "engine/format/meta_page.h"

namespace lsm {

MetaPage NewestValidCheckpoint(ByteView page1, ByteView page2);

}  // namespace lsm
