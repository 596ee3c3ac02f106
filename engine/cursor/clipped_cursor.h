// A level with a merge in progress holds its keys in two places: keys below the split key (the next key
// the merge will write) are in the output run (lhs), keys from the split key up are still in the input
// runs (rhs). ClippedCursor shows one run restricted to its side of the split.
//
// Range deletes cross the split, so each side adds one boundary record at the split key when a covered
// gap reaches it (the seed does the same when its lhs pointer runs off the split key):
//   - below: if the last record before the split opens a covered gap, a record at the split with only
//     kEndDelete closes it (no point part: the split key itself belongs to the other side);
//   - at or above: if the first record after the split closes a covered gap, the split key lies inside
//     that gap: a record at the split with kStartDelete | kPointDelete opens it (the point delete
//     hides the split key in older levels, exactly as the gap would). A record exactly at the split
//     loses kEndDelete, since the gap before it lies on the other side.
// So no source ever claims coverage on the other side of the split.
#pragma once

#include <memory>

#include "engine/cursor/record.h"

namespace lsm {

class ClippedCursor : public RecordCursor {
 public:
  enum class Side { kBelow, kAtOrAbove };

  // `split`: topic (flags & kSystemKey) and key of the split; other fields are ignored.
  ClippedCursor(std::unique_ptr<RecordCursor> inner, const Record& split, Side side);

  Status First() override;
  Status Last() override;
  Status Next() override;
  Status Prev() override;
  Status SeekGe(uint8_t topic, ByteView key) override;
  Status SeekLe(uint8_t topic, ByteView key) override;
  bool Valid() const override { return state_ != State::kInvalid; }
  const Record& record() const override;
  RecordView view() const override;

 private:
  enum class State { kInvalid, kReal, kAdjusted, kBoundary };

  int CompareToSplit(const RecordView& r) const;
  int CompareToSplit(uint8_t topic, ByteView key) const;
  bool InnerBelow() const;  // inner valid and < split
  bool InnerAtOrAbove() const;
  // Below: on the last real record < split, or on the boundary after it.
  Status BelowLast();
  // At or above: on the first record >= split (or the boundary before it).
  Status AboveFirst();
  Status SetReal();

  std::unique_ptr<RecordCursor> inner_;
  uint8_t split_topic_;
  Bytes split_key_;
  Side side_;
  State state_ = State::kInvalid;
  Record boundary_;
  Record adjusted_;
};

}  // namespace lsm
