// Page and block arithmetic of the database file. Pages are numbered from 1 and page N starts at byte
// (N-1)*pgsz; the pages overlapping the two meta pages (bytes 0..8191) do not exist, so block 1 is
// short. Blocks are numbered from 1 and block B covers bytes [(B-1)*blksz, B*blksz). The first page
// of every block gives up its first 4 bytes (BE32 previous block) and the last page its final 4 bytes
// (BE32 next block) to block chaining.
#pragma once

#include <cstdint>

#include "engine/format/checkpoint.h"

namespace lsm {

inline constexpr uint32_t kBlockLinkSize = 4;

struct Geometry {
  uint32_t pgsz = 4096;
  uint32_t blksz = 1 << 20;

  uint64_t PagesPerBlock() const { return blksz / pgsz; }
  uint64_t PageOffset(uint64_t page) const { return (page - 1) * uint64_t{pgsz}; }
  uint64_t BlockOf(uint64_t page) const { return (page - 1) / PagesPerBlock() + 1; }
  // The first page that exists: the one after the meta pages.
  uint64_t FirstDataPage() const { return (2 * uint64_t{kMetaPageSize} + pgsz - 1) / pgsz + 1; }
  uint64_t FirstPageOfBlock(uint64_t block) const {
    return block == 1 ? FirstDataPage() : (block - 1) * PagesPerBlock() + 1;
  }
  uint64_t LastPageOfBlock(uint64_t block) const { return block * PagesPerBlock(); }
  bool IsFirstOnBlock(uint64_t page) const { return page == FirstPageOfBlock(BlockOf(page)); }
  bool IsLastOnBlock(uint64_t page) const { return page % PagesPerBlock() == 0; }
};

}  // namespace lsm
