#include "engine/format/meta_page.h"
#include "engine/weaken.h"

#include <algorithm>

namespace lsm {

Bytes MetaPageImage(ByteView blob) {
  Bytes page(kMetaPageSize, 0);
  std::copy_n(blob.begin(), std::min<size_t>(blob.size(), kMetaPageSize), page.begin());
  return page;
}

namespace {

// The id as the seed reads it: a signed 64-bit value from the page's first 8 bytes, zeros past the end.
int64_t RawId(ByteView page) {
  uint8_t head[8] = {};
  std::copy_n(page.begin(), std::min<size_t>(page.size(), 8), head);
  return int64_t(LoadBe64(head));
}

}  // namespace

MetaPageChoice ChooseMetaPage(ByteView page1, ByteView page2) {
  MetaPageChoice choice;
  bool page2_first = RawId(page2) > RawId(page1);
  const MetaPage order[2] = {page2_first ? MetaPage::kPage2 : MetaPage::kPage1,
                             page2_first ? MetaPage::kPage1 : MetaPage::kPage2};
  for (MetaPage page : order) {
    if (LSM_WEAKENED(kNoMetaPageFallback) && page != order[0]) break;
    auto decoded = DecodeCheckpoint(page == MetaPage::kPage1 ? page1 : page2);
    if (decoded.ok()) {
      choice.page = page;
      choice.checkpoint = std::move(decoded).value();
      return choice;
    }
    (page == MetaPage::kPage1 ? choice.page1_error : choice.page2_error) = decoded.error();
  }
  return choice;
}

}  // namespace lsm
