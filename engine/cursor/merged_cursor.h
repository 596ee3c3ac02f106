// A stack of sources (the in-memory tree, then each level's runs, newest first) seen as one sorted
// map. Resolution of a key k, newest source first: a record at k with a point part decides (insert:
// visible; point delete: gone); a source without a point part at k that covers k with a range delete
// hides it; otherwise the next older source is asked.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/cursor/record.h"

namespace lsm {

// The keys of one topic (users see kTopicUser; the allocator reads the free-list records of
// kTopicSystem) whose newest state is an insert.
//
// A step costs O(log n) key comparisons, not O(n): the sources positioned past the current key sit in
// a binary heap ordered by (key in the direction of travel, source index), and the sources at the
// current key (at_) are kept aside; stepping moves exactly those, in source order, then takes the next
// group of equal keys off the heap. When the one source that held the key still holds the smallest key
// after its step, one comparison with the heap's top decides. Range coverage by sources not at the key
// is only checked while some source sits on a record whose gap reaches back over it (cover_count_).
// Sources are moved in the same order as by a plain scan of all of them, so the reads they make (and a
// simulation's trace) do not depend on the heap.
class MergedCursor {
 public:
  explicit MergedCursor(std::vector<std::unique_ptr<RecordCursor>> newest_first, uint8_t topic = kTopicUser);

  Status First();
  Status Last();
  Status Next();
  Status Prev();
  Status SeekGe(ByteView key);
  Status SeekLe(ByteView key);
  bool Valid() const { return current_ >= 0; }
  void Invalidate() { current_ = -1; }
  ByteView key() const { return recs_[size_t(current_)].key; }
  ByteView value() const { return recs_[size_t(current_)].value; }

 private:
  enum class Direction { kForward, kBackward };
  // After every source was positioned: rebuilds the heap for `dir` and settles.
  Status Restart(Direction dir);
  // Next or Prev against the current direction: every source re-sought past the current key.
  Status TurnAround(Direction to);
  // Moves to the nearest visible key in the direction of travel, starting from the group in at_.
  Status Settle();
  // Steps every source at the current key (at_) one record further and takes the next group.
  Status StepPast();
  // Re-reads source i's position after it moved.
  void Refresh(size_t i);
  // The same, when the source's record (if valid) is already in recs_[i].
  void Refresh(size_t i, bool valid);
  // Moves the sources holding the extreme key from the heap to at_ (in source order).
  void TakeGroup();
  bool HeapBefore(uint32_t a, uint32_t b) const;  // key order, then source order
  void HeapPush(uint32_t s);
  uint32_t HeapPop();
  uint32_t HeapReplaceTop(uint32_t s);  // pops the top and pushes s, in one sift

  std::vector<std::unique_ptr<RecordCursor>> sources_;
  uint8_t topic_;
  Direction dir_ = Direction::kForward;
  int current_ = -1;                  // index of the source whose record is the visible value, or -1
  std::vector<RecordView> recs_;     // per source: its record, in place (empty when invalid)
  std::vector<uint8_t> valid_;       // per source: it is valid
  std::vector<uint8_t> cover_;        // per source: its record closes a gap behind it (dir_ order)
  size_t cover_count_ = 0;
  std::vector<uint32_t> heap_;        // valid sources not at the current key
  std::vector<uint32_t> at_;          // sources at the current key, ascending
};

// The merge used when writing a run, one output key at a time so that a merge can stop between keys
// and resume (incremental merges). Every key of the sources gets the newest point part (or a point
// delete where a newer source's range hides an older insert), with range flags marking which gaps the
// sources cover. Writing the bottom level (`to_bottom`) drops deletes and range flags, since nothing
// older remains for them to hide. Sources must be positioned by the caller (First/SeekGe/SeekCell)
// and moved only by the merger from then on (it remembers which source holds the smallest key).
class RecordMerger {
 public:
  RecordMerger(std::vector<std::unique_ptr<RecordCursor>>* newest_first, bool to_bottom);
  bool Done() const { return PeekSource() < 0; }
  // The smallest key not yet merged (the split key of a paused merge), and the source holding it
  // (the newest one if several do), or null / -1 when done.
  const Record* Peek() const;
  int PeekSource() const;
  // Merges the smallest key: *emitted says whether it produced an output record (*out).
  Status Step(Record* out, bool* emitted);

 private:
  std::vector<std::unique_ptr<RecordCursor>>* sources_;
  bool to_bottom_;
  mutable int min_ = kUnknown;  // PeekSource(), once computed
  static constexpr int kUnknown = -2;
  std::vector<uint8_t> at_;     // scratch: which sources hold the key being merged
};

// The whole merge in one go (RecordMerger until Done), emitting every output record.
Status MergeRecords(std::vector<std::unique_ptr<RecordCursor>>& newest_first, bool to_bottom,
                    const std::function<Status(const Record&)>& emit);

}  // namespace lsm
