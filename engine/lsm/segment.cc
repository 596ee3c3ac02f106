#include "engine/lsm/segment.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/format/varint.h"

namespace lsm {
namespace {

// No real b-tree comes close (fan-out >= 2 and at most 2^32 pages); the cap only stops loops.
constexpr int kMaxBtreeDepth = 64;

// Offset of the cell pointer of record i, from the start of the data area.
uint32_t CellPointerAt(uint32_t n, uint32_t i) {
  return n - kPageFooterSize - kCellPointerSize * (i + 1);
}

Status CorruptAt(uint64_t page, uint64_t offset, std::string_view what) {
  return Status::Corrupt("segment page " + std::to_string(page) + " offset " + std::to_string(offset) +
                         ": " + std::string(what));
}

bool GeometryOk(const Geometry& g) {
  return g.pgsz >= 256 && g.pgsz <= 65536 && (g.pgsz & (g.pgsz - 1)) == 0 && g.blksz % g.pgsz == 0 &&
         g.PagesPerBlock() >= 2;
}

// Reads one varint from [*pos, end) of `d`, advancing *pos; false if it runs past `end`.
bool ReadVarint(const uint8_t* d, uint32_t end, uint32_t* pos, uint64_t* v) {
  if (*pos >= end) return false;
  size_t k = GetVarint(ByteView(d + *pos, end - *pos), v);
  if (k == 0) return false;
  *pos += uint32_t(k);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// SegmentCursor

SegmentCursor::SegmentCursor(File* db, Geometry g, Segment seg, std::span<const BlockRedirect> redirects)
    : db_(db), cache_(dynamic_cast<CachedFile*>(db)), g_(g), seg_(seg), redirects_(redirects.begin(), redirects.end()) {
  if (cache_ != nullptr && cache_->chunk_size() != g_.pgsz) cache_ = nullptr;
}

Status SegmentCursor::Fail(Status s) {
  valid_ = false;
  return s;
}

// Every positioning call starts here: it validates what the rest of the code relies on (so hostile
// checkpoints cannot make the arithmetic wrap) and resets the walk budget.
Status SegmentCursor::Anchor() {
  valid_ = false;
  spill_page_no_ = 0;
  displacement_ = 0;
  if (!GeometryOk(g_)) {
    return Status::Corrupt("segment: unsupported geometry pgsz " + std::to_string(g_.pgsz) + " blksz " +
                           std::to_string(g_.blksz));
  }
  if (seg_.first != 0 && (seg_.last == 0 || seg_.size == 0)) {
    return Status::Corrupt("segment starting at page " + std::to_string(seg_.first) + " has no last page or size");
  }
  if (file_size_ == 0) {
    auto size = db_->Size();
    if (!size.ok()) return size.status();
    file_size_ = *size;
  }
  // A hostile size must not lift the cap: no walk can visit more pages than the file has.
  max_walk_ = std::min(seg_.size, file_size_ / g_.pgsz + 1);
  return Status::Ok();
}

uint32_t SegmentCursor::RunPagesAfter(uint64_t no) const {
  uint64_t last = g_.LastPageOfBlock(g_.BlockOf(no));
  if (seg_.last >= no && seg_.last < last) last = seg_.last;
  return uint32_t(std::min<uint64_t>(last - no, 64));
}

Status SegmentCursor::LoadPage(uint64_t no, Page* out, uint32_t ahead) {
  const uint64_t max_page = (uint64_t{1} << 48) / g_.pgsz;  // far beyond any file; keeps offsets exact
  if (no < g_.FirstDataPage() || no > max_page) return CorruptAt(no, 0, "page number out of range");
  uint64_t real = no;
  const uint64_t block = g_.BlockOf(no);
  for (const BlockRedirect& r : redirects_) {
    if (r.from != block) continue;
    if (r.to == 0) return CorruptAt(no, 0, "block redirected to block 0");
    // Same position in block `to`; the reference adds block 1's meta-page gap when `to` is block 1.
    real = no - (uint64_t{r.from} - 1) * g_.PagesPerBlock() + (uint64_t{r.to} - 1) * g_.PagesPerBlock();
    if (r.to == 1) real += g_.FirstDataPage() - 1;
    break;
  }
  if (real < g_.FirstDataPage() || real > max_page) return CorruptAt(no, 0, "redirected page out of range");
  const uint64_t end = g_.PageOffset(real) + g_.pgsz;
  if (end > file_size_) {
    auto size = db_->Size();  // the file may have grown since the cursor last looked
    if (!size.ok()) return size.status();
    file_size_ = *size;
    if (end > file_size_) return CorruptAt(real, 0, "page lies beyond the end of the file");
  }
  if (cache_ != nullptr) {
    // Never ahead past the end of the file: those pages would read as zeros and be cached as such.
    ahead = uint32_t(std::min<uint64_t>(ahead, (file_size_ - end) / g_.pgsz));
    auto image = cache_->ReadChunk(real - 1, ahead);
    if (!image.ok()) return image.status();
    out->image = std::move(image).value();
  } else {
    auto image = std::make_shared<Bytes>(g_.pgsz);
    LSM_RETURN_IF_ERROR(db_->Read(g_.PageOffset(real), *image));
    out->image = std::shared_ptr<const uint8_t>(image, image->data());
  }
  out->no = real;
  const bool first = g_.IsFirstOnBlock(real);
  const bool last = g_.IsLastOnBlock(real);
  out->data = first ? kBlockLinkSize : 0;
  out->n = g_.pgsz - (first || last ? kBlockLinkSize : 0);
  const uint8_t* d = out->d();
  out->nrec = LoadBe16(d + out->n - 2);
  out->flags = LoadBe16(d + out->n - 4);
  out->base = LoadBe64(d + out->n - kPageFooterSize);
  if (kPageFooterSize + uint64_t{kCellPointerSize} * (out->nrec + 1) > out->n) {
    return CorruptAt(real, out->n - 2, "record count " + std::to_string(out->nrec) + " does not fit the page");
  }
  return Status::Ok();
}

Result<uint64_t> SegmentCursor::Neighbour(const Page& p, int dir) {
  if (dir > 0) {
    if (p.no == seg_.last) return uint64_t{0};
    if (!g_.IsLastOnBlock(p.no)) return p.no + 1;
    uint32_t next = LoadBe32(p.bytes() + g_.pgsz - kBlockLinkSize);
    if (next == 0) return CorruptAt(p.no, g_.pgsz - kBlockLinkSize, "next-block pointer is 0");
    return g_.FirstPageOfBlock(next);
  }
  if (p.no == seg_.first) return uint64_t{0};
  if (!g_.IsFirstOnBlock(p.no)) return p.no - 1;
  uint32_t prev = LoadBe32(p.bytes());
  if (prev == 0) return CorruptAt(p.no, 0, "previous-block pointer is 0");
  return g_.LastPageOfBlock(prev);
}

Status SegmentCursor::StepToRecordPage(int dir, bool* end) {
  *end = false;
  for (;;) {
    auto nb = Neighbour(page_, dir);
    if (!nb.ok()) return Fail(nb.status());
    if (*nb == 0) {
      *end = true;
      return Fail(Status::Ok());
    }
    displacement_ += dir;
    // A sane run cannot take us further from where we started than its own length.
    if (uint64_t(displacement_ < 0 ? -displacement_ : displacement_) >= max_walk_) {
      return Fail(CorruptAt(page_.no, 0, "run continues past its size of " + std::to_string(seg_.size) + " pages"));
    }
    if (dir > 0 && spill_page_no_ == *nb) {
      std::swap(page_, spill_page_);  // the page the last record spilled into: loaded already
      spill_page_no_ = 0;
    } else {
      LSM_RETURN_IF_ERROR(Fail(LoadPage(*nb, &page_, dir > 0 ? RunPagesAfter(*nb) : 0)));
    }
    valid_ = false;
    if (!page_.IsBtree() && page_.nrec > 0) return Status::Ok();
  }
}

Status SegmentCursor::ReadBody(const Page& p, uint32_t off, uint64_t len, Bytes* out) {
  // Grown as pages are read (not sized from the claimed length up front): a damaged length then costs
  // only the pages that really exist before the walk fails.
  out->clear();
  const uint64_t here = std::min<uint64_t>(len, p.DataEnd() - off);
  out->insert(out->end(), p.d() + off, p.d() + off + here);
  if (here == len) return Status::Ok();
  // The body spills into the data areas of the following leaf pages.
  Page& sp = spill_page_;
  const Page* cur = &p;
  for (uint64_t steps = 1;; ++steps) {
    auto nb = Neighbour(*cur, +1);
    if (!nb.ok()) return nb.status();
    if (*nb == 0) return CorruptAt(p.no, off, "record body runs past the end of the run");
    if (steps >= max_walk_) return CorruptAt(p.no, off, "record body longer than the run");
    spill_page_no_ = 0;
    LSM_RETURN_IF_ERROR(LoadPage(*nb, &sp, RunPagesAfter(*nb)));
    spill_page_no_ = *nb;
    cur = &sp;
    if (sp.IsBtree()) continue;
    const uint64_t n = std::min<uint64_t>(len - out->size(), sp.DataEnd());
    out->insert(out->end(), sp.d(), sp.d() + n);
    if (out->size() == len) return Status::Ok();
  }
}

Status SegmentCursor::ViewCell(const Page& p, int cell, bool with_value, RecordView* out, uint64_t* pointer,
                               Bytes* spill) {
  const uint8_t* d = p.d();
  const uint32_t end = p.DataEnd();
  const uint32_t off = LoadBe16(d + CellPointerAt(p.n, cell));
  if (off >= end) return CorruptAt(p.no, off, "record " + std::to_string(cell) + " starts outside the data area");
  uint32_t pos = off + 1;
  uint64_t delta = 0, nkey = 0, nval = 0;
  out->flags = d[off];
  const bool insert = (out->flags & kInsert) != 0;
  if (!ReadVarint(d, end, &pos, &delta) || !ReadVarint(d, end, &pos, &nkey) ||
      (insert && !ReadVarint(d, end, &pos, &nval))) {
    return CorruptAt(p.no, off, "record header runs off the page");
  }
  // No body can be longer than the run (or the file): refuse before allocating.
  const uint64_t limit = std::min(file_size_, max_walk_ * uint64_t{g_.pgsz});
  if (nkey > limit || nval > limit || nkey + nval > limit) {
    return CorruptAt(p.no, off, "record body of " + std::to_string(nkey + nval) + " bytes exceeds the run");
  }
  *pointer = p.base + delta;  // deltas are two's complement: wrapping is the format
  if (!with_value) nval = 0;
  const uint8_t* body = d + pos;
  if (pos + nkey + nval > end) {  // the body spills into the following pages
    LSM_RETURN_IF_ERROR(ReadBody(p, pos, nkey + nval, spill));
    body = spill->data();
  }
  out->key = ByteView(body, size_t(nkey));
  out->value = ByteView(body + nkey, size_t(nval));
  return Status::Ok();
}

Status SegmentCursor::ReadCell(const Page& p, int cell, bool with_value, Record* out) {
  RecordView v;
  Bytes spill;
  LSM_RETURN_IF_ERROR(ViewCell(p, cell, with_value, &v, &out->pointer, &spill));
  out->Assign(v);
  return Status::Ok();
}

const Record& SegmentCursor::record() const {
  if (!copied_) {
    record_.Assign(view_);
    record_.pointer = pointer_;
    copied_ = true;
  }
  return record_;
}

Status SegmentCursor::LoadRecord() {
  copied_ = false;
  LSM_RETURN_IF_ERROR(Fail(ViewCell(page_, cell_, true, &view_, &pointer_, &spill_)));
  valid_ = true;
  return Status::Ok();
}

Status SegmentCursor::First() {
  LSM_RETURN_IF_ERROR(Fail(Anchor()));
  if (seg_.first == 0) return Status::Ok();
  LSM_RETURN_IF_ERROR(Fail(LoadPage(seg_.first, &page_)));
  bool end = false;
  if (page_.IsBtree() || page_.nrec == 0) LSM_RETURN_IF_ERROR(StepToRecordPage(+1, &end));
  if (end) return Status::Ok();
  cell_ = 0;
  return LoadRecord();
}

Status SegmentCursor::Last() {
  LSM_RETURN_IF_ERROR(Fail(Anchor()));
  if (seg_.first == 0) return Status::Ok();
  LSM_RETURN_IF_ERROR(Fail(LoadPage(seg_.last, &page_)));
  bool end = false;
  if (page_.IsBtree() || page_.nrec == 0) LSM_RETURN_IF_ERROR(StepToRecordPage(-1, &end));
  if (end) return Status::Ok();
  cell_ = page_.nrec - 1;
  return LoadRecord();
}

Status SegmentCursor::Next() {
  if (!valid_) return Status::Misuse("segment cursor: Next on an invalid cursor");
  if (cell_ + 1 < page_.nrec) {
    ++cell_;
    return LoadRecord();
  }
  bool end = false;
  LSM_RETURN_IF_ERROR(StepToRecordPage(+1, &end));
  if (end) return Status::Ok();
  cell_ = 0;
  return LoadRecord();
}

Status SegmentCursor::Prev() {
  if (!valid_) return Status::Misuse("segment cursor: Prev on an invalid cursor");
  if (cell_ > 0) {
    --cell_;
    return LoadRecord();
  }
  bool end = false;
  LSM_RETURN_IF_ERROR(StepToRecordPage(-1, &end));
  if (end) return Status::Ok();
  cell_ = page_.nrec - 1;
  return LoadRecord();
}

Result<int> SegmentCursor::CompareLeafKey(const Page& p, int cell, uint8_t topic, ByteView key) {
  const uint8_t* d = p.d();
  const uint32_t end = p.DataEnd();
  const uint32_t off = LoadBe16(d + CellPointerAt(p.n, cell));
  if (off < end) {
    uint32_t pos = off + 1;
    uint64_t delta = 0, nkey = 0;
    if (ReadVarint(d, end, &pos, &delta) && ReadVarint(d, end, &pos, &nkey) &&
        ((d[off] & kInsert) == 0 || ReadVarint(d, end, &pos, &delta)) && nkey <= end - pos) {
      return CompareKeys(d[off] & kSystemKey, ByteView(d + pos, nkey), topic, key);  // no spill: in place
    }
  }
  Record probe;  // spilled or damaged: the careful path reports what is wrong
  LSM_RETURN_IF_ERROR(ReadCell(p, cell, false, &probe));
  return CompareKeys(probe.topic(), probe.key, topic, key);
}

Result<int> SegmentCursor::CompareBtreeKey(const Page& p, int cell, uint8_t topic, ByteView key, uint64_t* child) {
  const uint8_t* d = p.d();
  const uint32_t end = p.DataEnd();
  const uint32_t off = LoadBe16(d + CellPointerAt(p.n, cell));
  if (off < end && d[off] != 0) {
    uint32_t pos = off + 1;
    uint64_t len = 0;
    if (ReadVarint(d, end, &pos, child) && ReadVarint(d, end, &pos, &len) && len <= end - pos) {
      return CompareKeys(d[off] & kSystemKey, ByteView(d + pos, len), topic, key);
    }
  }
  Record cell_record;  // indirect or damaged
  LSM_RETURN_IF_ERROR(ReadBtreeCell(p, cell, &cell_record));
  *child = cell_record.pointer;
  return CompareKeys(cell_record.flags & kSystemKey, cell_record.key, topic, key);
}

Status SegmentCursor::ReadBtreeCell(const Page& p, int cell, Record* out) {
  const uint8_t* d = p.d();
  const uint32_t end = p.DataEnd();
  const uint32_t off = LoadBe16(d + CellPointerAt(p.n, cell));
  if (off >= end) return CorruptAt(p.no, off, "b-tree record " + std::to_string(cell) + " starts outside the data area");
  const uint8_t type = d[off];
  uint32_t pos = off + 1;
  uint64_t len = 0;
  if (!ReadVarint(d, end, &pos, &out->pointer) || !ReadVarint(d, end, &pos, &len)) {
    return CorruptAt(p.no, off, "b-tree record header runs off the page");
  }
  out->value.clear();
  if (type != 0) {
    if (len > end - pos) return CorruptAt(p.no, off, "b-tree key runs off the page");
    out->flags = kSeparator | (type & kSystemKey);
    out->key.assign(d + pos, d + pos + len);
    return Status::Ok();
  }
  // Indirect: the key is the first record of leaf page `len`.
  LSM_RETURN_IF_ERROR(LoadPage(len, &scratch_));
  if (scratch_.IsBtree() || scratch_.nrec == 0) {
    return CorruptAt(p.no, off, "indirect key page " + std::to_string(len) + " holds no leaf record");
  }
  const uint64_t child = out->pointer;
  LSM_RETURN_IF_ERROR(ReadCell(scratch_, 0, false, out));
  out->flags = kSeparator | (out->flags & kSystemKey);
  out->pointer = child;
  return Status::Ok();
}

// Walks from the root to the leaf that holds the first key >= `key` or an earlier one (pages the b-tree
// skipped follow it), leaving that leaf in page_.
Status SegmentCursor::PathPage(int depth, uint64_t no, const Page** at) {
  // The root and the inner b-tree pages below it (about one per hundred leaves) are read by every
  // seek: the cursor keeps them (runs are never rewritten while readable) and reads them in place.
  if (depth == 0) {
    if (!root_.image || root_logical_ != no) {
      LSM_RETURN_IF_ERROR(LoadPage(no, &root_));
      root_logical_ = no;
    }
    *at = &root_;
  } else if (auto inner = inner_.find(no); inner != inner_.end()) {
    *at = &inner->second;
  } else {
    LSM_RETURN_IF_ERROR(LoadPage(no, &page_));
    *at = page_.IsBtree() ? &inner_.emplace(no, page_).first->second : nullptr;
  }
  return Status::Ok();
}

Result<uint64_t> SegmentCursor::BtreeChild(const Page& pg, uint8_t topic, ByteView key, int* bound) {
  uint64_t child = pg.base;  // right-most child: keys >= every key on this page
  *bound = -1;
  int lo = 0, hi = int(pg.nrec) - 1;
  while (lo <= hi) {
    const int mid = lo + (hi - lo) / 2;
    uint64_t left = 0;
    auto c = CompareBtreeKey(pg, mid, topic, key, &left);
    if (!c.ok()) return c.status();
    if (*c > 0) {  // the separator is above the key: go left of it
      child = left;
      *bound = mid;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return child;
}

Status SegmentCursor::DescendBtree(uint8_t topic, ByteView key) {
  uint64_t no = seg_.root;
  for (int depth = 0; depth < kMaxBtreeDepth; ++depth) {
    const Page* at = nullptr;
    LSM_RETURN_IF_ERROR(PathPage(depth, no, &at));
    if (at == nullptr) return Status::Ok();  // a leaf, in page_
    if (!at->IsBtree()) {
      page_ = *at;
      return Status::Ok();
    }
    int bound = 0;
    auto child = BtreeChild(*at, topic, key, &bound);
    if (!child.ok()) return child.status();
    no = *child;
  }
  return CorruptAt(seg_.root, 0, "b-tree deeper than " + std::to_string(kMaxBtreeDepth) + " levels");
}

Result<uint64_t> SegmentCursor::BtreeLeaf(uint8_t topic, ByteView key, std::optional<Record>* upper) {
  LSM_RETURN_IF_ERROR(Fail(Anchor()));
  if (seg_.root == 0) return Status::Misuse("segment cursor: BtreeLeaf on a run without a b-tree");
  valid_ = false;
  upper->reset();
  const Page* bound_page = nullptr;
  int bound_cell = 0;
  uint64_t no = seg_.root;
  for (int depth = 0;; ++depth) {
    if (depth == kMaxBtreeDepth) return CorruptAt(seg_.root, 0, "b-tree deeper than " + std::to_string(kMaxBtreeDepth) + " levels");
    // Every leaf lies at the same depth (the writer grows the b-tree at the root): once a descent has
    // met a leaf, later ones stop above it without reading it, which is the point of this call.
    if (btree_height_ != 0 && depth == btree_height_) break;
    const Page* at = nullptr;
    LSM_RETURN_IF_ERROR(Fail(PathPage(depth, no, &at)));
    if (at == nullptr || !at->IsBtree()) {
      btree_height_ = depth;
      break;
    }
    int bound = -1;
    auto child = BtreeChild(*at, topic, key, &bound);
    if (!child.ok()) return Fail(child.status());
    if (bound >= 0) {  // deeper pages give tighter bounds
      bound_page = at;
      bound_cell = bound;
    }
    no = *child;
  }
  if (bound_page != nullptr) {
    Record sep;
    LSM_RETURN_IF_ERROR(Fail(ReadBtreeCell(*bound_page, bound_cell, &sep)));
    *upper = std::move(sep);
  }
  return no;
}

Status SegmentCursor::SeekCell(uint64_t page, uint32_t cell) {
  LSM_RETURN_IF_ERROR(Fail(Anchor()));
  LSM_RETURN_IF_ERROR(Fail(LoadPage(page, &page_)));
  if (page_.IsBtree() || cell >= page_.nrec) {
    return Fail(CorruptAt(page_.no, 0, "no leaf record " + std::to_string(cell) + " on this page"));
  }
  cell_ = int(cell);
  return LoadRecord();
}

Result<Record> ReadRecordAt(File* db, Geometry g, uint64_t page, uint32_t cell,
                            std::span<const BlockRedirect> redirects) {
  if (!GeometryOk(g)) return Status::Corrupt("segment: unsupported geometry");
  auto size = db->Size();
  if (!size.ok()) return size.status();
  // The run is unknown: let spills go on to the end of the file, never past it.
  Segment unbounded{page, ~uint64_t{0}, 0, *size / g.pgsz + 1};
  SegmentCursor cur(db, g, unbounded, redirects);
  LSM_RETURN_IF_ERROR(cur.Anchor());
  LSM_RETURN_IF_ERROR(cur.LoadPage(page, &cur.page_));
  if (cur.page_.IsBtree()) {
    if (cell >= cur.page_.nrec) return CorruptAt(cur.page_.no, 0, "no b-tree record " + std::to_string(cell));
    Record r;
    LSM_RETURN_IF_ERROR(cur.ReadBtreeCell(cur.page_, int(cell), &r));
    return r;
  }
  LSM_RETURN_IF_ERROR(cur.SeekCell(page, cell));
  return cur.record();
}

Status SegmentCursor::SeekGe(uint8_t topic, ByteView key) {
  LSM_RETURN_IF_ERROR(Fail(Anchor()));
  if (seg_.first == 0) return Status::Ok();
  if (seg_.root != 0) {
    LSM_RETURN_IF_ERROR(Fail(DescendBtree(topic, key)));
  } else {
    LSM_RETURN_IF_ERROR(Fail(LoadPage(seg_.first, &page_)));
  }
  bool end = false;
  for (;;) {
    if (page_.IsBtree() || page_.nrec == 0) {
      LSM_RETURN_IF_ERROR(StepToRecordPage(+1, &end));
      if (end) return Status::Ok();
    }
    // Lowest cell whose key is >= the target; none on this page means a later page.
    int lo = 0, hi = page_.nrec;
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      auto c = CompareLeafKey(page_, mid, topic, key);
      if (!c.ok()) return Fail(c.status());
      if (*c < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo < page_.nrec) {
      cell_ = lo;
      return LoadRecord();
    }
    LSM_RETURN_IF_ERROR(StepToRecordPage(+1, &end));
    if (end) return Status::Ok();
  }
}

Status SegmentCursor::SeekLe(uint8_t topic, ByteView key) {
  LSM_RETURN_IF_ERROR(SeekGe(topic, key));
  if (!valid_) return Last();
  if (CompareKeys(view_.topic(), view_.key, topic, key) == 0) return Status::Ok();
  return Prev();
}

// ---------------------------------------------------------------------------------------------------
// OlderRunPointer

OlderRunPointer::OlderRunPointer(File* db, Geometry g, const Segment& next) {
  if (next.first == 0) return;
  cursor_.emplace(db, g, next);
  seekable_ = next.root != 0;
}

Result<uint64_t> OlderRunPointer::For(uint8_t topic, ByteView key) {
  if (!cursor_) return uint64_t{0};
  SegmentCursor& c = *cursor_;
  if (seekable_) {
    // Keys ascend: the leaf stays the same until a key reaches the separator above it.
    if (started_ && (!upper_ || CompareKeys(topic, key, upper_->topic(), upper_->key) < 0)) return last_page_;
    started_ = true;
    auto leaf = c.BtreeLeaf(topic, key, &upper_);
    if (!leaf.ok()) return leaf.status();
    last_page_ = *leaf;
    return last_page_;
  }
  auto below = [&] { return c.Valid() && CompareKeys(c.record().topic(), c.record().key, topic, key) < 0; };
  if (!started_) {
    started_ = true;
    LSM_RETURN_IF_ERROR(c.First());
  }
  // A run without a b-tree can only be walked (keys ascend, so once over the run).
  while (below()) {
    last_page_ = c.page();
    LSM_RETURN_IF_ERROR(c.Next());
  }
  if (c.Valid()) last_page_ = c.page();
  return last_page_;
}

// ---------------------------------------------------------------------------------------------------
// SegmentWriter

uint32_t SegmentWriter::HierPage::Free() const {
  const int64_t eof = int64_t(body.size()) - kPageFooterSize - int64_t{kCellPointerSize} * int64_t(cells.size() + 1);
  return eof > int64_t(used) ? uint32_t(eof - used) : 0;
}

SegmentWriter::SegmentWriter(File* db, Geometry g, BlockAllocator* alloc, uint64_t start_page)
    : db_(db), g_(g), alloc_(alloc), start_page_(start_page) {
  if (!GeometryOk(g_)) {
    status_ = Status::InvalidArgument("segment writer: unsupported geometry pgsz " + std::to_string(g_.pgsz) +
                                      " blksz " + std::to_string(g_.blksz));
  } else if (start_page != 0 && start_page < g_.FirstDataPage()) {
    status_ = Status::InvalidArgument("segment writer: append point " + std::to_string(start_page) +
                                      " overlaps the meta pages");
  }
}

Status SegmentWriter::Fail(Status s) {
  if (status_.ok()) status_ = std::move(s);
  return status_;
}

// Page numbers are handed out in run order, exactly as lsmFsSortedAppend/fsAppendPage do: continue in the
// block, or jump to the block allocated when the previous page became last on its block.
Result<SegmentWriter::OutPage> SegmentWriter::AllocatePage() {
  uint64_t no = 0;
  uint32_t prev_block = 1;  // the reference's block of "page 0" for a run starting on a fresh block
  if (seg_.last == 0) {
    if (start_page_ != 0) {
      no = start_page_;
    } else {
      auto b = alloc_->AllocateBlock();
      if (!b.ok()) return b.status();
      if (*b == 0) return Status::InvalidArgument("segment writer: allocator returned block 0");
      no = g_.FirstPageOfBlock(*b);
    }
  } else if (g_.IsLastOnBlock(seg_.last)) {
    no = g_.FirstPageOfBlock(next_block_);
    prev_block = uint32_t(g_.BlockOf(seg_.last));
  } else {
    no = seg_.last + 1;
    prev_block = uint32_t(g_.BlockOf(seg_.last));
  }
  OutPage p;
  p.no = no;
  if (spare_.empty()) {
    p.buf.assign(g_.pgsz, 0);
  } else {
    p.buf = std::move(spare_.back());
    spare_.pop_back();
    std::fill(p.buf.begin(), p.buf.end(), 0);
  }
  const bool first = g_.IsFirstOnBlock(no);
  const bool last = g_.IsLastOnBlock(no);
  p.data = first ? kBlockLinkSize : 0;
  p.n = g_.pgsz - (first || last ? kBlockLinkSize : 0);
  if (first) StoreBe32(p.buf.data(), prev_block);
  if (last) {
    // The run may continue: own the next block now so this page can be written whole, once.
    auto b = alloc_->AllocateBlock();
    if (!b.ok()) return b.status();
    if (*b == 0) return Status::InvalidArgument("segment writer: allocator returned block 0");
    next_block_ = *b;
    StoreBe32(p.buf.data() + g_.pgsz - kBlockLinkSize, next_block_);
  }
  if (seg_.first == 0) seg_.first = no;
  seg_.last = no;
  ++seg_.size;
  const uint32_t block = uint32_t(g_.BlockOf(no));
  if (blocks_.empty() || blocks_.back() != block) blocks_.push_back(block);
  return p;
}

// Consecutive pages go out in one write (a run mostly is consecutive pages): one system call per
// batch rather than per page. Nothing reads a run before Finish or Pause, which write the batch.
Status SegmentWriter::WritePage(OutPage& p) {
  const uint64_t offset = g_.PageOffset(p.no);
  if (!batch_.empty() && offset != batch_offset_ + batch_.size()) LSM_RETURN_IF_ERROR(WriteBatch());
  if (batch_.empty()) batch_offset_ = offset;
  batch_.insert(batch_.end(), p.buf.begin(), p.buf.end());
  spare_.push_back(std::move(p.buf));
  ++pages_written_;
  if (batch_.size() >= kMaxBatchBytes) return WriteBatch();
  return Status::Ok();
}

Status SegmentWriter::WriteBatch() {
  Status s = batch_.empty() ? Status::Ok() : db_->Write(batch_offset_, batch_);
  batch_.clear();
  return s;
}

Status SegmentWriter::FlushWaiting() {
  for (OutPage& p : waiting_) LSM_RETURN_IF_ERROR(WritePage(p));
  waiting_.clear();
  return Status::Ok();
}

Status SegmentWriter::CompleteLeaf() {
  uint8_t* d = leaf_.buf.data() + leaf_.data;
  StoreBe16(d + leaf_.n - 2, leaf_nrec_);
  StoreBe16(d + leaf_.n - 4, leaf_flags_);
  StoreBe64(d + leaf_.n - kPageFooterSize, leaf_base_);
  LSM_RETURN_IF_ERROR(WritePage(leaf_));
  for (Saved* s : {&save_ptr_, &save_key_}) {
    if (s->store) {
      s->page = leaf_.no;
      s->store = false;
    }
  }
  have_leaf_ = false;
  return FlushWaiting();
}

// The new page is numbered before the old one is written, so b-tree pages that filled while the old leaf
// was current (numbered after it) go out right behind it.
Status SegmentWriter::StartLeaf(uint64_t base) {
  auto np = AllocatePage();
  if (!np.ok()) return np.status();
  if (have_leaf_) LSM_RETURN_IF_ERROR(CompleteLeaf());
  leaf_ = std::move(*np);
  have_leaf_ = true;
  leaf_nrec_ = 0;
  leaf_flags_ = 0;
  leaf_off_ = 0;
  leaf_base_ = base;
  return Status::Ok();
}

Status SegmentWriter::WriteBody(ByteView bytes, uint64_t spill_base) {
  size_t done = 0;
  while (done < bytes.size()) {
    const uint32_t eof = PageDataEnd(leaf_.n, leaf_nrec_);
    const size_t avail = eof > leaf_off_ ? eof - leaf_off_ : 0;
    const size_t n = std::min(avail, bytes.size() - done);
    std::memcpy(leaf_.buf.data() + leaf_.data + leaf_off_, bytes.data() + done, n);
    done += n;
    leaf_off_ += uint32_t(n);
    if (done < bytes.size()) LSM_RETURN_IF_ERROR(StartLeaf(spill_base));
  }
  return Status::Ok();
}

Status SegmentWriter::Add(uint8_t flags, ByteView key, ByteView value, uint64_t pointer) {
  if (!status_.ok()) return status_;
  if (finished_) return Status::Misuse("segment writer: Add after Finish");
  const bool insert = (flags & kInsert) != 0;
  if (!insert && !value.empty()) return Status::InvalidArgument("segment writer: value without kInsert");
  if (key.size() > 0x7FFFFFFF || value.size() > 0x7FFFFFFF) {
    return Status::InvalidArgument("segment writer: key or value longer than 2^31-1 bytes");
  }
  const uint8_t topic = flags & kSystemKey;
  if (have_last_key_ && CompareKeys(last_topic_, last_key_, topic, key) >= 0) {
    return Status::InvalidArgument("segment writer: keys must be strictly ascending");
  }
  const bool first_record = !have_leaf_ && seg_.first == 0;
  if (first_record) {
    LSM_RETURN_IF_ERROR(Fail(StartLeaf(pointer)));
    save_ptr_.store = true;  // the first page is the b-tree's left-most child
  } else if (!have_leaf_) {
    LSM_RETURN_IF_ERROR(Fail(StartLeaf(pointer)));  // resuming after Pause: a fresh page
  }
  auto header_size = [&](uint64_t base) {
    return uint32_t(1 + VarintLength(pointer - base) + VarintLength(key.size()) +
                    (insert ? VarintLength(value.size()) : 0));
  };
  uint32_t hdr = header_size(leaf_base_);
  // The header must fit in the data area the page keeps once the record's cell pointer is added.
  if (int64_t{leaf_off_} + hdr > int64_t{PageDataEnd(leaf_.n, leaf_nrec_ + 1)}) {
    LSM_RETURN_IF_ERROR(Fail(StartLeaf(pointer)));
    hdr = header_size(leaf_base_);
  }
  if (leaf_nrec_ == 0 && !first_record) {
    // First record on a page: index it, unless a recent long key told us to skip a few pages.
    uint16_t pf = 0;
    if (nskip_ == 0) {
      LSM_RETURN_IF_ERROR(Fail(PushHierarchy(topic, key)));
      save_ptr_.store = true;
      nskip_ = uint32_t(std::min<uint64_t>(key.size() * 4 / g_.pgsz, 3));
    } else {
      --nskip_;
      pf = kSkipThis;
    }
    if (nskip_ != 0) pf |= kSkipNext;
    leaf_flags_ = pf;
  }
  uint8_t* d = leaf_.buf.data() + leaf_.data;
  StoreBe16(d + CellPointerAt(leaf_.n, leaf_nrec_), uint16_t(leaf_off_));
  ++leaf_nrec_;
  uint32_t o = leaf_off_;
  d[o++] = flags;
  o += uint32_t(PutVarint(d + o, pointer - leaf_base_));
  o += uint32_t(PutVarint(d + o, key.size()));
  if (insert) o += uint32_t(PutVarint(d + o, value.size()));
  leaf_off_ = o;
  LSM_RETURN_IF_ERROR(Fail(WriteBody(key, pointer)));
  if (insert) LSM_RETURN_IF_ERROR(Fail(WriteBody(value, pointer)));
  have_last_key_ = true;
  last_topic_ = topic;
  last_key_.assign(key.begin(), key.end());
  return Status::Ok();
}

Status SegmentWriter::PushHierarchy(uint8_t topic, ByteView key) {
  LSM_RETURN_IF_ERROR(FlushIndirect());
  const uint64_t child = save_ptr_.page;
  if (child == 0) return Status::Corrupt("segment writer: no left child for a b-tree key");
  if (key.size() * 4 > g_.pgsz) {
    // Too long to copy into the b-tree: point at the leaf once it has a number (written next push).
    indirect_child_ = child;
    save_key_.store = true;
    return Status::Ok();
  }
  return BtreeWrite(topic | kSeparator, child, 0, key);
}

Status SegmentWriter::FlushIndirect() {
  if (indirect_child_ == 0) return Status::Ok();
  const uint64_t child = indirect_child_;
  indirect_child_ = 0;
  return BtreeWrite(0, child, save_key_.page, {});
}

Status SegmentWriter::BtreeWrite(uint8_t type, uint64_t child, uint64_t key_page, ByteView key) {
  auto new_page = [&] {
    HierPage hp;
    hp.body.assign(g_.pgsz - kBlockLinkSize, 0);  // smallest data area any page of the run can have
    return hp;
  };
  uint64_t ptr = child;
  size_t level = 0;
  for (;; ++level) {
    if (level == hier_.size()) {
      hier_.push_back(new_page());  // a new root
      break;
    }
    const uint64_t need = 2 + 1 + VarintLength(ptr) +
                          (type == 0 ? VarintLength(key_page) : VarintLength(key.size()) + key.size());
    if (need <= hier_[level].Free()) break;
    // Full: it is complete with `ptr` as its right-most child; the key moves up, pointing at it.
    auto no = PersistHier(hier_[level], ptr);
    if (!no.ok()) return no.status();
    ptr = *no;
    hier_[level] = new_page();
  }
  HierPage& hp = hier_[level];
  uint8_t* d = hp.body.data();
  hp.cells.push_back(uint16_t(hp.used));
  uint32_t o = hp.used;
  d[o++] = type;
  o += uint32_t(PutVarint(d + o, ptr));
  if (type == 0) {
    o += uint32_t(PutVarint(d + o, key_page));
  } else {
    o += uint32_t(PutVarint(d + o, key.size()));
    if (!key.empty()) std::memcpy(d + o, key.data(), key.size());
    o += uint32_t(key.size());
  }
  hp.used = o;
  return Status::Ok();
}

Result<uint64_t> SegmentWriter::PersistHier(const HierPage& hp, uint64_t right_child) {
  auto p = AllocatePage();
  if (!p.ok()) return p.status();
  uint8_t* d = p->buf.data() + p->data;
  std::memcpy(d, hp.body.data(), hp.used);
  // A page in mid-block has 4 bytes more data area than the page was built for; the footer moves to the
  // real end (lsmSortedExpandBtreePage) and the gap stays zero.
  for (size_t i = 0; i < hp.cells.size(); ++i) StoreBe16(d + CellPointerAt(p->n, uint32_t(i)), hp.cells[i]);
  StoreBe16(d + p->n - 2, uint16_t(hp.cells.size()));
  StoreBe16(d + p->n - 4, kBtreePage);
  StoreBe64(d + p->n - kPageFooterSize, right_child);
  const uint64_t no = p->no;
  if (have_leaf_) {
    waiting_.push_back(std::move(*p));  // numbered after the current leaf, so written after it
  } else {
    LSM_RETURN_IF_ERROR(WritePage(*p));
  }
  return no;
}

Result<SegmentWriter::HierPage> SegmentWriter::LoadHier(uint64_t no, uint64_t* right_child) {
  const uint64_t max_page = uint64_t{0x7FFFFFFF} * g_.PagesPerBlock();
  if (no < g_.FirstDataPage() || no > max_page) return CorruptAt(no, 0, "b-tree page number out of range");
  Bytes page(g_.pgsz);
  LSM_RETURN_IF_ERROR(db_->Read(g_.PageOffset(no), page));
  const uint32_t data = g_.IsFirstOnBlock(no) ? kBlockLinkSize : 0;
  const uint32_t n = g_.pgsz - (g_.IsFirstOnBlock(no) || g_.IsLastOnBlock(no) ? kBlockLinkSize : 0);
  const uint8_t* d = page.data() + data;
  const uint16_t nrec = LoadBe16(d + n - 2);
  HierPage hp;
  hp.body.assign(g_.pgsz - kBlockLinkSize, 0);
  if (!(LoadBe16(d + n - 4) & kBtreePage)) return CorruptAt(no, n - 4, "expected a b-tree page");
  if (nrec == 0 || PageDataEnd(n, nrec) > n) return CorruptAt(no, n - 2, "b-tree page record count does not fit");
  const uint32_t eof = PageDataEnd(n, nrec);
  // The page must be one the writer could have built: records in order from offset 3, within the
  // smallest data area (so that it can be continued on any page of the run).
  uint32_t pos = kBtreeFirstRecordOffset;
  for (uint32_t i = 0; i < nrec; ++i) {
    const uint32_t off = LoadBe16(d + CellPointerAt(n, i));
    if (off != pos || off >= eof) return CorruptAt(no, CellPointerAt(n, i), "b-tree cell out of place");
    const uint8_t type = d[pos++];
    uint64_t child = 0, len = 0;
    if (!ReadVarint(d, eof, &pos, &child) || !ReadVarint(d, eof, &pos, &len)) {
      return CorruptAt(no, off, "b-tree record header runs past the data");
    }
    if (type != 0) {
      if (len > eof - pos) return CorruptAt(no, off, "b-tree key runs past the data");
      pos += uint32_t(len);
    }
    hp.cells.push_back(uint16_t(off));
  }
  hp.used = pos;
  if (int64_t(hp.used) > int64_t(hp.body.size()) - kPageFooterSize - int64_t{kCellPointerSize} * (nrec + 1)) {
    return CorruptAt(no, 0, "b-tree page holds more than the writer can continue");
  }
  std::memcpy(hp.body.data(), d, hp.used);
  *right_child = LoadBe64(d + n - kPageFooterSize);
  return hp;
}

Status SegmentWriter::Continue(const Segment& run, uint32_t nskip) {
  if (!status_.ok()) return status_;
  if (seg_.first != 0 || have_leaf_ || finished_) return Status::Misuse("segment writer: Continue after Add");
  if (run.first == 0 || run.last == 0 || run.size == 0) {
    return Fail(Status::Corrupt("segment writer: cannot continue an empty run"));
  }
  seg_ = run;
  seg_.root = 0;
  blocks_.push_back(uint32_t(g_.BlockOf(run.last)));
  if (g_.IsLastOnBlock(run.last)) {
    // The run already owns the block its last page links to.
    uint8_t link[kBlockLinkSize];
    LSM_RETURN_IF_ERROR(Fail(db_->Read(g_.PageOffset(run.last) + g_.pgsz - kBlockLinkSize, std::span<uint8_t>(link, sizeof link))));
    next_block_ = LoadBe32(link);
    if (next_block_ == 0 || next_block_ > 0x7FFFFFFF) {
      return Fail(CorruptAt(run.last, g_.pgsz - kBlockLinkSize, "last page links to block " + std::to_string(next_block_)));
    }
  }
  nskip_ = nskip;
  save_ptr_ = Saved{run.first, false};
  if (run.root == 0) return Status::Ok();
  // Root first, down the right-most children while they are b-tree pages; hier_[0] ends up lowest.
  std::vector<HierPage> path;
  uint64_t no = run.root;
  uint64_t child = 0;
  for (;;) {
    if (path.size() > 32) return Fail(CorruptAt(run.root, 0, "b-tree deeper than 32 levels"));
    auto hp = LoadHier(no, &child);
    if (!hp.ok()) return Fail(hp.status());
    path.push_back(std::move(*hp));
    Bytes probe(g_.pgsz);
    if (child < g_.FirstDataPage()) return Fail(CorruptAt(no, 0, "b-tree right child out of range"));
    LSM_RETURN_IF_ERROR(Fail(db_->Read(g_.PageOffset(child), probe)));
    const uint32_t n = g_.pgsz - (g_.IsFirstOnBlock(child) || g_.IsLastOnBlock(child) ? kBlockLinkSize : 0);
    const uint32_t data = g_.IsFirstOnBlock(child) ? kBlockLinkSize : 0;
    if (!(LoadBe16(probe.data() + data + n - 4) & kBtreePage)) break;
    no = child;
  }
  hier_.assign(std::make_move_iterator(path.rbegin()), std::make_move_iterator(path.rend()));
  save_ptr_.page = child;  // the right-most leaf: left child of the next key pushed
  return Status::Ok();
}

Result<Segment> SegmentWriter::Finish() {
  if (!status_.ok()) return status_;
  if (finished_) return Status::Misuse("segment writer: Finish called twice");
  finished_ = true;
  if (seg_.first == 0) return Segment{};
  if (have_leaf_) LSM_RETURN_IF_ERROR(Fail(CompleteLeaf()));
  LSM_RETURN_IF_ERROR(Fail(FlushIndirect()));
  if (!hier_.empty()) {
    uint64_t ptr = save_ptr_.page;  // the last indexed leaf is the right-most child of the lowest level
    for (const HierPage& hp : hier_) {
      auto no = PersistHier(hp, ptr);
      if (!no.ok()) return Fail(no.status());
      ptr = *no;
    }
    seg_.root = ptr;
    hier_.clear();
  }
  LSM_RETURN_IF_ERROR(Fail(FlushWaiting()));
  LSM_RETURN_IF_ERROR(Fail(WriteBatch()));
  return seg_;
}

Result<Segment> SegmentWriter::Pause() {
  if (!status_.ok()) return status_;
  if (finished_) return Status::Misuse("segment writer: Pause after Finish");
  if (have_leaf_) LSM_RETURN_IF_ERROR(Fail(CompleteLeaf()));
  LSM_RETURN_IF_ERROR(Fail(WriteBatch()));
  Segment paused = seg_;
  paused.root = 0;
  return paused;
}

}  // namespace lsm
