#include "sim/checkpoint_oracle.h"

namespace lsm {

MetaPage NewestValidCheckpoint(ByteView page1, ByteView page2) {
  auto c1 = DecodeCheckpoint(page1);
  auto c2 = DecodeCheckpoint(page2);
  if (c1.ok() && c2.ok()) return c2->id > c1->id ? MetaPage::kPage2 : MetaPage::kPage1;
  if (c1.ok()) return MetaPage::kPage1;
  if (c2.ok()) return MetaPage::kPage2;
  return MetaPage::kNone;
}

}  // namespace lsm
