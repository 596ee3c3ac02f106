#include "engine/integrity.h"

#include <set>

#include "absl/strings/str_format.h"
#include "engine/record.h"
#include "engine/segment.h"

namespace lsm {
namespace {

uint32_t Translate(uint32_t block, std::span<const BlockRedirect> redirects) {
  for (const BlockRedirect& r : redirects) {
    if (r.from == block) return r.to;
  }
  return block;
}

Result<uint32_t> NextBlock(File* db, const Geometry& g, uint32_t block) {
  uint8_t link[kBlockLinkSize];
  const uint64_t off = g.PageOffset(g.LastPageOfBlock(block)) + g.pgsz - kBlockLinkSize;
  LSM_RETURN_IF_ERROR(db->Read(off, link));
  return LoadBe32(link);
}

std::string SegmentName(size_t level, int rhs) {
  return rhs < 0 ? absl::StrFormat("level %u lhs", level) : absl::StrFormat("level %u rhs[%d]", level, rhs);
}

}  // namespace

Result<std::vector<uint32_t>> RunBlocks(File* db, const Geometry& g, uint32_t nblock, const Segment& seg,
                                        std::span<const BlockRedirect> redirects, bool with_spare) {
  std::vector<uint32_t> blocks;
  if (seg.first == 0) return blocks;
  auto corrupt = [&](const std::string& what) {
    return Status::Corrupt(absl::StrFormat("run %u..%u: %s", seg.first, seg.last, what));
  };
  uint32_t block = uint32_t(g.BlockOf(seg.first));
  const uint32_t last_block = uint32_t(g.BlockOf(seg.last));
  std::set<uint32_t> seen;
  for (;;) {
    if (block < 1 || block > nblock) return corrupt(absl::StrFormat("block %u is outside the file (%u blocks)", block, nblock));
    if (!seen.insert(block).second) return corrupt(absl::StrFormat("the block chain loops at block %u", block));
    blocks.push_back(block);
    if (block == last_block) break;
    auto next = NextBlock(db, g, block);
    if (!next.ok()) return next.status();
    block = Translate(*next, redirects);
  }
  if (with_spare && g.IsLastOnBlock(seg.last)) {
    auto next = NextBlock(db, g, last_block);
    if (!next.ok()) return next.status();
    uint32_t spare = Translate(*next, redirects);
    if (spare < 1 || spare > nblock || seen.count(spare)) {
      return corrupt(absl::StrFormat("reserved next block %u is outside the file or inside the run", spare));
    }
    blocks.push_back(spare);
  }
  return blocks;
}

std::span<const BlockRedirect> RedirectsFor(const Checkpoint& snap, size_t level, int rhs_index) {
  if (snap.redirects.empty() || level + 1 != snap.levels.size()) return {};
  const Level& l = snap.levels[level];
  const bool carries = l.rhs.empty() ? rhs_index < 0 : rhs_index == int(l.rhs.size()) - 1;
  return carries ? std::span<const BlockRedirect>(snap.redirects) : std::span<const BlockRedirect>();
}

Result<std::string> CheckIntegrity(File* db, const Checkpoint& snap, const std::map<uint32_t, int64_t>& free_entries) {
  std::string problems;
  auto problem = [&](const std::string& p) { problems += p + "\n"; };
  const Geometry g{snap.pgsz, snap.blksz};
  // Sparse: nblock comes from the file and may be hostile.
  std::map<uint32_t, int> interior, edge;
  struct RunEnd {
    uint64_t first, last;
  };
  std::vector<RunEnd> runs;

  for (size_t li = 0; li < snap.levels.size(); ++li) {
    const Level& level = snap.levels[li];
    std::optional<Record> split;
    if (!level.rhs.empty()) {
      auto s = ReadRecordAt(db, g, level.merge.splitkey.page, level.merge.splitkey.cell);
      if (!s.ok()) {
        if (s.status().code() != Code::kCorrupt) return s.status();
        problem(absl::StrFormat("level %u: split key unreadable: %s", li, s.status().message()));
      } else {
        split = std::move(s).value();
      }
    }
    for (int ri = -1; ri < int(level.rhs.size()); ++ri) {
      const Segment& seg = ri < 0 ? level.lhs : level.rhs[size_t(ri)];
      const std::string name = SegmentName(li, ri);
      auto redirects = RedirectsFor(snap, li, ri);
      const bool with_spare = ri < 0 && !level.rhs.empty();
      auto blocks = RunBlocks(db, g, snap.nblock, seg, redirects, with_spare);
      if (!blocks.ok()) {
        if (blocks.status().code() != Code::kCorrupt) return blocks.status();
        problem(name + ": " + blocks.status().message());
        continue;
      }
      runs.push_back({seg.first, seg.last});
      const size_t n_run = blocks->size() - (with_spare && g.IsLastOnBlock(seg.last) ? 1 : 0);
      for (size_t i = 0; i < blocks->size(); ++i) {
        const bool is_edge = i < n_run && (i == 0 || i + 1 == n_run);
        (is_edge ? edge : interior)[(*blocks)[i]]++;
      }
      // Records strictly ascending, and the merge output below its split key.
      SegmentCursor c(db, g, seg, redirects);
      Status st = c.First();
      bool have_prev = false;
      Record prev;
      while (st.ok() && c.Valid()) {
        const Record& r = c.record();
        if (have_prev && CompareKeys(prev.topic(), prev.key, r.topic(), r.key) >= 0) {
          problem(absl::StrFormat("%s: keys out of order at page %u cell %d", name, c.page(), c.cell()));
          break;
        }
        prev = r;
        have_prev = true;
        st = c.Next();
      }
      if (!st.ok()) {
        if (st.code() != Code::kCorrupt) return st;
        problem(name + ": " + st.message());
      }
      if (ri < 0 && split && have_prev && CompareKeys(prev.topic(), prev.key, split->topic(), split->key) >= 0) {
        problem(absl::StrFormat("level %u: merge output reaches its split key", li));
      }
    }
  }

  std::set<uint32_t> known;
  for (const auto& [b, n] : interior) known.insert(b);
  for (const auto& [b, n] : edge) known.insert(b);
  for (uint32_t b : known) {
    const int in = interior.count(b) ? interior[b] : 0;
    const int ed = edge.count(b) ? edge[b] : 0;
    if (in > 1 || (in == 1 && ed > 0)) {
      problem(absl::StrFormat("block %u: in the middle of one run but used by another", b));
    }
    if (free_entries.count(b)) problem(absl::StrFormat("block %u: used by a run and on the free list", b));
  }
  for (const auto& [b, id] : free_entries) known.insert(b);
  // Leaks: the gaps in 1..nblock, listed up to a few, counted in full.
  uint64_t leaked = 0;
  std::string listed;
  uint64_t next = 1;
  auto gap = [&](uint64_t from, uint64_t to) {  // [from, to)
    if (from >= to) return;
    leaked += to - from;
    for (uint64_t b = from; b < to && listed.size() < 60; ++b) listed += absl::StrFormat(" %u", b);
  };
  for (uint32_t b : known) {
    if (b > snap.nblock) break;
    gap(next, b);
    next = uint64_t{b} + 1;
  }
  gap(next, uint64_t{snap.nblock} + 1);
  if (leaked > 0) problem(absl::StrFormat("%u blocks neither used nor free (leaked):%s%s", leaked, listed,
                                          listed.size() >= 60 ? " ..." : ""));
  for (const auto& [block, id] : free_entries) {
    if (block < 1 || block > snap.nblock) {
      problem(absl::StrFormat("free list: block %u is outside the file (%u blocks)", block, snap.nblock));
    }
    if (id < 0 || uint64_t(id) >= snap.id) {
      problem(absl::StrFormat("free list: block %u has id %d, not an earlier snapshot (< %u)", block, id, snap.id));
    }
  }
  for (uint64_t ap : snap.append) {
    if (ap == 0) continue;
    const uint64_t block = g.BlockOf(ap);
    if (block < 1 || block > snap.nblock || !edge.count(uint32_t(block))) {
      problem(absl::StrFormat("append point %u: block %u is not the end of a run", ap, block));
      continue;
    }
    for (const RunEnd& r : runs) {
      const bool ends_here = g.BlockOf(r.last) == block && ap <= r.last;
      const bool starts_here = g.BlockOf(r.first) == block && ap >= r.first && g.BlockOf(r.last) != block;
      if (ends_here || starts_here) {
        problem(absl::StrFormat("append point %u: inside run %u..%u", ap, r.first, r.last));
      }
    }
  }
  std::set<uint32_t> redirect_blocks;
  for (const BlockRedirect& r : snap.redirects) {
    if (!redirect_blocks.insert(r.from).second) problem(absl::StrFormat("redirect: block %u redirected twice", r.from));
  }
  return problems;
}

}  // namespace lsm
