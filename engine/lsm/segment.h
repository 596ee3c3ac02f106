// A sorted run ("segment") on disk: its page format, a cursor that reads it and a writer that appends one.
//
// Bit-compatible with SQLite4 LSM's uncompressed format (lsm_sorted.c, lsm_file.c).
//
// Pages and blocks (see geometry.h). A run is a chain of blocks; inside a block its pages are consecutive.
// The first page of a block starts with BE32 "previous block", the last page ends with BE32 "next block";
// those pages have nData = pgsz - 4 usable bytes ("the data area"), the others pgsz. The next-block
// pointer is written when the last page of a block is *allocated*, so a run whose last page is last on
// its block already owns one more block (SegmentWriter::spare_block). The previous-block pointer of the
// first page of a run that starts on a fresh block is 1 (the reference computes the block of page 0).
// A Segment names a run by first page, last page, b-tree root and size in pages (b-tree pages included);
// there is no end marker.
//
// Every page of a run ends with a footer, at the end of its data area (n = nData):
//
//   [data: 0 .. n-14-2*nrec) [2 unused bytes] [n-14-2i: BE16 offset of record i, i = nrec-1 .. 0]
//   [n-12: BE64 base pointer] [n-4: BE16 flags] [n-2: BE16 nrec = records *starting* on this page]
//
// The data area ends 2 bytes before the last cell pointer: the golden files were written by a version
// whose SEGMENT_EOF(n, nrec) is the offset of cell pointer `nrec` (later versions reclaimed the 2 bytes;
// files differ wherever a record body reaches the end of a page, so readers must match the writer). The
// reference leaves those 2 bytes (and other never-written bytes) as stale buffer contents; we zero them.
//
// Leaf record:  flags (1 byte), varint pointer delta, varint key length, [varint value length if
//               kInsert], key bytes, value bytes. Record pointer = base pointer + delta (mod 2^64; the
//               reference stores negative deltas as 9-byte varints). The reference also leaves bit 0x40
//               (an in-memory tree flag) on many records; it means nothing on disk and is kept as read.
//               The header must fit in the data area the page keeps once the record's cell pointer is
//               added; key and value bytes spill into the data areas of the following leaf pages (which
//               may then hold no record at all), skipping b-tree pages.
// B-tree page (flags & kBtreePage): an index over the leaves, interleaved with them in the run. Records
//               (never spanning pages): type (kSeparator | topic), varint child page, varint key length,
//               key; child holds the keys < key. A key longer than pgsz/4 is "indirect": type 0, varint
//               child, varint page whose first record holds the key. The footer pointer is the right-most
//               child (keys >= the page's last key). The first record sits at offset 3 (a quirk of how
//               the reference finds free space on an empty page). Segment.root is the top page; the
//               reference writes the b-tree pages of each level as they fill, the rest (root last) when
//               the run ends, so root == last for runs it finished.
// Skip flags:   after indexing a page whose first key has length L, the writer leaves the next
//               min(L*4/pgsz, 3) pages on which a record starts out of the b-tree (they carry kSkipThis;
//               a page followed by such a page carries kSkipNext). So a reader that lands on a leaf via
//               the b-tree must be ready to walk forward from it.
//
// Block redirects (checkpoint; oldest level only): when block `from` was copied to `to`, the segment's
// first/last/root were rewritten but pointers stored inside pages were not; every page number a reader
// loads is translated, and navigation continues from the translated number.
//
// Key order: the topic (flags & kSystemKey) first, user keys before system keys; then memcmp, a proper
// prefix first.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/bytes.h"
#include "engine/format/checkpoint.h"
#include "engine/env/env.h"
#include "engine/format/geometry.h"
#include "engine/env/page_cache.h"
#include "engine/cursor/record.h"
#include "engine/status.h"

namespace lsm {

// Page footer flags.
inline constexpr uint16_t kBtreePage = 0x0001;
inline constexpr uint16_t kSkipNext = 0x0002;
inline constexpr uint16_t kSkipThis = 0x0004;

inline constexpr uint32_t kPageFooterSize = 12;  // nrec, flags, base pointer
inline constexpr uint32_t kCellPointerSize = 2;
inline constexpr uint32_t kBtreeFirstRecordOffset = 3;

// End of the data area of a page with `nrec` records and an `n`-byte usable area (see above).
inline constexpr uint32_t PageDataEnd(uint32_t n, uint32_t nrec) {
  return n - kPageFooterSize - kCellPointerSize * (nrec + 1);
}

// A bidirectional cursor over the records of one run, in key order. It returns every leaf record as
// stored (separators and delete markers included; filtering is the merging cursor's job). Reads go
// through `db` page by page; no page is trusted: a malformed page makes the call return kCorrupt naming
// the page, and the cursor becomes invalid. Every walk is capped by min(seg.size, pages in the file), so
// chains that loop or wander out of the run end in kCorrupt rather than forever.
class SegmentCursor final : public RecordCursor {
 public:
  // `redirects` must be empty unless `seg` is the lhs of the oldest level. `db` must outlive the cursor.
  SegmentCursor(File* db, Geometry g, Segment seg, std::span<const BlockRedirect> redirects = {});

  Status First() override;
  Status Last() override;
  Status Next() override;  // REQUIRES: Valid() (kMisuse otherwise)
  Status Prev() override;  // REQUIRES: Valid()
  // First record >= (topic, key) / last record <= it; invalid (and ok) when there is none. Uses the
  // b-tree when seg.root != 0, else scans from the first page.
  Status SeekGe(uint8_t topic, ByteView key) override;
  Status SeekLe(uint8_t topic, ByteView key) override;
  // Positions on record `cell` of leaf page `page` (a saved merge position); kCorrupt if the page is a
  // b-tree page or has no such record.
  Status SeekCell(uint64_t page, uint32_t cell);
  // The leaf page a b-tree search for (topic, key) reaches, without reading it: no record >= the
  // key lies on an earlier page of the run. *upper gets the smallest separator above the key on the path
  // (every smaller key reaches the same leaf), or nullopt when the leaf is the right-most. Leaves the
  // cursor invalid. REQUIRES: seg.root != 0.
  Result<uint64_t> BtreeLeaf(uint8_t topic, ByteView key, std::optional<Record>* upper);

  bool Valid() const override { return valid_; }
  // REQUIRES: Valid(). record() copies the key and value out on first use after a move; view() does not.
  const Record& record() const override;
  RecordView view() const override { return view_; }
  Status NextView(RecordView* view, bool* valid) override {
    Status s = Next();
    *valid = valid_;
    if (valid_) *view = view_;
    return s;
  }
  uint64_t page() const { return page_.no; }                  // page the current record starts on
  int cell() const { return cell_; }

 private:
  // One page image as read (shared with the page cache when there is one): the decoded footer, and
  // where its data area lies in the image.
  struct Page {
    uint64_t no = 0;  // physical page number (after redirects)
    std::shared_ptr<const uint8_t> image;  // pgsz bytes
    uint32_t data = 0;  // offset of the data area in the image (4 on the first page of a block)
    uint32_t n = 0;     // size of the data area
    uint16_t nrec = 0;
    uint16_t flags = 0;
    uint64_t base = 0;
    const uint8_t* bytes() const { return image.get(); }
    const uint8_t* d() const { return bytes() + data; }
    uint32_t DataEnd() const { return PageDataEnd(n, nrec); }
    bool IsBtree() const { return (flags & kBtreePage) != 0; }
  };

  Status Fail(Status s);
  // `ahead`: pages of the run that follow `no` in its block, to read with it on a cache miss.
  Status LoadPage(uint64_t no, Page* out, uint32_t ahead = 0);
  // How many pages of the run follow logical page `no` in its block (the rest of the block, or up to
  // seg.last): what a forward walk reads next, so a cache miss may bring them in with `no`.
  uint32_t RunPagesAfter(uint64_t no) const;
  // The physical page after/before `p` in the run, or 0 at the run's end.
  Result<uint64_t> Neighbour(const Page& p, int dir);
  // Moves page_ in `dir` to the next page holding records (skipping b-tree pages); *end (and the cursor
  // invalid) when the run ends first.
  Status StepToRecordPage(int dir, bool* end);
  Status ReadCell(const Page& p, int cell, bool with_value, Record* out);
  // Record `cell` of `p` in place: key and value point into the page image, or into *spill when the
  // body continues on later pages. *pointer gets the record's next-older-run pointer.
  Status ViewCell(const Page& p, int cell, bool with_value, RecordView* out, uint64_t* pointer, Bytes* spill);
  // `len` bytes starting at data offset `off` of `p`, continuing into the following leaf pages.
  Status ReadBody(const Page& p, uint32_t off, uint64_t len, Bytes* out);
  // B-tree record `cell` of `p`: out->pointer = child, out->key (indirect keys fetched from their leaf),
  // out->flags = kSeparator | topic.
  Status ReadBtreeCell(const Page& p, int cell, Record* out);
  Status DescendBtree(uint8_t topic, ByteView key);
  // The page at `depth` of a b-tree path: the kept root or inner page, or null when page `no` is a leaf
  // (then loaded into page_).
  Status PathPage(int depth, uint64_t no, const Page** at);
  // The child of b-tree page `pg` to follow for (topic, key); *bound: the separator just above the key
  // on this page, or -1 when the child is the right-most.
  Result<uint64_t> BtreeChild(const Page& pg, uint8_t topic, ByteView key, int* bound);
  // The order of (topic, key) relative to a cell's key, compared in place when the key is on the page.
  Result<int> CompareLeafKey(const Page& p, int cell, uint8_t topic, ByteView key);
  Result<int> CompareBtreeKey(const Page& p, int cell, uint8_t topic, ByteView key, uint64_t* child);
  friend Result<Record> ReadRecordAt(File*, Geometry, uint64_t, uint32_t, std::span<const BlockRedirect>);
  Status LoadRecord();
  Status Anchor();

  File* db_;
  CachedFile* cache_;  // db_ itself when it is a CachedFile, else null
  Geometry g_;
  Segment seg_;
  std::vector<BlockRedirect> redirects_;
  uint64_t file_size_ = 0;
  int64_t displacement_ = 0;  // pages moved since the last First/Last/Seek; |d| < seg.size in a sane run
  uint64_t max_walk_ = 0;     // min(seg.size, pages in the file): the bound on |displacement_| and spills
  bool valid_ = false;
  Page page_;
  Page scratch_;
  Page spill_page_;             // the last page a record body spilled into (ReadBody), as loaded
  uint64_t spill_page_no_ = 0;  // its number as LoadPage was given it, or 0
  Page root_;                 // the b-tree root, kept across seeks
  uint64_t root_logical_ = 0;
  std::map<uint64_t, Page> inner_;  // inner b-tree pages below the root, by page number, kept too
  int btree_height_ = 0;            // b-tree levels above the leaves, once BtreeLeaf has met a leaf
  int cell_ = 0;
  RecordView view_;       // the current record, into page_'s image or spill_
  uint64_t pointer_ = 0;  // its next-older-run pointer
  Bytes spill_;           // the current record's body when it spills over pages
  mutable Record record_;        // view_ copied out, once record() asks after a move
  mutable bool copied_ = false;
};

// The key at (page, cell) of any run, as the checkpoint's merge split key names it: a leaf record, or
// the key of a b-tree record (flags kSeparator | topic, indirect keys resolved). Spills are followed at
// most to the end of the file.
Result<Record> ReadRecordAt(File* db, Geometry g, uint64_t page, uint32_t cell,
                            std::span<const BlockRedirect> redirects = {});

// Pointers into the next-older run, for a run being written (the record's "pointer delta" and the
// footer's base pointer). For each key, in ascending order, For gives a page of `next` where a search for
// the key may start: no record >= the key lies on an earlier page. With a b-tree it is the leaf the
// b-tree's search reaches (inner pages only, once per leaf), as the reference's pointers are (it carries
// the child pointers of the next run's separators along its merge); without one, the page of the first
// record >= the key (or of the last record). With no next run, or one read through redirects (whose page numbers are logical), every
// pointer is 0, which readers take as "search from the run's start".
class OlderRunPointer {
 public:
  // `next.first == 0`: there is no next-older run. `db` must outlive this object.
  OlderRunPointer(File* db, Geometry g, const Segment& next);
  Result<uint64_t> For(uint8_t topic, ByteView key);

 private:
  std::optional<SegmentCursor> cursor_;
  bool seekable_ = false;  // next has a b-tree: the leaf its search reaches, else a walk over records
  bool started_ = false;
  uint64_t last_page_ = 0;  // the walk: page of the last record seen; the b-tree: the leaf reached
  std::optional<Record> upper_;  // the b-tree: keys below this separator reach the same leaf
};

// Where new runs get their blocks. The allocator decides reuse; the writer only asks.
class BlockAllocator {
 public:
  virtual ~BlockAllocator() = default;
  virtual Result<uint32_t> AllocateBlock() = 0;
};

// Appends one run. Records arrive in strictly ascending key order; pages are written whole, once, in run
// order (a b-tree page is held back until the leaf before it is written, as the reference does),
// consecutive pages together, up to 256 KB per write; Finish and Pause write everything. Every byte of
// every page written is initialised. After the first error every call returns it.
//
// Page layout follows the reference's merge worker (header-fit rule, spills, b-tree growth and
// placement, skip flags), so a run written in one go has the reference's pages. One deliberate
// difference: a page's footer base pointer is the pointer of the record that opened the page (the
// reference uses its merge cursor's previous pointer), which changes delta encodings (and so packing),
// never the pointers a reader sees.
class SegmentWriter {
 public:
  // start_page: an append point (a free page inside a block the caller owns; the run continues there), or
  // 0 to start on a freshly allocated block. REQUIRES: g has at least 2 pages per block.
  SegmentWriter(File* db, Geometry g, BlockAllocator* alloc, uint64_t start_page);

  // `pointer`: absolute page in the next-older run. `value` must be empty unless flags & kInsert.
  Status Add(uint8_t flags, ByteView key, ByteView value, uint64_t pointer = 0);
  // Writes the last leaf and the b-tree (if any record started on a page other than the first) and
  // returns the run. An empty run returns a zero Segment and writes nothing.
  Result<Segment> Finish();
  // Continues `run`, the paused output of a merge read from a checkpoint, as the reference's merge
  // worker does when it resumes: the next page is a fresh one after run.last (or the first of the block
  // run.last links to, which the run already owns), and the b-tree's right-most path is rebuilt in
  // memory from run.root (mergeWorkerLoadHierarchy), so later pages extend the same index. Pages already
  // written are never rewritten; the old path's pages stay in the run, unreachable. `nskip`: the
  // checkpoint's count of leaf pages still to leave out of the b-tree. REQUIRES: before any Add.
  Status Continue(const Segment& run, uint32_t nskip);

  // Writes the current leaf so that the run so far is a complete run on disk without a b-tree (root 0;
  // readers scan it), and returns it. The writer keeps its b-tree in memory: later Adds continue on a
  // fresh page and Finish indexes every leaf. This is how an incremental merge stops between work
  // units: the checkpoint records the paused run as the merge's output.
  Result<Segment> Pause();

  uint64_t pages_written() const { return pages_written_; }
  // Leaf pages still to leave out of the b-tree (the checkpoint's nskip of a paused merge).
  uint32_t nskip() const { return nskip_; }
  // Blocks holding pages of the run, in run order.
  std::vector<uint32_t> blocks_used() const { return blocks_; }
  // The block allocated in advance when the last page of the run is last on its block (the reference
  // hands it back with lsmBlockRefree); 0 if none.
  uint32_t spare_block() const {
    return finished_ && seg_.last != 0 && g_.IsLastOnBlock(seg_.last) ? next_block_ : 0;
  }

 private:
  struct OutPage {
    uint64_t no = 0;
    Bytes buf;
    uint32_t data = 0;
    uint32_t n = 0;
  };
  // An in-memory b-tree page: records grow from offset 3, built for the smallest data area (pgsz - 4)
  // because its page number (and so its size) is only known when it is full.
  struct HierPage {
    Bytes body;
    std::vector<uint16_t> cells;
    uint32_t used = kBtreeFirstRecordOffset;
    uint32_t Free() const;
  };

  Status Fail(Status s);
  Result<OutPage> AllocatePage();
  Status StartLeaf(uint64_t base);
  Status CompleteLeaf();
  Status WritePage(OutPage& p);  // takes p's buffer
  Status WriteBatch();
  Status FlushWaiting();
  Status WriteBody(ByteView bytes, uint64_t spill_base);
  Status PushHierarchy(uint8_t topic, ByteView key);
  Status FlushIndirect();
  Status BtreeWrite(uint8_t type, uint64_t child, uint64_t key_page, ByteView key);
  Result<uint64_t> PersistHier(const HierPage& hp, uint64_t right_child);
  // Reads b-tree page `no` of a run into an in-memory page; *right_child gets its footer pointer.
  Result<HierPage> LoadHier(uint64_t no, uint64_t* right_child);

  File* db_;
  Geometry g_;
  BlockAllocator* alloc_;
  uint64_t start_page_;
  Status status_;
  bool finished_ = false;

  Segment seg_;
  uint32_t next_block_ = 0;  // allocated when the last assigned page became last on its block
  std::vector<uint32_t> blocks_;
  uint64_t pages_written_ = 0;

  bool have_leaf_ = false;
  OutPage leaf_;
  uint16_t leaf_nrec_ = 0;
  uint16_t leaf_flags_ = 0;
  uint32_t leaf_off_ = 0;  // next free byte of the leaf's data area
  uint64_t leaf_base_ = 0;
  std::vector<OutPage> waiting_;  // b-tree pages numbered after leaf_, written after it
  static constexpr size_t kMaxBatchBytes = 256 * 1024;
  Bytes batch_;                   // consecutive pages not yet written, from batch_offset_
  uint64_t batch_offset_ = 0;
  std::vector<Bytes> spare_;      // page buffers to reuse

  bool have_last_key_ = false;
  uint8_t last_topic_ = 0;
  Bytes last_key_;

  // B-tree under construction: hier_[0] is the right-most page just above the leaves, back() the root.
  std::vector<HierPage> hier_;
  struct Saved {
    uint64_t page = 0;
    bool store = false;  // set page to the next leaf completed
  };
  Saved save_ptr_;      // leaf holding keys < the next key pushed (the page the previous push started)
  Saved save_key_;      // leaf whose first record holds the pending indirect key
  uint64_t indirect_child_ = 0;  // pending indirect entry's child, written at the next push or Finish
  uint32_t nskip_ = 0;
};

}  // namespace lsm
