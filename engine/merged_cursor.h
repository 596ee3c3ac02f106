// A stack of sources (the in-memory tree, then each level's runs, newest first) seen as one sorted
// map. Resolution of a key k, newest source first: a record at k with a point part decides (insert:
// visible; point delete: gone); a source without a point part at k that covers k with a range delete
// hides it; otherwise the next older source is asked.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/record.h"

namespace lsm {

// The keys of one topic (users see kTopicUser; the allocator reads the free-list records of
// kTopicSystem) whose newest state is an insert.
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
  ByteView key() const;
  ByteView value() const;

 private:
  enum class Direction { kForward, kBackward };
  // Moves to the nearest visible key in `dir` from the sources' positions.
  Status Settle(Direction dir);
  // Steps every source positioned at the current key one record further in `dir`.
  Status StepPast(Direction dir);
  bool AtKey(size_t i, const Record& k) const;

  std::vector<std::unique_ptr<RecordCursor>> sources_;
  uint8_t topic_;
  Direction dir_ = Direction::kForward;
  int current_ = -1;  // index of the source whose record is the visible value, or -1
  Bytes key_;         // scratch: the key being stepped past
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
