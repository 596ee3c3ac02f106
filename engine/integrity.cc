#include "engine/integrity.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_format.h"
#include "engine/cursor/record.h"
#include "engine/lsm/segment.h"

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

}  // namespace

std::string SegmentName(size_t level, int rhs) {
  return rhs < 0 ? absl::StrFormat("level %u lhs", level) : absl::StrFormat("level %u rhs[%d]", level, rhs);
}

Result<std::vector<uint32_t>> RunBlocks(File* db, const Geometry& g, uint32_t nblock, const Segment& seg,
                                        std::span<const BlockRedirect> redirects, bool with_spare) {
  std::vector<uint32_t> blocks;
  if (seg.first == 0) return blocks;
  auto corrupt = [&](const std::string& what) {
    return Status::Corrupt(absl::StrFormat("run %u..%u: %s", seg.first, seg.last, what));
  };
  // first and last are page numbers before redirection, like the pointers in the chain.
  uint32_t block = Translate(uint32_t(g.BlockOf(seg.first)), redirects);
  const uint32_t last_block = Translate(uint32_t(g.BlockOf(seg.last)), redirects);
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

Result<std::vector<RunChain>> WalkRunChains(File* db, const Checkpoint& snap) {
  const Geometry g{snap.pgsz, snap.blksz};
  std::vector<RunChain> chains;
  for (size_t li = 0; li < snap.levels.size(); ++li) {
    const Level& level = snap.levels[li];
    for (int ri = -1; ri < int(level.rhs.size()); ++ri) {
      const Segment& seg = ri < 0 ? level.lhs : level.rhs[size_t(ri)];
      auto blocks = RunBlocks(db, g, snap.nblock, seg, RedirectsFor(snap, li, ri), ri < 0 && !level.rhs.empty());
      if (!blocks.ok() && blocks.status().code() != Code::kCorrupt) return blocks.status();
      chains.push_back({li, ri, std::move(blocks)});
    }
  }
  return chains;
}

std::span<const BlockRedirect> RedirectsFor(const Checkpoint& snap, size_t level, int rhs_index) {
  if (snap.redirects.empty() || level + 1 != snap.levels.size()) return {};
  const Level& l = snap.levels[level];
  const bool carries = l.rhs.empty() ? rhs_index < 0 : rhs_index == int(l.rhs.size()) - 1;
  return carries ? std::span<const BlockRedirect>(snap.redirects) : std::span<const BlockRedirect>();
}

namespace {

// Pages [lo, hi] of one block held by one run (after redirection).
struct Stretch {
  uint64_t lo, hi;
  size_t run;
};

struct RunName {
  std::string name;
  uint64_t first, last;
  std::string ToString() const { return absl::StrFormat("%s (pages %u..%u)", name, first, last); }
};

}  // namespace

std::vector<std::string> CheckWriteSafety(const Checkpoint& snap, std::span<const RunChain> chains,
                                          const std::map<uint32_t, int64_t>& free_entries) {
  std::vector<std::string> problems;
  if (snap.id > kMaxOpenCheckpointId) {
    problems.push_back(absl::StrFormat("id = %u: above %u, too close to the top of the id range for later "
                                       "checkpoints to get valid ids",
                                       snap.id, kMaxOpenCheckpointId));
  }
  const Geometry g{snap.pgsz, snap.blksz};
  if (g.PagesPerBlock() < 2) return problems;
  auto block_page = [&](uint32_t block, uint64_t index) { return (uint64_t{block} - 1) * g.PagesPerBlock() + index + 1; };
  auto index_of = [&](uint64_t page) { return (page - 1) % g.PagesPerBlock(); };
  std::vector<RunName> runs;
  std::vector<Stretch> stretches;
  for (const RunChain& chain : chains) {
    const Level& level = snap.levels[chain.level];
    const int ri = chain.rhs;
    const Segment& seg = ri < 0 ? level.lhs : level.rhs[size_t(ri)];
    const bool merging_lhs = ri < 0 && !level.rhs.empty();
    const auto& blocks = chain.blocks;
    if (!blocks.ok() || blocks->empty()) continue;
    const size_t run = runs.size();
    runs.push_back({SegmentName(chain.level, ri), seg.first, seg.last});
    const bool spare = merging_lhs && g.IsLastOnBlock(seg.last);
    const size_t n = blocks->size() - (spare ? 1 : 0);
    for (size_t i = 0; i < blocks->size(); ++i) {
      const uint32_t b = (*blocks)[i];
      uint64_t lo = 0, hi = g.PagesPerBlock() - 1;
      if (i == 0) lo = index_of(seg.first);
      if (i + 1 == n && !merging_lhs) hi = index_of(seg.last);
      stretches.push_back({std::max(block_page(b, lo), g.FirstPageOfBlock(b)), block_page(b, hi), run});
    }
  }
  std::sort(stretches.begin(), stretches.end(),
            [](const Stretch& a, const Stretch& b) { return std::tie(a.lo, a.hi) < std::tie(b.lo, b.hi); });
  std::set<std::pair<size_t, size_t>> reported;
  const Stretch* reach = nullptr;  // the stretch reaching furthest so far
  for (const Stretch& s : stretches) {
    if (reach != nullptr && s.lo <= reach->hi && reach->run != s.run &&
        reported.insert({std::min(reach->run, s.run), std::max(reach->run, s.run)}).second) {
      problems.push_back(absl::StrFormat("%s and %s overlap: both hold page %u (block %u)",
                                         runs[reach->run].ToString(), runs[s.run].ToString(), s.lo, g.BlockOf(s.lo)));
    }
    if (reach == nullptr || s.hi > reach->hi) reach = &s;
  }
  std::set<uint64_t> free_reported;
  for (const Stretch& s : stretches) {
    const uint64_t b = g.BlockOf(s.lo);
    auto f = free_entries.find(uint32_t(b));
    if (f != free_entries.end() && free_reported.insert(b).second) {
      problems.push_back(absl::StrFormat("block %u: on the free list (id %d) but %s uses it", b, f->second,
                                         runs[s.run].ToString()));
    }
  }
  std::map<uint64_t, uint32_t> ap_blocks;
  for (uint32_t i = 0; i < kAppendPoints; ++i) {
    const uint64_t ap = snap.append[i];
    if (ap == 0) continue;
    const uint64_t b = g.BlockOf(ap);
    const uint64_t end = g.LastPageOfBlock(b);
    if (auto [it, fresh] = ap_blocks.emplace(b, i); !fresh) {
      problems.push_back(absl::StrFormat("append[%u] = page %u: in block %u like append[%u] = page %u (a run "
                                         "written at one would overwrite the other's)",
                                         i, ap, b, it->second, snap.append[it->second]));
    }
    if (auto f = free_entries.find(uint32_t(b)); f != free_entries.end()) {
      problems.push_back(absl::StrFormat("append[%u] = page %u: its block %u is on the free list (id %d)", i, ap, b,
                                         f->second));
    }
    for (const Stretch& s : stretches) {
      if (s.hi >= ap && s.lo <= end) {
        problems.push_back(absl::StrFormat("append[%u] = page %u: %s holds page %u of block %u at or after it", i,
                                           ap, runs[s.run].ToString(), std::max(s.lo, ap), b));
        break;
      }
    }
  }
  return problems;
}

Result<std::string> CheckIntegrity(File* db, const Checkpoint& snap, const std::map<uint32_t, int64_t>& free_entries) {
  std::string problems;
  auto problem = [&](const std::string& p) { problems += p + "\n"; };
  const Geometry g{snap.pgsz, snap.blksz};
  // Sparse: nblock comes from the file and may be hostile.
  std::set<uint32_t> interior, edge;
  auto chains = WalkRunChains(db, snap);
  if (!chains.ok()) return chains.status();
  size_t next_chain = 0;  // chains are in the order the loops below visit the runs

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
      const auto& blocks = (*chains)[next_chain++].blocks;
      if (!blocks.ok()) {
        problem(name + ": " + blocks.status().message());
        continue;
      }
      const size_t n_run = blocks->size() - (with_spare && g.IsLastOnBlock(seg.last) ? 1 : 0);
      for (size_t i = 0; i < blocks->size(); ++i) {
        const bool is_edge = i < n_run && (i == 0 || i + 1 == n_run);
        (is_edge ? edge : interior).insert((*blocks)[i]);
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

  // Overlapping runs, free blocks in use and append points a write cannot use.
  for (const std::string& p : CheckWriteSafety(snap, *chains, free_entries)) problem(p);

  std::set<uint32_t> known = interior;
  known.insert(edge.begin(), edge.end());
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
    }
  }
  std::set<uint32_t> redirect_blocks;
  for (const BlockRedirect& r : snap.redirects) {
    if (!redirect_blocks.insert(r.from).second) problem(absl::StrFormat("redirect: block %u redirected twice", r.from));
  }
  return problems;
}

}  // namespace lsm
