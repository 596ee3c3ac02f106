// RapidCheck generator of checkpoints the engine could write: page numbers inside the file, segments
// consistent with block chaining, merges with nright or nright+1 inputs, sorted free lists; counts
// reach their limits (16 redirects, 24 free-list entries, blobs near 1024 words) regularly.
#pragma once

#include <rapidcheck.h>

#include <algorithm>

#include "engine/format/checkpoint.h"

namespace lsm::testing {

struct GenGeometry {
  uint64_t pgsz, blksz, nblock;
  uint64_t ppb() const { return blksz / pgsz; }
  uint64_t first_page() const { return (8192 + pgsz - 1) / pgsz + 1; }
  uint64_t last_page() const { return nblock * ppb(); }
  uint64_t block_first(uint64_t b) const { return b == 1 ? first_page() : (b - 1) * ppb() + 1; }
  uint64_t block_last(uint64_t b) const { return b * ppb(); }
  bool block_usable(uint64_t b) const { return block_first(b) <= block_last(b); }
};

inline uint64_t GenPage(const GenGeometry& g) { return *rc::gen::inRange(g.first_page(), g.last_page() + 1); }

inline uint64_t GenUsableBlock(const GenGeometry& g) {
  uint64_t lo = g.block_usable(1) ? 1 : 2;
  return *rc::gen::inRange<uint64_t>(lo, g.nblock + 1);
}

inline Segment GenSegment(const GenGeometry& g) {
  Segment s;
  uint64_t b1 = GenUsableBlock(g);
  uint64_t b2 = *rc::gen::weightedOneOf<uint64_t>({{3, rc::gen::just(b1)}, {1, rc::gen::just(GenUsableBlock(g))}});
  if (b1 == b2) {
    uint64_t a = *rc::gen::inRange(g.block_first(b1), g.block_last(b1) + 1);
    uint64_t b = *rc::gen::inRange(g.block_first(b1), g.block_last(b1) + 1);
    s.first = std::min(a, b);
    s.last = std::max(a, b);
    s.size = s.last - s.first + 1;
    s.root = *rc::gen::element(uint64_t{0}, uint64_t{s.last}, uint64_t{s.first + (s.last - s.first) / 2});
  } else {
    s.first = *rc::gen::inRange(g.block_first(b1), g.block_last(b1) + 1);
    s.last = *rc::gen::inRange(g.block_first(b2), g.block_last(b2) + 1);
    uint64_t at_least = (g.block_last(b1) - s.first + 1) + (s.last - g.block_first(b2) + 1);
    s.size = *rc::gen::inRange(at_least, std::max(at_least, g.last_page()) + 1);
    s.root = *rc::gen::element(uint64_t{0}, uint64_t{s.last}, GenPage(g));
  }
  return s;
}

inline MergeCursor GenCursor(const GenGeometry& g) {
  return {*rc::gen::element(uint64_t{0}, GenPage(g)), *rc::gen::arbitrary<uint32_t>()};
}

// A valid checkpoint with at most `max_words` words.
inline rc::Gen<Checkpoint> GenCheckpoint(size_t max_words = kMaxCheckpointWords) {
  return rc::gen::exec([max_words] {
    Checkpoint c;
    c.pgsz = uint32_t(1) << *rc::gen::inRange(8, 17);
    c.blksz = uint32_t(1) << *rc::gen::inRange(16, 27);
    GenGeometry g{c.pgsz, c.blksz, 0};
    uint64_t min_blocks = g.block_usable(1) ? 1 : 2;
    c.nblock = *rc::gen::weightedOneOf<uint32_t>(
        {{4, rc::gen::inRange<uint32_t>(uint32_t(min_blocks), 64)},
         {1, rc::gen::inRange<uint32_t>(uint32_t(min_blocks), 1u << 20)},
         {1, rc::gen::just<uint32_t>(0)}});
    g.nblock = c.nblock;
    c.id = *rc::gen::weightedOneOf<uint64_t>({{4, rc::gen::inRange<uint64_t>(10, 100000)},
                                               {1, rc::gen::inRange<uint64_t>(1, uint64_t(1) << 63)}});
    c.cmpid = *rc::gen::element(uint32_t{kCompressionEmpty}, uint32_t{kCompressionNone});
    c.nwrite = *rc::gen::arbitrary<uint32_t>();
    c.log = {*rc::gen::arbitrary<uint64_t>(), *rc::gen::arbitrary<uint32_t>(), *rc::gen::arbitrary<uint32_t>()};
    if (c.nblock == 0) return c;  // an empty file holds no pages, so nothing can point into it
    for (auto& a : c.append) a = *rc::gen::element(uint64_t{0}, GenPage(g));

    size_t nredirect = *rc::gen::weightedOneOf<size_t>(
        {{3, rc::gen::just<size_t>(0)}, {2, rc::gen::inRange<size_t>(0, kMaxBlockRedirects + 1)},
         {1, rc::gen::just<size_t>(kMaxBlockRedirects)}});
    for (size_t i = 0; i < nredirect; ++i) {
      c.redirects.push_back({*rc::gen::inRange<uint32_t>(1, c.nblock + 1), *rc::gen::inRange<uint32_t>(1, c.nblock + 1)});
    }
    size_t nfree = std::min<size_t>(c.nblock, *rc::gen::weightedOneOf<size_t>(
        {{3, rc::gen::just<size_t>(0)}, {2, rc::gen::inRange<size_t>(0, kMaxFreelistEntries + 1)},
         {1, rc::gen::just<size_t>(kMaxFreelistEntries)}}));
    // Ascending blocks with small gaps; rc's integer generators shrink towards the low end at small
    // sizes, so drawing until distinct could spin forever.
    std::vector<uint32_t> blocks;
    uint64_t b = *rc::gen::inRange<uint64_t>(1, c.nblock + 1);
    while (blocks.size() < nfree && b <= c.nblock) {
      blocks.push_back(uint32_t(b));
      b += 1 + *rc::gen::inRange<uint64_t>(0, 4);
    }
    for (uint32_t b : blocks) {
      int64_t id = *rc::gen::weightedOneOf<int64_t>(
          {{1, rc::gen::just(kFreeEntryDelete)}, {3, rc::gen::inRange<int64_t>(0, int64_t(std::min<uint64_t>(c.id, INT64_MAX)))}});
      c.freelist.push_back({b, id});
    }

    c.user_version = *rc::gen::weightedOneOf<uint32_t>({{3, rc::gen::just(uint32_t{0})}, {1, rc::gen::arbitrary<uint32_t>()}});
    size_t nlevel = *rc::gen::inRange<size_t>(0, 40);
    for (size_t i = 0; i < nlevel; ++i) {
      Level level;
      level.age = *rc::gen::arbitrary<uint16_t>();
      level.flags = *rc::gen::inRange<uint16_t>(0, kKnownLevelFlags + 1);
      level.lhs = GenSegment(g);
      size_t nright = *rc::gen::weightedOneOf<size_t>({{3, rc::gen::just<size_t>(0)}, {2, rc::gen::inRange<size_t>(1, 6)}});
      for (size_t r = 0; r < nright; ++r) level.rhs.push_back(GenSegment(g));
      if (nright > 0) {
        size_t ninput = nright + *rc::gen::inRange<size_t>(0, 2);
        level.merge.nskip = *rc::gen::inRange<uint32_t>(0, 4);
        for (size_t k = 0; k < ninput; ++k) level.merge.inputs.push_back(GenCursor(g));
        level.merge.splitkey = GenCursor(g);
        level.merge.current_ptr = *rc::gen::element(uint64_t{0}, GenPage(g));
      }
      c.levels.push_back(level);
      if (CheckpointWords(c) > max_words) {
        c.levels.pop_back();
        break;
      }
    }
    return c;
  });
}

}  // namespace lsm::testing
